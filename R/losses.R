# Losses as Keras 3 defines them (keras/src/losses/losses.py and the backend
# crossentropies): a per-sample value reduced over the last axis, then the
# "sum_over_batch_size" reduction. Each loss also gives its exact gradient
# with respect to the predictions, which starts backpropagation in fit().


new_loss <- function(name, per_sample, reduction, config = list()) {
  check_string(name, "name")
  reduction <- check_reduction(reduction)
  structure(
    list(name = name, per_sample = per_sample, reduction = reduction,
         config = config),
    class = c(paste0("rgru_loss_", name), "rgru_loss")
  )
}

# Either the loss or metric object (targets missing, as in keras3) or its
# per-sample values for the given targets and predictions.
loss_or_values <- function(loss, y_true, y_pred) {
  if (missing(y_true) || missing(y_pred)) return(loss)
  y_pred <- as_training_array(y_pred, "y_pred")
  y_true <- as_training_array(y_true, "y_true")
  res <- loss$per_sample(y_true, y_pred)
  values <- res$values
  if (length(res$lead) > 1) dim(values) <- res$lead
  values
}

#' Regression losses: mean squared error, mean absolute error, Huber
#'
#' Keras 3's losses for real-valued targets. Called without `y_true` and
#' `y_pred` they return a loss object for [compile()]; called with them they
#' return the per-sample loss (the mean over the last axis).
#'
#' @param y_true Targets, an array shaped like `y_pred` (a trailing dimension
#'   of 1 may be left out).
#' @param y_pred Predictions, an array `(batch, ..., features)`.
#' @param ... Unused; must be empty.
#' @param reduction How [compile()]d training reduces the per-sample values:
#'   `"sum_over_batch_size"` (Keras's default: the weighted sum divided by the
#'   number of values), `"sum"`, `"mean"` (same as `"sum_over_batch_size"`) or
#'   `"none"`.
#' @param name Name of the loss.
#' @param delta For `loss_huber()`, the error size where the loss turns from
#'   quadratic to linear.
#' @returns A loss object (class `rgru_loss`), or the per-sample losses.
#' @family losses
#' @export
#' @examples
#' y_true <- matrix(c(0, 1, 1, 0), 2)
#' y_pred <- matrix(c(0.1, 0.8, 0.6, 0.3), 2)
#' loss_mean_squared_error(y_true, y_pred)
#' loss_mean_absolute_error(y_true, y_pred)
#' loss_huber(y_true, y_pred * 3)
#' loss_mean_squared_error()
loss_mean_squared_error <- function(y_true, y_pred, ...,
                                    reduction = "sum_over_batch_size",
                                    name = "mean_squared_error") {
  check_empty_dots(...)
  loss <- new_loss(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) {
      e <- p - y
      list(value = e^2, grad = 2 * e)
    })
  }, reduction)
  loss_or_values(loss, y_true, y_pred)
}

#' @rdname loss_mean_squared_error
#' @export
loss_mean_absolute_error <- function(y_true, y_pred, ...,
                                     reduction = "sum_over_batch_size",
                                     name = "mean_absolute_error") {
  check_empty_dots(...)
  loss <- new_loss(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) {
      e <- p - y
      list(value = abs(e), grad = sign(e))
    })
  }, reduction)
  loss_or_values(loss, y_true, y_pred)
}

#' @rdname loss_mean_squared_error
#' @export
loss_huber <- function(y_true, y_pred, delta = 1, ...,
                       reduction = "sum_over_batch_size",
                       name = "huber_loss") {
  check_empty_dots(...)
  check_positive_number(delta)
  loss <- new_loss(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) {
      e <- p - y
      small <- abs(e) <= delta
      list(value = ifelse(small, 0.5 * e^2, delta * abs(e) - 0.5 * delta^2),
           grad = ifelse(small, e, delta * sign(e)))
    })
  }, reduction, config = list(delta = delta))
  loss_or_values(loss, y_true, y_pred)
}

