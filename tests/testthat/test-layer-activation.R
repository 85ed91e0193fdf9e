test_that("keras3's layer_activation example runs", {
  x <- array(c(-3, -1, 0, 2))
  layer <- layer_activation(activation = 'relu')
  expect_equal(as.numeric(layer(x)), c(0, 0, 0, 2))
  layer <- layer_activation(activation = activation_relu)
  expect_equal(as.numeric(layer(x)), c(0, 0, 0, 2))
  # (keras3's third example uses op_relu, which rgru does not have.)
})

test_that("layer_activation matches Keras", {
  cases <- keras_cases("activation")
  expect_length(cases, 5)
  for (name in names(cases)) {
    case <- cases[[name]]
    layer <- layer_activation(activation = case$config$activation, dtype = "float64")
    expect_equal(layer(case$x), case$out, tolerance = 1e-10, label = name)
  }
})

test_that("layer_activation backward matches finite differences", {
  x <- fixed_array(c(2, 3, 4))
  for (act in list("tanh", "softmax", "selu", function(v) sin(v) * v, NULL)) {
    expect_backward_matches_fd(obj(layer_activation(activation = act, dtype = "float64")), x)
  }
})

test_that("layer_activation composes, passes masks through and keeps its config", {
  expect_s3_class(layer_activation(activation = "relu"), "rgru_layer")
  model <- keras_model_sequential(input_shape = c(4, 2)) |>
    layer_dense(3) |>
    layer_activation("softmax")
  out <- predict(model, fixed_array(c(2, 4, 2)), verbose = 0)
  expect_equal(apply(out, c(1, 2), sum), matrix(1, 2, 4))
  expect_equal(model$count_params(), 9)
  expect_equal(as.integer(shape(layer_activation(keras_input(shape = c(4, 2)), "tanh"))),
               c(NA, 4L, 2L))
  expect_equal(layer_activation(matrix(-1:2, 2), "relu"), matrix(c(0, 0, 1, 2), 2))

  inputs <- keras_input(shape = 4)
  masked <- inputs |> layer_embedding(5, 3, mask_zero = TRUE) |> layer_activation("tanh")
  expect_true(masked$has_mask)

  config <- get_config(layer_activation(activation = "gelu"))
  expect_equal(config$activation, "gelu")
  expect_equal(get_config(from_config(config))[-1], config[-1], ignore_attr = TRUE)
  expect_equal(get_config(layer_activation(activation = NULL))$activation, "linear")

  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  x <- fixed_array(c(3, 4, 2))
  expect_identical(predict(load_model(path), x, verbose = 0), predict(model, x, verbose = 0))
})

test_that("layer_activation rejects bad arguments with classed errors", {
  expect_error(layer_activation(), class = "rgru_error_argument")
  expect_error(layer_activation(activation = "nope"), class = "rgru_error")
  expect_error(layer_activation(activation = 3), class = "rgru_error_argument")
  expect_error(layer_activation(activation = "relu", units = 3), class = "rgru_error_argument")
  expect_error(layer_activation(activation = function(v) 1)(matrix(1, 2, 2)), class = "rgru_error")
})

test_that("layer_activation has keras3's signature", {
  expect_identical(formals(layer_activation), as.pairlist(alist(object = , activation = , ... = )))
})
