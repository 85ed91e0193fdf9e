# compile(): attach an optimizer, losses and metrics to a model, as keras3's
# `model |> compile(...)`, modifying the model in place.

#' Configure a model for training
#'
#' Sets the optimizer, loss and metrics [fit()] and [evaluate()] use. The
#' model is modified in place (and returned invisibly, for pipes), as in
#' keras3.
#'
#' @param object A model ([keras_model_sequential()] or [keras_model()]).
#' @param optimizer An optimizer name (`"sgd"`, `"adam"`, `"adamw"`,
#'   `"rmsprop"`) or an [optimizer_sgd()]-style object.
#' @param loss A loss name (`"mse"`, `"mae"`, `"huber"`,
#'   `"binary_crossentropy"`, `"categorical_crossentropy"`,
#'   `"sparse_categorical_crossentropy"`, or their long forms), a `loss_*()`
#'   object, an R function `function(y_true, y_pred)` returning per-sample
#'   values (its gradient is taken numerically, slowly), or for a model with
#'   several outputs a list of these, one per output (named by output name,
#'   or in output order).
#' @param metrics `NULL`, or a character vector or list of metric names
#'   (`"mae"`, `"mse"`, `"accuracy"`, `"binary_accuracy"`,
#'   `"categorical_accuracy"`, `"sparse_categorical_accuracy"`) or
#'   `metric_*()` objects; for several outputs, a list of these per output.
#'   As in Keras, these ignore sample weights.
#' @param ... Unused; must be empty.
#' @param loss_weights `NULL` or one weight per output: the training loss is
#'   the weighted sum of the outputs' losses.
#' @param weighted_metrics Like `metrics`, but weighted by `sample_weight`.
#' @param run_eagerly,steps_per_execution,jit_compile,auto_scale_loss
#'   Accepted for keras3 compatibility; rgru always runs eagerly, one step at a
#'   time.
#' @returns `object`, invisibly.
#' @family model training
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(4) |>
#'   layer_dense(1)
#' model |> compile(optimizer = optimizer_adam(0.01), loss = "mse",
#'                  metrics = "mae")
compile <- function(object, ...) {
  UseMethod("compile")
}

#' @rdname compile
#' @export
compile.rgru_model <- function(object, optimizer = "rmsprop", loss = NULL,
                               metrics = NULL, ..., loss_weights = NULL,
                               weighted_metrics = NULL, run_eagerly = FALSE,
                               steps_per_execution = 1L, jit_compile = "auto",
                               auto_scale_loss = TRUE) {
  check_empty_dots(...)
  check_loss_weights(loss_weights)
  if (is.null(loss)) {
    abort_argument("loss", loss, "a loss name, a `loss_*()` object or a function",
                   "i" = "rgru models train only with a compiled loss, e.g. {.code compile(model, loss = \"mse\")}.")
  }
  state <- list(
    optimizer = resolve_optimizer(optimizer),
    loss = loss,
    loss_weights = loss_weights,
    metrics = metrics,
    weighted_metrics = weighted_metrics,
    resolved = NULL
  )
  # Resolve names now so that a typo fails at compile(), not mid-fit().
  spec_losses(loss)
  for (arg in c("metrics", "weighted_metrics")) {
    for (m in flatten_metric_spec(get(arg))) {
      if (!(is.character(m) && tolower(m) %in% c("accuracy", "acc"))) {
        resolve_metric(m, arg = arg)
      }
    }
  }
  set_compile_state(object, state)
  invisible(object)
}

#' @export
compile.default <- function(object, ...) {
  abort_argument("object", object, "an rgru model")
}

spec_losses <- function(loss) {
  if (is.list(loss) && !inherits(loss, "rgru_loss")) return(lapply(loss, resolve_loss))
  list(resolve_loss(loss))
}

flatten_metric_spec <- function(metrics) {
  if (is.null(metrics)) return(list())
  if (inherits(metrics, "rgru_metric") || is.function(metrics)) return(list(metrics))
  if (is.character(metrics)) return(as.list(metrics))
  if (!is.list(metrics) || is.object(metrics)) return(list(metrics))
  unlist(lapply(metrics, flatten_metric_spec), recursive = FALSE)
}

# The compile state lives with the model's R6 object: in its `compiled`
# field when the model class has one, else as an attribute of the object's
# environment (environments are references, so every handle sees it).
compile_state <- function(model) {
  obj <- model_object(model)
  if (exists("compiled", envir = obj, inherits = FALSE)) return(.subset2(obj, "compiled"))
  attr(obj, "rgru_compiled", exact = TRUE)
}

set_compile_state <- function(model, state) {
  obj <- model_object(model)
  if (exists("compiled", envir = obj, inherits = FALSE)) {
    obj$compiled <- state
  } else {
    attr(obj, "rgru_compiled") <- state
  }
  invisible(model)
}

model_object <- function(model) {
  obj <- if (inherits(model, "R6")) model else layer_object(model)
  if (is.null(obj)) abort_argument("object", model, "an rgru model")
  obj
}

require_compiled <- function(model, fn) {
  state <- compile_state(model)
  if (is.null(state)) {
    rgru_abort(
      c("The model must be compiled before {.fn {fn}}.",
        "i" = "Call {.code compile(model, optimizer = ..., loss = ...)} first."),
      class = "not_compiled"
    )
  }
  state
}

# Per-output losses, loss weights and metric trackers, resolved against the
# first batch's shapes (Keras builds its compiled loss and metrics the same
# way, which is how "accuracy" picks its form).
resolve_compiled <- function(state, y, y_pred, output_names) {
  if (!is.null(state$resolved)) return(state$resolved)
  n_out <- length(y_pred)
  losses <- spec_losses(state$loss)
  if (length(losses) == 1 && n_out > 1) losses <- rep(losses, n_out)
  losses <- order_by_output(losses, output_names, "loss")
  weights <- state$loss_weights %||% rep(1, n_out)
  weights <- unlist(order_by_output(as.list(weights), output_names, "loss_weights"))
  metric_for <- function(spec, weighted) {
    per_output <- if (is.list(spec) && !inherits(spec, "rgru_metric") &&
                      n_out > 1 && length(spec) == n_out) spec else rep(list(spec), n_out)
    per_output <- order_by_output(per_output, output_names, "metrics")
    out <- list()
    for (o in seq_len(n_out)) {
      for (m in flatten_metric_spec(per_output[[o]])) {
        metric <- resolve_metric(m, y[[o]], y_pred[[o]],
                                 if (weighted) "weighted_metrics" else "metrics")
        label <- metric$name
        if (weighted && !is.null(state$metrics)) label <- paste0("weighted_", label)
        if (n_out > 1) label <- paste0(output_names[o], "_", label)
        out[[length(out) + 1]] <- list(metric = metric, output = o,
                                       weighted = weighted, label = label)
      }
    }
    out
  }
  list(losses = losses, loss_weights = weights,
       output_loss_names = if (n_out > 1) paste0(output_names, "_loss") else character(),
       metrics = c(metric_for(state$metrics, FALSE),
                   metric_for(state$weighted_metrics, TRUE)))
}

order_by_output <- function(x, output_names, arg) {
  if (length(x) != length(output_names)) {
    rgru_abort(
      c("{.arg {arg}} must have one entry per model output ({length(output_names)}).",
        "x" = "Got {length(x)}.")
    )
  }
  if (!is.null(names(x)) && all(names(x) %in% output_names)) x <- x[output_names]
  x
}
