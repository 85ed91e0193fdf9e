l2_regularizer <- function(l2) {
  structure(list(penalty = function(x) l2 * sum(x^2), gradient = function(x) 2 * l2 * x),
            class = "rgru_regularizer")
}
nonneg_constraint <- function() {
  structure(list(apply = function(w) pmax(w, 0)), class = "rgru_constraint")
}

test_that("regularizer penalties add to the loss and their gradients to the step", {
  set.seed(5)
  x <- matrix(rnorm(30), 10)
  y <- matrix(rnorm(10), 10)
  m <- fake_mlp(3, 4, 1, kernel_regularizer = l2_regularizer(0.1))
  before <- lapply(m$weights, function(v) v$value)
  loss_fn <- function() mean((m$forward(x)$outputs - y)^2) + 0.1 * sum(m$weights[[1]]$value^2)
  numeric <- finite_difference_grads(loss_fn, m$weights)
  expected_loss <- loss_fn()
  compile(m, optimizer = optimizer_sgd(0.1), loss = "mse")
  h <- fit(m, x, y, batch_size = 10, epochs = 1, verbose = 0)
  expect_equal(h$metrics$loss, expected_loss)
  for (i in seq_along(before)) {
    expect_equal(m$weights[[i]]$value, before[[i]] - 0.1 * numeric[[i]], tolerance = 1e-7)
  }
})

test_that("constraints are applied after each update", {
  set.seed(6)
  x <- matrix(rnorm(30), 10)
  m <- fake_mlp(3, 4, 1, kernel_constraint = nonneg_constraint())
  compile(m, optimizer = optimizer_sgd(0.5), loss = "mse")
  fit(m, x, matrix(rnorm(10), 10), epochs = 2, batch_size = 5, verbose = 0)
  expect_true(all(m$weights[[1]]$value >= 0))
  expect_true(any(m$weights[[3]]$value < 0))
})

test_that("non-trainable weights stay unchanged and lose their penalties", {
  set.seed(7)
  x <- matrix(rnorm(30), 10)
  y <- matrix(rnorm(10), 10)
  m <- fake_mlp(3, 4, 1, kernel_regularizer = l2_regularizer(1))
  m$layer_trainable[1] <- FALSE
  frozen <- m$weights[[1]]$value
  compile(m, optimizer = optimizer_sgd(0.1), loss = "mse")
  h <- fit(m, x, y, batch_size = 10, epochs = 1, verbose = 0)
  expect_equal(m$weights[[1]]$value, frozen)
  expect_false(identical(m$weights[[3]]$value, fake_mlp(3, 4, 1)$weights[[3]]$value))
  v3 <- m$weights[[3]]
  v3$trainable <- FALSE
  w3 <- m$weights[[3]]$value
  fit(m, x, y, batch_size = 10, epochs = 1, verbose = 0)
  expect_equal(m$weights[[3]]$value, w3)
})

test_that("regularization helpers sum and add", {
  v <- fake_variable(c(1, -2), "k", "k", regularizer = l2_regularizer(0.5))
  w <- fake_variable(c(3), "b", "b")
  expect_equal(regularization_penalty(list(v, w)), 2.5)
  expect_equal(add_regularization_gradients(list(c(1, 1), NULL), list(v, w)), list(c(2, -1), NULL))
})
