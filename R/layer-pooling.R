# Pooling along the steps axis of (batch, steps, channels) sequences: windowed
# max pooling (in C++, inst/include/rgru/conv1d.hpp) and global average / max
# pooling over all steps.

#' Max pooling over steps (1D)
#'
#' Takes the largest value in each window of `pool_size` steps, the windows
#' `strides` steps apart, separately for every channel. With `"valid"` padding
#' the output has `floor((steps - pool_size) / strides) + 1` steps; with
#' `"same"` it has `ceiling(steps / strides)` (the padding never wins).
#'
#' The layer does not support masks: a masked input loses its mask, with a
#' warning, as in Keras.
#'
#' @inheritParams layer_conv_1d
#' @param pool_size Positive integer, the window length in steps.
#' @param strides Positive integer, the step between windows, or `NULL` for
#'   `pool_size`.
#' @param padding `"valid"` or `"same"` (case-insensitive).
#' @param name Name of the layer, or `NULL` for a unique default.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- array(c(1, 2, 3, 4, 5), c(1, 5, 1))
#' layer_max_pooling_1d(pool_size = 2, strides = 1, padding = "valid")(x)
#' layer_max_pooling_1d(pool_size = 2, strides = 2, padding = "valid")(x)
#' layer_max_pooling_1d(pool_size = 2, strides = 1, padding = "same")(x)
layer_max_pooling_1d <- function(object, pool_size = 2L, strides = NULL, padding = "valid",
                                 data_format = NULL, name = NULL, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_max_pooling_1d")
  layer <- do.call(MaxPooling1DLayer$new,
                   c(formal_args(layer_max_pooling_1d, environment()), args), quote = TRUE)
  create_layer(layer, object)
}

MaxPooling1DLayer <- R6::R6Class(
  "RgruMaxPooling1DLayer",
  inherit = MasklessLayer,
  cloneable = FALSE,
  public = list(
    class_name = "MaxPooling1D",
    pool_size = NULL,
    strides = NULL,
    padding = NULL,
    data_format = NULL,

    initialize = function(pool_size = 2L, strides = NULL, padding = "valid",
                          data_format = NULL, ...) {
      self$pool_size <- check_axis_size(pool_size, "pool_size")
      self$strides <- if (is.null(strides)) self$pool_size else check_axis_size(strides, "strides")
      self$padding <- check_padding(padding, c("valid", "same"))
      self$data_format <- check_data_format(data_format)
      super$initialize(..., default_name = "max_pooling1d")
    },
    check_input_shape = function(input_shape) {
      check_input_rank(self, input_shape, 3L, steps_layout(self$data_format))
    },
    compute_output_shape = function(input_shape) {
      steps_axis <- if (self$data_format == "channels_last") 2L else 3L
      input_shape[steps_axis] <- sliding_output_steps(
        input_shape[steps_axis], self$pool_size, self$strides, 1L, self$padding, self$name)
      input_shape
    },
    layer_config = function() {
      list(pool_size = self$pool_size, strides = self$strides, padding = self$padding,
           data_format = self$data_format)
    },
    forward_impl = function(inputs, mask, training, initial_state) {
      x <- if (self$data_format == "channels_first") swap_steps_channels(inputs) else inputs
      sliding_output_steps(dim(x)[2], self$pool_size, self$strides, 1L, self$padding, self$name)
      res <- max_pool1d_forward_cpp(x, self$pool_size, self$strides, self$padding)
      out <- res$outputs
      if (self$data_format == "channels_first") out <- swap_steps_channels(out)
      list(outputs = out, mask = self$drop_mask(mask),
           tape = list(argmax = res$argmax, dims = dim(x)))
    },
    backward = function(tape, d_outputs) {
      d <- if (self$data_format == "channels_first") swap_steps_channels(d_outputs) else d_outputs
      storage.mode(d) <- "double"
      d_x <- max_pool1d_backward_cpp(d, tape$argmax, tape$dims)
      if (self$data_format == "channels_first") d_x <- swap_steps_channels(d_x)
      list(d_inputs = d_x, grads = list())
    }
  )
)

