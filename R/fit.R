# fit(): Keras 3's training loop over arrays: optional validation split
# (taken from the end, before shuffling), per-epoch shuffling, batches of
# `batch_size` rows, callbacks, and a history of per-epoch logs.

#' Train a model for a fixed number of epochs
#'
#' Runs Keras's training loop on arrays: each epoch the training samples are
#' shuffled (unless `shuffle = FALSE`) and cut into batches; for each batch
#' the model runs forward in training mode (dropout active), the compiled loss
#' plus regularization penalties is backpropagated exactly through every
#' layer, the optimizer updates the trainable weights and constraints are
#' applied. Reported loss and metrics are running means over the epoch's
#' batches; `val_` values come from [evaluate()] on the validation data after
#' each epoch.
#'
#' Shuffling uses R's random number generator, so
#' `set.seed()` makes a run reproducible (dropout masks follow each layer's
#' `seed`).
#'
#' Stateful recurrent layers keep their state from batch to batch (and across
#' epochs) as in Keras 3; use `shuffle = FALSE`, and reset the state yourself
#' (for example with [callback_lambda()]) when sequences end.
#'
#' @param object A compiled model.
#' @param x Input array `(samples, ...)`, or a list of arrays for a model with
#'   several inputs.
#' @param y Target array, or a list of arrays for several outputs.
#' @param ... Unused; must be empty.
#' @param batch_size Samples per gradient update (default 32).
#' @param epochs Index of the last epoch: training runs epochs
#'   `initial_epoch` to `epochs`.
#' @param callbacks List of callbacks, such as [callback_early_stopping()].
#' @param validation_split Fraction in `[0, 1)` of the samples, taken from
#'   the end of `x` and `y` before any shuffling, held out for validation.
#' @param validation_data `list(x_val, y_val)` or `list(x_val, y_val,
#'   sample_weight_val)`; overrides `validation_split`.
#' @param shuffle `TRUE` to shuffle samples each epoch, `"batch"` to shuffle
#'   the order of batches, `FALSE` to keep the order.
#' @param class_weight `NULL` or a named list or vector mapping 0-based class
#'   indices to loss weights (single-output models).
#' @param sample_weight `NULL` or per-sample loss weights (a vector of length
#'   `samples`, or a matrix `(samples, timesteps)` for sequence outputs).
#' @param initial_epoch Epoch to start from (1-based), to resume training.
#' @param steps_per_epoch `NULL` or the number of batches per epoch.
#' @param validation_steps,validation_batch_size `NULL` or the number of
#'   validation batches and their size.
#' @param validation_freq Validate every this many epochs.
#' @param verbose 0 (silent), 1 (a progress bar per epoch), 2 (one line per
#'   epoch) or `"auto"` (1 in interactive sessions, 2 in scripts and while
#'   knitting, 0 under testthat, as keras3).
#' @param view_metrics Accepted for keras3 compatibility; ignored.
#' @returns A `keras_training_history` object (invisibly): `params` and
#'   `metrics`, a list of per-epoch values named `loss`, each metric, and
#'   `val_` versions. It has `print()`, `plot()` and `as.data.frame()` methods.
#' @family model training
#' @export
#' @examples
#' set.seed(1)
#' x <- array(runif(128 * 6 * 1), c(128, 6, 1))
#' y <- matrix(rowSums(x[, , 1]), 128)
#' model <- keras_model_sequential(input_shape = c(6, 1)) |>
#'   layer_gru(8) |>
#'   layer_dense(1)
#' model |> compile(optimizer = optimizer_adam(0.01), loss = "mse",
#'                  metrics = "mae")
#' history <- model |> fit(x, y, epochs = 5, batch_size = 16,
#'                         validation_split = 0.2, verbose = 0)
#' history
#' plot(history)
#' head(as.data.frame(history))
fit <- function(object, ...) {
  UseMethod("fit")
}

