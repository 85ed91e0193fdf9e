# fit() against PyTorch autograd on the same GRU -> Dense model, weights and
# data (fixtures from tools/torch-training-fixtures.py; float64 unless named).

torch_case_model <- function(fx, reset_after = TRUE, return_sequences = FALSE,
                             kernel_regularizer = NULL, dtype = "float64") {
  d <- dim(fx$x)
  model <- keras_model_sequential(input_shape = d[2:3]) |>
    layer_gru(ncol(fx$initial_recurrent_kernel) / 3, reset_after = reset_after,
              return_sequences = return_sequences, dtype = dtype,
              kernel_regularizer = kernel_regularizer) |>
    layer_dense(length(fx$initial_dense_bias), dtype = dtype)
  set_weights(model, initial_weights(fx))
  model
}

initial_weights <- function(fx) {
  list(fx$initial_kernel, fx$initial_recurrent_kernel, fx$initial_bias,
       fx$initial_dense_kernel, fx$initial_dense_bias)
}

# Builds the fixture's model, compiles it with `optimizer` and mse, and fits it
# without shuffling; `...` goes to fit().
train_torch_case <- function(name, optimizer, ..., model_args = list()) {
  fx <- read_engine_fixture(file.path("training", name))
  model <- do.call(torch_case_model, c(list(fx), model_args))
  model |> compile(optimizer = optimizer, loss = "mse")
  history <- model |> fit(fx$x, fx$y, ..., shuffle = FALSE, verbose = 0)
  list(fx = fx, model = model, history = history)
}

expect_final_weights <- function(case, tolerance = 1e-10) {
  fx <- case$fx
  w <- get_weights(case$model)
  expected <- list(fx$final_kernel, fx$final_recurrent_kernel, fx$final_bias,
                   fx$final_dense_kernel, fx$final_dense_bias)
  for (i in seq_along(expected)) {
    expect_equal(as.vector(w[[i]]), as.vector(expected[[i]]), tolerance = tolerance)
  }
}

test_that("one full-batch SGD step changes every weight as torch autograd + SGD", {
  case <- train_torch_case("sgd-step", optimizer_sgd(0.1), batch_size = 6, epochs = 1)
  expect_equal(case$history$metrics$loss, case$fx$losses, tolerance = 1e-12)
  # Every weight moved, and by exactly torch's step.
  changed <- mapply(function(a, b) any(a != b), get_weights(case$model),
                    initial_weights(case$fx))
  expect_true(all(changed))
  expect_final_weights(case)
})

test_that("the reset_after = FALSE GRU trains as its torch transcription", {
  case <- train_torch_case("sgd-step-reset-before", optimizer_sgd(0.1), batch_size = 6,
                           epochs = 1, model_args = list(reset_after = FALSE))
  expect_final_weights(case)
})

test_that("momentum, mini-batches, sample weights and an L2 penalty match torch", {
  fx <- read_engine_fixture("training/sgd-momentum-minibatch-l2-weighted")
  case <- train_torch_case("sgd-momentum-minibatch-l2-weighted",
                           optimizer_sgd(0.05, momentum = 0.9),
                           sample_weight = fx$sample_weight, batch_size = 4, epochs = 2,
                           model_args = list(kernel_regularizer = regularizer_l2(0.01)))
  expect_final_weights(case)
  # Epoch losses are the batch-size-weighted means of the batch losses.
  per_epoch <- matrix(fx$losses, 3)
  expect_equal(case$history$metrics$loss, colSums(per_epoch * c(4, 4, 2)) / 10,
               tolerance = 1e-12)
})

test_that("sequence outputs (return_sequences) train as torch", {
  case <- train_torch_case("sgd-sequences", optimizer_sgd(0.1), batch_size = 6, epochs = 1,
                           model_args = list(return_sequences = TRUE))
  expect_final_weights(case)
})

test_that("Adam over several steps follows Keras's rule as torch computes it", {
  case <- train_torch_case("adam-steps", optimizer_adam(0.01), batch_size = 6, epochs = 4)
  expect_equal(case$history$metrics$loss, case$fx$losses, tolerance = 1e-10)
  expect_final_weights(case, tolerance = 1e-9)
})

test_that("float32 training (the default dtype) matches torch float32 to 1e-5", {
  case <- train_torch_case("adam-steps-float32", optimizer_adam(0.01), batch_size = 6,
                           epochs = 3, model_args = list(dtype = "float32"))
  expect_equal(case$history$metrics$loss, case$fx$losses, tolerance = 1e-5)
  expect_final_weights(case, tolerance = 1e-5)
})
