test_that("keras3's reshaping examples run", {
  # keras3's examples start from layer_input(), keras_input()'s older name; run them
  # verbatim once rgru has it, and with keras_input() meanwhile.
  layer_input <- if (exists("layer_input", asNamespace("rgru"))) rgru::layer_input else keras_input

  x <- layer_input(shape=c(10, 64))
  y <- x |> layer_flatten()
  expect_equal(as.integer(shape(y)), c(NA, 640L))

  x <- layer_input(shape = 12)
  y <- layer_reshape(x, c(3, 4))
  expect_equal(as.integer(shape(y)), c(NA, 3L, 4L))
  # also supports shape inference using `-1` as dimension
  y <- layer_reshape(x, c(-1, 2, 2))
  expect_equal(as.integer(shape(y)), c(NA, 3L, 2L, 2L))

  x <- layer_input(shape = 32)
  y <- layer_repeat_vector(x, n = 3)
  expect_equal(as.integer(shape(y)), c(NA, 3L, 32L))
})

test_that("flatten, reshape and repeat_vector order values as Keras does", {
  cases <- keras_cases("flatten")
  expect_length(cases, 6)
  for (name in names(cases)) {
    case <- cases[[name]]
    expect_identical(do.call(layer_flatten, case$config)(case$x), case$out, label = name)
  }
  cases <- keras_cases("reshape")
  expect_length(cases, 5)
  for (name in names(cases)) {
    case <- cases[[name]]
    expect_identical(do.call(layer_reshape, case$config)(case$x), case$out, label = name)
  }
  case <- read_keras_cases()$repeat_vector
  expect_identical(do.call(layer_repeat_vector, case$config)(case$x), case$out)
})

test_that("reshaping layers' backward passes match finite differences", {
  x4 <- fixed_array(c(2, 3, 2, 2))
  for (layer in list(layer_flatten(dtype = "float64"), layer_flatten(data_format = "channels_first"),
                     layer_reshape(target_shape = c(4, -1)), layer_reshape(target_shape = 12),
                     layer_reshape(target_shape = c(2, 2, 3)))) {
    expect_backward_matches_fd(obj(layer), x4)
  }
  expect_backward_matches_fd(obj(layer_flatten()), fixed_array(c(3, 4)))
  expect_backward_matches_fd(obj(layer_reshape(target_shape = c(2, 3))), fixed_array(c(2, 6)))
  expect_backward_matches_fd(obj(layer_repeat_vector(n = 3)), fixed_array(c(2, 4)))
})

test_that("flatten handles ranks 1 and 2, unknown sizes, and channels_first", {
  expect_equal(layer_flatten()(array(1:3, 3)), matrix(1:3, 3, 1))
  m <- matrix(1:6, 2)
  expect_equal(layer_flatten()(m), m)
  expect_equal(as.integer(shape(layer_flatten(keras_input(shape = c(NA, 4))))), c(NA_integer_, NA_integer_))
  x <- array(1:24, c(2, 3, 4))  # (batch, channels, steps)
  out <- layer_flatten(data_format = "channels_first")(x)
  # Keras moves channels last, then flattens row-major: steps outer, channels inner
  expect_equal(out[1, 1:3], x[1, , 1])
})

test_that("reshape resolves -1 and NA, and keeps unknown sizes unknown", {
  x <- keras_input(shape = c(6, 2))
  expect_equal(as.integer(shape(layer_reshape(x, c(NA, 3)))), c(NA, 4L, 3L))
  expect_equal(as.integer(shape(layer_reshape(x, list(NULL, 4L)))), c(NA, 3L, 4L))
  expect_equal(as.integer(shape(layer_reshape(keras_input(shape = c(NA, 2)), c(-1, 4)))),
               c(NA, NA, 4L))
  expect_equal(get_config(layer_reshape(target_shape = c(NA, 3)))$target_shape, c(-1L, 3L))
})

