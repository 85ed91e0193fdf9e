test_that("a GRU learns to predict a noisy sine one step ahead", {
  set.seed(42)
  n <- 256
  timesteps <- 12
  phase <- runif(n, 0, 2 * pi)
  freq <- runif(n, 0.3, 0.6)
  steps <- outer(rep(1, n), 0:timesteps)
  wave <- sin(phase + freq * steps) + matrix(rnorm(n * (timesteps + 1), sd = 0.05), n)
  x <- array(wave[, 1:timesteps], c(n, timesteps, 1))
  y <- matrix(wave[, timesteps + 1], n)
  model <- keras_model_sequential(input_shape = c(timesteps, 1)) |>
    layer_gru(16, seed = 1) |>
    layer_dense(1)
  model |> compile(optimizer = optimizer_adam(0.02), loss = "mse", metrics = "mae")
  started <- Sys.time()
  history <- model |> fit(x, y, epochs = 25, batch_size = 32, validation_split = 0.25,
                          verbose = 0)
  # Predicting zero gives an MSE of about 0.5; the noise floor is 0.0025.
  expect_lt(history$metrics$loss[1], 0.6)
  expect_lt(tail(history$metrics$val_loss, 1), 0.02)
  expect_lt(as.numeric(difftime(Sys.time(), started, units = "secs")), 30)
})
