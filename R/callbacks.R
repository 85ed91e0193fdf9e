# Callbacks: hooks fit() calls at the start and end of training, of each
# epoch and of each batch. Epochs are numbered from 1, as in keras3's R API.

Callback <- R6::R6Class("RgruCallback",
  public = list(
    model = NULL,
    params = NULL,
    # fit()'s shared state: callbacks stop training by setting
    # `context$stop_training <- TRUE`.
    context = NULL,
    set_context = function(model, params, context) {
      self$model <- model
      self$params <- params
      self$context <- context
      invisible(self)
    },
    on_train_begin = function(logs = NULL) invisible(NULL),
    on_train_end = function(logs = NULL) invisible(NULL),
    on_epoch_begin = function(epoch, logs = NULL) invisible(NULL),
    on_epoch_end = function(epoch, logs = NULL) invisible(NULL),
    on_train_batch_begin = function(batch, logs = NULL) invisible(NULL),
    on_train_batch_end = function(batch, logs = NULL) invisible(NULL)
  )
)

# Chooses "min" or "max" for a monitored quantity, as Keras's
# MonitorCallback: losses go down, accuracies go up.
monitor_direction <- function(monitor, mode, model) {
  if (mode %in% c("min", "max")) return(mode)
  name <- sub("^val_", "", monitor)
  if (name == "loss") return("min")
  state <- compile_state(model)
  for (m in state$resolved$metrics) {
    if (identical(m$label, name)) return(if (m$metric$direction == "up") "max" else "min")
  }
  if (grepl("acc", name)) return("max")
  if (grepl("loss|error|mae|mse", name)) return("min")
  rgru_abort(
    c("Can't tell whether {.arg monitor} {.val {monitor}} should be minimized or maximized.",
      "i" = "Pass {.code mode = \"min\"} or {.code mode = \"max\"}.")
  )
}

monitor_value <- function(logs, monitor, who) {
  value <- logs[[monitor]]
  if (is.null(value)) {
    rgru_warn(
      c("{who} monitors {.val {monitor}}, which is not available.",
        "i" = "Available: {.val {names(logs)}}."),
      class = "monitor"
    )
  }
  value
}

EarlyStopping <- R6::R6Class("RgruEarlyStopping", inherit = Callback,
  public = list(
    monitor = NULL, min_delta = 0, patience = 0, verbose = 0, mode = "auto",
    baseline = NULL, restore_best_weights = FALSE, start_from_epoch = 0,
    wait = 0, stopped_epoch = 0, best = NULL, best_weights = NULL,
    best_epoch = 0, sign = NULL,
    initialize = function(monitor, min_delta, patience, verbose, mode, baseline,
                          restore_best_weights, start_from_epoch) {
      self$monitor <- monitor
      self$min_delta <- abs(min_delta)
      self$patience <- patience
      self$verbose <- verbose
      self$mode <- check_mode(mode)
      self$baseline <- baseline
      self$restore_best_weights <- restore_best_weights
      self$start_from_epoch <- start_from_epoch
    },
    on_train_begin = function(logs = NULL) {
      self$wait <- 0
      self$stopped_epoch <- 0
      self$best <- NULL
      self$best_weights <- NULL
      self$best_epoch <- 0
      self$sign <- NULL
    },
    is_improvement = function(value, reference) {
      if (is.null(reference)) return(TRUE)
      if (self$sign == "min") value + self$min_delta < reference
      else value - self$min_delta > reference
    },
    on_epoch_end = function(epoch, logs = NULL) {
      if (is.null(self$sign)) {
        self$sign <- monitor_direction(self$monitor, self$mode, self$model)
      }
      current <- monitor_value(logs, self$monitor, "Early stopping")
      # Keras counts epochs from 0; `start_from_epoch` is in its terms.
      if (is.null(current) || epoch - 1 < self$start_from_epoch) return(invisible())
      if (self$restore_best_weights && is.null(self$best_weights)) {
        self$best_weights <- snapshot_weights(self$model)
        self$best_epoch <- epoch
      }
      self$wait <- self$wait + 1
      if (self$is_improvement(current, self$best)) {
        self$best <- current
        self$best_epoch <- epoch
        if (self$restore_best_weights) self$best_weights <- snapshot_weights(self$model)
        if (is.null(self$baseline) || self$is_improvement(current, self$baseline)) {
          self$wait <- 0
        }
        return(invisible())
      }
      if (self$wait >= self$patience && epoch > 1) {
        self$stopped_epoch <- epoch
        self$context$stop_training <- TRUE
      }
    },
    on_train_end = function(logs = NULL) {
      if (self$stopped_epoch > 0 && self$verbose > 0) {
        cli::cli_inform("Epoch {self$stopped_epoch}: early stopping")
      }
      if (self$restore_best_weights && !is.null(self$best_weights)) {
        if (self$verbose > 0) {
          cli::cli_inform("Restoring model weights from the end of the best epoch: {self$best_epoch}.")
        }
        restore_weights(self$model, self$best_weights)
      }
    }
  )
)

