# The optimizers' update rules in R, as R/optimizers.R applied them before the
# step moved into C++ (src/rcpp_optimizer.cpp): the reference the fused step
# must reproduce. Hyperparameters are read from an optimizer object `opt`; the
# state lives in `state`, an environment made by reference_optimizer_state().

reference_optimizer_state <- function() {
  state <- new.env(parent = emptyenv())
  state$variables <- list()
  state$slots <- list()
  state$iterations <- 0
  state
}

reference_optimizer_apply <- function(opt, state, grads, variables) {
  keep <- !vapply(grads, is.null, TRUE)
  grads <- grads[keep]
  variables <- variables[keep]
  if (length(grads) == 0) return(invisible(state))
  grads <- reference_clip(opt, grads)
  lr <- opt$learning_rate
  for (i in seq_along(variables)) {
    v <- variables[[i]]
    if (!is.null(opt$weight_decay) && opt$weight_decay > 0) {
      v$value <- v$value - v$value * opt$weight_decay * lr
    }
    slot <- reference_slot_for(state, v)
    update <- switch(opt$rule, sgd = reference_sgd, adam = reference_adam,
                     rmsprop = reference_rmsprop)
    state$slots[[slot]] <- update(opt, state, grads[[i]], v, lr, state$slots[[slot]])
  }
  state$iterations <- state$iterations + 1
  invisible(state)
}

reference_clip <- function(opt, grads) {
  if (!is.null(opt$clipnorm) && opt$clipnorm > 0) {
    return(lapply(grads, function(g) {
      norm <- sqrt(sum(g^2))
      g * opt$clipnorm / max(norm, opt$clipnorm)
    }))
  }
  if (!is.null(opt$global_clipnorm) && opt$global_clipnorm > 0) {
    norm <- sqrt(sum(vapply(grads, function(g) sum(g^2), 1)))
    scale <- opt$global_clipnorm * min(1 / norm, 1 / opt$global_clipnorm)
    return(lapply(grads, function(g) g * scale))
  }
  if (!is.null(opt$clipvalue) && opt$clipvalue > 0) {
    v <- opt$clipvalue
    return(lapply(grads, function(g) pmin(pmax(g, -v), v)))
  }
  grads
}

reference_slot_for <- function(state, variable) {
  for (i in seq_along(state$variables)) {
    if (identical(state$variables[[i]], variable)) return(i)
  }
  state$variables[[length(state$variables) + 1]] <- variable
  state$slots[length(state$variables)] <- list(NULL)
  length(state$variables)
}

reference_state_or_zero <- function(x, like) {
  if (!is.null(x)) return(x)
  like[] <- 0
  like
}

reference_sgd <- function(opt, state, gradient, variable, lr, slot) {
  if (opt$momentum == 0) {
    variable$value <- variable$value - gradient * lr
    return(list())
  }
  m <- reference_state_or_zero(slot$m, gradient)
  m <- m * opt$momentum - gradient * lr
  variable$value <- if (opt$nesterov) {
    variable$value + m * opt$momentum - gradient * lr
  } else {
    variable$value + m
  }
  list(m = m)
}

reference_adam <- function(opt, state, gradient, variable, lr, slot) {
  step <- state$iterations + 1
  alpha <- lr * sqrt(1 - opt$beta_2^step) / (1 - opt$beta_1^step)
  m <- reference_state_or_zero(slot$m, gradient)
  v <- reference_state_or_zero(slot$v, gradient)
  m <- m + (gradient - m) * (1 - opt$beta_1)
  v <- v + (gradient^2 - v) * (1 - opt$beta_2)
  new_state <- list(m = m, v = v)
  if (opt$amsgrad) {
    v <- pmax(reference_state_or_zero(slot$v_hat, v), v)
    new_state$v_hat <- v
  }
  variable$value <- variable$value - (m * alpha) / (sqrt(v) + opt$epsilon)
  new_state
}

reference_rmsprop <- function(opt, state, gradient, variable, lr, slot) {
  rho <- opt$rho
  velocity <- reference_state_or_zero(slot$velocity, gradient)
  velocity <- rho * velocity + (1 - rho) * gradient^2
  new_state <- list(velocity = velocity)
  if (opt$centered) {
    avg <- reference_state_or_zero(slot$average, gradient)
    avg <- rho * avg + (1 - rho) * gradient
    new_state$average <- avg
    denominator <- velocity - avg^2 + opt$epsilon
  } else {
    denominator <- velocity + opt$epsilon
  }
  increment <- lr * gradient / sqrt(denominator)
  if (opt$momentum > 0) {
    mom <- reference_state_or_zero(slot$momentum, gradient)
    mom <- opt$momentum * mom + increment
    new_state$momentum <- mom
    variable$value <- variable$value - mom
  } else {
    variable$value <- variable$value - increment
  }
  new_state
}