#' @rdname fit
#' @export
fit.rgru_model <- function(object, x = NULL, y = NULL, ..., batch_size = NULL,
                           epochs = 1L, callbacks = NULL,
                           validation_split = 0, validation_data = NULL,
                           shuffle = TRUE, class_weight = NULL,
                           sample_weight = NULL, initial_epoch = 1L,
                           steps_per_epoch = NULL, validation_steps = NULL,
                           validation_batch_size = NULL, validation_freq = 1L,
                           verbose = getOption("keras.verbose", default = "auto"),
                           view_metrics = getOption("keras.view_metrics", default = "auto")) {
  check_empty_dots(...)
  state <- require_compiled(object, "fit")
  x <- as_training_data(x, "x")
  y <- as_training_data(y, "y")
  require_data(x, y)
  if (!is.null(sample_weight)) sample_weight <- as_training_array(sample_weight, "sample_weight")
  n <- check_same_rows(list(x, y), c("x", "y"))
  if (!is.null(sample_weight)) check_same_rows(list(x, sample_weight), c("x", "sample_weight"))
  batch_size <- check_batch_size(batch_size)
  epochs <- check_epoch(epochs, "epochs")
  initial_epoch <- check_epoch(initial_epoch, "initial_epoch")
  validation_freq <- check_epoch(validation_freq, "validation_freq")
  if (!is.null(validation_steps)) validation_steps <- check_epoch(validation_steps, "validation_steps")
  validation_batch_size <- if (is.null(validation_batch_size)) batch_size else
    check_batch_size(validation_batch_size, "validation_batch_size")
  verbose <- resolve_verbose(verbose)
  if (!isTRUE(shuffle) && !isFALSE(shuffle) && !identical(shuffle, "batch")) {
    abort_argument("shuffle", shuffle, '`TRUE`, `FALSE` or "batch"')
  }
  if (!is.null(class_weight)) {
    sample_weight <- apply_class_weight(class_weight, y, sample_weight)
  }

  check_validation_split(validation_split)
  val <- NULL
  if (!is.null(validation_data)) {
    val <- unpack_validation_data(validation_data)
  } else if (validation_split > 0) {
    split <- split_validation(x, y, sample_weight, validation_split, n)
    x <- split$x
    y <- split$y
    sample_weight <- split$sample_weight
    val <- split$val
    n <- n_rows(x)
  }

  steps <- ceiling(n / batch_size)
  if (!is.null(steps_per_epoch)) steps <- min(steps, check_epoch(steps_per_epoch, "steps_per_epoch"))
  callbacks <- normalize_callbacks(callbacks)
  context <- new.env(parent = emptyenv())
  context$stop_training <- FALSE
  params <- list(verbose = verbose, epochs = epochs, steps = steps,
                 samples = n, batch_size = batch_size,
                 validation_samples = if (!is.null(val)) n_rows(val$x))
  for (cb in callbacks) cb$set_context(object, params, context)

  metrics_log <- list()
  epochs_run <- integer()
  run_callbacks(callbacks, "on_train_begin", logs = list())
  for (epoch in epoch_numbers(initial_epoch, epochs)) {
    if (context$stop_training) break
    run_callbacks(callbacks, "on_epoch_begin", epoch, logs = list())
    if (verbose >= 1 && epochs > 1) cat("Epoch ", epoch, "/", epochs, "\n", sep = "")
    progress <- batch_progress(verbose, steps, environment())
    logs <- train_epoch(object, x, y, sample_weight,
                        epoch_order(n, batch_size, shuffle)[seq_len(steps)],
                        callbacks, progress, context)
    if (epoch == initial_epoch) warn_if_nothing_trainable(object)
    # Keras validates on the epochs (counted from 1) divisible by validation_freq.
    if (!is.null(val) && epoch %% validation_freq == 0) {
      val_logs <- evaluate_arrays(object, val$x, val$y, val$sample_weight,
                                  validation_batch_size, validation_steps)
      names(val_logs) <- paste0("val_", names(val_logs))
      logs <- c(logs, val_logs)
    }
    progress$finish(logs)
    run_callbacks(callbacks, "on_epoch_end", epoch, logs = logs)
    metrics_log <- append_epoch_logs(metrics_log, logs, length(epochs_run))
    epochs_run <- c(epochs_run, epoch)
  }
  run_callbacks(callbacks, "on_train_end", logs = list())
  history <- new_training_history(params, metrics_log, epochs_run)
  invisible(history)
}

