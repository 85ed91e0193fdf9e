# layer_time_distributed() against Keras's TimeDistributed
# (tools/keras-fixtures/time_distributed.py), gradients and wiring.

time_distributed_fixture <- read_keras_fixture("keras-time-distributed")

test_that("layer_time_distributed() matches Keras 3.15.1: dense on 3-D and 4-D inputs, a GRU, masks passing through", {
  errors <- expect_keras_cases(time_distributed_fixture, function(case, a) {
    dtype <- case$dtype
    wrapped <- function(inner, weights, x) {
      td <- layer_time_distributed(layer = inner)
      invisible(td(x))
      set_weights(td, weights)
      td(x)
    }
    switch(case$model,
      dense_tanh = wrapped(layer_dense(units = 4, activation = "tanh", dtype = dtype),
                           list(a$dense4.kernel, a$dense4.bias), a$x3),
      dense_4d = wrapped(layer_dense(units = 3, use_bias = FALSE, dtype = dtype),
                         list(a$dense3.kernel), a$x4),
      gru = wrapped(layer_gru(units = 2, dtype = dtype),
                    list(a$gru_on_steps.kernel, a$gru_on_steps.recurrent_kernel, a$gru_on_steps.bias), a$x4),
      {
        model <- keras_model_sequential(input_shape = c(5, 4), input_dtype = dtype) |>
          layer_masking(0, dtype = dtype) |>
          layer_time_distributed(layer_dense(units = 3, activation = "relu", dtype = dtype)) |>
          layer_gru(units = 2, return_sequences = case$model == "masking_gru_sequences", dtype = dtype)
        set_weights(model, list(a$dense_relu.kernel, a$dense_relu.bias, a$gru_after.kernel,
                                a$gru_after.recurrent_kernel, a$gru_after.bias))
        model(a$x_padded)
      }
    )
  })
  expect_length(time_distributed_fixture$cases, 10L)
})

test_that("keras3's layer_time_distributed() example runs, with a dense layer", {
  inputs <- keras_input(shape = c(10, 128, 128, 3), batch_size = 32)
  dense_layer <- layer_dense(units = 64)
  outputs <- layer_time_distributed(inputs, layer = dense_layer)
  expect_identical(shape(outputs), shape(32, 10, 128, 128, 64))
  expect_identical(time_distributed, layer_time_distributed)
})

test_that("every time step gets the wrapped layer's own numbers, with the same weights", {
  x <- fixed_array(c(3, 4, 5))
  dense <- layer_dense(units = 2, activation = "softsign")
  td <- layer_time_distributed(layer = dense)
  y <- td(x)
  expect_equal(dim(y), c(3L, 4L, 2L))
  for (t in 1:4) expect_equal(y[, t, ], dense(x[, t, ]))
  expect_identical(td$layer, dense)
  expect_identical(td$weights, dense$weights)
  embed <- layer_time_distributed(layer = layer_embedding(input_dim = 6, output_dim = 3))
  tokens <- array(c(0, 1, 2, 3, 4, 5, 1, 2), c(2, 2, 2))
  expect_equal(dim(embed(tokens)), c(2L, 2L, 2L, 3L))
  expect_error(embed(tokens + 10), class = "rgru_error_input")
})

test_that("gradients through time_distributed models match finite differences", {
  x <- fixed_array(c(3, 4, 3))
  td <- obj(layer_time_distributed(layer = layer_dense(units = 2, activation = "tanh",
                                                       dtype = "float64")))
  expect_backward_matches_fd(td, x, function(x) td$forward(x))
  model <- keras_model_sequential(input_shape = c(4, 3)) |>
    layer_masking(0, dtype = "float64") |>
    layer_time_distributed(layer_dense(units = 3, activation = "relu", dtype = "float64",
                                       bias_initializer = "ones")) |>
    layer_gru(units = 2, return_sequences = TRUE, dtype = "float64") |>
    layer_time_distributed(layer_dense(units = 1, dtype = "float64"))
  x[2, 3:4, ] <- 0
  # (not the input: moving a masked step's zeros off zero unmasks it)
  expect_backward_matches_fd(obj(model), x, function(x) obj(model)$forward(x), check_input = FALSE)
  # the mask reaches the GRU through the wrapper and comes out of the last one
  expect_identical(model$compute_mask(x), rbind(rep(TRUE, 4), c(TRUE, TRUE, FALSE, FALSE),
                                                rep(TRUE, 4)))
})

test_that("training updates the wrapped layer", {
  set.seed(5)
  x <- array(rnorm(20 * 3 * 2), c(20, 3, 2))
  y <- array(x[, , 1] - x[, , 2], c(20, 3, 1))
  model <- keras_model_sequential(input_shape = c(3, 2)) |>
    layer_time_distributed(layer_dense(units = 1))
  model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
  history <- fit(model, x, y, epochs = 20, batch_size = 10, verbose = 0)
  expect_lt(history$metrics$loss[20], 0.01)
  expect_equal(as.vector(get_weights(model)[[1]]), c(1, -1), tolerance = 0.05)
})

test_that("configuration round-trips; bad layers and inputs give classed errors", {
  td <- layer_time_distributed(layer = layer_dense(units = 3, name = "per_step"), name = "td")
  config <- get_config(td)
  expect_identical(config$layer$name, "per_step")
  copy <- from_config(config)
  x <- fixed_array(c(2, 3, 4))
  invisible(td(x))
  invisible(copy(x))
  set_weights(copy, get_weights(td))
  expect_equal(copy(x), td(x))
  expect_error(layer_time_distributed(), class = "rgru_error_argument")
  expect_error(layer_time_distributed(layer = "dense"), class = "rgru_error_argument")
  expect_error(layer_time_distributed(layer = rnn_cell_gru(2)), class = "rgru_error_argument")
  expect_error(layer_time_distributed(layer = layer_gru(units = 2, stateful = TRUE)),
               class = "rgru_error_stateful")
  expect_error(td(fixed_array(c(2, 4))), class = "rgru_error_shape")
  expect_error(td(x, initial_state = matrix(0, 2, 3)), class = "rgru_error_argument")
  expect_error(td(keras_input(c(3, 4)), initial_state = keras_input(3)), class = "rgru_error_argument")
  expect_error(td(fixed_array(c(2, 3, 5))), class = "rgru_error_shape")
  multi <- layer_time_distributed(layer = layer_gru(units = 2, return_state = TRUE))
  expect_error(multi(fixed_array(c(2, 3, 4, 5))), class = "rgru_error_input")
  frozen <- layer_time_distributed(layer = layer_dense(units = 2), trainable = FALSE)
  invisible(frozen(x))
  expect_length(frozen$trainable_weights, 0L)
})
