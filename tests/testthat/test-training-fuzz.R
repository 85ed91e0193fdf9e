# Dozens of malformed fit()/evaluate() calls: each must end in a
# classed rgru error or a result, never a crash or an unclassed R error.

test_that("malformed training calls end in classed errors or results", {
  set.seed(99)
  model <- keras_model_sequential(input_shape = c(4, 2)) |>
    layer_gru(3) |>
    layer_dense(2)
  model |> compile(optimizer = "sgd", loss = "mse", metrics = "mae")
  good_x <- array(runif(8 * 4 * 2), c(8, 4, 2))
  good_y <- matrix(runif(16), 8)
  bad_values <- list(NULL, NA, "a", list(), -1, 0, 1.5, c(1, 2), Inf, NaN, TRUE,
                     array(1, c(8, 4, 3)), array(1, c(8, 5, 2)), matrix(1, 8, 2),
                     array(1, c(3, 4, 2)), matrix(1, 8, 3), factor("a"), function() 1,
                     data.frame(a = 1:8), list(good_x, good_x))
  args <- c("x", "y", "batch_size", "epochs", "validation_split", "validation_data",
            "shuffle", "sample_weight", "initial_epoch", "verbose", "callbacks",
            "class_weight", "steps_per_epoch", "validation_freq")
  outcomes <- character()
  for (i in 1:60) {
    call_args <- list(x = good_x, y = good_y, epochs = 1, verbose = 0)
    arg <- sample(args, 1)
    call_args[arg] <- list(bad_values[[sample(length(bad_values), 1)]])
    fn <- if (runif(1) < 0.2 && arg %in% c("x", "y", "sample_weight", "batch_size")) evaluate else fit
    if (identical(fn, evaluate)) call_args <- call_args[intersect(names(call_args), c("x", "y", "sample_weight", "batch_size", "verbose"))]
    outcome <- tryCatch({
      do.call(fn, c(list(model), call_args))
      "ok"
    }, rgru_error = function(e) "rgru_error", error = function(e) {
      paste("unclassed:", arg, conditionMessage(e))
    }, warning = function(w) "warning")
    outcomes <- c(outcomes, outcome)
  }
  unclassed <- unique(grep("^unclassed", outcomes, value = TRUE))
  expect_equal(unclassed, character())
  expect_true(any(outcomes == "ok"))
  expect_true(any(outcomes == "rgru_error"))
})
