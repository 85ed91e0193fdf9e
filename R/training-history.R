# The object fit() returns: keras3's `keras_training_history`.

new_training_history <- function(params, metrics, epochs) {
  params$epochs <- length(epochs)
  structure(list(params = params, metrics = metrics, epoch = epochs),
            class = "keras_training_history")
}

# keras3's print: the last epoch's value of every metric, labels right-aligned.
# keras3 starts with "Trained on N samples ..." only when Keras reports the
# sample count, which Keras 3 no longer does: its users see an empty first line,
# and so do rgru's.
#' @export
print.keras_training_history <- function(x, ...) {
  epochs <- min(x$params$epochs, if (length(x$metrics)) length(x$metrics[[1]]) else 0L)
  if (epochs > 0) {
    labels <- formatC(names(x$metrics), width = max(nchar(names(x$metrics))))
    values <- vapply(x$metrics, function(m) {
      prettyNum(format(m[[epochs]], digits = 4), big.mark = ",", scientific = FALSE)
    }, "")
    cat("\nFinal epoch (plot to see history):\n",
        paste0(labels, ": ", values, collapse = "\n"), " \n", sep = "")
  } else {
    cat("\nNo epochs were run.\n")
  }
  invisible(x)
}

#' Training history as a data frame
#'
#' One row per epoch and metric: columns `epoch`, `value`, `metric` (the
#' metric's name without `val_`) and `data` (`"training"` or
#' `"validation"`), as keras3.
#'
#' @param x A `keras_training_history` from [fit()].
#' @param ... Unused.
#' @returns A data frame.
#' @family model training
#' @export
#' @examples
#' x <- array(runif(32 * 4 * 1), c(32, 4, 1))
#' model <- keras_model_sequential(input_shape = c(4, 1)) |>
#'   layer_gru(2) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "sgd", loss = "mse")
#' history <- model |> fit(x, rowSums(x), epochs = 2, verbose = 0)
#' as.data.frame(history)
as.data.frame.keras_training_history <- function(x, ...) {
  metrics <- x$metrics
  if (length(metrics) == 0) {
    return(data.frame(epoch = integer(), value = numeric(),
                      metric = factor(), data = factor()))
  }
  epochs <- x$epoch %||% seq_along(metrics[[1]])
  names_all <- names(metrics)
  base <- sub("^val_", "", names_all)
  rows <- lapply(seq_along(metrics), function(i) {
    data.frame(epoch = epochs, value = unname(metrics[[i]]),
               metric = base[i],
               data = if (startsWith(names_all[i], "val_")) "validation" else "training",
               stringsAsFactors = FALSE)
  })
  df <- do.call(rbind, rows)
  df$metric <- factor(df$metric, levels = unique(base))
  df$data <- factor(df$data, levels = c("training", "validation"))
  df
}

#' Plot a training history
#'
#' Draws each metric (and its validation version) per epoch, one panel per
#' metric: with ggplot2 when it is installed, else with base graphics.
#'
#' @param x A `keras_training_history` from [fit()].
#' @param y Unused.
#' @param metrics Metrics to plot (without `val_`); all by default.
#' @param method `"auto"` (ggplot2 when installed), `"ggplot2"` or `"base"`.
#' @param smooth Whether to add a loess smooth (ggplot2, 10 epochs or more).
#' @param theme_bw Whether to use `ggplot2::theme_bw()`.
#' @param ... Passed to [graphics::plot()] (base method).
#' @returns A ggplot object with `method = "ggplot2"`, else `NULL`
#'   invisibly.
#' @family model training
#' @export
#' @examples
#' x <- array(runif(32 * 4 * 1), c(32, 4, 1))
#' model <- keras_model_sequential(input_shape = c(4, 1)) |>
#'   layer_gru(2) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "sgd", loss = "mse", metrics = "mae")
#' history <- model |> fit(x, rowSums(x), epochs = 3, verbose = 0,
#'                         validation_split = 0.25)
#' plot(history, method = "base")
plot.keras_training_history <- function(x, y, metrics = NULL,
                                        method = c("auto", "ggplot2", "base"),
                                        smooth = getOption("keras.plot.history.smooth", TRUE),
                                        theme_bw = getOption("keras.plot.history.theme_bw", FALSE),
                                        ...) {
  method <- if (missing(method)) "auto" else check_choice(method, c("auto", "ggplot2", "base"))
  check_bool(smooth)
  check_bool(theme_bw)
  if (method == "auto") {
    method <- if (requireNamespace("ggplot2", quietly = TRUE)) "ggplot2" else "base"
  }
  df <- as.data.frame(x)
  if (!is.null(metrics) &&
      !(is.character(metrics) && length(metrics) > 0 && all(metrics %in% levels(df$metric)))) {
    abort_argument("metrics", metrics, sprintf("`NULL` or names of logged metrics (%s)",
                                               paste0("\"", levels(df$metric), "\"", collapse = ", ")))
  }
  metrics <- metrics %||% levels(df$metric)
  df <- df[df$metric %in% metrics, , drop = FALSE]
  df$metric <- droplevels(df$metric)
  validation <- any(df$data == "validation")
  if (method == "ggplot2") return(plot_history_ggplot(df, validation, smooth, theme_bw))
  old <- graphics::par(mfrow = c(length(metrics), 1), mar = c(3, 3, 2, 2))
  on.exit(graphics::par(old), add = TRUE)
  for (m in metrics) {
    part <- df[df$metric == m, , drop = FALSE]
    train <- part[part$data == "training", , drop = FALSE]
    valid <- part[part$data == "validation", , drop = FALSE]
    graphics::plot(train$epoch, train$value, type = "o", pch = 19, col = 1,
                   ylim = range(part$value, na.rm = TRUE), xlab = "epoch",
                   ylab = "", main = m, ...)
    if (nrow(valid) > 0) {
      graphics::lines(valid$epoch, valid$value, type = "o", pch = 17, col = 2)
      graphics::legend("topright", legend = c("training", "validation"),
                       col = 1:2, pch = c(19, 17), bty = "n")
    }
  }
  invisible(NULL)
}

plot_history_ggplot <- function(df, validation, smooth, theme_bw) {
  .data <- ggplot2::.data
  aes <- if (validation) {
    ggplot2::aes(x = .data$epoch, y = .data$value, color = .data$data,
                 fill = .data$data)
  } else {
    ggplot2::aes(x = .data$epoch, y = .data$value)
  }
  p <- ggplot2::ggplot(df, aes) +
    ggplot2::geom_point(shape = 21, col = 1, na.rm = TRUE)
  if (theme_bw) p <- p + ggplot2::theme_bw()
  if (smooth && length(unique(df$epoch)) >= 10) {
    p <- p + ggplot2::geom_smooth(se = FALSE, method = "loess", formula = y ~ x,
                                  na.rm = TRUE)
  }
  p + ggplot2::facet_grid(metric ~ ., switch = "y", scales = "free_y") +
    ggplot2::theme(axis.title.y = ggplot2::element_blank(),
                   strip.placement = "outside")
}
