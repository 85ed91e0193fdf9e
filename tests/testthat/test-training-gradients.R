# Gradients of the whole training loss (compiled loss + penalties) through real
# models, against central finite differences, in float64.

training_gradients <- function(model, x, y, sample_weight = NULL) {
  state <- compile_state(model)
  step <- batch_loss(model_object(model), state, x, y, sample_weight, training = TRUE)
  list(loss = step$loss, grads = batch_gradients(model_object(model), step),
       trainable = step$trainable)
}

expect_gradients_match <- function(model, x, y, sample_weight = NULL, tolerance = 1e-6) {
  res <- training_gradients(model, x, y, sample_weight)
  loss_fn <- function() {
    batch_loss(model_object(model), compile_state(model), x, y, sample_weight,
               training = FALSE)$loss
  }
  numeric <- finite_difference_grads(loss_fn, res$trainable, h = 1e-5)
  for (i in seq_along(numeric)) {
    expect_equal(as.vector(res$grads[[i]]), as.vector(numeric[[i]]), tolerance = tolerance,
                 label = res$trainable[[i]]$path)
  }
}

test_that("sequential GRU -> dense gradients match finite differences, with penalties", {
  set.seed(11)
  x <- array(rnorm(4 * 5 * 3), c(4, 5, 3))
  y <- matrix(rnorm(8), 4)
  model <- keras_model_sequential(input_shape = c(5, 3)) |>
    layer_gru(3, dtype = "float64", kernel_regularizer = regularizer_l1_l2(0.01, 0.02),
              recurrent_regularizer = regularizer_l2(0.03), bias_regularizer = regularizer_l2(0.1),
              activity_regularizer = regularizer_l2(0.05)) |>
    layer_dense(2, dtype = "float64")
  model |> compile(optimizer = "sgd", loss = "huber")
  expect_gradients_match(model, x, y, sample_weight = c(1, 2, 0.5, 1))
})

test_that("embedding + masking into a GRU with sequence outputs: exact gradients", {
  set.seed(12)
  tokens <- matrix(c(1, 2, 3, 0, 0, 4, 1, 2, 3, 0, 2, 2), 3, byrow = TRUE)
  y <- array(rnorm(3 * 4 * 2), c(3, 4, 2))
  model <- keras_model_sequential(input_shape = 4) |>
    layer_embedding(5, 3, mask_zero = TRUE, dtype = "float64") |>
    layer_gru(3, return_sequences = TRUE, dtype = "float64") |>
    layer_dense(2, dtype = "float64")
  model |> compile(optimizer = "sgd", loss = "mse")
  expect_gradients_match(model, tokens, y)
})

test_that("functional model with layer_rnn(rnn_cell_gru()) and two outputs", {
  set.seed(13)
  x <- array(rnorm(3 * 4 * 2), c(3, 4, 2))
  inputs <- keras_input(c(4, 2), dtype = "float64")
  seq <- inputs |> layer_rnn(rnn_cell_gru(3, reset_after = FALSE, dtype = "float64"),
                             return_sequences = TRUE, dtype = "float64")
  out1 <- seq |> layer_gru(2, go_backwards = TRUE, dtype = "float64")
  out2 <- out1 |> layer_dense(3, activation = "softmax", dtype = "float64")
  model <- keras_model(inputs, list(out1, out2))
  model |> compile(optimizer = "sgd", loss = list("mae", "sparse_categorical_crossentropy"),
                   loss_weights = c(0.5, 2))
  y <- list(matrix(rnorm(6), 3), c(0, 2, 1))
  expect_gradients_match(model, x, y)
})

test_that("layer_masking in front of a GRU: exact gradients, masked steps skipped", {
  set.seed(14)
  x <- array(rnorm(3 * 5 * 2), c(3, 5, 2))
  x[1, 4:5, ] <- 0
  x[3, 2, ] <- 0
  y <- matrix(rnorm(3), 3)
  model <- keras_model_sequential(input_shape = c(5, 2)) |>
    layer_masking(0, dtype = "float64") |>
    layer_gru(2, reset_after = FALSE, dtype = "float64") |>
    layer_dense(1, dtype = "float64")
  model |> compile(optimizer = "sgd", loss = "mse")
  expect_gradients_match(model, x, y)
  # Masked steps get no gradient; the others do.
  step <- batch_loss(model_object(model), compile_state(model), x, y, NULL, training = TRUE)
  d_x <- model_object(model)$backward(step$tape, step$d_outputs[[1]])$d_inputs
  expect_true(all(d_x[1, 4:5, ] == 0))
  expect_true(all(d_x[3, 2, ] == 0))
  expect_true(all(d_x[2, , ] != 0))
})
