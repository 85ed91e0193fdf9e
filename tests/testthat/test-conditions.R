test_that("errors carry rgru_error and their family class", {
  err <- tryCatch(rgru_abort("bad {1}", class = "shape", call = NULL), error = identity)
  expect_s3_class(err, c("rgru_error_shape", "rgru_error"))
  err <- tryCatch(rgru_abort("bad", class = "rgru_error_input", call = NULL), error = identity)
  expect_identical(class(err)[1:2], c("rgru_error_input", "rgru_error"))
  w <- tryCatch(rgru_warn("careful", class = "cudnn"), warning = identity)
  expect_s3_class(w, c("rgru_warning_cudnn", "rgru_warning"))
})

test_that("a bad value is described in the one wording", {
  err <- tryCatch(abort_argument("units", -1, "a positive whole number", call = NULL),
                  error = identity)
  expect_s3_class(err, "rgru_error_argument")
  expect_match(conditionMessage(err), "`units` must be a positive whole number, not `-1`.",
               fixed = TRUE)
})

test_that("the call shown is the user's entry point, not an internal helper", {
  err <- tryCatch(layer_gru(units = -1), error = identity)
  expect_s3_class(err, "rgru_error_argument")
  expect_identical(conditionCall(err)[[1]], quote(layer_gru))

  gru <- layer_gru(units = 2)
  err <- tryCatch(gru(array(1, c(2, 3))), error = identity)
  expect_s3_class(err, "rgru_error_shape")
  expect_identical(conditionCall(err)[[1]], quote(gru))
})

test_that("internal calls outside an entry point show no call", {
  inner <- function() rgru_abort("x")
  err <- tryCatch(inner(), error = identity)
  expect_null(conditionCall(err))
})

test_that("describe_value() summarises values in one line", {
  expect_identical(describe_value(NULL), "`NULL`")
  expect_identical(describe_value(1.5), "`1.5`")
  expect_identical(describe_value("a"), "\"a\"")
  expect_identical(describe_value(sum), "a function")
  expect_identical(describe_value(shape(2, NA)), "shape(2, NA)")
  expect_identical(describe_value(matrix(0, 2, 3)), "a double array of dimension (2, 3)")
  expect_identical(describe_value(1:3), "an integer vector of length 3")
  expect_identical(describe_value(list(1, 2)), "a list of length 2")
})

test_that("a wrong shape is reported in one wording, with bullets from the caller", {
  layer_name <- "dense"
  err <- tryCatch(abort_shape("inputs", c(NA, 3), c(2, 4), "i" = "In layer {layer_name}.",
                              call = NULL),
                  error = identity)
  expect_s3_class(err, c("rgru_error_shape", "rgru_error"))
  expect_snapshot(error = TRUE, {
    abort_shape("inputs", c(NA, 3), c(2, 4), "i" = "In layer {layer_name}.")
    abort_shape("inputs", "at least 2 axes", 5)
    abort_argument("units", "a", "a positive whole number", "i" = "In layer {layer_name}.")
  })
})
