test_that("keras3's layer_conv_1d example runs", {
  # The inputs are 128-length vectors with 10 timesteps, and the
  # batch size is 4.
  x <- random_uniform(c(4, 10, 128))
  y <- x |> layer_conv_1d(32, 3, activation='relu')
  expect_equal(as.integer(shape(y)), c(4L, 8L, 32L))
  expect_true(all(y >= 0))
})

test_that("layer_conv_1d matches Keras for every padding, stride, dilation, group count and layout", {
  cases <- keras_cases("conv")
  expect_gte(length(cases), 40)
  for (name in names(cases)) {
    case <- cases[[name]]
    conv <- do.call(layer_conv_1d, case$config)
    invisible(conv(case$x))
    set_weights(conv, case[grep("^w[0-9]+$", names(case))])
    out <- conv(case$x)
    expect_equal(dim(out), dim(case$out), label = name)
    expect_equal(out, case$out, tolerance = keras_tolerance(case$config$dtype), label = name)
  }
})

test_that("layer_conv_1d computes the convolution's definition", {
  x <- fixed_array(c(2, 7, 3))
  conv <- layer_conv_1d(filters = 2, kernel_size = 3, padding = "causal", dilation_rate = 2,
                        bias_initializer = "random_normal", dtype = "float64")
  out <- conv(x)
  w <- get_weights(conv)
  padded <- array(0, c(2, 11, 3))
  padded[, 5:11, ] <- x
  for (b in 1:2) for (t in 1:7) for (f in 1:2) {
    taps <- padded[b, t + c(0, 2, 4), ]
    expect_equal(out[b, t, f], sum(taps * w[[1]][, , f]) + w[[2]][f])
  }
})

test_that("layer_conv_1d backward matches finite differences", {
  settings <- list(
    list(padding = "valid"),
    list(padding = "same", strides = 2, activation = "tanh"),
    list(padding = "causal", dilation_rate = 2, groups = 2),
    list(padding = "same", kernel_size = 4, strides = 3, use_bias = FALSE),
    list(padding = "valid", kernel_size = 1, activation = "relu"),
    list(padding = "causal", data_format = "channels_first", activation = function(v) v^3)
  )
  for (s in settings) {
    args <- utils::modifyList(list(filters = 4, kernel_size = 3, dtype = "float64",
                                   bias_initializer = "random_normal"), s)
    conv <- do.call(layer_conv_1d, args)
    x <- fixed_array(if (identical(s$data_format, "channels_first")) c(2, 4, 7) else c(2, 7, 4))
    invisible(conv(x))
    expect_backward_matches_fd(obj(conv), x)
  }
})

test_that("layer_conv_1d's float32 path rounds to float32 and stays within float precision", {
  x <- fixed_array(c(3, 12, 5))
  c32 <- layer_conv_1d(filters = 4, kernel_size = 3, padding = "same")
  c64 <- layer_conv_1d(filters = 4, kernel_size = 3, padding = "same", dtype = "float64")
  invisible(c64(x))
  invisible(c32(x))
  set_weights(c64, get_weights(c32))
  out32 <- c32(x)
  expect_identical(out32, rgru:::round_to_dtype(out32, "float32"))
  expect_equal(out32, c64(x), tolerance = 1e-6)
  # the gradients too, though the core reads and writes R's double arrays directly
  g32 <- obj(c32)$backward(obj(c32)$forward(x, training = TRUE)$tape, out32)
  for (g in c(list(g32$d_inputs), g32$grads))
    expect_identical(g, rgru:::round_to_dtype(g, "float32"))
})

test_that("layer_conv_1d runs on the engine's threads and GEMM, which change nothing computed", {
  # large enough for the convolution to split its work over two threads (forward: three
  # im2col chunks; backward: im2col, d_x's GEMM and col2im)
  x <- fixed_array(c(64, 100, 16))
  conv <- layer_conv_1d(filters = 32, kernel_size = 3, padding = "same", dtype = "float64")
  invisible(conv(x))
  run <- function(...) {
    withr::local_options(...)
    layer <- obj(conv)
    step <- layer$forward(x, training = TRUE)
    c(list(step$outputs), layer$backward(step$tape, step$outputs))
  }
  one <- run(rgru.num_threads = 1)
  expect_identical(run(rgru.num_threads = 2), one)
  expect_equal(run(rgru.gemm = "eigen"), run(rgru.gemm = "blas"), tolerance = 1e-12)
  withr::local_options(rgru.gemm = "fast")
  expect_error(conv(x), "rgru.gemm", class = "rgru_error_argument")
})

