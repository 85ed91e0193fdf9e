test_that("print(history) is keras3's: the final epoch's metrics, labels aligned", {
  d <- withr::with_seed(4, list(x = array(runif(20 * 3 * 2), c(20, 3, 2)), y = matrix(runif(20), 20)))
  model <- small_compiled_model()
  history <- fit(model, d$x, d$y, epochs = 2, batch_size = 5, validation_split = 0.2, verbose = 0)
  out <- capture.output(print(history))
  expect_identical(out[1:2], c("", "Final epoch (plot to see history):"))
  expect_identical(out[3], sprintf("    loss: %s", format(history$metrics$loss[2], digits = 4)))
  expect_match(out[6], "^ val_mae: [0-9.]+ $")
  expect_snapshot(print(history), transform = function(x) gsub("[0-9]+\\.[0-9]+", "<value>", x))
})

test_that("print(history) shows big values with thousands separators and early stops", {
  h <- structure(list(params = list(epochs = 3L),
                      metrics = list(loss = c(5000.123, 1234.5678, NA), acc = c(0.5, 0.61234, NA))),
                 class = "keras_training_history")
  expect_snapshot(print(h))
  h$params$epochs <- 2L
  h$metrics <- lapply(h$metrics, `[`, 1:2)
  expect_identical(capture.output(print(h))[3], "loss: 1,235")
})
