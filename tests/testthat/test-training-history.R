test_that("print(history) is keras3's: the final epoch's metrics, labels aligned", {
  d <- withr::with_seed(4, list(x = array(runif(20 * 3 * 2), c(20, 3, 2)), y = matrix(runif(20), 20)))
  model <- small_compiled_model()
  history <- fit(model, d$x, d$y, epochs = 2, batch_size = 5, validation_split = 0.2, verbose = 0)
  out <- capture.output(print(history))
  expect_identical(out[1:2], c("", "Final epoch (plot to see history):"))
  expect_identical(out[3], sprintf("    loss: %s", format(history$metrics$loss[2], digits = 4)))
  expect_match(out[6], "^ val_mae: [0-9.]+ $")
  expect_snapshot(print(history), transform = function(x) gsub("[0-9]+\\.[0-9]+", "<value>", x))
})

test_that("print(history) shows big values with thousands separators and early stops", {
  h <- structure(list(params = list(epochs = 3L),
                      metrics = list(loss = c(5000.123, 1234.5678, NA), acc = c(0.5, 0.61234, NA))),
                 class = "keras_training_history")
  expect_snapshot(print(h))
  h$params$epochs <- 2L
  h$metrics <- lapply(h$metrics, `[`, 1:2)
  expect_identical(capture.output(print(h))[3], "loss: 1,235")
})

fit_history <- function() {
  set.seed(3)
  x <- matrix(rnorm(60), 20)
  y <- matrix(sin(x[, 1]) + 0.5 * x[, 2], 20)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = optimizer_sgd(0.05), loss = "mse", metrics = "mae")
  fit(m, x, y, epochs = 3, batch_size = 5, shuffle = FALSE, validation_split = 0.2,
      verbose = 0)
}

test_that("history plots with base graphics and ggplot2", {
  h <- fit_history()
  path <- tempfile(fileext = ".pdf")
  grDevices::pdf(path)
  expect_null(plot(h, method = "base"))
  grDevices::dev.off()
  expect_gt(file.size(path), 0)
  skip_if_not_installed("ggplot2")
  p <- plot(h, method = "ggplot2")
  expect_s3_class(p, "ggplot")
  expect_setequal(unique(as.character(p$data$metric)), c("loss", "mae"))
})

test_that("history printing is stable", {
  h <- fit_history()
  expect_snapshot(print(h))
  expect_snapshot(as.data.frame(h))
})

test_that("plot() checks its arguments", {
  h <- fit_history()
  expect_error(plot(h, method = "lattice"), class = "rgru_error_argument")
  expect_error(plot(h, metrics = "accuracy"), class = "rgru_error_argument")
  expect_error(plot(h, smooth = NA), class = "rgru_error_argument")
})

test_that("an empty history prints and converts", {
  h <- new_training_history(list(samples = 0, batch_size = 32), list(), integer())
  expect_output(print(h), "No epochs were run")
  expect_identical(nrow(as.data.frame(h)), 0L)
})