steps_layout <- function(data_format) {
  if (data_format == "channels_last") "(batch, steps, channels)" else "(batch, channels, steps)"
}

#' Average or maximum over all steps (global pooling, 1D)
#'
#' `layer_global_average_pooling_1d()` averages each channel over the steps
#' axis; given a Keras mask (from [layer_embedding()] with `mask_zero = TRUE`
#' or [layer_masking()]) it averages over the kept steps only, as Keras does
#' (a sample with no kept step gives `NaN`), and hands no mask on.
#' `layer_global_max_pooling_1d()` takes each channel's maximum over the steps;
#' it does not support masks (a masked input loses its mask, with a warning).
#'
#' Inputs are `(batch, steps, channels)` (or `(batch, channels, steps)` with
#' `data_format = "channels_first"`); outputs are `(batch, channels)`, or with
#' `keepdims = TRUE` `(batch, 1, channels)` (`(batch, channels, 1)`).
#'
#' @inheritParams layer_conv_1d
#' @param keepdims Whether to keep the steps axis, with length 1.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- random_uniform(c(2, 3, 4))
#' y <- x |> layer_global_average_pooling_1d()
#' shape(y)
#'
#' # a mask excludes padded steps from the average
#' tokens <- rbind(c(4, 2, 0, 0), c(1, 3, 3, 2))
#' model <- keras_model_sequential() |>
#'   layer_embedding(input_dim = 5, output_dim = 3, mask_zero = TRUE) |>
#'   layer_global_average_pooling_1d()
#' predict(model, tokens, verbose = 0)
layer_global_average_pooling_1d <- function(object, data_format = NULL, keepdims = FALSE, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_global_average_pooling_1d")
  layer <- do.call(GlobalAveragePooling1DLayer$new,
                   c(list(data_format = data_format, keepdims = keepdims), args), quote = TRUE)
  create_layer(layer, object)
}

#' @rdname layer_global_average_pooling_1d
#' @export
#' @examples
#'
#' x <- random_uniform(c(2, 3, 4))
#' y <- x |> layer_global_max_pooling_1d()
#' shape(y)
layer_global_max_pooling_1d <- function(object, data_format = NULL, keepdims = FALSE, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_global_max_pooling_1d")
  layer <- do.call(GlobalMaxPooling1DLayer$new,
                   c(list(data_format = data_format, keepdims = keepdims), args), quote = TRUE)
  create_layer(layer, object)
}

# What both global poolings share: arguments, shapes, config. Subclasses pool
# channels-last arrays to (batch, channels) in pool() and undo it in unpool().
GlobalPooling1DLayer <- R6::R6Class(
  "RgruGlobalPooling1DLayer",
  inherit = MasklessLayer,
  cloneable = FALSE,
  public = list(
    data_format = NULL,
    keepdims = FALSE,
    initialize = function(data_format = NULL, keepdims = FALSE, default_name, ...) {
      self$data_format <- check_data_format(data_format)
      self$keepdims <- check_bool(keepdims, "keepdims")
      super$initialize(..., default_name = default_name)
    },
    check_input_shape = function(input_shape) {
      check_input_rank(self, input_shape, 3L, steps_layout(self$data_format))
    },
    compute_output_shape = function(input_shape) {
      channels <- input_shape[if (self$data_format == "channels_last") 3L else 2L]
      if (!self$keepdims) return(c(input_shape[1], channels))
      if (self$data_format == "channels_last") c(input_shape[1], 1L, channels) else
        c(input_shape[1], channels, 1L)
    },
    layer_config = function() list(data_format = self$data_format, keepdims = self$keepdims),
    forward_impl = function(inputs, mask, training, initial_state) {
      x <- if (self$data_format == "channels_first") swap_steps_channels(inputs) else inputs
      res <- self$pool(x, mask)
      out <- res$pooled
      if (self$keepdims) {
        dim(out) <- if (self$data_format == "channels_last") c(nrow(out), 1L, ncol(out)) else
          c(nrow(out), ncol(out), 1L)
      }
      list(outputs = out, mask = res$mask, tape = res$tape)
    },
    backward = function(tape, d_outputs) {
      d <- matrix(d_outputs, nrow = tape$dims[1])
      d_x <- self$unpool(tape, d)
      if (self$data_format == "channels_first") d_x <- swap_steps_channels(d_x)
      list(d_inputs = d_x, grads = list())
    }
  )
)

