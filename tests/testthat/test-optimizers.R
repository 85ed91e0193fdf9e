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

# The fused step (src/rcpp_optimizer.cpp) against the R formulas it replaced
# (helper-optimizer-reference.R): weights, state and step count after several
# steps, for every rule and option, on weights of several shapes.
fused_and_reference <- function(make_optimizer, steps = 6) {
  set.seed(42)
  shapes <- list(c(3, 4), 5, 1)
  start <- lapply(shapes, function(d) array(rnorm(prod(d)), d))
  start[[2]] <- as.vector(start[[2]])
  fused <- lapply(start, new_variable, name = "w", path = "w")
  reference <- lapply(start, new_variable, name = "w", path = "w")
  opt <- make_optimizer()
  state <- reference_optimizer_state()
  for (step in seq_len(steps)) {
    # Large and small gradients, so that every clipping bound bites on some steps;
    # two steps leave a weight out (NULL), as a frozen or unused weight is: the
    # optimizer meets the second weight only on the second step.
    grads <- lapply(start, function(w) w * 0 + rnorm(length(w), sd = 3^(step %% 3 - 1)))
    if (step == 1) grads[2] <- list(NULL)
    if (step == 3) grads[1] <- list(NULL)
    opt$apply(grads, fused)
    reference_optimizer_apply(opt, state, grads, reference)
  }
  list(fused = lapply(fused, function(v) v$value),
       reference = lapply(reference, function(v) v$value),
       fused_slots = opt$slots, reference_slots = state$slots,
       iterations = c(opt$iterations, state$iterations))
}

optimizer_variants <- list(
  sgd = function() optimizer_sgd(0.1),
  sgd_momentum = function() optimizer_sgd(0.1, momentum = 0.9),
  sgd_nesterov = function() optimizer_sgd(0.1, momentum = 0.9, nesterov = TRUE),
  adam = function() optimizer_adam(0.01),
  adam_amsgrad = function() optimizer_adam(0.01, amsgrad = TRUE),
  adamw = function() optimizer_adamw(0.01, weight_decay = 0.1),
  rmsprop = function() optimizer_rmsprop(0.01),
  rmsprop_centered = function() optimizer_rmsprop(0.01, centered = TRUE),
  rmsprop_momentum = function() optimizer_rmsprop(0.01, momentum = 0.5),
  rmsprop_both = function() optimizer_rmsprop(0.01, centered = TRUE, momentum = 0.5)
)
optimizer_extras <- list(
  none = list(),
  weight_decay = list(weight_decay = 0.05),
  clipnorm = list(clipnorm = 0.5),
  clipvalue = list(clipvalue = 0.4),
  global_clipnorm = list(global_clipnorm = 0.7)
)

test_that("the fused step gives the R formulas' numbers for every optimizer and option", {
  for (variant in names(optimizer_variants)) {
    for (extra in names(optimizer_extras)) {
      if (variant == "adamw" && extra == "weight_decay") next
      make <- function() {
        opt <- optimizer_variants[[variant]]()
        for (n in names(optimizer_extras[[extra]])) opt[[n]] <- optimizer_extras[[extra]][[n]]
        opt
      }
      res <- fused_and_reference(make)
      label <- paste(variant, extra)
      expect_equal(res$fused, res$reference, tolerance = 1e-12, label = label)
      expect_equal(res$fused_slots, res$reference_slots, tolerance = 1e-12, label = label)
      expect_equal(res$iterations, c(6, 6), label = label)
    }
  }
})

test_that("the fused step follows hyperparameters changed between steps", {
  res <- fused_and_reference(function() {
    opt <- optimizer_sgd(0.1)
    opt$momentum <- 0.5
    opt$learning_rate <- 0.01
    opt
  })
  expect_equal(res$fused, res$reference, tolerance = 1e-12)
  expect_equal(res$fused_slots, res$reference_slots, tolerance = 1e-12)
})

test_that("the fused step changes no value other than the optimizer's own", {
  opt <- optimizer_adam(0.1)
  v <- new_variable(matrix(1, 2, 2), "w", "w")
  kept <- v$value
  version <- v$version
  opt$apply(list(matrix(1, 2, 2)), list(v))
  expect_equal(kept, matrix(1, 2, 2))
  expect_false(v$version == version)
  slots <- opt$slots
  m <- slots[[1]]$m
  m_kept <- m + 0
  opt$apply(list(matrix(1, 2, 2)), list(v))
  expect_identical(slots[[1]]$m, m_kept)
  expect_identical(m, m_kept)
  expect_false(identical(opt$slots[[1]]$m, m_kept))
  expect_equal(opt$iterations, 2)
})

test_that("bad gradients or variables are R errors that name them, and change nothing", {
  opt <- optimizer_adam(0.1)
  v <- new_variable(c(1, 2, 3), "w", "w")
  opt$apply(list(c(1, 1, 1)), list(v))
  before <- v$value
  expect_error(opt$apply(list(c(1, 1)), list(v)), "grads\\[\\[1\\]\\]", class = "rgru_error_shape")
  expect_error(opt$apply(list(c(1, 1, 1), NULL), list(v)), "grads", class = "rgru_error_shape")
  expect_error(opt$apply(list("a"), list(v)), "grads\\[\\[1\\]\\]", class = "rgru_error_argument")
  expect_error(opt$apply(list(1), list(1)), "variables\\[\\[1\\]\\]", class = "rgru_error_argument")
  expect_error(opt$apply(list(1), list(new.env())), "variables\\[\\[1\\]\\]",
               class = "rgru_error_argument")
  expect_error(opt$apply(c(1, 2, 3), list(v)), "grads", class = "rgru_error_shape")
  # a malformed state, as a damaged file could bring, or a hyperparameter set wrongly
  opt$slots[[1]]$m <- c(1, 2)
  expect_error(opt$apply(list(c(1, 1, 1)), list(v)), "`m`", class = "rgru_error_shape")
  opt$slots[[1]]$m <- c(0, 0, 0)
  opt$beta_1 <- "0.9"
  expect_error(opt$apply(list(c(1, 1, 1)), list(v)), "`beta_1`", class = "rgru_error_argument")
  opt$learning_rate <- NULL
  expect_error(opt$apply(list(c(1, 1, 1)), list(v)), "`learning_rate`",
               class = "rgru_error_argument")
  expect_identical(v$value, before)
  expect_equal(opt$iterations, 1)
})