#' Crossentropy losses
#'
#' Keras 3's crossentropies. Probabilities are clipped to
#' `[1e-7, 1 - 1e-7]` (Keras's epsilon) before the logarithm; with
#' `from_logits = TRUE` the numerically stable forms on logits are used
#' instead. Sparse targets are 0-based class indices, as in Keras.
#'
#' @inheritParams loss_mean_squared_error
#' @param from_logits Whether `y_pred` holds logits rather than probabilities.
#' @param label_smoothing In `[0, 1]`: targets move towards the uniform
#'   distribution by this much, as Keras does.
#' @param axis The class axis; only the last axis (`-1`) is supported.
#' @param ignore_class Must be `NULL`: ignoring a class is not supported yet.
#' @returns A loss object (class `rgru_loss`), or the per-sample losses.
#' @family losses
#' @export
#' @examples
#' y_true <- matrix(c(0, 1, 1, 0), ncol = 2)
#' probs <- matrix(c(0.2, 0.7, 0.8, 0.3), ncol = 2)
#' loss_binary_crossentropy(y_true, probs)
#' loss_categorical_crossentropy(y_true, probs)
#' loss_sparse_categorical_crossentropy(c(1, 0), probs)
#' loss_categorical_crossentropy(y_true, log(probs), from_logits = TRUE)
loss_binary_crossentropy <- function(y_true, y_pred, from_logits = FALSE,
                                     label_smoothing = 0, axis = -1, ...,
                                     reduction = "sum_over_batch_size",
                                     name = "binary_crossentropy") {
  check_empty_dots(...)
  check_bool(from_logits)
  check_label_smoothing(label_smoothing)
  check_last_axis(axis)
  loss <- new_loss(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) {
      y <- y * (1 - label_smoothing) + 0.5 * label_smoothing
      if (from_logits) {
        list(value = pmax(p, 0) - p * y + log1p(exp(-abs(p))),
             grad = stats::plogis(p) - y)
      } else {
        pc <- pmin(pmax(p, keras_epsilon), 1 - keras_epsilon)
        inside <- p >= keras_epsilon & p <= 1 - keras_epsilon
        list(value = -(y * log(pc) + (1 - y) * log(1 - pc)),
             grad = ifelse(inside, (1 - y) / (1 - pc) - y / pc, 0))
      }
    })
  }, reduction, config = list(from_logits = from_logits,
                              label_smoothing = label_smoothing))
  loss_or_values(loss, y_true, y_pred)
}

#' @rdname loss_binary_crossentropy
#' @export
loss_categorical_crossentropy <- function(y_true, y_pred, from_logits = FALSE,
                                          label_smoothing = 0, axis = -1, ...,
                                          reduction = "sum_over_batch_size",
                                          name = "categorical_crossentropy") {
  check_empty_dots(...)
  check_bool(from_logits)
  check_label_smoothing(label_smoothing)
  check_last_axis(axis)
  loss <- new_loss(name, function(y_true, y_pred) {
    y_true <- align_target(y_true, y_pred, "y_true")
    y <- last_axis_matrix(y_true)$m
    p <- last_axis_matrix(y_pred)
    y <- y * (1 - label_smoothing) + label_smoothing / ncol(y)
    res <- categorical_rows(y, p$m, from_logits)
    res$lead <- p$lead
    res$grad <- array(res$grad, dim = dim(y_pred))
    res
  }, reduction, config = list(from_logits = from_logits,
                              label_smoothing = label_smoothing))
  loss_or_values(loss, y_true, y_pred)
}

