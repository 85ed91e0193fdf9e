test_that("compile() stores the configuration in place and returns the model", {
  m <- fake_mlp(3, 4, 1)
  out <- compile(m, optimizer = "adam", loss = "mse", metrics = c("mae", "mse"))
  expect_identical(out, m)
  state <- compile_state(m)
  expect_s3_class(state$optimizer, "RgruAdamOptimizer")
  expect_equal(state$loss, "mse")
})

test_that("compile() rejects unknown names at once", {
  m <- fake_mlp(3, 4, 1)
  expect_error(compile(m, loss = "msq"), class = "rgru_error_unknown_name")
  expect_error(compile(m, loss = "mse", metrics = "f1"), class = "rgru_error_unknown_name")
  expect_error(compile(m, optimizer = "adadelta", loss = "mse"), class = "rgru_error_unknown_name")
  expect_error(compile(m), class = "rgru_error_argument")
  expect_error(compile(m, loss = "mse", foo = 1), class = "rgru_error_argument")
  expect_error(compile(list(), loss = "mse"), class = "rgru_error_argument")
})

test_that("fit() and evaluate() need a compiled model", {
  m <- fake_mlp(3, 4, 1)
  expect_error(fit(m, matrix(0, 2, 3), c(1, 2), verbose = 0), class = "rgru_error_not_compiled")
  expect_error(evaluate(m, matrix(0, 2, 3), c(1, 2), verbose = 0), class = "rgru_error_not_compiled")
})

test_that("an R function works as a loss (numeric gradient) and as a metric", {
  set.seed(8)
  x <- matrix(rnorm(30), 10)
  y <- matrix(rnorm(20), 10)
  custom <- fake_mlp(3, 4, 2)
  builtin <- fake_mlp(3, 4, 2)
  my_mse <- function(y_true, y_pred) rowMeans((y_true - y_pred)^2)
  compile(custom, optimizer = optimizer_sgd(0.1), loss = my_mse, metrics = list(my_mse))
  compile(builtin, optimizer = optimizer_sgd(0.1), loss = "mse", metrics = "mse")
  h1 <- fit(custom, x, y, batch_size = 10, epochs = 1, verbose = 0)
  h2 <- fit(builtin, x, y, batch_size = 10, epochs = 1, verbose = 0)
  expect_equal(unname(unlist(h1$metrics)), unname(unlist(h2$metrics)), tolerance = 1e-9)
  expect_equal(custom$weights[[1]]$value, builtin$weights[[1]]$value, tolerance = 1e-7)
})

test_that("loss_weights scale each output's loss", {
  state <- list(loss = "mse", loss_weights = c(a = 2, b = 0.5), metrics = NULL)
  res <- resolve_compiled(state, list(1, 1), list(1, 1), c("b", "a"))
  expect_equal(res$loss_weights, c(b = 0.5, a = 2))
  expect_equal(res$output_loss_names, c("b_loss", "a_loss"))
  expect_error(resolve_compiled(list(loss = list("mse", "mae", "mse")), list(1, 1), list(1, 1),
                                c("a", "b")), class = "rgru_error_argument")
})
