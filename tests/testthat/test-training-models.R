# fit() on real rgru models: freezing, dropout, stateful layers, functional graphs.

seq_data <- function(n = 24, timesteps = 5, features = 2, seed = 1) {
  set.seed(seed)
  x <- array(runif(n * timesteps * features), c(n, timesteps, features))
  list(x = x, y = matrix(rowMeans(x[, , 1]) - rowMeans(x[, , 2]), n))
}

test_that("freeze_weights() keeps layers unchanged in fit(), unfreeze_weights() undoes it", {
  d <- seq_data()
  model <- keras_model_sequential(input_shape = c(5, 2)) |>
    layer_gru(3) |>
    layer_dense(1)
  model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
  freeze_weights(model, from = 1, to = 1)
  expect_length(model$trainable_weights, 2)
  before <- get_weights(model)
  model |> fit(d$x, d$y, epochs = 1, verbose = 0)
  after <- get_weights(model)
  expect_identical(after[1:3], before[1:3])
  expect_false(identical(after[[4]], before[[4]]))
  unfreeze_weights(model)
  expect_length(model$trainable_weights, 5)
  freeze_weights(model)
  expect_length(model$trainable_weights, 0)
  expect_warning(model |> fit(d$x, d$y, epochs = 2, verbose = 0),
                 class = "rgru_warning_no_trainable")
  unfreeze_weights(model, which = 2)
  expect_length(model$trainable_weights, 2)
  expect_error(freeze_weights(model, from = 9), class = "rgru_error_argument")
  expect_error(freeze_weights(model, from = 1, which = 1), class = "rgru_error_argument")
})

test_that("a layer created with trainable = FALSE is not trained", {
  d <- seq_data()
  model <- keras_model_sequential(input_shape = c(5, 2)) |>
    layer_gru(3, trainable = FALSE) |>
    layer_dense(1)
  model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
  before <- get_weights(model)
  model |> fit(d$x, d$y, epochs = 1, verbose = 0)
  expect_identical(get_weights(model)[1:3], before[1:3])
})

test_that("dropout acts in fit() only, reproducibly with seed", {
  d <- seq_data()
  make <- function() {
    model <- keras_model_sequential(input_shape = c(5, 2)) |>
      layer_gru(4, dropout = 0.5, recurrent_dropout = 0.5, seed = 7,
                kernel_initializer = initializer_glorot_uniform(seed = 1),
                recurrent_initializer = initializer_orthogonal(seed = 2)) |>
      layer_dense(1, kernel_initializer = initializer_glorot_uniform(seed = 3))
    model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
    model
  }
  a <- make()
  b <- make()
  expect_identical(get_weights(a), get_weights(b))
  # evaluate() is deterministic and differs from the training-mode loss.
  expect_identical(evaluate(a, d$x, d$y, verbose = 0), evaluate(a, d$x, d$y, verbose = 0))
  h <- a |> fit(d$x, d$y, epochs = 1, batch_size = 24, shuffle = FALSE, verbose = 0)
  set_weights(b, get_weights(make()))
  expect_false(isTRUE(all.equal(h$metrics$loss, evaluate(b, d$x, d$y, verbose = 0)$loss)))
  b |> fit(d$x, d$y, epochs = 1, batch_size = 24, shuffle = FALSE, verbose = 0)
  expect_equal(get_weights(a), get_weights(b))
})

test_that("stateful GRUs carry state across batches within fit()", {
  d <- seq_data(n = 8)
  model <- keras_model_sequential(input_shape = c(5, 2), input_batch_size = 4) |>
    layer_gru(3, stateful = TRUE) |>
    layer_dense(1)
  model |> compile(optimizer = optimizer_sgd(0), loss = "mse")
  gru <- model$layers[[1]]
  h <- model |> fit(d$x, d$y, batch_size = 4, epochs = 1, shuffle = FALSE, verbose = 0)
  # The second batch started from the state the first one left.
  gru$reset_state()
  first <- predict(model, d$x[1:4, , , drop = FALSE], batch_size = 4, verbose = 0)
  second <- predict(model, d$x[5:8, , , drop = FALSE], batch_size = 4, verbose = 0)
  expected <- (sum((first - d$y[1:4])^2) + sum((second - d$y[5:8])^2)) / 8
  expect_equal(h$metrics$loss, expected, tolerance = 1e-6)
  gru$reset_state()
  fresh <- predict(model, d$x[5:8, , , drop = FALSE], batch_size = 4, verbose = 0)
  expect_false(isTRUE(all.equal(fresh, second)))
})

test_that("a functional model with two inputs and two outputs trains and logs per output", {
  set.seed(3)
  a <- keras_input(c(4, 2))
  b <- keras_input(c(4, 1))
  ha <- a |> layer_gru(3)
  hb <- b |> layer_gru(2)
  reg <- ha |> layer_dense(1, name = "reg")
  cls <- hb |> layer_dense(3, activation = "softmax", name = "cls")
  model <- keras_model(list(a, b), list(reg, cls))
  xa <- array(runif(30 * 8), c(30, 4, 2))
  xb <- array(runif(30 * 4), c(30, 4, 1))
  y <- list(matrix(runif(30), 30), sample(0:2, 30, replace = TRUE))
  model |> compile(optimizer = "adam", loss = list("mse", "sparse_categorical_crossentropy"),
                   metrics = list("mae", "accuracy"))
  h <- model |> fit(list(xa, xb), y, epochs = 2, batch_size = 10, verbose = 0)
  expect_equal(names(h$metrics), c("loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy"))
  ev <- evaluate(model, list(xa, xb), y, verbose = 0)
  expect_true(ev$cls_accuracy >= 0 && ev$cls_accuracy <= 1)
  # The total is the sum of the per-output losses (loss weights 1, no penalties).
  expect_equal(ev$loss, ev$reg_loss + ev$cls_loss)
  # Targets may be named by output.
  ev_named <- evaluate(model, list(xa, xb), list(cls = y[[2]], reg = y[[1]]), verbose = 0)
  expect_equal(ev_named, ev)
})

test_that("classification trains with crossentropy and accuracy", {
  set.seed(9)
  x <- array(rnorm(60 * 6 * 1), c(60, 6, 1))
  labels <- as.integer(rowSums(x[, , 1]) > 0)
  model <- keras_model_sequential(input_shape = c(6, 1)) |>
    layer_gru(8) |>
    layer_dense(1, activation = "sigmoid")
  model |> compile(optimizer = optimizer_adam(0.03), loss = "binary_crossentropy",
                   metrics = "accuracy")
  h <- model |> fit(x, labels, epochs = 15, batch_size = 20, verbose = 0)
  expect_named(h$metrics, c("loss", "accuracy"))
  expect_gt(tail(h$metrics$accuracy, 1), 0.8)
})

test_that("a model without input_shape builds on the first batch and trains", {
  d <- seq_data()
  model <- keras_model_sequential() |>
    layer_gru(3) |>
    layer_dense(1)
  model |> compile(optimizer = optimizer_adam(0.05), loss = "mse")
  h <- model |> fit(d$x, d$y, epochs = 5, batch_size = 8, verbose = 0)
  expect_length(model$trainable_weights, 5)
  expect_lt(h$metrics$loss[5], h$metrics$loss[1])
})