#' Stop training when a monitored quantity has stopped improving
#'
#' Keras's `EarlyStopping`: after each epoch the monitored value (from the
#' epoch's logs: `"loss"`, `"val_loss"`, a metric name or `"val_"` + a metric
#' name) is compared with the best so far; an improvement is a change of more
#' than `min_delta` in the right direction. Training stops once `patience`
#' epochs have passed without improvement.
#'
#' @param monitor Quantity to monitor.
#' @param min_delta Smallest change that counts as an improvement.
#' @param patience Epochs without improvement before training stops.
#' @param verbose 0 (silent) or 1 (a message when the callback acts).
#' @param mode `"auto"`, `"min"` or `"max"`: whether the quantity should go
#'   down or up (`"auto"` decides from its name, as Keras does).
#' @param baseline `NULL` or a value the quantity must beat for the patience
#'   counter to restart.
#' @param restore_best_weights Whether to restore the weights of the best
#'   epoch when training ends.
#' @param start_from_epoch Epochs to wait before starting to monitor.
#' @returns A callback object for [fit()]'s `callbacks`.
#' @family callbacks
#' @export
#' @examples
#' x <- array(runif(64 * 5 * 2), c(64, 5, 2))
#' y <- matrix(rowMeans(x[, , 1]), 64)
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(4) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "adam", loss = "mse")
#' history <- model |> fit(x, y, epochs = 20, validation_split = 0.25,
#'   callbacks = list(callback_early_stopping(patience = 2)), verbose = 0)
#' length(history$metrics$loss)
callback_early_stopping <- function(monitor = "val_loss", min_delta = 0L,
                                    patience = 0L, verbose = 0L, mode = "auto",
                                    baseline = NULL,
                                    restore_best_weights = FALSE,
                                    start_from_epoch = 0L) {
  check_string(monitor)
  check_number(min_delta)
  check_nonnegative_integer(patience)
  check_nonnegative_integer(start_from_epoch)
  check_nonnegative_integer(verbose)
  check_bool(restore_best_weights)
  check_number(baseline, allow_null = TRUE)
  EarlyStopping$new(monitor = monitor, min_delta = min_delta,
                    patience = patience, verbose = verbose, mode = mode,
                    baseline = baseline,
                    restore_best_weights = restore_best_weights,
                    start_from_epoch = start_from_epoch)
}

ModelCheckpoint <- R6::R6Class("RgruModelCheckpoint", inherit = Callback,
  public = list(
    filepath = NULL, monitor = NULL, verbose = 0, save_best_only = FALSE,
    save_weights_only = FALSE, mode = "auto", best = NULL, sign = NULL,
    initialize = function(filepath, monitor, verbose, save_best_only,
                          save_weights_only, mode, initial_value_threshold) {
      self$filepath <- filepath
      self$monitor <- monitor
      self$verbose <- verbose
      self$save_best_only <- save_best_only
      self$save_weights_only <- save_weights_only
      self$mode <- check_mode(mode)
      self$best <- initial_value_threshold
    },
    on_epoch_end = function(epoch, logs = NULL) {
      path <- format_checkpoint_path(self$filepath, epoch, logs)
      if (self$save_best_only) {
        if (is.null(self$sign)) {
          self$sign <- monitor_direction(self$monitor, self$mode, self$model)
        }
        current <- monitor_value(logs, self$monitor, "Model checkpoint")
        if (is.null(current)) return(invisible())
        better <- is.null(self$best) ||
          (self$sign == "min" && current < self$best) ||
          (self$sign == "max" && current > self$best)
        if (!better) {
          if (self$verbose > 0) {
            cli::cli_inform("Epoch {epoch}: {self$monitor} did not improve from {format(self$best, digits = 5)}")
          }
          return(invisible())
        }
        if (self$verbose > 0) {
          cli::cli_inform("Epoch {epoch}: {self$monitor} improved from {format(self$best %||% Inf, digits = 5)} to {format(current, digits = 5)}, saving model to {path}")
        }
        self$best <- current
      } else if (self$verbose > 0) {
        cli::cli_inform("Epoch {epoch}: saving model to {path}")
      }
      if (self$save_weights_only) save_model_weights(self$model, path, overwrite = TRUE)
      else save_model(self$model, path, overwrite = TRUE)
    }
  )
)

