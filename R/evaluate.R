# evaluate(): the compiled loss and metrics on data, in inference mode.

#' Evaluate a model on data
#'
#' Computes the compiled loss (including regularization penalties, as Keras
#' does) and metrics over `x` and `y` in batches, in inference mode (no
#' dropout).
#'
#' @inheritParams fit
#' @param batch_size Samples per batch (default 32).
#' @param verbose 0 (silent), 1 (a progress bar, then Keras's summary line),
#'   2 (the summary line alone: `"N/N - 0s - 4ms/step - loss: ..."`) or
#'   `"auto"` (1 in interactive sessions, 2 in scripts and while knitting, 0
#'   under testthat, as keras3).
#' @param steps `NULL` or the number of batches to evaluate.
#' @param callbacks Accepted for keras3 compatibility; ignored.
#' @returns A named list: `loss` and each metric.
#' @family model training
#' @export
#' @examples
#' x <- array(runif(32 * 4 * 1), c(32, 4, 1))
#' model <- keras_model_sequential(input_shape = c(4, 1)) |>
#'   layer_gru(2) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "sgd", loss = "mse", metrics = "mae")
#' model |> evaluate(x, rowSums(x), verbose = 0)
evaluate <- function(object, ...) {
  UseMethod("evaluate")
}

#' @rdname evaluate
#' @export
evaluate.rgru_model <- function(object, x = NULL, y = NULL, ..., batch_size = NULL,
                                verbose = getOption("keras.verbose", default = "auto"),
                                sample_weight = NULL, steps = NULL,
                                callbacks = NULL) {
  check_empty_dots(...)
  require_compiled(object, "evaluate")
  x <- as_training_data(x, "x")
  y <- as_training_data(y, "y")
  require_data(x, y)
  check_same_rows(list(x, y), c("x", "y"))
  if (!is.null(sample_weight)) {
    sample_weight <- as_training_array(sample_weight, "sample_weight")
    check_same_rows(list(x, sample_weight), c("x", "sample_weight"))
  }
  verbose <- resolve_verbose(verbose)
  batch_size <- check_batch_size(batch_size)
  if (!is.null(steps)) steps <- check_epoch(steps, "steps")
  progress <- batch_progress(verbose, min(ceiling(n_rows(x) / batch_size), steps),
                             environment())
  logs <- evaluate_arrays(object, x, y, sample_weight, batch_size, steps, progress)
  progress$finish(logs)
  logs
}

#' @export
evaluate.default <- function(object, ...) {
  abort_argument("object", object, "an rgru model")
}

evaluate_arrays <- function(model, x, y, sample_weight, batch_size, steps = NULL,
                            progress = NULL) {
  n <- n_rows(x)
  batches <- epoch_order(n, batch_size, FALSE)
  if (!is.null(steps)) batches <- utils::head(batches, steps)
  state <- compile_state(model)
  trackers <- new_trackers()
  for (b in seq_along(batches)) {
    idx <- batches[[b]]
    unresolved <- is.null(state$resolved)
    state <- test_on_batch_step(model, state, trackers, slice_samples(x, idx),
                                slice_samples(y, idx), slice_samples(sample_weight, idx))
    if (unresolved) set_compile_state(model, state)
    if (!is.null(progress)) progress$update(b, tracker_logs(trackers, state$resolved))
  }
  tracker_logs(trackers, state$resolved)
}
