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
  # base options(), not withr's: with knitr.in.progress set, withr (and so every
  # expectation) asks knitr, which R CMD check may not have
  while_knitting <- function() {
    old <- options(knitr.in.progress = TRUE)
    on.exit(options(old))
    rgru:::resolve_verbose("auto")
  }
  expect_identical(while_knitting(), 2L)
  withr::local_envvar(TESTTHAT = "false")
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

test_that("evaluation keeps no tape (cuDNN's inference mode); a training step keeps one", {
  set.seed(3)
  model <- keras_model_sequential(input_shape = c(3, 4)) |> layer_gru(2) |> layer_dense(1)
  compile(model, optimizer = "sgd", loss = "mse")
  x <- array(stats::rnorm(24), c(2, 3, 4))
  y <- matrix(1, 2, 1)
  state <- compile_state(model)
  evaluation <- batch_loss(model_object(model), state, x, y, NULL, training = FALSE)
  expect_true(all(vapply(evaluation$tape, is.null, logical(1))))
  training <- batch_loss(model_object(model), state, x, y, NULL, training = TRUE)
  gru_tape <- training$tape[[1]]$tape$run$tape
  expect_true(inherits(gru_tape, "rgru_engine_tape") || inherits(gru_tape, "rgru_cudnn_tape"))
  # The same loss either way.
  expect_equal(evaluation$loss, training$loss)
})
