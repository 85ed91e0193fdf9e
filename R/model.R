# What sequential and functional models share: the Model base class (a layer
# holding layers), the activity-regularizer bookkeeping of forward/backward,
# predict(), summary()/print(), get_weights()/set_weights(), get/from_config.

Model <- R6::R6Class(
  "RgruModel",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    sublayers = function() self$layer_objects,
    # Grads of layer `layer` (aligned with its weights) added into `acc`
    # (aligned with the model's weights), matching variables by identity.
    accumulate_grads = function(acc, layer, grads) {
      add_grads_at(acc, self$layer_weight_positions(list(layer))[[1]], grads)
    },
    # Where the weights of each of `layers` sit among the model's: a list of integer
    # vectors, aligned with `layers`, with the number of the model's weights as
    # attribute "weights". Kept per layer while the layer tree stands, as each
    # training step asks again (a sequential model for all its layers at once).
    layer_weight_positions = function(layers) {
      known <- private$weight_positions
      if (is.null(known) || known$version != layer_structure$version) {
        known <- list(version = layer_structure$version, layers = list(),
                      at = structure(list(), weights = length(self$weights)))
      }
      if (identical(known$layers, layers)) return(known$at)
      missing <- FALSE
      positions <- lapply(layers, function(layer) {
        for (i in seq_along(known$layers)) {
          if (identical(known$layers[[i]], layer)) return(known$at[[i]])
        }
        missing <<- TRUE
        NULL
      })
      if (missing) {
        model_ids <- ids_of(self$weights)
        for (i in seq_along(layers)) {
          if (!is.null(positions[[i]])) next
          positions[[i]] <- match(ids_of(layers[[i]]$weights), model_ids)
          known$layers <- c(known$layers, layers[i])
          known$at[[length(known$at) + 1L]] <- positions[[i]]
        }
        private$weight_positions <- known
      }
      attr(positions, "weights") <- attr(known$at, "weights")
      positions
    },
    empty_grads = function() vector("list", length(self$weights)),
    # Zeros the states of every stateful layer inside, as Keras's reset_state().
    reset_state = function() {
      for (layer in self$sublayers()) {
        if (is.function(layer$reset_state) && !isFALSE(layer$stateful)) layer$reset_state()
      }
      invisible(self$handle)
    },
    reset_states = function() self$reset_state(),
    # A model's masks come out of its layers: run them, leaving the states of
    # stateful layers as they were.
    output_mask = function(inputs, mask) {
      rnns <- Filter(function(l) inherits(l, "RgruRnnLayer"), nested_layers(self))
      kept <- lapply(rnns, function(l) l$states)
      on.exit(for (i in seq_along(rnns)) rnns[[i]]$states <- kept[[i]])
      self$forward(inputs, mask = mask, training = FALSE, keep_tape = FALSE)$mask
    }
  ),
  active = list(
    layers = function() lapply(self$layer_objects, function(l) l$handle),
    # The model's layers; changing them changes its weights (see Layer's `weights`).
    layer_objects = function(value) {
      if (missing(value)) return(private$layer_list)
      private$layer_list <- value
      layer_structure_changed()
    }
  ),
  private = list(
    layer_list = list(),
    weight_positions = NULL
  )
)

ids_of <- function(variables) vapply(variables, function(v) .subset2(v, "id"), integer(1))

# `grads` (one per weight of a layer, NULL for none) added into `acc` at `positions`.
add_grads_at <- function(acc, positions, grads) {
  for (k in seq_along(positions)) {
    g <- if (k <= length(grads)) grads[[k]]
    if (is.null(g)) next
    j <- positions[[k]]
    acc[[j]] <- if (is.null(acc[[j]])) g else acc[[j]] + g
  }
  acc
}

# A layer's forward inside a model, with its activity-regularizer penalty. Both run
# per layer on every training step: .subset2() finds the R6 method without the S3
# dispatch `$` tries over each of the layer's classes.
model_layer_forward <- function(layer, inputs, mask, training, initial_state, keep_tape) {
  res <- .subset2(layer, "forward")(inputs, mask = mask, training = training,
                                    initial_state = initial_state, keep_tape = keep_tape)
  loss <- res$activity_loss %||% 0
  reg <- .subset2(layer, "activity_regularizer")
  if (!is.null(reg)) {
    for (out in output_list(res$outputs)) loss <- loss + reg$penalty(out) / batch_size_of(out)
  }
  res$activity_loss <- loss
  res
}

