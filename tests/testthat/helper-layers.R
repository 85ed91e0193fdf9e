# Shared by the layer and model tests: finite-difference gradients through the
# protocol's forward()/backward(), and small fixed inputs.

obj <- function(x) rgru:::layer_object(x)

fixed_array <- function(dims, seed = 1) {
  withr::with_seed(seed, array(stats::rnorm(prod(dims)) * 0.7, dims))
}

# Scalar loss sum(w * outputs) over every output, with fixed random weights.
loss_weights_for <- function(outputs, seed = 42) {
  outs <- if (is.list(outputs)) outputs else list(outputs)
  withr::with_seed(seed, lapply(outs, function(o) array(stats::rnorm(length(o)), dim(o) %||% length(o))))
}

weighted_loss <- function(outputs, w) {
  outs <- if (is.list(outputs)) outputs else list(outputs)
  sum(mapply(function(o, wi) sum(o * wi), outs, w))
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# Checks layer$backward() against central differences for the weights and the
# (array) input. `run(x)` must call layer$forward() with fixed settings.
expect_backward_matches_fd <- function(layer, x, run = function(x) layer$forward(x),
                                       eps = 1e-6, tolerance = 1e-6, check_input = TRUE) {
  res <- run(x)
  w <- loss_weights_for(res$outputs)
  d_out <- if (is.list(res$outputs)) w else w[[1]]
  g <- layer$backward(res$tape, d_out)
  # models add their activity-regularizer penalty to the loss, and its gradient
  total <- function(res) weighted_loss(res$outputs, w) + (res$activity_loss %||% 0)
  loss <- function() total(run(x))
  for (k in seq_along(layer$weights)) {
    v <- layer$weights[[k]]
    num <- v$value
    for (i in seq_along(num)) {
      old <- v$value[i]
      v$value[i] <- old + eps; up <- loss()
      v$value[i] <- old - eps; dn <- loss()
      v$value[i] <- old
      num[i] <- (up - dn) / (2 * eps)
    }
    expect_equal(as.numeric(g$grads[[k]]), as.numeric(num), tolerance = tolerance,
                 label = paste("gradient of", v$path))
  }
  if (check_input) {
    d_x <- if (is.list(g$d_inputs)) g$d_inputs[[1]] else g$d_inputs
    num <- x
    for (i in seq_along(x)) {
      up <- x; up[i] <- x[i] + eps
      dn <- x; dn[i] <- x[i] - eps
      num[i] <- (total(run(up)) - total(run(dn))) / (2 * eps)
    }
    expect_equal(as.numeric(d_x), as.numeric(num), tolerance = tolerance, label = "input gradient")
  }
  invisible(g)
}
