# layer_flatten(), layer_reshape(), layer_repeat_vector(): layers that move
# values between axes without computing.
#
# Keras orders the values of a sample row-major (the last axis fastest), R
# column-major. Reversing a sample's axes turns one order into the other, so
# flattening and reshaping reverse the axes, re-dimension, and reverse back:
# element for element the results are Keras's.

#' Flatten each sample to a vector
#'
#' Turns inputs `(batch, d1, ..., dn)` into `(batch, d1 * ... * dn)`, in
#' Keras's order (the last axis varies fastest), so a model's weights and
#' numbers match Keras's. Inputs `(batch)` become `(batch, 1)`. With
#' `data_format = "channels_first"` the channels (second) axis is moved last
#' first. The layer does not support masks.
#'
#' @inheritParams layer_conv_1d
#' @param data_format `"channels_last"` (`NULL`, the default) or
#'   `"channels_first"`.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- keras_input(shape = c(10, 64))
#' y <- x |> layer_flatten()
#' shape(y)
#'
#' a <- array(1:12, c(1, 2, 3, 2))
#' layer_flatten()(a)   # a[1, 1, 1, 1], a[1, 1, 1, 2], a[1, 1, 2, 1], ...
layer_flatten <- function(object, data_format = NULL, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_flatten")
  layer <- do.call(FlattenLayer$new, c(list(data_format = data_format), args), quote = TRUE)
  create_layer(layer, object)
}

FlattenLayer <- R6::R6Class(
  "RgruFlattenLayer",
  inherit = MasklessLayer,
  cloneable = FALSE,
  public = list(
    class_name = "Flatten",
    data_format = NULL,
    initialize = function(data_format = NULL, ...) {
      self$data_format <- check_data_format(data_format)
      super$initialize(..., default_name = "flatten")
    },
    check_input_shape = function(input_shape) check_single_input(self, input_shape),
    compute_output_shape = function(input_shape) {
      rest <- input_shape[-1]
      c(input_shape[1], if (length(rest) == 0L) 1L else if (anyNA(rest)) NA_integer_ else
        as.integer(prod(rest)))
    },
    layer_config = function() list(data_format = self$data_format),
    # The axis order whose column-major flattening is Keras's flattening.
    keras_order = function(rank) {
      axes <- seq_len(rank)[-1]
      if (self$data_format == "channels_first" && rank > 2L) axes <- c(axes[-1], axes[1])
      c(1L, rev(axes))
    },
    forward_impl = function(inputs, mask, training, initial_state) {
      dims <- value_shape(inputs)
      perm <- self$keras_order(length(dims))
      out <- if (length(dims) > 2L) aperm(inputs, perm) else inputs
      dim(out) <- c(dims[1], prod(dims[-1]))
      list(outputs = out, mask = self$drop_mask(mask), tape = list(dims = dims, perm = perm))
    },
    backward = function(tape, d_outputs) {
      dims <- tape$dims
      if (length(dims) <= 2L) return(list(d_inputs = array(d_outputs, dims), grads = list()))
      d <- array(d_outputs, dims[tape$perm])
      list(d_inputs = aperm(d, order(tape$perm)), grads = list())
    }
  )
)

#' Reshape each sample
#'
#' Gives each sample the shape `target_shape` (the batch axis is kept), with
#' the values in Keras's row-major order (the last axis fastest), so results
#' match Keras element for element. One entry of `target_shape` may be `-1`
#' (or `NA`), inferred from the others. The layer does not support masks.
#'
#' @inheritParams layer_conv_1d
#' @param target_shape The shape of one sample, without the batch axis: whole
#'   numbers, at most one of them `-1` or `NA`.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- keras_input(shape = 12)
#' y <- layer_reshape(x, c(3, 4))
#' shape(y)
#' y <- layer_reshape(x, c(-1, 2, 2))   # -1 is inferred: 3
#' shape(y)
layer_reshape <- function(object, target_shape, ...) {
  object <- if (missing(object)) NULL else object
  if (missing(target_shape)) {
    abort_argument("target_shape", NULL, "the shape of one sample, e.g. c(3, 4)")
  }
  args <- layer_common_args(list(...), "layer_reshape")
  layer <- do.call(ReshapeLayer$new, c(list(target_shape = target_shape), args), quote = TRUE)
  create_layer(layer, object)
}

