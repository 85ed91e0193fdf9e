test_that("keras3's pooling examples run", {
  # keras3's layer_max_pooling_1d examples build x with op_reshape(c(1, 2, 3, 4, 5), c(1, 5, 1)),
  # which rgru does not have; the same array:
  x <- array(c(1, 2, 3, 4, 5), c(1, 5, 1))
  max_pool_1d <- layer_max_pooling_1d(pool_size = 2,
                                      strides = 1,
                                      padding = "valid")
  expect_equal(as.numeric(max_pool_1d(x)), c(2, 3, 4, 5))
  max_pool_1d <- layer_max_pooling_1d(pool_size = 2,
                                      strides = 2,
                                      padding = "valid")
  expect_equal(as.numeric(max_pool_1d(x)), c(2, 4))
  max_pool_1d <- layer_max_pooling_1d(pool_size = 2,
                                      strides = 1,
                                      padding = "same")
  expect_equal(as.numeric(max_pool_1d(x)), c(2, 3, 4, 5, 5))

  x <- random_uniform(c(2, 3, 4))
  y <- x |> layer_global_average_pooling_1d()
  expect_equal(as.integer(shape(y)), c(2L, 4L))

  x <- random_uniform(c(2, 3, 4))
  y <- x |> layer_global_max_pooling_1d()
  expect_equal(as.integer(shape(y)), c(2L, 4L))
})

test_that("layer_max_pooling_1d matches Keras", {
  cases <- keras_cases("maxpool")
  expect_gte(length(cases), 20)
  for (name in names(cases)) {
    case <- cases[[name]]
    out <- do.call(layer_max_pooling_1d, case$config)(case$x)
    expect_equal(out, case$out, tolerance = keras_tolerance(case$config$dtype), label = name)
  }
})

test_that("global average and max pooling match Keras, with and without a mask", {
  cases <- keras_cases("Global")
  expect_length(cases, 16)
  for (name in names(cases)) {
    case <- cases[[name]]
    fn <- if (startsWith(name, "GlobalAverage")) layer_global_average_pooling_1d else
      layer_global_max_pooling_1d
    layer <- do.call(fn, case$config)
    expect_equal(layer(case$x), case$out, tolerance = keras_tolerance(case$config$dtype),
                 label = name)
    if (!is.null(case$mask)) {
      expect_equal(layer(case$x, mask = case$mask != 0), case$masked_out,
                   tolerance = keras_tolerance(case$config$dtype), label = paste(name, "masked"))
    }
  }
})

test_that("pooling backward matches finite differences", {
  x <- fixed_array(c(2, 9, 3))
  for (args in list(list(pool_size = 2), list(pool_size = 3, strides = 1, padding = "same"),
                    list(pool_size = 3, strides = 2), list(pool_size = 2, strides = 3, padding = "same"),
                    list(pool_size = 4, padding = "same", data_format = "channels_first"))) {
    pool <- do.call(layer_max_pooling_1d, c(args, list(dtype = "float64")))
    expect_backward_matches_fd(obj(pool), x)
  }
  for (fn in list(layer_global_average_pooling_1d, layer_global_max_pooling_1d)) {
    for (df in c("channels_last", "channels_first")) {
      layer <- fn(data_format = df, keepdims = df == "channels_first", dtype = "float64")
      expect_backward_matches_fd(obj(layer), x)
    }
  }
  mask <- rbind(c(TRUE, TRUE, FALSE, TRUE, FALSE, FALSE, FALSE, FALSE, TRUE), rep(TRUE, 9))
  avg <- layer_global_average_pooling_1d(dtype = "float64")
  expect_backward_matches_fd(obj(avg), x, run = function(x) obj(avg)$forward(x, mask = mask))
})

test_that("global average pooling averages over kept steps; a fully masked sample gives NaN", {
  x <- array(c(1, 10, 2, 20, 3, 30, 4, 40), c(2, 4, 1))
  mask <- rbind(c(TRUE, TRUE, FALSE, FALSE), c(FALSE, FALSE, FALSE, FALSE))
  out <- layer_global_average_pooling_1d()(x, mask = mask)
  expect_equal(out[1, 1], 1.5)
  expect_true(is.nan(out[2, 1]))
  avg <- obj(layer_global_average_pooling_1d(dtype = "float64"))
  res <- avg$forward(x, mask = mask)
  g <- avg$backward(res$tape, matrix(1, 2, 1))
  expect_equal(g$d_inputs[1, , 1], c(0.5, 0.5, 0, 0))
  expect_equal(g$d_inputs[2, , 1], c(0, 0, 0, 0))
  expect_null(res$mask)
  expect_error(avg$forward(x, mask = matrix(TRUE, 2, 3)), class = "rgru_error_mask")
})

