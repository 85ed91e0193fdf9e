# fit() against PyTorch autograd on the same GRU -> Dense model, weights and
# data (fixtures from tools/torch-training-fixtures.py, float64).

torch_case_model <- function(fx, reset_after = TRUE, return_sequences = FALSE,
                             kernel_regularizer = NULL, dtype = "float64") {
  d <- dim(fx$x)
  model <- keras_model_sequential(input_shape = d[2:3]) |>
    layer_gru(ncol(fx$initial_recurrent_kernel) / 3, reset_after = reset_after,
              return_sequences = return_sequences, dtype = dtype,
              kernel_regularizer = kernel_regularizer) |>
    layer_dense(length(fx$initial_dense_bias), dtype = dtype)
  set_weights(model, list(fx$initial_kernel, fx$initial_recurrent_kernel, fx$initial_bias,
                          fx$initial_dense_kernel, fx$initial_dense_bias))
  model
}

expect_final_weights <- function(model, fx, tolerance = 1e-10) {
  w <- get_weights(model)
  expected <- list(fx$final_kernel, fx$final_recurrent_kernel, fx$final_bias,
                   fx$final_dense_kernel, fx$final_dense_bias)
  for (i in seq_along(expected)) {
    expect_equal(as.vector(w[[i]]), as.vector(expected[[i]]), tolerance = tolerance)
  }
}

test_that("one full-batch SGD step changes every weight as torch autograd + SGD", {
  fx <- read_engine_fixture("training/sgd-step")
  model <- torch_case_model(fx)
  model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
  h <- model |> fit(fx$x, fx$y, batch_size = 6, epochs = 1, shuffle = FALSE, verbose = 0)
  expect_equal(h$metrics$loss, fx$losses, tolerance = 1e-12)
  # Every weight moved, and by exactly torch's step.
  changed <- mapply(function(a, b) any(a != b), get_weights(model),
                    list(fx$initial_kernel, fx$initial_recurrent_kernel, fx$initial_bias,
                         fx$initial_dense_kernel, fx$initial_dense_bias))
  expect_true(all(changed))
  expect_final_weights(model, fx)
})

test_that("the reset_after = FALSE GRU trains as its torch transcription", {
  fx <- read_engine_fixture("training/sgd-step-reset-before")
  model <- torch_case_model(fx, reset_after = FALSE)
  model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
  model |> fit(fx$x, fx$y, batch_size = 6, epochs = 1, shuffle = FALSE, verbose = 0)
  expect_final_weights(model, fx)
})

test_that("momentum, mini-batches, sample weights and an L2 penalty match torch", {
  fx <- read_engine_fixture("training/sgd-momentum-minibatch-l2-weighted")
  model <- torch_case_model(fx, kernel_regularizer = regularizer_l2(0.01))
  model |> compile(optimizer = optimizer_sgd(0.05, momentum = 0.9), loss = "mse")
  h <- model |> fit(fx$x, fx$y, sample_weight = fx$sample_weight, batch_size = 4,
                    epochs = 2, shuffle = FALSE, verbose = 0)
  expect_final_weights(model, fx)
  # Epoch losses are the batch-size-weighted means of the batch losses.
  per_epoch <- matrix(fx$losses, 3)
  expect_equal(h$metrics$loss, colSums(per_epoch * c(4, 4, 2)) / 10, tolerance = 1e-12)
})

test_that("sequence outputs (return_sequences) train as torch", {
  fx <- read_engine_fixture("training/sgd-sequences")
  model <- torch_case_model(fx, return_sequences = TRUE)
  model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
  model |> fit(fx$x, fx$y, batch_size = 6, epochs = 1, shuffle = FALSE, verbose = 0)
  expect_final_weights(model, fx)
})

test_that("Adam over several steps follows Keras's rule as torch computes it", {
  fx <- read_engine_fixture("training/adam-steps")
  model <- torch_case_model(fx)
  model |> compile(optimizer = optimizer_adam(0.01), loss = "mse")
  h <- model |> fit(fx$x, fx$y, batch_size = 6, epochs = 4, shuffle = FALSE, verbose = 0)
  expect_equal(h$metrics$loss, fx$losses, tolerance = 1e-10)
  expect_final_weights(model, fx, tolerance = 1e-9)
})

test_that("float32 training (the default dtype) matches torch float32 to 1e-5", {
  fx <- read_engine_fixture("training/adam-steps-float32")
  model <- torch_case_model(fx, dtype = "float32")
  model |> compile(optimizer = optimizer_adam(0.01), loss = "mse")
  h <- model |> fit(fx$x, fx$y, batch_size = 6, epochs = 3, shuffle = FALSE, verbose = 0)
  expect_equal(h$metrics$loss, fx$losses, tolerance = 1e-5)
  expect_final_weights(model, fx, tolerance = 1e-5)
})
