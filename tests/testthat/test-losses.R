test_that("losses match Keras's documented values", {
  # keras/src/losses/losses.py docstring examples.
  y_true <- matrix(c(0, 0, 1, 0), 2)
  y_pred <- matrix(c(0.6, 0.4, 0.4, 0.6), 2)
  expect_equal(loss_binary_crossentropy(y_true, y_pred), c(0.916, 0.714), tolerance = 1e-3)
  y_true <- rbind(c(0, 1, 0), c(0, 0, 1))
  y_pred <- rbind(c(0.05, 0.95, 0), c(0.1, 0.8, 0.1))
  expect_equal(loss_categorical_crossentropy(y_true, y_pred), c(0.0513, 2.303), tolerance = 1e-3)
  expect_equal(loss_sparse_categorical_crossentropy(c(1, 2), y_pred), c(0.0513, 2.303), tolerance = 1e-3)
})

test_that("regression losses average over the last axis", {
  y_true <- matrix(c(1, 2, 3, 4), 2)
  y_pred <- matrix(c(1.5, 0, 3, 7), 2)
  expect_equal(loss_mean_squared_error(y_true, y_pred), c((0.25 + 0) / 2, (4 + 9) / 2))
  expect_equal(loss_mean_absolute_error(y_true, y_pred), c(0.25, 2.5))
  # Huber: quadratic inside delta, linear outside.
  expect_equal(loss_huber(y_true, y_pred), c((0.125 + 0) / 2, (1.5 + 2.5) / 2))
  expect_equal(loss_huber(y_true, y_pred, delta = 3), c(0.0625, (2 + 4.5) / 2))
})

test_that("a target vector fits a one-unit output", {
  expect_equal(loss_mean_squared_error(c(1, 2), matrix(c(2, 2), 2)), c(1, 0))
  expect_error(loss_mean_squared_error(c(1, 2, 3), matrix(c(2, 2), 2)), class = "rgru_error_shape")
})

test_that("probabilities are clipped to Keras's epsilon", {
  expect_equal(loss_binary_crossentropy(matrix(1), matrix(0)), -log(1e-7))
  expect_equal(loss_categorical_crossentropy(matrix(c(1, 0), 1), matrix(c(0, 1), 1)), -log(1e-7))
})

test_that("from_logits matches probabilities of the softmax/sigmoid", {
  set.seed(1)
  z <- matrix(rnorm(12), 4)
  y <- matrix(runif(12) > 0.5, 4) * 1
  expect_equal(loss_binary_crossentropy(y, z, from_logits = TRUE),
               loss_binary_crossentropy(y, plogis(z)), tolerance = 1e-6)
  sm <- exp(z) / rowSums(exp(z))
  labels <- c(0, 2, 1, 1)
  expect_equal(loss_sparse_categorical_crossentropy(labels, z, from_logits = TRUE),
               loss_sparse_categorical_crossentropy(labels, sm), tolerance = 1e-10)
  # Stable for huge logits.
  expect_equal(loss_binary_crossentropy(matrix(0), matrix(1000), from_logits = TRUE), 1000)
})

test_that("label smoothing moves targets as Keras does", {
  p <- matrix(c(0.3, 0.7), 1)
  expect_equal(loss_categorical_crossentropy(matrix(c(0, 1), 1), p, label_smoothing = 0.2),
               -(0.1 * log(0.3) + 0.9 * log(0.7)))
})

loss_gradient_check <- function(loss, y_true, y_pred, sample_weight = NULL) {
  res <- loss_value_and_grad(loss, y_true, y_pred, sample_weight)
  numeric_grad <- numeric_gradient(function(p) {
    loss_value_and_grad(loss, y_true, p, sample_weight)$value
  }, y_pred)
  expect_equal(res$grad, numeric_grad, tolerance = 1e-6)
}

test_that("loss gradients match finite differences", {
  set.seed(2)
  y_pred <- array(runif(24, 0.05, 0.95), c(4, 3, 2))
  y_true <- array(runif(24) > 0.5, c(4, 3, 2)) * 1
  sw <- c(1, 0.5, 2, 0)
  for (loss in list(loss_mean_squared_error(), loss_mean_absolute_error(),
                    loss_huber(delta = 0.3), loss_binary_crossentropy())) {
    loss_gradient_check(loss, y_true, y_pred)
    loss_gradient_check(loss, y_true, y_pred, sw)
  }
  logits <- matrix(rnorm(12), 4)
  onehot <- diag(3)[c(1, 3, 2, 2), ]
  loss_gradient_check(loss_binary_crossentropy(from_logits = TRUE), onehot, logits)
  loss_gradient_check(loss_categorical_crossentropy(from_logits = TRUE), onehot, logits)
  loss_gradient_check(loss_sparse_categorical_crossentropy(from_logits = TRUE), c(0, 2, 1, 1), logits)
  probs <- matrix(runif(12, 0.1, 1), 4)
  loss_gradient_check(loss_categorical_crossentropy(), onehot, probs)
  loss_gradient_check(loss_categorical_crossentropy(label_smoothing = 0.1), onehot, probs, sw)
})

test_that("sum_over_batch_size divides the weighted sum by the number of values", {
  y_pred <- matrix(c(1, 2, 3, 4), 4)
  y_true <- matrix(0, 4)
  res <- loss_value_and_grad(loss_mean_squared_error(), y_true, y_pred, c(1, 0, 0, 2))
  expect_equal(res$value, (1 + 32) / 4)
  res <- loss_value_and_grad(loss_mean_squared_error(reduction = "sum"), y_true, y_pred)
  expect_equal(res$value, 30)
  # Temporal sample weights on sequence outputs.
  y_pred <- array(1, c(2, 3, 1))
  res <- loss_value_and_grad(loss_mean_squared_error(), array(0, c(2, 3, 1)), y_pred,
                             matrix(c(1, 1, 0, 0, 0, 0), 2))
  expect_equal(res$value, 2 / 6)
})

test_that("masked steps are left out of the mean, as Keras's apply_mask", {
  y_pred <- array(c(1, 2, 3, 4), c(2, 2, 1))
  mask <- matrix(c(TRUE, TRUE, TRUE, FALSE), 2)
  res <- loss_value_and_grad(loss_mean_squared_error(), array(0, c(2, 2, 1)), y_pred, mask = mask)
  expect_equal(res$value, (1 + 4 + 9) / 3)
  expect_equal(res$grad[2, 2, 1], 0)
})

test_that("bad loss arguments are classed errors", {
  expect_error(resolve_loss("msee"), class = "rgru_error_unknown_name")
  expect_error(resolve_loss(3), class = "rgru_error_argument")
  expect_error(loss_huber(delta = -1), class = "rgru_error_argument")
  expect_error(loss_binary_crossentropy(from_logits = NA), class = "rgru_error_argument")
  expect_error(loss_sparse_categorical_crossentropy(c(0, 3), matrix(0.5, 2, 2)),
               class = "rgru_error_value")
  expect_error(loss_mean_squared_error(reduction = "avg"), class = "rgru_error_argument")
  expect_error(loss_mean_squared_error(foo = 1), class = "rgru_error_argument")
})

test_that("names resolve to losses and objects print", {
  expect_s3_class(resolve_loss("mse"), "rgru_loss_mean_squared_error")
  expect_s3_class(resolve_loss("sparse_categorical_crossentropy"), "rgru_loss")
  expect_output(print(loss_huber()), "huber_loss")
})