ReshapeLayer <- R6::R6Class(
  "RgruReshapeLayer",
  inherit = MasklessLayer,
  cloneable = FALSE,
  public = list(
    class_name = "Reshape",
    target_shape = NULL,
    initialize = function(target_shape, ...) {
      self$target_shape <- check_target_shape(target_shape)
      super$initialize(..., default_name = "reshape")
    },
    check_input_shape = function(input_shape) {
      check_single_input(self, input_shape)
      self$resolve_target(input_shape[-1])
      invisible(TRUE)
    },
    # target_shape with its -1 resolved (NA when the sample size is unknown).
    resolve_target = function(sample_dims) {
      target <- self$target_shape
      unknown <- target == -1L
      if (anyNA(sample_dims)) {
        target[unknown] <- NA_integer_
        return(target)
      }
      size <- prod(sample_dims)
      known <- prod(target[!unknown])
      if (any(unknown) && size %% known == 0) target[unknown] <- as.integer(size %/% known)
      if (prod(target) != size) {
        rgru_abort(c(
          "Layer {.val {self$name}} can't reshape samples of shape {format_tuple(sample_dims)} ({size} value{?s}) to {format_tuple(self$target_shape)}.",
          i = "The target shape must hold the same number of values."
        ), class = "shape")
      }
      target
    },
    compute_output_shape = function(input_shape) {
      c(input_shape[1], self$resolve_target(input_shape[-1]))
    },
    layer_config = function() list(target_shape = self$target_shape),
    forward_impl = function(inputs, mask, training, initial_state) {
      dims <- value_shape(inputs)
      target <- self$resolve_target(dims[-1])
      list(outputs = reshape_row_major(inputs, dims, c(dims[1], target)),
           mask = self$drop_mask(mask), tape = list(dims = dims, target = c(dims[1], target)))
    },
    backward = function(tape, d_outputs) {
      list(d_inputs = reshape_row_major(d_outputs, tape$target, tape$dims), grads = list())
    }
  )
)

# keras3 turns NA and NULL entries into -1.
check_target_shape <- function(x, call = error_call()) {
  if (is.list(x) && !is.object(x) || inherits(x, "keras_shape")) {
    x <- vapply(unclass(x), function(d) if (is.null(d)) -1 else if (length(d) == 1L &&
      (is.numeric(d) || is.logical(d))) as.numeric(d) else NaN, numeric(1))
  }
  if (is.logical(x) && length(x) > 0L && all(is.na(x))) x <- rep(-1, length(x))
  ok <- is.numeric(x) && length(x) >= 1L && !any(is.nan(x))
  if (ok) {
    x[is.na(x)] <- -1
    ok <- all(x == round(x) & (x >= 1 | x == -1) & x <= .Machine$integer.max) && sum(x == -1) <= 1
  }
  if (!ok) {
    abort_argument("target_shape", x,
                   "a vector of positive whole numbers with at most one -1 (or NA)",
                   class = "shape", call = call)
  }
  as.integer(x)
}

# Reshapes the samples of `x` (dims `from`, batch first) to `to`, in row-major order.
reshape_row_major <- function(x, from, to) {
  reverse <- function(rank) c(1L, if (rank > 1L) rank:2L)
  y <- if (length(from) > 2L) aperm(array(x, from), reverse(length(from))) else x
  y <- array(y, to[reverse(length(to))])
  if (length(to) > 2L) aperm(y, reverse(length(to))) else y
}

#' Repeat each sample n times
#'
#' Turns inputs `(batch, features)` into `(batch, n, features)`, each sample
#' repeated along a new steps axis: the usual bridge from an encoder's final
#' state to a decoder's input sequence. The layer does not support masks.
#'
#' @inheritParams layer_conv_1d
#' @param n Positive integer, the number of repetitions.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- keras_input(shape = 32)
#' y <- layer_repeat_vector(x, n = 3)
#' shape(y)
#'
#' layer_repeat_vector(n = 2)(matrix(1:6, 2))
layer_repeat_vector <- function(object, n, ...) {
  object <- if (missing(object)) NULL else object
  if (missing(n)) abort_argument("n", NULL, "a positive whole number")
  args <- layer_common_args(list(...), "layer_repeat_vector")
  layer <- do.call(RepeatVectorLayer$new, c(list(n = n), args), quote = TRUE)
  create_layer(layer, object)
}

RepeatVectorLayer <- R6::R6Class(
  "RgruRepeatVectorLayer",
  inherit = MasklessLayer,
  cloneable = FALSE,
  public = list(
    class_name = "RepeatVector",
    n = NULL,
    initialize = function(n, ...) {
      self$n <- check_positive_integer(n, "n")
      super$initialize(..., default_name = "repeat_vector")
    },
    check_input_shape = function(input_shape) {
      check_input_rank(self, input_shape, 2L, "(batch, features)")
    },
    compute_output_shape = function(input_shape) c(input_shape[1], self$n, input_shape[2]),
    layer_config = function() list(n = self$n),
    forward_impl = function(inputs, mask, training, initial_state) {
      d <- dim(inputs)
      out <- array(inputs[, rep(seq_len(d[2]), each = self$n), drop = FALSE], c(d[1], self$n, d[2]))
      list(outputs = out, mask = self$drop_mask(mask), tape = list(dims = d))
    },
    backward = function(tape, d_outputs) {
      d <- array(d_outputs, c(tape$dims[1], self$n, tape$dims[2]))
      d_x <- colSums(aperm(d, c(2L, 1L, 3L)), dims = 1L)
      list(d_inputs = array(d_x, tape$dims), grads = list())
    }
  )
)
