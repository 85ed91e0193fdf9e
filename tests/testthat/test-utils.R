test_that("validators return the coerced value when the input is valid", {
  expect_identical(check_positive_integer(4, "units"), 4L)
  expect_identical(check_positive_integer(4L, "units"), 4L)
  expect_identical(check_nonnegative_integer(0, "n"), 0L)
  expect_identical(check_integer(-3, "seed"), -3L)
  expect_identical(check_bool(TRUE, "flag"), TRUE)
  expect_identical(check_number(2L, "x"), 2)
  expect_identical(check_probability(0, "dropout"), 0)
  expect_identical(check_probability(0.5, "dropout"), 0.5)
  expect_identical(check_probability(1, "rate", include_one = TRUE), 1)
  expect_identical(check_string("a", "name"), "a")
  expect_identical(check_choice("b", c("a", "b"), "mode"), "b")
  expect_identical(check_dtype(NULL), "float32")
  expect_identical(check_dtype("float64"), "float64")
  expect_null(check_positive_integer(NULL, "units", allow_null = TRUE))
  x <- check_numeric_array(matrix(1:4, 2), "x")
  expect_type(x, "double")
  expect_identical(dim(x), c(2L, 2L))
})

test_that("validators reject bad values with classed errors naming argument, value and expectation", {
  err <- expect_error(check_positive_integer(-1, "units"), class = "rgru_error_argument")
  expect_s3_class(err, "rgru_error")
  expect_match(conditionMessage(err), "`units`")
  expect_match(conditionMessage(err), "positive whole number")
  expect_match(conditionMessage(err), "-1")

  bad_units <- list(0, 2.5, NA, NaN, Inf, "4", c(1, 2), TRUE, NULL, list(4), 3e9)
  for (value in bad_units) {
    expect_error(check_positive_integer(value, "units"), class = "rgru_error_argument")
  }
  expect_error(check_probability(1, "dropout"), "\\[0, 1\\)", class = "rgru_error_argument")
  expect_error(check_probability(-0.1, "dropout"), class = "rgru_error_argument")
  expect_error(check_probability(NA_real_, "dropout"), class = "rgru_error_argument")
  expect_error(check_bool(NA, "flag"), "`TRUE` or `FALSE`", class = "rgru_error_argument")
  expect_error(check_bool(c(TRUE, FALSE), "flag"), class = "rgru_error_argument")
  expect_error(check_bool("yes", "flag"), "\"yes\"", class = "rgru_error_argument")
  expect_error(check_string("", "name"), class = "rgru_error_argument")
  expect_error(check_string(c("a", "b"), "name"), "length 2", class = "rgru_error_argument")
  expect_error(check_choice("c", c("a", "b"), "mode"), "\"a\", \"b\"",
               class = "rgru_error_argument")
  expect_error(check_dtype("float16"), "float32", class = "rgru_error_argument")
  expect_error(check_number(1, "x", min = 2), ">= 2", class = "rgru_error_argument")
  expect_error(check_number(0, "x", min = 0, min_inclusive = FALSE), "> 0",
               class = "rgru_error_argument")
  expect_error(check_numeric_array("a", "x"), class = "rgru_error_type")
  expect_error(check_numeric_array(factor("a"), "x"), class = "rgru_error_type")
  expect_error(check_numeric_array(c(1, NA), "x", finite = TRUE), "position 2",
               class = "rgru_error_value")
})

test_that("errors report the user's call, not the validator", {
  err <- expect_error(layer_dense(units = 0), class = "rgru_error_argument")
  expect_match(conditionMessage(err), "`units`")
  expect_identical(err$call[[1]], quote(layer_dense))
})

test_that("describe_value() summarises values in one line", {
  expect_identical(describe_value(NULL), "`NULL`")
  expect_identical(describe_value(1.5), "`1.5`")
  expect_identical(describe_value("a"), "\"a\"")
  expect_identical(describe_value(sum), "a function")
  expect_match(describe_value(matrix(0, 2, 3)), "dimension \\(2, 3\\)")
  expect_match(describe_value(1:3), "length 3")
  expect_match(describe_value(list(1, 2)), "list of length 2")
})

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
  expect_error(init$generate <- NULL, class = "rgru_error")
})

test_that("validators turn every malformed value into an rgru error", {
  expect_only_rgru_errors(function(v) check_positive_integer(v, "units"))
  expect_only_rgru_errors(function(v) check_probability(v, "dropout"))
  expect_only_rgru_errors(function(v) check_bool(v, "flag"))
  expect_only_rgru_errors(function(v) check_number(v, "x", min = 0))
  expect_only_rgru_errors(function(v) check_string(v, "name"))
  expect_only_rgru_errors(function(v) check_choice(v, c("a", "b"), "mode"))
  expect_only_rgru_errors(function(v) check_numeric_array(v, "x", finite = TRUE))
  expect_only_rgru_errors(function(v) check_dtype(v))
})

test_that("validation errors read well", {
  layer <- function(units, dropout = 0) {
    check_positive_integer(units)
    check_probability(dropout)
  }
  expect_snapshot(error = TRUE, {
    layer(units = -2)
    layer(units = "4")
    layer(units = 4, dropout = 1)
    check_choice("fan", c("fan_in", "fan_out"), "mode")
  })
})