model_layer_backward <- function(layer, res, d_outputs) {
  reg <- .subset2(layer, "activity_regularizer")
  if (!is.null(reg)) {
    penalty_gradient <- function(d, out) (d %||% 0) + reg$gradient(out) / batch_size_of(out)
    if (is.list(res$outputs)) {
      d_outputs <- Map(penalty_gradient, d_outputs, res$outputs)
    } else {
      d_outputs <- penalty_gradient(d_outputs, res$outputs)
    }
  }
  .subset2(layer, "backward")(res$tape, d_outputs)
}

# Keras 3 divides each activity penalty by its output's batch size (Layer.__call__), so
# that the regularization strength does not depend on the batch size.
batch_size_of <- function(x) {
  d <- dim(x)
  if (is.null(d)) 1L else max(d[[1]], 1L)
}

output_list <- function(outputs) if (is.list(outputs)) outputs else list(outputs)

# A layer and every layer inside it, depth first.
nested_layers <- function(layer) {
  c(list(layer), unlist(lapply(layer$sublayers(), nested_layers), recursive = FALSE))
}

# predict() ------------------------------------------------------------------

#' Predict with a model
#'
#' Runs the model in inference mode (no dropout) on `x`, in batches of
#' `batch_size` samples, and binds the results along the batch axis.
#'
#' @param object A model made by [keras_model_sequential()] or [keras_model()].
#' @param x An array (batch first), or a list of arrays for a model with
#'   several inputs.
#' @param batch_size Samples per batch (default 32).
#' @param verbose As for [evaluate()]: 0, 1 (a progress bar), 2 (one line,
#'   `"N/N - 0s - 4ms/step"`) or `"auto"`.
#' @param steps,callbacks Accepted for compatibility with keras3; ignored.
#' @param ... Must be empty.
#'
#' @returns An array, or a list of arrays for a model with several outputs.
#' @family model functions
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 3)) |>
#'   layer_gru(4) |>
#'   layer_dense(1)
#' x <- random_uniform(c(10, 5, 3))
#' dim(predict(model, x, batch_size = 4))
predict.rgru_model <- function(object, x, batch_size = NULL,
                               verbose = getOption("keras.verbose", default = "auto"), steps = NULL,
                               callbacks = NULL, ...) {
  model <- layer_object(object)
  batch_size <- if (is.null(batch_size)) 32L else check_positive_integer(batch_size, "batch_size")
  if (is.list(x) && !is.data.frame(x) && length(x) == 0) {
    abort_arg("x", x, "an array or a non-empty list of arrays")
  }
  inputs <- if (is.list(x) && !is.data.frame(x)) lapply(x, as_input_array, arg = "x") else
    as_input_array(x, "x")
  n <- if (is.list(inputs)) dim(inputs[[1]])[1] else dim(inputs)[1]
  if (is.list(inputs) && any(vapply(inputs, function(a) dim(a)[1], integer(1)) != n)) {
    rgru_abort("All arrays in {.arg x} must have the same number of samples (first axis).",
               class = "input")
  }
  infer <- function(batch) {
    fast_sequential_outputs(model, batch) %||%
      model$forward(batch, training = FALSE, keep_tape = FALSE)$outputs
  }
  starts <- seq.int(1L, n, by = batch_size)
  progress <- batch_progress(resolve_verbose(verbose), length(starts), environment())
  pieces <- lapply(seq_along(starts), function(b) {
    rows <- starts[b]:min(n, starts[b] + batch_size - 1L)
    batch <- if (length(starts) == 1L) inputs else if (is.list(inputs))
      lapply(inputs, slice_rows, rows = rows) else slice_rows(inputs, rows)
    out <- infer(batch)
    progress$update(b, list())
    out
  })
  progress$finish(list())
  if (is.list(pieces[[1]])) {
    return(lapply(seq_along(pieces[[1]]), function(i) bind_rows_arrays(lapply(pieces, `[[`, i))))
  }
  bind_rows_arrays(pieces)
}

