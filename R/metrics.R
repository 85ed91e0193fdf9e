# Metrics as Keras 3 computes them: per-sample values (the mean over the last
# axis) accumulated as a weighted running mean, total / count, over an epoch.

new_metric <- function(name, per_sample, direction, config = list()) {
  check_string(name, "name")
  structure(
    list(name = name, per_sample = per_sample, direction = direction,
         config = config),
    class = c(paste0("rgru_metric_", name), "rgru_metric")
  )
}

#' Regression metrics
#'
#' Called without `y_true` and `y_pred`, a metric object for [compile()];
#' called with them, the per-sample values (the mean over the last axis).
#' During [fit()] and [evaluate()] a metric is the sample-weighted mean of
#' these values over the epoch, as in Keras.
#'
#' @inheritParams loss_mean_squared_error
#' @param name Name of the metric, used in logs and the history.
#' @returns A metric object (class `rgru_metric`), or per-sample values.
#' @family metrics
#' @export
#' @examples
#' metric_mean_absolute_error(matrix(c(1, 2)), matrix(c(1.5, 1)))
#' metric_mean_squared_error(matrix(c(1, 2)), matrix(c(1.5, 1)))
metric_mean_absolute_error <- function(y_true, y_pred, ...,
                                       name = "mean_absolute_error") {
  check_empty_dots(...)
  metric <- new_metric(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) list(value = abs(p - y), grad = 0))
  }, "down")
  loss_or_values(metric, y_true, y_pred)
}

#' @rdname metric_mean_absolute_error
#' @export
metric_mean_squared_error <- function(y_true, y_pred, ...,
                                      name = "mean_squared_error") {
  check_empty_dots(...)
  metric <- new_metric(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) list(value = (p - y)^2, grad = 0))
  }, "down")
  loss_or_values(metric, y_true, y_pred)
}

#' Accuracy metrics
#'
#' `metric_binary_accuracy()` compares `y_pred > threshold` with the 0/1
#' targets; `metric_categorical_accuracy()` compares the arg-max of one-hot
#' targets and predictions; `metric_sparse_categorical_accuracy()` compares
#' 0-based class indices with the arg-max of the predictions;
#' `metric_accuracy()` checks exact equality. Given as `"accuracy"` to
#' [compile()], the form is chosen from the shapes as Keras does: binary when
#' the output has one unit, sparse when the targets have fewer dimensions or
#' a last dimension of 1, categorical otherwise.
#'
#' @inheritParams metric_mean_absolute_error
#' @param threshold Predictions above it count as 1.
#' @returns A metric object (class `rgru_metric`), or per-sample values.
#' @family metrics
#' @export
#' @examples
#' metric_binary_accuracy(c(0, 1, 1), c(0.2, 0.4, 0.9))
#' probs <- matrix(c(0.9, 0.2, 0.1, 0.8), 2)
#' metric_categorical_accuracy(matrix(c(1, 1, 0, 0), 2), probs)
#' metric_sparse_categorical_accuracy(c(0, 1), probs)
metric_binary_accuracy <- function(y_true, y_pred, threshold = 0.5, ...,
                                   name = "binary_accuracy") {
  check_empty_dots(...)
  check_number(threshold)
  metric <- new_metric(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) {
      list(value = as.double(y == as.double(p > threshold)), grad = 0)
    })
  }, "up", config = list(threshold = threshold))
  loss_or_values(metric, y_true, y_pred)
}

#' @rdname metric_binary_accuracy
#' @export
metric_accuracy <- function(y_true, y_pred, ..., name = "accuracy") {
  check_empty_dots(...)
  metric <- new_metric(name, function(y_true, y_pred) {
    elementwise_loss(y_true, y_pred, function(y, p) {
      list(value = as.double(y == p), grad = 0)
    })
  }, "up")
  loss_or_values(metric, y_true, y_pred)
}

#' @rdname metric_binary_accuracy
#' @export
metric_categorical_accuracy <- function(y_true, y_pred, ...,
                                        name = "categorical_accuracy") {
  check_empty_dots(...)
  metric <- new_metric(name, function(y_true, y_pred) {
    y_true <- align_target(y_true, y_pred, "y_true")
    p <- last_axis_matrix(y_pred)
    y <- last_axis_matrix(y_true)$m
    list(values = as.double(max.col(y, "first") == max.col(p$m, "first")),
         lead = p$lead)
  }, "up")
  loss_or_values(metric, y_true, y_pred)
}