#' @rdname loss_binary_crossentropy
#' @export
loss_sparse_categorical_crossentropy <- function(y_true, y_pred,
                                                 from_logits = FALSE,
                                                 ignore_class = NULL,
                                                 axis = -1, ...,
                                                 reduction = "sum_over_batch_size",
                                                 name = "sparse_categorical_crossentropy") {
  check_empty_dots(...)
  check_bool(from_logits)
  check_last_axis(axis)
  if (!is.null(ignore_class)) {
    abort_argument("ignore_class", ignore_class, "`NULL` (ignoring a class is not supported yet)")
  }
  loss <- new_loss(name, function(y_true, y_pred) {
    p <- last_axis_matrix(y_pred)
    y <- one_hot_rows(y_true, p$lead, ncol(p$m))
    res <- categorical_rows(y, p$m, from_logits)
    res$lead <- p$lead
    res$grad <- array(res$grad, dim = dim(y_pred))
    res
  }, reduction, config = list(from_logits = from_logits))
  loss_or_values(loss, y_true, y_pred)
}

# Per-element losses reduced by the mean over the last axis.
elementwise_loss <- function(y_true, y_pred, fn) {
  y_true <- align_target(y_true, y_pred, "y_true")
  p <- last_axis_matrix(y_pred)
  y <- last_axis_matrix(y_true)$m
  res <- fn(y, p$m)
  rows_k <- dim(p$m)
  k <- rows_k[2L]
  # .rowSums() reads the values as a (rows, k) matrix whatever their dimensions (ifelse()
  # and comparisons drop them; the layout is unchanged), without rowSums()'s checks.
  values <- .rowSums(res$value, rows_k[1L], k) / k
  grad <- NULL
  if (length(res$grad) == length(y_pred)) {
    # array(res$grad / k, dim = dim(y_pred)), without array()'s R-level work.
    grad <- res$grad / k
    attributes(grad) <- list(dim = dim(y_pred))
  }
  list(values = values, grad = grad, lead = p$lead)
}

categorical_rows <- function(y, p, from_logits) {
  if (from_logits) {
    shifted <- p - apply_rows_max(p)
    log_sm <- shifted - log(rowSums(exp(shifted)))
    sm <- exp(log_sm)
    return(list(values = -rowSums(y * log_sm), grad = sm * rowSums(y) - y))
  }
  total <- rowSums(p)
  q <- p / total
  qc <- pmin(pmax(q, keras_epsilon), 1 - keras_epsilon)
  inside <- q >= keras_epsilon & q <= 1 - keras_epsilon
  g <- ifelse(inside, -y / qc, 0)
  list(values = -rowSums(y * log(qc)), grad = (g - rowSums(g * q)) / total)
}

apply_rows_max <- function(m) {
  out <- m[, 1]
  for (j in seq_len(ncol(m))[-1]) out <- pmax(out, m[, j])
  out
}

# Sparse targets hold one class index per row of the predictions.
abort_sparse_targets <- function(targets, rows) {
  rgru_abort(
    c("{.arg y_true} must hold one class index per row of {.arg y_pred} (sparse targets).",
      "x" = "Got {targets} target{?s} for {rows} row{?s}."),
    class = "shape"
  )
}

one_hot_rows <- function(labels, lead, k) {
  labels <- as.double(labels)
  if (length(labels) != prod(lead)) {
    abort_sparse_targets(length(labels), prod(lead))
  }
  if (anyNA(labels) || any(labels != round(labels)) || any(labels < 0) ||
      any(labels > k - 1)) {
    bad <- labels[is.na(labels) | labels != round(labels) | labels < 0 | labels > k - 1]
    rgru_abort(
      c("{.arg y_true} must hold integer class indices in [0, {k - 1}], one per class of {.arg y_pred} (sparse targets).",
        "x" = "Got {.val {utils::head(bad, 3)}}."),
      class = "value"
    )
  }
  y <- matrix(0, length(labels), k)
  y[cbind(seq_along(labels), labels + 1)] <- 1
  y
}

