# layer_masking(): marks time steps whose features all equal `mask_value` as
# skipped, for the recurrent layers downstream.

#' Mask time steps of a sequence
#'
#' Time steps whose features all equal `mask_value` are masked: they are zeroed
#' in the output and downstream recurrent layers (such as [layer_gru()]) skip
#' them, carrying their state over, as in Keras.
#'
#' @inheritParams layer_gru
#' @param mask_value The value marking padded time steps.
#' @param ... Keras's common layer keywords: `name`, `dtype`, `trainable`,
#'   `input_shape`, `batch_size`.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- array(1, c(2, 4, 3))
#' x[1, 3:4, ] <- 0   # the first sequence is padded after 2 steps
#' model <- keras_model_sequential(input_shape = c(4, 3)) |>
#'   layer_masking(mask_value = 0) |>
#'   layer_gru(2)
#' predict(model, x)
layer_masking <- function(object, mask_value = 0, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_masking")
  layer <- do.call(MaskingLayer$new, c(list(mask_value = mask_value), args), quote = TRUE)
  create_layer(layer, object)
}

MaskingLayer <- R6::R6Class(
  "RgruMaskingLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "Masking",
    supports_masking = TRUE,
    mask_value = 0,
    initialize = function(mask_value = 0, ...) {
      if (!is.numeric(mask_value) || length(mask_value) != 1) {
        abort_argument("mask_value", mask_value, "a single number")
      }
      self$mask_value <- mask_value
      super$initialize(..., default_name = "masking")
    },
    check_input_shape = function(input_shape) {
      if (is.list(input_shape)) {
        rgru_abort("Layer {.val {self$name}} takes one input, not a list.", class = "input")
      }
      if (length(input_shape) < 2) {
        abort_shape("inputs", "at least 2 axes (batch, features)", input_shape,
                    "i" = "In layer {.val {self$name}}.")
      }
      invisible(TRUE)
    },
    compute_output_mask = function(input_has_mask) TRUE,
    layer_config = function() list(mask_value = self$mask_value),
    forward_impl = function(inputs, mask, training, initial_state) {
      d <- dim(inputs)
      flat <- matrix(inputs, ncol = d[length(d)])
      # NaN never equals mask_value, so a step holding one is kept, as in Keras.
      keep <- rowSums(is.na(flat) | flat != self$mask_value) > 0
      out <- inputs * keep
      step_mask <- array(keep, d[-length(d)])
      list(outputs = out, mask = step_mask, tape = list(keep = keep))
    },
    backward = function(tape, d_outputs) {
      list(d_inputs = d_outputs * tape$keep, grads = list())
    }
  )
)