GlobalAveragePooling1DLayer <- R6::R6Class(
  "RgruGlobalAveragePooling1DLayer",
  inherit = GlobalPooling1DLayer,
  cloneable = FALSE,
  public = list(
    class_name = "GlobalAveragePooling1D",
    supports_masking = TRUE,
    initialize = function(data_format = NULL, keepdims = FALSE, ...) {
      super$initialize(data_format, keepdims, default_name = "global_average_pooling1d", ...)
    },
    # The layer consumes the mask.
    compute_output_mask = function(input_has_mask) FALSE,
    # Each step's weight in the average: 1 / steps, or (with a mask) 1 / kept
    # steps for kept steps and 0 for the others.
    pool = function(x, mask) {
      d <- dim(x)
      if (is.null(mask)) {
        weights <- matrix(1 / d[2], d[1], d[2])
        pooled <- colSums(aperm(x, c(2L, 1L, 3L)), dims = 1L) / d[2]
      } else {
        keep <- check_step_mask(mask, d, self$name)
        x[rep(!keep, d[3])] <- 0
        counts <- rowSums(keep)
        # A sample with no kept step averages to 0/0 = NaN, as in Keras; its
        # inputs get no gradient.
        weights <- keep / pmax(counts, 1)
        pooled <- colSums(aperm(x, c(2L, 1L, 3L)), dims = 1L) / counts
      }
      dim(pooled) <- d[c(1L, 3L)]
      list(pooled = pooled, mask = NULL, tape = list(weights = weights, dims = d))
    },
    unpool = function(tape, d) {
      d_x <- d[, rep(seq_len(ncol(d)), each = tape$dims[2]), drop = FALSE] * as.vector(tape$weights)
      array(d_x, tape$dims)
    }
  )
)

GlobalMaxPooling1DLayer <- R6::R6Class(
  "RgruGlobalMaxPooling1DLayer",
  inherit = GlobalPooling1DLayer,
  cloneable = FALSE,
  public = list(
    class_name = "GlobalMaxPooling1D",
    initialize = function(data_format = NULL, keepdims = FALSE, ...) {
      super$initialize(data_format, keepdims, default_name = "global_max_pooling1d", ...)
    },
    # A window as long as the sequence: max pooling's C++ kernel does the work.
    pool = function(x, mask) {
      d <- dim(x)
      res <- max_pool1d_forward_cpp(x, d[2], 1L, "valid")
      pooled <- res$outputs
      dim(pooled) <- d[c(1L, 3L)]
      list(pooled = pooled, mask = self$drop_mask(mask),
           tape = list(argmax = res$argmax, dims = d))
    },
    unpool = function(tape, d) {
      d <- array(as.numeric(d), c(tape$dims[1], 1L, tape$dims[3]))
      max_pool1d_backward_cpp(d, tape$argmax, tape$dims)
    }
  )
)

# A Keras step mask (batch, steps) as a logical matrix, checked against the inputs.
check_step_mask <- function(mask, dims, layer_name) {
  ok <- (is.logical(mask) || is.numeric(mask)) && length(dim(mask)) == 2L &&
    all(dim(mask) == dims[1:2]) && !anyNA(mask)
  if (!ok) {
    rgru_abort(c(
      "The mask given to layer {.val {layer_name}} must be a logical matrix (batch, steps) of dimension ({dims[1]}, {dims[2]}).",
      x = "Got {describe_value(mask)}."
    ), class = "mask")
  }
  keep <- mask != 0
  dim(keep) <- dims[1:2]
  keep
}