test_that("layer_conv_1d composes with NULL, models, symbolic tensors and arrays", {
  conv <- layer_conv_1d(filters = 3, kernel_size = 2)
  expect_s3_class(conv, "rgru_layer")
  expect_false(conv$built)

  model <- keras_model_sequential(input_shape = c(6, 4)) |>
    layer_conv_1d(filters = 6, kernel_size = 3, strides = 2, padding = "same", name = "c1") |>
    layer_conv_1d(filters = 4, kernel_size = 2, groups = 2, use_bias = FALSE, name = "c2")
  expect_equal(vapply(model$layers, function(l) l$count_params(), 1), c(3 * 4 * 6 + 6, 2 * 3 * 4))
  expect_equal(dim(predict(model, fixed_array(c(2, 6, 4)), verbose = 0)), c(2, 2, 4))

  inputs <- keras_input(shape = c(NA, 4))
  outputs <- inputs |> layer_conv_1d(filters = 2, kernel_size = 3, padding = "causal")
  expect_equal(as.integer(shape(outputs)), c(NA, NA, 2L))
  fm <- keras_model(inputs, outputs)
  expect_equal(dim(fm(fixed_array(c(1, 9, 4)))), c(1, 9, 2))

  expect_equal(dim(layer_conv_1d(fixed_array(c(2, 5, 3)), 2, 2)), c(2, 4, 2))
})

test_that("layer_conv_1d's summary rows have Keras's parameter counts", {
  model <- keras_model_sequential(input_shape = c(20, 8), name = "cnn") |>
    layer_conv_1d(16, 5, padding = "causal", name = "conv") |>
    layer_conv_1d(8, 3, groups = 4, name = "grouped") |>
    layer_global_max_pooling_1d(name = "pool")
  expect_snapshot(summary(model))
  # Keras: kernel_size * channels / groups * filters + filters
  expect_equal(model$count_params(), 5 * 8 * 16 + 16 + 3 * 4 * 8 + 8)
})

test_that("layer_conv_1d rejects bad arguments and inputs with classed errors", {
  expect_error(layer_conv_1d(kernel_size = 3), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 0, kernel_size = 3), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 0), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = c(2, 3)), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = "3"), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, strides = 0), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, padding = "full"),
               class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, data_format = "channels_middle"),
               class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, strides = 2, dilation_rate = 2),
               class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 3, kernel_size = 3, groups = 2), class = "rgru_error_argument")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, activation = "nope"), class = "rgru_error")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, lora_rank = 2), class = "rgru_error_argument")
  expect_snapshot(layer_conv_1d(filters = 2, kernel_size = 3, padding = "full"), error = TRUE)

  conv <- layer_conv_1d(filters = 2, kernel_size = 3, groups = 2, name = "grouped_conv")
  expect_error(conv(array(0, c(1, 5, 3))), class = "rgru_error_shape")      # 3 channels, 2 groups
  expect_error(conv(matrix(0, 2, 4)), class = "rgru_error_shape")           # rank 2
  invisible(conv(array(0, c(1, 5, 4))))
  expect_error(conv(array(0, c(1, 5, 6))), class = "rgru_error_shape")      # built with 4 channels
  expect_error(conv(array(0, c(1, 2, 4))), class = "rgru_error_shape")      # too short for "valid"
  expect_error(conv(list(array(0, c(1, 5, 4)), array(0, c(1, 5, 4)))), class = "rgru_error")
  expect_error(conv(letters), class = "rgru_error_input")
  expect_snapshot(conv(array(0, c(1, 2, 4))), error = TRUE)
  expect_error(keras_input(shape = c(2, 4)) |> layer_conv_1d(2, 3), class = "rgru_error_shape")
  expect_error(keras_input(shape = c(5, NA)) |> layer_conv_1d(2, 3), class = "rgru_error_shape")
})