#' Save the model or its weights during training
#'
#' Keras's `ModelCheckpoint`, saving at the end of every epoch with
#' [save_model()] (or [save_model_weights()] when `save_weights_only`).
#' `filepath` may contain Python-style fields filled from the epoch number and
#' logs, as in Keras: `"ckpt-{epoch:02d}-{val_loss:.2f}.rds"`.
#'
#' @inheritParams callback_early_stopping
#' @param filepath Where to save; may contain `{epoch}` and `{<log name>}`
#'   fields with optional Python format specifications (`:02d`, `:.3f`).
#' @param save_best_only Save only when the monitored quantity improves on the
#'   best value so far.
#' @param save_weights_only Save only the weights.
#' @param save_freq Only `"epoch"` is supported.
#' @param initial_value_threshold `NULL` or the value the monitored quantity
#'   must beat for the first save when `save_best_only`.
#' @returns A callback object for [fit()]'s `callbacks`.
#' @family callbacks
#' @export
#' @examples
#' x <- array(runif(32 * 5 * 2), c(32, 5, 2))
#' y <- matrix(rowMeans(x[, , 1]), 32)
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(4) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "adam", loss = "mse")
#' path <- file.path(tempdir(), "best.rds")
#' model |> fit(x, y, epochs = 3, verbose = 0, callbacks = list(
#'   callback_model_checkpoint(path, monitor = "loss", save_best_only = TRUE)))
#' file.exists(path)
callback_model_checkpoint <- function(filepath, monitor = "val_loss",
                                      verbose = 0L, save_best_only = FALSE,
                                      save_weights_only = FALSE, mode = "auto",
                                      save_freq = "epoch",
                                      initial_value_threshold = NULL) {
  check_string(filepath)
  check_string(monitor)
  check_nonnegative_integer(verbose)
  check_bool(save_best_only)
  check_bool(save_weights_only)
  check_number(initial_value_threshold, allow_null = TRUE)
  if (!identical(save_freq, "epoch")) {
    abort_argument("save_freq", save_freq, '"epoch" (the only frequency supported)')
  }
  ModelCheckpoint$new(filepath = filepath, monitor = monitor, verbose = verbose,
                      save_best_only = save_best_only,
                      save_weights_only = save_weights_only, mode = mode,
                      initial_value_threshold = initial_value_threshold)
}

LambdaCallback <- R6::R6Class("RgruLambdaCallback", inherit = Callback,
  public = list(
    hooks = NULL,
    initialize = function(hooks) self$hooks <- hooks,
    on_train_begin = function(logs = NULL) self$call("on_train_begin", logs = logs),
    on_train_end = function(logs = NULL) self$call("on_train_end", logs = logs),
    on_epoch_begin = function(epoch, logs = NULL) self$call("on_epoch_begin", epoch, logs),
    on_epoch_end = function(epoch, logs = NULL) self$call("on_epoch_end", epoch, logs),
    on_train_batch_begin = function(batch, logs = NULL) self$call("on_train_batch_begin", batch, logs),
    on_train_batch_end = function(batch, logs = NULL) self$call("on_train_batch_end", batch, logs),
    call = function(hook, ...) {
      fn <- self$hooks[[hook]]
      if (!is.null(fn)) call_user_function(fn, list(...), hook, "callback")
      invisible(NULL)
    }
  )
)

#' Create a callback from R functions
#'
#' Each function is called at its point of [fit()]: `on_epoch_begin(epoch,
#' logs)`, `on_epoch_end(epoch, logs)`, `on_train_begin(logs)`,
#' `on_train_end(logs)`, `on_train_batch_begin(batch, logs)`,
#' `on_train_batch_end(batch, logs)`. Epochs and batches count from 1.
#' A stateful model keeps its recurrent state across batches and epochs
#' during [fit()], as in Keras 3; reset it between epochs with
#' `callback_lambda(on_epoch_begin = function(epoch, logs) model$reset_state())`.
#'
#' @param on_epoch_begin,on_epoch_end,on_train_begin,on_train_end,on_train_batch_begin,on_train_batch_end
#'   `NULL` or a function.
#' @returns A callback object for [fit()]'s `callbacks`.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_lambda(on_epoch_end = function(epoch, logs)
#'   cat("epoch", epoch, "loss", logs$loss, "\n"))
callback_lambda <- function(on_epoch_begin = NULL, on_epoch_end = NULL,
                            on_train_begin = NULL, on_train_end = NULL,
                            on_train_batch_begin = NULL,
                            on_train_batch_end = NULL) {
  hooks <- list(on_epoch_begin = on_epoch_begin, on_epoch_end = on_epoch_end,
                on_train_begin = on_train_begin, on_train_end = on_train_end,
                on_train_batch_begin = on_train_batch_begin,
                on_train_batch_end = on_train_batch_end)
  for (n in names(hooks)) {
    if (!is.null(hooks[[n]]) && !is.function(hooks[[n]])) {
      abort_argument(n, hooks[[n]], "`NULL` or a function")
    }
  }
  LambdaCallback$new(hooks)
}

# Fills "{epoch:02d}", "{val_loss:.2f}", "{loss}" style fields.
format_checkpoint_path <- function(template, epoch, logs) {
  values <- c(list(epoch = epoch), logs)
  pattern <- "\\{([A-Za-z_][A-Za-z0-9_]*)(:[^}]*)?\\}"
  out <- template
  repeat {
    m <- regmatches(out, regexec(pattern, out))[[1]]
    if (length(m) == 0) break
    name <- m[2]
    spec <- sub("^:", "", m[3])
    value <- values[[name]]
    if (is.null(value)) {
      rgru_abort(
        c("{.arg filepath} refers to {.val {name}}, which is not in the epoch's logs.",
          "i" = "Available: {.val {names(values)}}.")
      )
    }
    text <- if (nzchar(spec)) {
      if (grepl("d$", spec)) value <- as.integer(value)
      sprintf(paste0("%", spec), value)
    } else format(value)
    out <- sub(m[1], text, out, fixed = TRUE)
  }
  out
}
