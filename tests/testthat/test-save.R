save_test_model <- function() {
  keras_model_sequential(input_shape = c(5, 2)) |>
    layer_gru(3, kernel_constraint = constraint_nonneg()) |>
    layer_dense(1)
}

test_that("weights round-trip through save_model_weights()/load_model_weights()", {
  model <- save_test_model()
  path <- withr::local_tempfile(fileext = ".rds")
  save_model_weights(model, path)
  other <- save_test_model()
  expect_false(identical(get_weights(model), get_weights(other)))
  load_model_weights(other, path)
  expect_identical(get_weights(model), get_weights(other))
  expect_error(save_model_weights(model, path), class = "rgru_error_file")
  expect_silent(save_model_weights(model, path, overwrite = TRUE))
  wrong <- keras_model_sequential(input_shape = c(5, 2)) |> layer_gru(4) |> layer_dense(1)
  expect_error(load_model_weights(wrong, path), class = "rgru_error_weights")
  expect_error(load_model_weights(model, tempfile()), class = "rgru_error_file")
})

test_that("a whole compiled model round-trips and resumes training identically", {
  set.seed(21)
  x <- array(runif(40 * 5 * 2), c(40, 5, 2))
  y <- matrix(rowMeans(x[, , 1]), 40)
  model <- save_test_model()
  model |> compile(optimizer = optimizer_adam(0.01), loss = "mse", metrics = "mae")
  model |> fit(x, y, epochs = 2, batch_size = 8, shuffle = FALSE, verbose = 0)
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  restored <- load_model(path)
  expect_equal(predict(restored, x, verbose = 0), predict(model, x, verbose = 0))
  # Same optimizer moments and iteration count: one more epoch gives the same weights.
  model |> fit(x, y, epochs = 1, batch_size = 8, shuffle = FALSE, verbose = 0)
  restored |> fit(x, y, epochs = 1, batch_size = 8, shuffle = FALSE, verbose = 0)
  expect_equal(get_weights(restored), get_weights(model), tolerance = 1e-12)
  expect_equal(evaluate(restored, x, y, verbose = 0), evaluate(model, x, y, verbose = 0))
  # The constraint came back with the config.
  expect_true(all(get_weights(restored)[[1]] >= 0))
  expect_error(load_model_weights(model, path), class = "rgru_error_file")
  uncompiled <- load_model(path, compile = FALSE)
  expect_error(evaluate(uncompiled, x, y, verbose = 0), class = "rgru_error_not_compiled")
})