# Inference through a built sequential model whose first layer has a fast path
# (R/layer.R's `fast_call`): what Sequential$forward() computes without a mask, with
# the layers' fast calls and, for a layer without one, its forward(). NULL when the
# first layer takes no fast path or `x` doesn't have the model's input shape: then
# predict() runs the model's forward(), which says why.
fast_sequential_outputs <- function(model, x) {
  if (!inherits(model, "RgruSequential") || !isTRUE(.subset2(model, "built"))) return(NULL)
  layers <- .subset2(model, "layer_objects")
  if (length(layers) == 0L || is.null(.subset2(layers[[1L]], "fast_call"))) return(NULL)
  want <- .subset2(model, "built_input_shape")
  d <- dim(x)
  if (length(d) != length(want) || any(d[-1L] != want[-1L], na.rm = TRUE)) return(NULL)
  outputs <- .subset2(layers[[1L]], "fast_call")(x)
  if (is.null(outputs)) return(NULL)
  # A fast call's outputs carry no mask; once a layer makes one, the rest run as in
  # Sequential$forward().
  mask <- NULL
  for (layer in layers[-1L]) {
    fast <- if (is.null(mask)) .subset2(layer, "fast_call")
    fast_outputs <- if (!is.null(fast)) fast(outputs)
    if (is.null(fast_outputs)) {
      res <- model_layer_forward(layer, outputs, mask, FALSE, NULL, FALSE)
      outputs <- res$outputs
      mask <- res$mask
    } else {
      outputs <- fast_outputs
    }
  }
  outputs
}

slice_rows <- function(x, rows) {
  nd <- length(dim(x))
  do.call(`[`, c(list(x, rows), rep(list(TRUE), nd - 1L), list(drop = FALSE)))
}

bind_rows_arrays <- function(pieces) {
  if (length(pieces) == 1L) return(pieces[[1]])
  d <- dim(pieces[[1]])
  n <- sum(vapply(pieces, function(p) dim(p)[1], integer(1)))
  out <- array(0, c(n, d[-1]))
  start <- 0L
  for (p in pieces) {
    rows <- start + seq_len(dim(p)[1])
    out <- do.call(`[<-`, c(list(out, rows), rep(list(TRUE), length(d) - 1L), list(value = p)))
    start <- start + dim(p)[1]
  }
  out
}

# Weights ------------------------------------------------------------------

#' Get or set the weights of a layer or model
#'
#' `get_weights()` returns the weight arrays in Keras's layout and order (for a
#' GRU: `kernel` (input_dim, 3*units), `recurrent_kernel` (units, 3*units),
#' `bias` (2, 3*units) with gates in the order z, r, h); `set_weights()` sets
#' them from a list in the same order and shapes.
#'
#' @param object A layer or model.
#' @param trainable `NA` (all weights), `TRUE` (trainable only) or `FALSE`
#'   (non-trainable only).
#' @param weights A list of arrays, as `get_weights()` returns.
#'
#' @returns `get_weights()`: a list of arrays. `set_weights()`: `object`,
#'   invisibly.
#' @family model functions
#' @export
#' @examples
#' gru <- layer_gru(units = 2)
#' invisible(gru(random_uniform(c(1, 3, 4))))
#' w <- get_weights(gru)
#' lapply(w, dim)
#' w[[1]][] <- 0
#' set_weights(gru, w)
#' get_weights(gru)[[1]]
get_weights <- function(object, trainable = NA) {
  layer <- as_layer_object(object, "object")
  if (!is.logical(trainable) || length(trainable) != 1L) {
    abort_argument("trainable", trainable, "`TRUE`, `FALSE` or `NA`")
  }
  vars <- if (is.na(trainable)) layer$weights else if (isTRUE(trainable))
    layer$trainable_weights else layer$non_trainable_weights
  lapply(vars, function(v) v$value)
}

#' @rdname get_weights
#' @export
set_weights <- function(object, weights) {
  layer <- as_layer_object(object, "object")
  assign_weights(layer$weights, weights)
  invisible(object)
}

as_layer_object <- function(x, arg) {
  obj <- layer_object(x)
  if (is.null(obj)) abort_arg(arg, x, "a layer or model")
  obj
}

# Configuration --------------------------------------------------------------

#' Layer and model configuration
#'
#' `get_config()` returns the arguments that recreate a layer or model (without
#' its weights); `from_config()` makes a new, unbuilt object from such a
#' configuration (new weights are initialized; copy them with
#' [get_weights()]/[set_weights()]).
#'
#' @param object A layer or model.
#' @param config A configuration from `get_config()`.
#' @param custom_objects Must be `NULL`; accepted for compatibility.
#'
#' @returns `get_config()`: a named list. `from_config()`: a layer or model.
#' @family model functions
#' @export
#' @examples
#' gru <- layer_gru(units = 3, return_sequences = TRUE)
#' config <- get_config(gru)
#' config$units
#' gru2 <- from_config(config)
#' gru2$return_sequences
get_config <- function(object) {
  as_layer_object(object, "object")$get_config()
}