#' @export
fit.default <- function(object, ...) {
  abort_argument("object", object, "an rgru model")
}

# The batches of one epoch; returns the epoch's running loss and metrics.
train_epoch <- function(model, x, y, sample_weight, batches, callbacks, progress,
                        context) {
  state <- compile_state(model)
  trackers <- new_trackers()
  for (b in seq_along(batches)) {
    idx <- batches[[b]]
    run_callbacks(callbacks, "on_train_batch_begin", b, logs = list())
    unresolved <- is.null(state$resolved)
    state <- train_on_batch_step(model, state, trackers, slice_samples(x, idx),
                                 slice_samples(y, idx), slice_samples(sample_weight, idx))
    if (unresolved) set_compile_state(model, state)
    logs <- tracker_logs(trackers, state$resolved)
    progress$update(b, logs)
    run_callbacks(callbacks, "on_train_batch_end", b, logs = logs)
    if (context$stop_training) break
  }
  tracker_logs(trackers, state$resolved)
}

# One value per epoch for every name ever logged; NA where an epoch did not
# log it (validation every `validation_freq` epochs).
append_epoch_logs <- function(history, logs, epochs_before) {
  for (nm in union(names(history), names(logs))) {
    previous <- history[[nm]] %||% rep(NA_real_, epochs_before)
    history[[nm]] <- c(previous, logs[[nm]] %||% NA_real_)
  }
  history
}

warn_if_nothing_trainable <- function(model) {
  if (length(model_object(model)$trainable_weights) == 0) {
    rgru_warn(
      c("The model does not have any trainable weights: {.fn fit} changes nothing.",
        "i" = "See {.fn unfreeze_weights}."),
      class = "no_trainable"
    )
  }
}

# Epochs `first` to `last` (none when first > last), without the integer
# overflow of counting past R's largest integer.
epoch_numbers <- function(first, last) {
  if (first > last) integer() else seq.int(first, last)
}

# fit(), evaluate() and the *_on_batch() functions need both.
require_data <- function(x, y) {
  if (is.null(x)) abort_argument("x", NULL, "an array or a list of arrays")
  if (is.null(y)) abort_argument("y", NULL, "an array or a list of arrays")
}

# keras3's "auto": one line per epoch while knitting, silent under testthat
# (keras3 draws no progress in tests), else a live bar in interactive sessions
# and one line per epoch in scripts.
resolve_verbose <- function(verbose) {
  if (identical(verbose, "auto")) {
    if (isTRUE(getOption("knitr.in.progress"))) return(2L)
    if (identical(Sys.getenv("TESTTHAT"), "true")) return(0L)
    return(if (interactive()) 1L else 2L)
  }
  if (!is_scalar_number(verbose) || !verbose %in% 0:2) {
    abort_argument("verbose", verbose, '0, 1, 2 or "auto"')
  }
  as.integer(verbose)
}

# Keras's train_validation_split(): the first floor(n * (1 - split)) rows
# train and the rest validate.
split_validation <- function(x, y, sample_weight, validation_split, n) {
  split_at <- floor(n * (1 - validation_split))
  if (split_at < 1 || split_at >= n) {
    abort_argument("validation_split", validation_split,
                   "a fraction that leaves samples for both training and validation",
                   "x" = "Got {n} sample{?s}, of which {split_at} would train.")
  }
  train <- seq_len(split_at)
  held <- seq.int(split_at + 1, n)
  list(x = slice_samples(x, train), y = slice_samples(y, train),
       sample_weight = slice_samples(sample_weight, train),
       val = list(x = slice_samples(x, held), y = slice_samples(y, held),
                  sample_weight = slice_samples(sample_weight, held)))
}

