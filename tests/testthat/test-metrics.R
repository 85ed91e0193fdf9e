test_that("regression metrics give per-sample values", {
  expect_equal(metric_mean_absolute_error(matrix(c(1, 2, 3, 4), 2), matrix(c(2, 2, 3, 6), 2)),
               c(0.5, 1))
  expect_equal(metric_mean_squared_error(matrix(c(1, 2, 3, 4), 2), matrix(c(2, 2, 3, 6), 2)),
               c(0.5, 2))
})

test_that("accuracies compare classes as Keras does", {
  expect_equal(metric_binary_accuracy(c(0, 1, 1, 0), c(0.2, 0.4, 0.9, 0.5)), c(1, 0, 1, 1))
  probs <- rbind(c(0.1, 0.9), c(0.8, 0.2), c(0.3, 0.7))
  expect_equal(metric_categorical_accuracy(rbind(c(0, 1), c(0, 1), c(0, 1)), probs), c(1, 0, 1))
  expect_equal(metric_sparse_categorical_accuracy(c(1, 1, 0), probs), c(1, 0, 0))
  expect_equal(metric_accuracy(c(1, 2, 3), c(1, 2, 4)), c(1, 1, 0))
})

test_that("'accuracy' resolves by shapes as Keras's get_metric()", {
  one <- matrix(0, 4, 1)
  three <- matrix(0, 4, 3)
  expect_s3_class(resolve_metric("accuracy", one, one), "rgru_metric_binary_accuracy")
  expect_s3_class(resolve_metric("accuracy", 1:4, three), "rgru_metric_sparse_categorical_accuracy")
  expect_s3_class(resolve_metric("acc", one, three), "rgru_metric_sparse_categorical_accuracy")
  expect_s3_class(resolve_metric("accuracy", three, three), "rgru_metric_categorical_accuracy")
  expect_equal(resolve_metric("acc", one, one)$name, "acc")
})

test_that("trackers keep a weighted running mean", {
  tr <- metric_tracker()
  update_metric(tr, metric_mean_absolute_error(), matrix(0, 2), matrix(c(1, 3), 2), NULL)
  update_metric(tr, metric_mean_absolute_error(), matrix(0, 1), matrix(6, 1), NULL)
  expect_equal(tracker_result(tr), 10 / 3)
  tr <- metric_tracker()
  update_metric(tr, metric_mean_absolute_error(), matrix(0, 2), matrix(c(1, 3), 2), c(3, 1))
  expect_equal(tracker_result(tr), 6 / 4)
})

test_that("unknown metrics are classed errors", {
  expect_error(resolve_metric("f1"), class = "rgru_error_unknown_name")
  expect_error(resolve_metric(list()), class = "rgru_error_argument")
  expect_error(metric_sparse_categorical_accuracy(1:3, matrix(0, 2, 2)), class = "rgru_error_shape")
})
