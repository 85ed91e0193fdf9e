progress_data <- function() {
  withr::with_seed(4, list(x = array(runif(20 * 3 * 2), c(20, 3, 2)), y = matrix(runif(20), 20)))
}

test_that("evaluate() prints Keras's progress line at verbose 1 and 2", {
  d <- progress_data()
  model <- small_compiled_model()
  expect_snapshot(invisible(evaluate(model, d$x, d$y, batch_size = 8, verbose = 2)),
                  transform = mask_timings)
  expect_snapshot(invisible(evaluate(model, d$x, d$y, batch_size = 8, verbose = 1)),
                  transform = mask_timings)
  expect_silent(evaluate(model, d$x, d$y, verbose = 0))
  # "auto" is silent under testthat, as keras3
  expect_silent(evaluate(model, d$x, d$y))
  out <- capture.output(res <- evaluate(model, d$x, d$y, batch_size = 8, verbose = 2))
  expect_match(out, "^3/3 - [0-9]+s - [0-9]+(s|ms|us)/step - loss: [0-9.]+ - mae: [0-9.]+$")
  loss <- sprintf("%.4f", res$loss)
  expect_match(out, paste0("loss: ", loss), fixed = TRUE)
})

test_that("predict() prints Keras's progress line at verbose 1 and 2", {
  d <- progress_data()
  model <- small_compiled_model()
  expect_snapshot(invisible(predict(model, d$x, batch_size = 8, verbose = 2)),
                  transform = mask_timings)
  expect_snapshot(invisible(predict(model, d$x, verbose = 1)), transform = mask_timings)
  expect_silent(predict(model, d$x))
  expect_silent(predict(model, d$x, verbose = 0))
  expect_error(predict(model, d$x, verbose = 3), class = "rgru_error_argument")
})

test_that("verbose = 'auto' follows keras3: 2 while knitting, 0 under testthat", {
  expect_identical(rgru:::resolve_verbose("auto"), 0L)
  withr::local_options(knitr.in.progress = TRUE)
  expect_identical(rgru:::resolve_verbose("auto"), 2L)
  withr::local_envvar(TESTTHAT = "false")
  withr::local_options(knitr.in.progress = NULL)
  expect_identical(rgru:::resolve_verbose("auto"), if (interactive()) 1L else 2L)
})

test_that("values are formatted as Keras's progress bar formats them", {
  logs <- list(loss = 0.12345678, mae = 0.0001234, neg = -0.5, zero = 0)
  expect_identical(rgru:::format_logs(logs, 2L),
                   " - loss: 0.1235 - mae: 1.2340e-04 - neg: -5.0000e-01 - zero: 0.0000e+00")
  expect_identical(rgru:::format_logs(logs, 1L),
                   " - loss: 0.1235 - mae: 1.2340e-04 - neg: -0.5000 - zero: 0.0000e+00")
  expect_identical(rgru:::format_step_time(0.004), "4ms/step")
  expect_identical(rgru:::format_step_time(2.4), "2s/step")
  expect_identical(rgru:::format_step_time(0), "0s/step")
  expect_identical(rgru:::format_step_time(5e-5), "50us/step")
})