unpack_validation_data <- function(validation_data) {
  if (!is.list(validation_data) || is.object(validation_data) ||
      !length(validation_data) %in% 2:3) {
    abort_argument("validation_data", validation_data,
                   "`list(x_val, y_val)` or `list(x_val, y_val, sample_weight_val)`")
  }
  args <- paste0("validation_data[[", seq_along(validation_data), "]]")
  for (i in 1:2) {
    if (is.null(validation_data[[i]])) {
      abort_argument(args[[i]], NULL, "an array or a list of arrays")
    }
  }
  val <- list(x = as_training_data(validation_data[[1]], args[[1]]),
              y = as_training_data(validation_data[[2]], args[[2]]),
              sample_weight = if (length(validation_data) == 3 && !is.null(validation_data[[3]]))
                as_training_array(validation_data[[3]], args[[3]]))
  check_same_rows(val[c("x", "y")], args[1:2])
  if (!is.null(val$sample_weight)) {
    check_same_rows(val[c("x", "sample_weight")], args[c(1, 3)])
  }
  val
}

# Weights from class_weight multiply the sample weights, keyed by the 0-based
# class of each target (its arg-max for one-hot targets).
apply_class_weight <- function(class_weight, y, sample_weight) {
  if (is.list(y)) {
    abort_argument("class_weight", class_weight, "`NULL` for a model with several outputs")
  }
  weights <- if (is.list(class_weight) && !is.object(class_weight)) {
    unlist(class_weight)
  } else {
    class_weight
  }
  if (!is.numeric(weights) || is.object(weights) || length(weights) == 0 ||
      !all(is.finite(weights))) {
    abort_argument("class_weight", class_weight,
                   "a named list or vector of finite weights, one per class")
  }
  if (is.null(names(weights))) names(weights) <- seq_along(weights) - 1
  d <- dim(y)
  classes <- if (length(d) >= 2 && d[length(d)] > 1) {
    max.col(matrix(y, ncol = d[length(d)]), "first") - 1
  } else {
    round(as.double(y))
  }
  w <- weights[as.character(classes)]
  w[is.na(w)] <- 1
  w <- as.double(w)
  if (!is.null(sample_weight)) w <- w * as.double(sample_weight)
  w
}

# Row indices of each batch for one epoch.
epoch_order <- function(n, batch_size, shuffle) {
  rows <- if (isTRUE(shuffle)) sample.int(n) else seq_len(n)
  batches <- split(rows, ceiling(seq_len(n) / batch_size))
  names(batches) <- NULL
  if (identical(shuffle, "batch")) batches <- batches[sample.int(length(batches))]
  batches
}

normalize_callbacks <- function(callbacks) {
  if (is.null(callbacks)) return(list())
  if (inherits(callbacks, "RgruCallback")) callbacks <- list(callbacks)
  if (!is.list(callbacks) || is.object(callbacks)) {
    abort_argument("callbacks", callbacks, "a list of callback objects")
  }
  for (i in seq_along(callbacks)) {
    if (!inherits(callbacks[[i]], "RgruCallback")) {
      abort_argument(sprintf("callbacks[[%d]]", i), callbacks[[i]],
                     "a callback object, such as `callback_early_stopping()`")
    }
  }
  callbacks
}

run_callbacks <- function(callbacks, hook, ...) {
  for (cb in callbacks) cb[[hook]](...)
  invisible(NULL)
}

# Keras's Progbar: values above 1e-3 with four decimals, others in scientific
# notation; the bar (verbose = 1) compares the absolute value, the one-line
# summary (verbose = 2) the value itself.
format_logs <- function(logs, verbose = 2L) {
  if (length(logs) == 0) return("")
  values <- vapply(logs, function(v) {
    big <- if (verbose == 1L) abs(v) > 1e-3 else v > 1e-3
    if (isTRUE(big)) sprintf("%.4f", v) else sprintf("%.4e", v)
  }, "")
  paste0(" - ", names(logs), ": ", values, collapse = "")
}

format_step_time <- function(per) {
  if (per >= 1 || per == 0) sprintf("%.0fs/step", per)
  else if (per >= 1e-3) sprintf("%.0fms/step", per * 1e3)
  else sprintf("%.0fus/step", per * 1e6)
}