#' @rdname metric_binary_accuracy
#' @export
metric_sparse_categorical_accuracy <- function(y_true, y_pred, ...,
                                               name = "sparse_categorical_accuracy") {
  check_empty_dots(...)
  metric <- new_metric(name, function(y_true, y_pred) {
    p <- last_axis_matrix(y_pred)
    labels <- as.double(y_true)
    if (length(labels) != nrow(p$m)) {
      abort_sparse_targets(length(labels), nrow(p$m))
    }
    list(values = as.double(labels == max.col(p$m, "first") - 1),
         lead = p$lead)
  }, "up")
  loss_or_values(metric, y_true, y_pred)
}

#' @export
print.rgru_metric <- function(x, ...) {
  cat("<rgru_metric> ", x$name, "\n", sep = "")
  invisible(x)
}

# The metric behind a name given to compile(); "accuracy" and "acc" depend on
# the shapes of the targets and outputs, so they resolve on first use.
resolve_metric <- function(metric, y_true = NULL, y_pred = NULL, arg = "metrics") {
  if (inherits(metric, "rgru_metric")) return(metric)
  if (is.function(metric)) {
    return(new_metric("custom_metric", function(y_true, y_pred) {
      y_true <- align_target(y_true, y_pred, "y_true")
      lead <- dim(y_pred)[-length(dim(y_pred))]
      values <- call_user_function(
        metric, list(y_true, y_pred), arg, "metric",
        returns = function(v) is.numeric(v) && length(v) == prod(lead),
        expected = sprintf("one number per sample (%d)", prod(lead))
      )
      list(values = as.double(values), lead = lead)
    }, "down"))
  }
  if (!is.character(metric) || length(metric) != 1 || is.na(metric)) {
    abort_argument(arg, metric, "metric names, `metric_*()` objects or functions")
  }
  key <- tolower(metric)
  if (key %in% c("accuracy", "acc")) {
    out <- accuracy_for_shapes(y_true, y_pred)
  } else {
    ctor <- switch(key,
      mae = , mean_absolute_error = metric_mean_absolute_error,
      mse = , mean_squared_error = metric_mean_squared_error,
      binary_accuracy = metric_binary_accuracy,
      categorical_accuracy = metric_categorical_accuracy,
      sparse_categorical_accuracy = metric_sparse_categorical_accuracy,
      NULL
    )
    if (is.null(ctor)) {
      rgru_abort(
        c("Unknown metric {.val {metric}} in {.arg {arg}}.",
          "i" = "Known metrics: {.val {c('mae', 'mse', 'accuracy', 'binary_accuracy', 'categorical_accuracy', 'sparse_categorical_accuracy')}}."),
        class = "unknown_name"
      )
    }
    out <- ctor()
  }
  out$name <- metric
  out
}

accuracy_for_shapes <- function(y_true, y_pred) {
  dt <- dim(y_true) %||% length(y_true)
  dp <- dim(y_pred) %||% length(y_pred)
  if (dp[length(dp)] == 1) return(metric_binary_accuracy())
  if (length(dt) < length(dp) || (dt[length(dt)] == 1 && dp[length(dp)] > 1)) {
    return(metric_sparse_categorical_accuracy())
  }
  metric_categorical_accuracy()
}

# Running weighted mean, as keras.metrics.Mean: total / count.
metric_tracker <- function() {
  tracker <- new.env(parent = emptyenv())
  tracker$total <- 0
  tracker$count <- 0
  tracker
}

update_tracker <- function(tracker, values, weights = NULL) {
  if (is.null(weights)) {
    tracker$total <- tracker$total + sum(values)
    tracker$count <- tracker$count + length(values)
  } else {
    tracker$total <- tracker$total + sum(values * weights)
    tracker$count <- tracker$count + sum(weights)
  }
  invisible(tracker)
}

tracker_result <- function(tracker) {
  if (tracker$count == 0) return(0)
  tracker$total / tracker$count
}

update_metric <- function(tracker, metric, y_true, y_pred, sample_weight) {
  res <- metric$per_sample(y_true, y_pred)
  w <- row_weights(sample_weight, res$lead)
  update_tracker(tracker, res$values, w)
}
