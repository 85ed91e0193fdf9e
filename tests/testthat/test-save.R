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
  expect_error(load_model_weights(model, tempfile(fileext = ".rds")), class = "rgru_error_file")
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
  # Files saved when the optimizer classes were named rgru_optimizer_* still load.
  saved <- readRDS(path)
  expect_identical(saved$compile$optimizer$class, "RgruAdamOptimizer")
  saved$compile$optimizer$class <- "rgru_optimizer_adam"
  old <- withr::local_tempfile(fileext = ".rds")
  saveRDS(saved, old)
  expect_s3_class(rgru:::compile_state(rgru:::layer_object(load_model(old)))$optimizer,
                  "RgruAdamOptimizer")
  expect_error(load_model_weights(model, path), class = "rgru_error_file")
  uncompiled <- load_model(path, compile = FALSE)
  expect_error(evaluate(uncompiled, x, y, verbose = 0), class = "rgru_error_not_compiled")
})

test_that("damaged .rds files are one classed file error naming the field", {
  model <- save_test_model()
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  saved <- readRDS(path)
  damaged <- withr::local_tempfile(fileext = ".rds")
  damage <- function(edit) {
    saveRDS(edit(saved), damaged)
    tryCatch(load_model(damaged), error = identity)
  }
  cases <- list(
    atomic = function(s) 1:3,
    format = function(s) { s$format <- 7; s },
    version = function(s) { s$version <- 2L; s },
    weights = function(s) { s$weights <- "w"; s },
    character_weight = function(s) { s$weights[[1]][] <- "a"; s },
    config = function(s) { s$config <- "x"; s },
    config_class = function(s) { attr(s$config, "rgru_class") <- "RgruNoSuchLayer"; s },
    compile = function(s) { s$compile$optimizer <- list(class = 1); s }
  )
  for (name in names(cases)) {
    err <- damage(cases[[name]])
    expect_s3_class(err, "rgru_error_file")
  }
  na <- damage(function(s) { s$weights[[2]][1] <- NA; s })
  expect_s3_class(na, "rgru_error_weights")
  expect_match(conditionMessage(na), "weights[[2]]", fixed = TRUE)
  writeLines("not R data", damaged)
  expect_error(load_model(damaged), class = "rgru_error_file")
  save_model_weights(model, damaged, overwrite = TRUE)
  expect_error(load_model(damaged), class = "rgru_error_file")
  expect_error(load_model_weights(model, path), class = "rgru_error_file")
})
