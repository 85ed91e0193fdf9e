test_that("round_to_dtype() rounds to single precision and keeps attributes", {
  x <- matrix(c(0.1, 1 / 3, 1e-50, 2^30 + 1), 2)
  y <- round_to_dtype(x, "float32")
  expect_identical(dim(y), dim(x))
  expect_equal(y, x, tolerance = 1e-7)
  expect_false(identical(y[1], 0.1))
  expect_identical(y[4], 2^30)
  # idempotent: float32 values are exactly representable
  expect_identical(round_to_dtype(y, "float32"), y)
  expect_identical(round_to_dtype(x, "float64"), x)
})

test_that("callable objects are read-only and list their fields", {
  init <- initializer_zeros()
  expect_true("generate" %in% names(init))
  expect_error(init$generate <- NULL, class = "rgru_error_argument")
})

test_that("a failing user function becomes an error of its role, keeping the cause", {
  err <- expect_error(call_user_function(function(x) stop("boom"), list(1), "a loss",
                                         "rgru_error_loss"),
                      class = "rgru_error_loss")
  expect_identical(conditionMessage(err$parent), "boom")
})

test_that("format_config_call() writes a configuration as a call", {
  expect_identical(format_config_call("L1L2", list(l1 = 0.01, l2 = NULL)),
                   "L1L2(l1 = 0.01, l2 = NULL)")
  expect_identical(format_config_call("X", list(axis = c(1, 2), s = "a")),
                   "X(axis = c(1, 2), s = \"a\")")
})
