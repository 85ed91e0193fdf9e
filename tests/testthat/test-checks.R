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
  expect_identical(check_seed(NULL), NULL)
  expect_identical(check_seed(7), 7L)
  expect_identical(check_axes(c(1, -1)), c(1L, -1L))
})

test_that("validators reject bad values with classed errors", {
  bad_units <- list(-1, 0, 2.5, NA, NaN, Inf, "4", c(1, 2), TRUE, NULL, list(4), 3e9)
  for (value in bad_units) {
    expect_error(check_positive_integer(value, "units"), class = "rgru_error_argument")
  }
  expect_error(check_probability(1, "dropout"), class = "rgru_error_argument")
  expect_error(check_probability(-0.1, "dropout"), class = "rgru_error_argument")
  expect_error(check_probability(NA_real_, "dropout"), class = "rgru_error_argument")
  expect_error(check_bool(NA, "flag"), class = "rgru_error_argument")
  expect_error(check_bool(c(TRUE, FALSE), "flag"), class = "rgru_error_argument")
  expect_error(check_bool("yes", "flag"), class = "rgru_error_argument")
  expect_error(check_string("", "name"), class = "rgru_error_argument")
  expect_error(check_string(c("a", "b"), "name"), class = "rgru_error_argument")
  expect_error(check_choice("c", c("a", "b"), "mode"), class = "rgru_error_argument")
  expect_error(check_dtype("float16"), class = "rgru_error_argument")
  expect_error(check_number(1, "x", min = 2), class = "rgru_error_argument")
  expect_error(check_number(0, "x", min = 0, min_inclusive = FALSE),
               class = "rgru_error_argument")
  expect_error(check_numeric_array("a", "x"), class = "rgru_error_type")
  expect_error(check_numeric_array(factor("a"), "x"), class = "rgru_error_type")
  expect_error(check_numeric_array(c(1, NA), "x", finite = TRUE), class = "rgru_error_value")
  expect_error(check_seed(1.5), class = "rgru_error_argument")
  expect_error(check_axes(c(1, 1)), class = "rgru_error_argument")
  expect_error(check_last_axis(1), class = "rgru_error_argument")
  expect_error(check_indices(c(0, 3), input_dim = 3), class = "rgru_error_input")
  expect_error(check_regularized(1:3, matrix_only = TRUE), class = "rgru_error_shape")
  expect_error(check_empty_dots(1, b = 2), class = "rgru_error_argument")
  expect_error(check_target_name("", "c(a, )"), class = "rgru_error_destructure")
})

test_that("the older names check the same way as the ones they stand for", {
  expect_identical(check_flag(FALSE, "f"), FALSE)
  expect_error(check_flag(NA, "f"), class = "rgru_error_argument")
  expect_identical(check_string_arg("a", "s"), "a")
  expect_error(check_string_arg("", "s"), class = "rgru_error_argument")
  expect_identical(check_count(0, "n"), 0L)
  expect_error(check_count(-1, "n"), class = "rgru_error_argument")
  expect_identical(check_one_of("a", c("a", "b"), "m"), "a")
  expect_error(check_one_of("c", c("a", "b"), "m"), class = "rgru_error_argument")
  expect_identical(check_positive_number(0, "lr", allow_zero = TRUE), 0)
  expect_error(check_positive_number(0, "lr"), class = "rgru_error_argument")
  expect_identical(check_penalty_factor(0.1), 0.1)
  expect_identical(check_mode("min"), "min")
  expect_identical(check_reduction(NULL), "none")
  expect_identical(check_label_smoothing(1), 1)
})

test_that("training counts are bounded by R's integers, so no NA is ever made", {
  expect_identical(check_batch_size(NULL), 32L)
  expect_identical(check_batch_size(.Machine$integer.max), .Machine$integer.max)
  for (value in list(Inf, 1e300, 2^31, 0, 1.5, NA, "a")) {
    expect_error(check_batch_size(value), class = "rgru_error_argument")
  }
  expect_identical(check_epoch(.Machine$integer.max, "epochs"), .Machine$integer.max)
  for (value in list(2^31, 1e15, Inf, 0, -1, NaN)) {
    expect_error(check_epoch(value, "epochs"), class = "rgru_error_argument")
  }
  expect_identical(check_validation_split(0), 0)
  expect_error(check_validation_split(1), class = "rgru_error_argument")
})

test_that("check_same_rows() compares every array, inside lists too", {
  a <- array(0, c(4, 2))
  expect_identical(check_same_rows(list(a, list(a, a)), c("x", "y")), 4L)
  expect_error(check_same_rows(list(a, list(a, array(0, c(3, 2)))), c("x", "y")),
               class = "rgru_error_shape")
})

test_that("errors report the user's call, not the validator", {
  err <- expect_error(layer_dense(units = 0), class = "rgru_error_argument")
  expect_identical(err$call[[1]], quote(layer_dense))
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
  expect_only_rgru_errors(function(v) check_batch_size(v))
  expect_only_rgru_errors(function(v) check_epoch(v, "epochs"))
  expect_only_rgru_errors(function(v) check_axes(v))
  expect_only_rgru_errors(function(v) check_seed(v))
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
    check_bool(NA, "flag")
    check_string(c("a", "b"), "name")
    check_number(0, "x", min = 0, min_inclusive = FALSE)
    check_numeric_array(c(1, NA), "x", finite = TRUE)
    check_epoch(2^31, "initial_epoch")
    check_same_rows(list(array(0, c(4, 2)), array(0, c(3, 1))), c("x", "y"))
  })
})