test_that("reshaping layers compose with NULL, models, symbolic tensors and arrays", {
  makers <- list(function(...) layer_flatten(...), function(...) layer_reshape(..., target_shape = c(5, 2)),
                 function(...) layer_repeat_vector(..., n = 2))
  shapes <- list(c(5, 2), c(10), c(10))
  for (i in seq_along(makers)) {
    make <- makers[[i]]
    expect_s3_class(make(), "rgru_layer")
    model <- keras_model_sequential(input_shape = shapes[[i]]) |> make()
    expect_equal(model$count_params(), 0)
    x <- fixed_array(c(3, shapes[[i]]))
    out <- predict(model, x, verbose = 0)
    expect_equal(make(x), out)
    expect_equal(as.integer(shape(make(keras_input(shape = shapes[[i]]))))[-1], dim(out)[-1])
  }
})

test_that("reshaping layers drop masks, warning as Keras does", {
  inputs <- keras_input(shape = 4)
  masked <- inputs |> layer_embedding(5, 3, mask_zero = TRUE)
  expect_warning(out <- layer_flatten(masked), class = "rgru_warning_mask")
  expect_false(out$has_mask)
  expect_warning(out <- layer_reshape(masked, c(3, 4)), class = "rgru_warning_mask")
  expect_false(out$has_mask)
})

test_that("reshaping layers reject bad arguments and inputs with classed errors", {
  expect_error(layer_flatten(data_format = "rows"), class = "rgru_error_argument")
  expect_error(layer_reshape(), class = "rgru_error_argument")
  expect_error(layer_reshape(target_shape = c(-1, -1)), class = "rgru_error_shape")
  expect_error(layer_reshape(target_shape = c(2, 0)), class = "rgru_error_shape")
  expect_error(layer_reshape(target_shape = c(2.5, 2)), class = "rgru_error_shape")
  expect_error(layer_reshape(target_shape = "3"), class = "rgru_error_shape")
  expect_error(layer_repeat_vector(), class = "rgru_error_argument")
  expect_error(layer_repeat_vector(n = 0), class = "rgru_error_argument")
  expect_error(layer_repeat_vector(n = 2.5), class = "rgru_error_argument")
  reshape <- layer_reshape(target_shape = c(4, 4), name = "to_4x4")
  expect_error(reshape(matrix(0, 2, 12)), class = "rgru_error_shape")
  expect_snapshot(reshape(matrix(0, 2, 12)), error = TRUE)
  expect_error(layer_reshape(target_shape = c(-1, 5))(matrix(0, 2, 12)), class = "rgru_error_shape")
  expect_error(keras_input(shape = 12) |> layer_reshape(c(5, 2)), class = "rgru_error_shape")
  expect_error(layer_repeat_vector(n = 2)(array(0, c(2, 3, 4))), class = "rgru_error_shape")
  expect_error(layer_flatten()(list(1, 2)), class = "rgru_error")
})

test_that("reshaping layers' configs rebuild them and survive save/load", {
  for (layer in list(layer_flatten(data_format = "channels_first"),
                     layer_reshape(target_shape = c(2, -1)), layer_repeat_vector(n = 4))) {
    config <- get_config(layer)
    expect_equal(get_config(from_config(config))[-1], config[-1], ignore_attr = TRUE)
  }
  expect_equal(get_config(layer_flatten())$data_format, "channels_last")
  expect_equal(get_config(layer_repeat_vector(n = 4))$n, 4L)

  inputs <- keras_input(shape = c(6, 3))
  h <- inputs |> layer_gru(4) |> layer_repeat_vector(5) |> layer_gru(4, return_sequences = TRUE)
  outputs <- h |> layer_reshape(c(10, 2)) |> layer_flatten() |> layer_dense(2)
  model <- keras_model(inputs, outputs)
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  x <- fixed_array(c(2, 6, 3))
  expect_identical(predict(load_model(path), x, verbose = 0), predict(model, x, verbose = 0))
})

test_that("reshaping layers have keras3's signatures", {
  expect_identical(formals(layer_flatten), as.pairlist(alist(object = , data_format = NULL, ... = )))
  expect_identical(formals(layer_reshape), as.pairlist(alist(object = , target_shape = , ... = )))
  expect_identical(formals(layer_repeat_vector), as.pairlist(alist(object = , n = , ... = )))
})
