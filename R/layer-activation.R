# layer_activation(): an activation function as a layer of its own.

#' Apply an activation function as a layer
#'
#' Returns `activation(inputs)`, elementwise (or along the last axis for
#' `"softmax"` and the like), with the inputs' shape. It has no weights and
#' passes masks through.
#'
#' @inheritParams layer_dense
#' @param activation An activation name (`"relu"`, `"tanh"`, ...), an
#'   `activation_*()` function, any R function of an array, or `NULL` (linear).
#' @param ... Keras's common layer keywords: `name`, `dtype`, `trainable`,
#'   `input_shape`, `batch_size`.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- array(c(-3, -1, 0, 2))
#' layer <- layer_activation(activation = "relu")
#' layer(x)
#' layer <- layer_activation(activation = activation_relu)
#' layer(x)
layer_activation <- function(object, activation, ...) {
  object <- if (missing(object)) NULL else object
  if (missing(activation)) {
    abort_argument("activation", NULL, "an activation name, `NULL` or a function")
  }
  args <- layer_common_args(list(...), "layer_activation")
  layer <- do.call(ActivationLayer$new, c(list(activation = activation), args), quote = TRUE)
  create_layer(layer, object)
}

ActivationLayer <- R6::R6Class(
  "RgruActivationLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "Activation",
    supports_masking = TRUE,
    activation = NULL,
    activation_arg = NULL,
    initialize = function(activation, ...) {
      self$activation <- resolve_activation(activation, "activation")
      self$activation_arg <- activation %||% "linear"
      super$initialize(..., default_name = "activation")
    },
    check_input_shape = function(input_shape) check_single_input(self, input_shape),
    layer_config = function() list(activation = self$activation_arg),
    forward_impl = function(inputs, mask, training, initial_state) {
      y <- apply_activation(self$activation, inputs)
      list(outputs = y, mask = mask, tape = list(x = inputs, y = y))
    },
    backward = function(tape, d_outputs) {
      list(d_inputs = activation_vjp(self$activation, tape$x, tape$y, d_outputs), grads = list())
    }
  )
)