test_that("pooling layers take masks as Keras: average consumes them, max drops them", {
  tokens <- rbind(c(3, 1, 0, 0), c(2, 2, 4, 1))
  emb <- layer_embedding(input_dim = 5, output_dim = 3, mask_zero = TRUE)
  avg_model <- keras_model_sequential(layers = list(emb)) |> layer_global_average_pooling_1d()
  vectors <- emb(tokens)
  expect_equal(predict(avg_model, tokens, verbose = 0)[1, ], colMeans(vectors[1, 1:2, ]))
  expect_equal(predict(avg_model, tokens, verbose = 0)[2, ], colMeans(vectors[2, , ]))

  max_model <- keras_model_sequential(layers = list(emb)) |> layer_global_max_pooling_1d()
  expect_warning(out <- predict(max_model, tokens, verbose = 0), class = "rgru_warning_mask")
  expect_equal(out[1, ], apply(vectors[1, , ], 2, max))

  inputs <- keras_input(shape = 6)
  masked <- inputs |> layer_embedding(5, 3, mask_zero = TRUE)
  expect_false((masked |> layer_global_average_pooling_1d())$has_mask)
  expect_warning(pooled <- layer_max_pooling_1d(masked), class = "rgru_warning_mask")
  expect_false(pooled$has_mask)
})

test_that("pooling layers compose with NULL, models, symbolic tensors and arrays", {
  for (fn in list(layer_max_pooling_1d, layer_global_average_pooling_1d,
                  layer_global_max_pooling_1d)) {
    layer <- fn()
    expect_s3_class(layer, "rgru_layer")
    model <- keras_model_sequential(input_shape = c(8, 3)) |> fn()
    expect_equal(model$count_params(), 0)
    out <- predict(model, fixed_array(c(2, 8, 3)), verbose = 0)
    inputs <- keras_input(shape = c(8, 3))
    symbolic <- fn(inputs)
    expect_equal(as.integer(shape(symbolic))[-1], dim(out)[-1])
    expect_equal(fn(fixed_array(c(2, 8, 3))), out)
  }
  expect_equal(as.integer(shape(layer_max_pooling_1d(keras_input(shape = c(NA, 3))))), c(NA, NA, 3L))
  expect_equal(as.integer(shape(layer_global_max_pooling_1d(keras_input(shape = c(NA, 3)),
                                                            keepdims = TRUE))), c(NA, 1L, 3L))
})

test_that("pooling layers reject bad arguments and inputs with classed errors", {
  expect_error(layer_max_pooling_1d(pool_size = 0), class = "rgru_error_argument")
  expect_error(layer_max_pooling_1d(strides = 1.5), class = "rgru_error_argument")
  expect_error(layer_max_pooling_1d(padding = "causal"), class = "rgru_error_argument")
  expect_error(layer_max_pooling_1d(data_format = "NCW"), class = "rgru_error_argument")
  expect_error(layer_max_pooling_1d(name = 3), class = "rgru_error_argument")
  expect_error(layer_global_average_pooling_1d(keepdims = NA), class = "rgru_error_argument")
  expect_error(layer_global_max_pooling_1d(data_format = 1), class = "rgru_error_argument")
  expect_error(layer_global_max_pooling_1d(oops = 1), class = "rgru_error_argument")
  pool <- layer_max_pooling_1d(pool_size = 4, name = "pool4")
  expect_error(pool(array(0, c(1, 3, 2))), class = "rgru_error_shape")
  expect_error(pool(matrix(0, 1, 3)), class = "rgru_error_shape")
  expect_error(layer_global_average_pooling_1d()(matrix(0, 2, 3)), class = "rgru_error_shape")
  expect_error(layer_global_max_pooling_1d()(array(0, c(1, 2, 3, 4))), class = "rgru_error_shape")
  expect_error(keras_input(shape = c(3, 2)) |> layer_max_pooling_1d(4), class = "rgru_error_shape")
  expect_snapshot(pool(array(0, c(1, 3, 2))), error = TRUE)
})

test_that("pooling layers' configs rebuild them and survive save/load", {
  pool <- layer_max_pooling_1d(pool_size = 3, strides = 2, padding = "SAME",
                               data_format = "channels_first")
  config <- get_config(pool)
  expect_equal(config[c("pool_size", "strides", "padding", "data_format")],
               list(pool_size = 3L, strides = 2L, padding = "same", data_format = "channels_first"))
  expect_equal(get_config(from_config(config))[-1], config[-1], ignore_attr = TRUE)
  expect_equal(get_config(layer_max_pooling_1d(pool_size = 3))$strides, 3L)
  for (fn in list(layer_global_average_pooling_1d, layer_global_max_pooling_1d)) {
    config <- get_config(fn(data_format = "channels_first", keepdims = TRUE))
    expect_equal(config[c("data_format", "keepdims")],
                 list(data_format = "channels_first", keepdims = TRUE))
    expect_equal(get_config(from_config(config))[-1], config[-1], ignore_attr = TRUE)
  }

  model <- keras_model_sequential(input_shape = c(10, 3)) |>
    layer_conv_1d(4, 3) |>
    layer_max_pooling_1d(2, padding = "same") |>
    layer_global_average_pooling_1d(keepdims = TRUE) |>
    layer_global_max_pooling_1d()
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  x <- fixed_array(c(2, 10, 3))
  expect_identical(predict(load_model(path), x, verbose = 0), predict(model, x, verbose = 0))
})

test_that("pooling layers have keras3's signatures", {
  expect_identical(formals(layer_max_pooling_1d), as.pairlist(alist(
    object = , pool_size = 2L, strides = NULL, padding = "valid", data_format = NULL,
    name = NULL, ... = )))
  global <- as.pairlist(alist(object = , data_format = NULL, keepdims = FALSE, ... = ))
  expect_identical(formals(layer_global_average_pooling_1d), global)
  expect_identical(formals(layer_global_max_pooling_1d), global)
})