#' Compute a loss and its gradient with respect to the predictions
#'
#' @param loss An `rgru_loss`.
#' @param sample_weight NULL, per-sample weights, or weights shaped like the
#'   per-sample values.
#' @param mask NULL or a logical array shaped like the per-sample values
#'   (the model's output mask), merged into the weights as Keras does.
#' @returns list(value, grad, weight_sum)
#' @noRd
loss_value_and_grad <- function(loss, y_true, y_pred, sample_weight = NULL,
                                mask = NULL) {
  # Once per output on every training step: .subset2() spares `$`'s S3 dispatch on
  # the loss's classes.
  res <- .subset2(loss, "per_sample")(y_true, y_pred)
  reduction <- .subset2(loss, "reduction")
  rows <- length(res$values)
  w <- row_weights(sample_weight, res$lead)
  if (!is.null(mask) && length(mask) == rows) {
    m <- as.double(mask)
    if (reduction %in% c("sum_over_batch_size", "mean")) {
      valid <- sum(m)
      m <- m * if (valid > 0) rows / valid else 0
    }
    w <- if (is.null(w)) m else w * m
  }
  weighted <- if (is.null(w)) res$values else res$values * w
  divisor <- if (reduction == "sum") 1 else rows
  if (reduction == "none") {
    abort_argument("reduction", reduction, "a reduction to a scalar for training",
                   "i" = 'Use "sum_over_batch_size", "sum" or "mean".')
  }
  scale <- if (divisor > 0) 1 / divisor else 0
  grad <- res$grad
  grad[] <- if (is.null(w)) grad * scale else as.vector(grad) * (w * scale)
  list(value = sum(weighted) * scale, grad = grad)
}

resolve_loss <- function(loss) {
  if (inherits(loss, "rgru_loss")) return(loss)
  if (is.function(loss)) return(custom_loss(loss))
  if (!is.character(loss) || length(loss) != 1 || is.na(loss)) {
    abort_argument("loss", loss, "a loss name, a `loss_*()` object or a function")
  }
  ctor <- switch(tolower(loss),
    mse = , mean_squared_error = loss_mean_squared_error,
    mae = , mean_absolute_error = loss_mean_absolute_error,
    huber = , huber_loss = loss_huber,
    binary_crossentropy = , bce = loss_binary_crossentropy,
    categorical_crossentropy = , cce = loss_categorical_crossentropy,
    sparse_categorical_crossentropy = loss_sparse_categorical_crossentropy,
    NULL
  )
  if (is.null(ctor)) {
    rgru_abort(
      c("Unknown loss {.val {loss}} in {.arg loss}.",
        "i" = "Known losses: {.val {known_loss_names}}."),
      class = "unknown_name"
    )
  }
  out <- ctor()
  out$name <- loss
  out
}

known_loss_names <- c("mse", "mae", "huber", "binary_crossentropy",
                      "categorical_crossentropy",
                      "sparse_categorical_crossentropy")

# An R function(y_true, y_pred) returning per-sample values: its gradient is
# taken by central finite differences, so it is for experiments, not speed.
custom_loss <- function(fn, name = "custom_loss") {
  new_loss(name, function(y_true, y_pred) {
    y_true <- align_target(y_true, y_pred, "y_true")
    lead <- dim(y_pred)[-length(dim(y_pred))]
    rows <- prod(lead)
    per_sample <- function(p) {
      as.double(call_user_function(fn, list(y_true, p), "loss", "loss",
                                   returns = function(v) is.numeric(v) && length(v) == rows,
                                   expected = sprintf("one number per sample (%d)", rows)))
    }
    values <- per_sample(y_pred)
    grad <- y_pred
    h <- 1e-6
    for (i in seq_along(y_pred)) {
      up <- y_pred
      up[i] <- up[i] + h
      down <- y_pred
      down[i] <- down[i] - h
      row <- (i - 1) %% rows + 1
      grad[i] <- (per_sample(up)[row] - per_sample(down)[row]) / (2 * h)
    }
    list(values = values, grad = grad, lead = lead)
  }, "sum_over_batch_size")
}

#' @export
print.rgru_loss <- function(x, ...) {
  cat("<rgru_loss> ", x$name, " (reduction: ", x$reduction, ")\n", sep = "")
  invisible(x)
}
