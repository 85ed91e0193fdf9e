opt_variable <- function(value) {
  v <- new.env(parent = emptyenv())
  v$value <- value
  v
}

run_steps <- function(opt, value, grads) {
  v <- opt_variable(value)
  for (g in grads) opt$apply(list(g), list(v))
  v$value
}

test_that("SGD follows Keras's rules, with momentum and Nesterov", {
  g <- list(c(1, -2), c(0.5, 0.5), c(-1, 0))
  expect_equal(run_steps(optimizer_sgd(0.1), c(0, 0), g), -0.1 * Reduce(`+`, g))
  # Torch's equivalent momentum form: b = mu b + g; w -= lr b.
  torch_like <- function(nesterov) {
    w <- c(0, 0); b <- c(0, 0)
    for (gr in g) {
      b <- 0.9 * b + gr
      w <- w - 0.1 * (if (nesterov) gr + 0.9 * b else b)
    }
    w
  }
  expect_equal(run_steps(optimizer_sgd(0.1, momentum = 0.9), c(0, 0), g), torch_like(FALSE))
  expect_equal(run_steps(optimizer_sgd(0.1, momentum = 0.9, nesterov = TRUE), c(0, 0), g),
               torch_like(TRUE))
})

test_that("Adam places epsilon as Keras does", {
  g <- list(c(1, -2), c(0.5, 0.5), c(-1, 0), c(3, 1))
  # Keras's rule equals the textbook rule with epsilon divided by sqrt(1 - beta_2^t).
  textbook <- function(amsgrad = FALSE) {
    w <- c(1, 1); m <- v <- vmax <- c(0, 0)
    for (t in seq_along(g)) {
      m <- 0.9 * m + 0.1 * g[[t]]
      v <- 0.999 * v + 0.001 * g[[t]]^2
      vmax <- pmax(vmax, v)
      vv <- if (amsgrad) vmax else v
      eps_hat <- 1e-7 / sqrt(1 - 0.999^t)
      w <- w - 0.01 * (m / (1 - 0.9^t)) / (sqrt(vv / (1 - 0.999^t)) + eps_hat)
    }
    w
  }
  expect_equal(run_steps(optimizer_adam(0.01), c(1, 1), g), textbook(), tolerance = 1e-12)
  expect_equal(run_steps(optimizer_adam(0.01, amsgrad = TRUE), c(1, 1), g), textbook(TRUE),
               tolerance = 1e-12)
})

test_that("AdamW decays weights before the Adam step", {
  w <- run_steps(optimizer_adamw(0.01, weight_decay = 0.1), c(2, 2), list(c(0, 0)))
  expect_equal(w, c(2, 2) * (1 - 0.1 * 0.01))
  expect_equal(optimizer_adamw()$weight_decay, 0.004)
})

test_that("RMSprop follows Keras's rule, centered and with momentum", {
  g <- list(c(1, -2), c(0.5, 0.5))
  expected <- function(centered, momentum) {
    w <- c(0, 0); vel <- avg <- mom <- c(0, 0)
    for (gr in g) {
      vel <- 0.9 * vel + 0.1 * gr^2
      avg <- 0.9 * avg + 0.1 * gr
      den <- if (centered) vel - avg^2 + 1e-7 else vel + 1e-7
      inc <- 0.001 * gr / sqrt(den)
      mom <- momentum * mom + inc
      w <- w - if (momentum > 0) mom else inc
    }
    w
  }
  expect_equal(run_steps(optimizer_rmsprop(), c(0, 0), g), expected(FALSE, 0))
  expect_equal(run_steps(optimizer_rmsprop(centered = TRUE, momentum = 0.5), c(0, 0), g),
               expected(TRUE, 0.5))
})

test_that("gradient clipping follows Keras", {
  g <- list(c(3, 4))
  expect_equal(run_steps(optimizer_sgd(1, clipnorm = 1), c(0, 0), g), -c(0.6, 0.8))
  expect_equal(run_steps(optimizer_sgd(1, clipvalue = 3.5), c(0, 0), g), -c(3, 3.5))
  opt <- optimizer_sgd(1, global_clipnorm = 2.5)
  a <- opt_variable(0); b <- opt_variable(c(0, 0))
  opt$apply(list(3, c(4, 0)), list(a, b))
  expect_equal(c(a$value, b$value), -c(1.5, 2, 0))
  expect_error(optimizer_sgd(clipnorm = 1, clipvalue = 1), class = "rgru_error_argument")
})

test_that("optimizers keep per-variable state and skip NULL gradients", {
  opt <- optimizer_adam(0.1)
  a <- opt_variable(0); b <- opt_variable(0)
  opt$apply(list(1, NULL), list(a, b))
  expect_equal(b$value, 0)
  expect_equal(opt$iterations, 1)
  opt$apply(list(1, 1), list(a, b))
  expect_length(opt$slots, 2)
})

test_that("optimizer names and bad arguments", {
  expect_s3_class(resolve_optimizer("adam"), "RgruAdamOptimizer")
  expect_s3_class(resolve_optimizer("SGD"), "RgruSgdOptimizer")
  expect_equal(resolve_optimizer("rmsprop")$learning_rate, 0.001)
  expect_error(resolve_optimizer("adagrad"), class = "rgru_error_unknown_name")
  expect_error(optimizer_sgd(-1), class = "rgru_error_argument")
  expect_error(optimizer_sgd(NA), class = "rgru_error_argument")
  expect_error(optimizer_adam(beta_1 = 1), class = "rgru_error_argument")
  expect_error(optimizer_sgd(momentum = 2), class = "rgru_error_argument")
  expect_output(print(optimizer_sgd(momentum = 0.9)), "momentum: 0.9")
})