#' @rdname get_config
#' @export
from_config <- function(config, custom_objects = NULL) {
  build_from_config(config)
}

# The handle of a new layer made from `config`, named `name` (NULL: a fresh name).
build_from_config <- function(config, name = NULL) {
  class_name <- attr(config, "rgru_class")
  builder <- config_builders[[class_name %||% ""]]
  if (is.null(builder)) {
    abort_arg("config", config, "a configuration made by `get_config()`")
  }
  builder(unclass_config(config), name)
}

unclass_config <- function(config) {
  attr(config, "rgru_class") <- NULL
  config
}

# Recreates a layer from its config: common keywords plus constructor
# arguments. It gets a fresh, unique name unless `name` is given (wrappers
# recreate the layers they wrap under names of their own).
layer_from_config <- function(constructor) {
  force(constructor)
  function(config, name = NULL) {
    config$name <- name
    do.call(constructor, config, quote = TRUE)$handle
  }
}

config_builders <- list(
  RgruGruLayer = layer_from_config(GruLayer$new),
  RgruDenseLayer = layer_from_config(DenseLayer$new),
  RgruMaskingLayer = layer_from_config(MaskingLayer$new),
  RgruEmbeddingLayer = layer_from_config(EmbeddingLayer$new),
  RgruConcatenateLayer = layer_from_config(ConcatenateLayer$new),
  RgruAddLayer = layer_from_config(AddLayer$new),
  RgruGruCell = layer_from_config(GruCell$new),
  RgruConv1DLayer = layer_from_config(Conv1DLayer$new),
  RgruMaxPooling1DLayer = layer_from_config(MaxPooling1DLayer$new),
  RgruGlobalAveragePooling1DLayer = layer_from_config(GlobalAveragePooling1DLayer$new),
  RgruGlobalMaxPooling1DLayer = layer_from_config(GlobalMaxPooling1DLayer$new),
  RgruDropoutLayer = layer_from_config(DropoutLayer$new),
  RgruSpatialDropout1DLayer = layer_from_config(SpatialDropout1DLayer$new),
  RgruFlattenLayer = layer_from_config(FlattenLayer$new),
  RgruReshapeLayer = layer_from_config(ReshapeLayer$new),
  RgruRepeatVectorLayer = layer_from_config(RepeatVectorLayer$new),
  RgruActivationLayer = layer_from_config(ActivationLayer$new),
  RgruSequential = function(config, name = NULL) sequential_from_config(config),
  RgruFunctional = function(config, name = NULL) functional_from_config(config),
  RgruRnnLayer = function(config, name = NULL) {
    # A renamed copy keeps its cell's name, as Keras's deserialization does.
    cell <- build_from_config(config$cell, name = if (!is.null(name)) config$cell$name)
    config$cell <- layer_object(cell)
    config$name <- name
    do.call(RnnLayer$new, config, quote = TRUE)$handle
  },
  RgruStackedCells = function(config, name = NULL) stacked_cells_from_config(config, name),
  RgruBidirectionalLayer = function(config, name = NULL) bidirectional_from_config(config, name),
  RgruTimeDistributedLayer = function(config, name = NULL) time_distributed_from_config(config, name)
)

# summary() and print() --------------------------------------------------------

#' Print a summary of a model
#'
#' Keras's table: each layer with its type, output shape and number of
#' parameters, then the totals (with their memory size) split into trainable
#' and non-trainable.
#'
#' @param object,x A model.
#' @param ... Ignored.
#'
#' @returns `object`, invisibly.
#' @family model functions
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 8)) |>
#'   layer_gru(16) |>
#'   layer_dense(1)
#' summary(model)
summary.rgru_model <- function(object, ...) {
  cat(format_model_summary(layer_object(object)), sep = "\n")
  invisible(object)
}

#' @rdname summary.rgru_model
#' @export
print.rgru_model <- function(x, ...) {
  summary.rgru_model(x, ...)
}

#' @export
format.rgru_model <- function(x, ...) {
  format_model_summary(layer_object(x))
}