test_that("layer_conv_1d's config rebuilds it, and a saved model predicts the same", {
  conv <- layer_conv_1d(filters = 4, kernel_size = list(3), strides = 2L, padding = "SAME",
                        dilation_rate = 1, groups = 2, activation = "tanh", use_bias = FALSE,
                        kernel_regularizer = regularizer_l2(0.01),
                        kernel_constraint = constraint_maxnorm(2), name = "my_conv")
  config <- get_config(conv)
  expect_equal(config[c("filters", "kernel_size", "strides", "padding", "data_format",
                        "dilation_rate", "groups", "activation", "use_bias")],
               list(filters = 4L, kernel_size = 3L, strides = 2L, padding = "same",
                    data_format = "channels_last", dilation_rate = 1L, groups = 2L,
                    activation = "tanh", use_bias = FALSE))
  expect_true(all(c("kernel_initializer", "bias_initializer", "kernel_regularizer",
                    "bias_regularizer", "activity_regularizer", "kernel_constraint",
                    "bias_constraint", "name", "trainable", "dtype") %in% names(config)))
  again <- from_config(config)
  expect_equal(get_config(again)[names(config) != "name"], config[names(config) != "name"],
               ignore_attr = TRUE)
  invisible(conv(fixed_array(c(1, 6, 4))))
  expect_false(is.null(conv$weights[[1]]$regularizer))
  expect_false(is.null(conv$weights[[1]]$constraint))

  model <- keras_model_sequential(input_shape = c(9, 4)) |>
    layer_conv_1d(6, 3, padding = "causal", activation = "relu") |>
    layer_conv_1d(2, 2, strides = 2, data_format = "channels_last")
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  restored <- load_model(path)
  x <- fixed_array(c(3, 9, 4))
  expect_identical(predict(restored, x, verbose = 0), predict(model, x, verbose = 0))
})

test_that("layer_conv_1d does not support masks: it drops them, warning once, as Keras", {
  tokens <- rbind(c(3, 1, 0, 0), c(2, 2, 4, 1))
  model <- keras_model_sequential() |>
    layer_embedding(input_dim = 5, output_dim = 3, mask_zero = TRUE) |>
    layer_conv_1d(2, 2, padding = "same") |>
    layer_gru(2)
  expect_warning(first <- predict(model, tokens, verbose = 0), class = "rgru_warning_mask")
  expect_no_warning(second <- predict(model, tokens, verbose = 0))
  expect_identical(first, second)
  # without the mask the GRU sees every step
  gru <- model$layers[[3]]
  conv_out <- model$layers[[2]](model$layers[[1]](tokens))
  expect_equal(first, gru(conv_out))

  inputs <- keras_input(shape = 4)
  masked <- inputs |> layer_embedding(5, 3, mask_zero = TRUE)
  expect_warning(out <- layer_conv_1d(masked, 2, 2), class = "rgru_warning_mask")
  expect_false(out$has_mask)
})

test_that("a conv_1d model trains: the loss goes down", {
  x <- fixed_array(c(16, 12, 3))
  y <- matrix(apply(x, 1, function(s) mean(s[, 1])), ncol = 1)
  model <- keras_model_sequential(input_shape = c(12, 3)) |>
    layer_conv_1d(8, 3, padding = "causal", activation = "relu",
                  kernel_regularizer = regularizer_l2(1e-4)) |>
    layer_max_pooling_1d(2) |>
    layer_flatten() |>
    layer_dense(1)
  model |> compile(optimizer = optimizer_adam(0.01), loss = "mse")
  history <- fit(model, x, y, epochs = 5, batch_size = 8, verbose = 0)
  expect_lt(history$metrics$loss[5], history$metrics$loss[1])
})

test_that("layer_conv_1d has keras3's signature", {
  expect_identical(formals(layer_conv_1d), as.pairlist(alist(
    object = , filters = , kernel_size = , strides = 1L, padding = "valid", data_format = NULL,
    dilation_rate = 1L, groups = 1L, activation = NULL, use_bias = TRUE,
    kernel_initializer = "glorot_uniform", bias_initializer = "zeros", kernel_regularizer = NULL,
    bias_regularizer = NULL, activity_regularizer = NULL, kernel_constraint = NULL,
    bias_constraint = NULL, ... = )))
})
