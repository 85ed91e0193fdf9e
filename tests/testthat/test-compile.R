test_that("compile() stores the configuration in place and returns the model", {
  m <- fake_mlp(3, 4, 1)
  out <- compile(m, optimizer = "adam", loss = "mse", metrics = c("mae", "mse"))
  expect_identical(out, m)
  state <- compile_state(m)
  expect_s3_class(state$optimizer, "rgru_optimizer_adam")
  expect_equal(state$loss, "mse")
})

test_that("compile() rejects unknown names at once", {
  m <- fake_mlp(3, 4, 1)
  expect_error(compile(m, loss = "msq"), class = "rgru_error_argument")
  expect_error(compile(m, loss = "mse", metrics = "f1"), class = "rgru_error_argument")
  expect_error(compile(m, optimizer = "adadelta", loss = "mse"), class = "rgru_error_argument")
  expect_error(compile(m), class = "rgru_error_argument")
  expect_error(compile(m, loss = "mse", foo = 1), class = "rgru_error_argument")
  expect_error(compile(list(), loss = "mse"), class = "rgru_error_argument")
})

test_that("fit() and evaluate() need a compiled model", {
  m <- fake_mlp(3, 4, 1)
  expect_error(fit(m, matrix(0, 2, 3), c(1, 2), verbose = 0), class = "rgru_error_not_compiled")
  expect_error(evaluate(m, matrix(0, 2, 3), c(1, 2), verbose = 0), class = "rgru_error_not_compiled")
})
