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
