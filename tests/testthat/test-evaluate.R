eval_model <- function() {
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = "sgd", loss = "mse", metrics = "mae")
  m
}

eval_data <- function(n = 10) {
  set.seed(5)
  x <- matrix(rnorm(n * 3), n)
  list(x = x, y = matrix(x[, 1] - x[, 2], n))
}

test_that("evaluate() gives the compiled loss and metrics over all batches", {
  d <- eval_data()
  m <- eval_model()
  pred <- m$forward(d$x)$outputs
  logs <- evaluate(m, d$x, d$y, batch_size = 3, verbose = 0)
  expect_named(logs, c("loss", "mae"))
  expect_equal(logs$loss, mean((pred - d$y)^2), tolerance = 1e-12)
  expect_equal(logs$mae, mean(abs(pred - d$y)), tolerance = 1e-12)
  expect_equal(m$forward(d$x)$outputs, pred)
})

test_that("steps limits the batches and sample_weight weights the samples", {
  d <- eval_data()
  m <- eval_model()
  pred <- m$forward(d$x)$outputs
  first <- evaluate(m, d$x, d$y, batch_size = 4, steps = 1, verbose = 0)
  expect_equal(first$loss, mean((pred[1:4] - d$y[1:4])^2), tolerance = 1e-12)
  sw <- rep(c(1, 0), 5)
  weighted <- evaluate(m, d$x, d$y, sample_weight = sw, batch_size = 10, verbose = 0)
  expect_equal(weighted$loss, sum(sw * (pred - d$y)^2) / 10, tolerance = 1e-12)
})

test_that("evaluate() checks its arguments", {
  d <- eval_data()
  m <- eval_model()
  expect_error(evaluate(m, d$x, verbose = 0), class = "rgru_error_argument")
  expect_error(evaluate(m, d$x, d$y[1:3, , drop = FALSE], verbose = 0), class = "rgru_error_shape")
  expect_error(evaluate(m, d$x, d$y, sample_weight = 1:3, verbose = 0),
               class = "rgru_error_shape")
  expect_error(evaluate(m, d$x, d$y, steps = 2^31, verbose = 0), class = "rgru_error_argument")
  expect_error(evaluate(m, d$x, d$y, batch_size = Inf, verbose = 0), class = "rgru_error_argument")
  expect_error(evaluate(m, d$x, d$y, verbose = "loud"), class = "rgru_error_argument")
  expect_error(evaluate(m, d$x, d$y, bogus = 1), class = "rgru_error_argument")
  expect_error(evaluate(fake_mlp(3, 4, 1), d$x, d$y), class = "rgru_error_not_compiled")
})