# Keras's progress bar for the batches of an epoch, evaluate() or predict():
# a live cli bar with the running loss and metrics (verbose = 1) ending in
# Keras's summary line, or that line alone (verbose = 2), e.g.
# "79/79 - 0s - 4ms/step - loss: 0.1258 - mae: 0.2071". As Keras, the time
# per step leaves out the first step (which pays for setting things up).
batch_progress <- function(verbose, steps, envir) {
  bar <- NULL
  started <- Sys.time()
  first_done <- NULL
  list(
    update = function(step, logs) {
      if (step == 1L) first_done <<- Sys.time()
      if (verbose != 1) return(invisible())
      if (is.null(bar)) {
        bar <<- cli::cli_progress_bar(
          total = steps, clear = TRUE, .envir = envir,
          extra = list(status = ""),
          format = "{cli::pb_current}/{cli::pb_total} {cli::pb_bar} {cli::pb_eta_str}{cli::pb_extra$status}"
        )
      }
      cli::cli_progress_update(id = bar, set = step,
                               extra = list(status = format_logs(logs, 1L)),
                               .envir = envir)
    },
    finish = function(logs, steps_done = steps) {
      now <- Sys.time()
      seconds <- as.numeric(difftime(now, started, units = "secs"))
      per <- if (steps_done > 1 && !is.null(first_done)) {
        as.numeric(difftime(now, first_done, units = "secs")) / (steps_done - 1)
      } else {
        seconds / max(steps_done, 1)
      }
      if (!is.null(bar)) cli::cli_progress_done(id = bar, .envir = envir)
      if (verbose == 1) {
        cat(sprintf("%d/%d %s %.0fs %s%s\n", steps_done, steps, strrep("\u2501", 20), seconds,
                    format_step_time(per), format_logs(logs, 1L)))
      } else if (verbose == 2) {
        cat(sprintf("%d/%d - %.0fs - %s%s\n", steps_done, steps, seconds,
                    format_step_time(per), format_logs(logs, 2L)))
      }
    }
  )
}

#' Train or test a model on one batch
#'
#' `train_on_batch()` runs a single gradient update on the whole of `x` and
#' `y`; `test_on_batch()` computes the loss and metrics on them without
#' updating. Both return the batch's loss and metrics, as keras3 does.
#'
#' @inheritParams fit
#' @returns A named list: `loss` and each metric.
#' @family model training
#' @export
#' @examples
#' x <- array(runif(16 * 4 * 1), c(16, 4, 1))
#' model <- keras_model_sequential(input_shape = c(4, 1)) |>
#'   layer_gru(2) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "sgd", loss = "mse")
#' train_on_batch(model, x, rowSums(x))
#' test_on_batch(model, x, rowSums(x))
train_on_batch <- function(object, x, y = NULL, sample_weight = NULL, class_weight = NULL) {
  batch <- one_batch_data(object, x, y, sample_weight, "train_on_batch")
  if (!is.null(class_weight)) {
    batch$sample_weight <- apply_class_weight(class_weight, batch$y, batch$sample_weight)
  }
  state <- batch$state
  trackers <- new_trackers()
  unresolved <- is.null(state$resolved)
  state <- train_on_batch_step(object, state, trackers, batch$x, batch$y, batch$sample_weight)
  if (unresolved) set_compile_state(object, state)
  tracker_logs(trackers, state$resolved)
}

#' @rdname train_on_batch
#' @export
test_on_batch <- function(object, x, y = NULL, sample_weight = NULL) {
  batch <- one_batch_data(object, x, y, sample_weight, "test_on_batch")
  evaluate_arrays(object, batch$x, batch$y, batch$sample_weight, n_rows(batch$x))
}

# The batch, checked, and the model's compile state.
one_batch_data <- function(object, x, y, sample_weight, fn) {
  state <- require_compiled(object, fn)
  x <- as_training_data(x, "x")
  y <- as_training_data(y, "y")
  require_data(x, y)
  check_same_rows(list(x, y), c("x", "y"))
  if (!is.null(sample_weight)) {
    sample_weight <- as_training_array(sample_weight, "sample_weight")
    check_same_rows(list(x, sample_weight), c("x", "sample_weight"))
  }
  list(x = x, y = y, sample_weight = sample_weight, state = state)
}
