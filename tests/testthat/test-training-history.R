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
  expect_output(print(h), "Trained on 0 samples")
  expect_identical(nrow(as.data.frame(h)), 0L)
})