# Keras's rich table: fixed column widths (its 88- or 108-character layouts),
# cells wrapped at spaces, words too long for a column cut with an ellipsis.
format_model_summary <- function(model) {
  rows <- model$summary_rows()
  cols <- c("Layer (type)", "Output Shape", "Param #")
  cells <- cbind(rows$layer, rows$shape, rows$params)
  widths <- c(31L, 22L, 13L)
  if (!is.null(rows$connected)) {
    cols <- c(cols, "Connected to")
    cells <- cbind(cells, rows$connected)
    widths <- c(19L, 17L, 10L, 17L)
  }
  right <- cols == "Param #"
  box <- summary_box_chars()
  rule <- function(left, mid, right_end, fill) {
    paste0(left, paste(vapply(widths + 2L, function(w) strrep(fill, w), ""), collapse = mid),
           right_end)
  }
  block <- function(values, v) {
    wrapped <- Map(wrap_cell, values, widths, MoreArgs = list(ellipsis = box$ellipsis))
    height <- max(lengths(wrapped))
    vapply(seq_len(height), function(k) {
      parts <- vapply(seq_along(wrapped), function(j) {
        text <- if (k <= length(wrapped[[j]])) wrapped[[j]][k] else ""
        fill <- strrep(" ", widths[j] - nchar(text))
        paste0(" ", if (right[j]) paste0(fill, text) else paste0(text, fill), " ")
      }, "")
      paste0(v, paste(parts, collapse = v), v)
    }, "")
  }
  out <- c(sprintf("Model: \"%s\"", model$name),
           rule(box$tl, box$tm, box$tr, box$th),
           block(cols, box$hv),
           rule(box$hl, box$hm, box$hr, box$th))
  for (i in seq_len(nrow(cells))) {
    if (i > 1) out <- c(out, rule(box$ml, box$mm, box$mr, box$h))
    out <- c(out, block(cells[i, ], box$v))
  }
  out <- c(out, rule(box$bl, box$bm, box$br, box$h))
  total <- model$count_params()
  trainable <- sum(vapply(model$trainable_weights, function(v) length(v$value), numeric(1)))
  bytes <- if (model$dtype == "float64") 8 else 4
  c(out,
    sprintf(" Total params: %s (%s)", format_count(total), format_bytes(total * bytes)),
    sprintf(" Trainable params: %s (%s)", format_count(trainable), format_bytes(trainable * bytes)),
    sprintf(" Non-trainable params: %s (%s)", format_count(total - trainable),
            format_bytes((total - trainable) * bytes)))
}

wrap_cell <- function(text, width, ellipsis) {
  words <- strsplit(text, " ", fixed = TRUE)[[1]]
  if (length(words) == 0) return("")
  words <- ifelse(nchar(words) > width,
                  paste0(substr(words, 1, width - nchar(ellipsis)), ellipsis), words)
  lines <- character()
  current <- ""
  for (w in words) {
    candidate <- if (nzchar(current)) paste(current, w) else w
    if (nchar(candidate) <= width) {
      current <- candidate
    } else {
      lines <- c(lines, current)
      current <- w
    }
  }
  c(lines, current)
}

summary_box_chars <- function() {
  if (cli::is_utf8_output()) {
    list(tl = "\u250f", tm = "\u2533", tr = "\u2513", th = "\u2501", hv = "\u2503",
         hl = "\u2521", hm = "\u2547", hr = "\u2529", v = "\u2502", h = "\u2500",
         ml = "\u251c", mm = "\u253c", mr = "\u2524", bl = "\u2514", bm = "\u2534",
         br = "\u2518", ellipsis = "\u2026")
  } else {
    list(tl = "+", tm = "+", tr = "+", th = "=", hv = "|", hl = "+", hm = "+", hr = "+",
         v = "|", h = "-", ml = "+", mm = "+", mr = "+", bl = "+", bm = "+", br = "+",
         ellipsis = "~")
  }
}

format_count <- function(n) formatC(n, format = "d", big.mark = ",")

# Keras's readable memory size: binary units with two decimals.
format_bytes <- function(bytes) {
  units <- c("B", "KB", "MB", "GB", "TB")
  i <- 1L
  while (bytes >= 1024 && i < length(units)) {
    bytes <- bytes / 1024
    i <- i + 1L
  }
  sprintf("%.2f %s", bytes, units[i])
}

format_output_shape <- function(shape) {
  if (is.null(shape)) return("?")
  if (is.list(shape)) return(paste0("[", paste(vapply(shape, format_tuple, ""), collapse = ", "), "]"))
  format_tuple(shape)
}

layer_summary_params <- function(layer) {
  if (!layer$built && layer$class_name != "InputLayer") return("0 (unbuilt)")
  format_count(layer$count_params())
}
