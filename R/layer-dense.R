# layer_dense(): a fully connected layer applied to the last axis.

#' Densely connected layer
#'
#' `output = activation(inputs %*% kernel + bias)`, applied to the last axis of
#' inputs of any rank >= 2 (so it also works per time step on sequences).
#'
#' @inheritParams layer_gru
#' @param units Positive integer, dimensionality of the output space.
#' @param activation Activation name, R function, or `NULL` (linear).
#' @param kernel_initializer,bias_initializer Initializers of the weights.
#' @param kernel_regularizer,bias_regularizer Regularizers of the weights.
#' @param kernel_constraint,bias_constraint Constraints of the weights.
#' @param lora_rank Must be `NULL`: LoRA is not supported.
#' @param ... Keras's common layer keywords: `name`, `dtype`, `trainable`,
#'   `input_shape`, `batch_size`.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- random_uniform(c(5, 3))
#' dense <- layer_dense(units = 2, activation = "relu")
#' dim(dense(x))
#' length(dense$weights)
layer_dense <- function(object, units, activation = NULL, use_bias = TRUE,
                        kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                        kernel_regularizer = NULL, bias_regularizer = NULL,
                        activity_regularizer = NULL, kernel_constraint = NULL,
                        bias_constraint = NULL, lora_rank = NULL, ...) {
  object <- if (missing(object)) NULL else object
  if (missing(units)) abort_argument("units", NULL, "a positive whole number")
  if (!is.null(lora_rank)) abort_argument("lora_rank", lora_rank, "`NULL` (LoRA is not supported)")
  args <- layer_common_args(list(...), "layer_dense")
  layer <- do.call(DenseLayer$new, c(formal_args(layer_dense, environment()), args), quote = TRUE)
  create_layer(layer, object)
}

DenseLayer <- R6::R6Class(
  "RgruDenseLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "Dense",
    supports_masking = TRUE,
    units = NULL,
    activation = NULL,
    use_bias = TRUE,
    config_args = NULL,
    initializers = NULL,
    regularizers = NULL,
    constraints = NULL,

    initialize = function(units, activation = NULL, use_bias = TRUE,
                          kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                          kernel_regularizer = NULL, bias_regularizer = NULL,
                          activity_regularizer = NULL, kernel_constraint = NULL,
                          bias_constraint = NULL, lora_rank = NULL, name = NULL, dtype = NULL,
                          trainable = TRUE,
                          input_shape = NULL, batch_size = NULL, batch_input_shape = NULL) {
      self$units <- check_positive_integer(units, "units")
      self$activation <- resolve_activation(activation, "activation")
      self$use_bias <- check_bool(use_bias, "use_bias")
      self$initializers <- list(kernel = resolve_initializer(kernel_initializer, "kernel_initializer"),
                                bias = resolve_initializer(bias_initializer, "bias_initializer"))
      self$regularizers <- list(kernel = resolve_regularizer(kernel_regularizer, "kernel_regularizer"),
                                bias = resolve_regularizer(bias_regularizer, "bias_regularizer"))
      self$constraints <- list(kernel = resolve_constraint(kernel_constraint, "kernel_constraint"),
                               bias = resolve_constraint(bias_constraint, "bias_constraint"))
      self$config_args <- list(
        units = self$units, activation = activation %||% "linear", use_bias = use_bias,
        kernel_initializer = kernel_initializer, bias_initializer = bias_initializer,
        kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
        activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
        bias_constraint = bias_constraint
      )
      super$initialize(name = name, dtype = dtype, trainable = trainable,
                       input_shape = input_shape, batch_size = batch_size,
                       batch_input_shape = batch_input_shape,
                       activity_regularizer = activity_regularizer, default_name = "dense")
    },
    build = function(input_shape) {
      input_dim <- input_shape[length(input_shape)]
      if (is.na(input_dim)) {
        abort_shape("inputs", "a known size on the last axis", input_shape,
                    "i" = "Layer {.val {self$name}} sizes its kernel from it.")
      }
      self$add_weight("kernel", c(input_dim, self$units), self$initializers$kernel,
                      self$regularizers$kernel, self$constraints$kernel)
      if (self$use_bias) {
        self$add_weight("bias", self$units, self$initializers$bias, self$regularizers$bias,
                        self$constraints$bias)
      }
    },
    check_input_shape = function(input_shape) {
      if (is.list(input_shape)) {
        rgru_abort("Layer {.val {self$name}} takes one input, not a list.", class = "input")
      }
      if (length(input_shape) < 2) {
        abort_shape("inputs", "at least 2 axes (batch, features)", input_shape,
                    "i" = "In layer {.val {self$name}}.")
      }
      if (self$built) {
        want <- nrow(self$variables[[1]]$value)
        got <- input_shape[length(input_shape)]
        if (!is.na(got) && got != want) {
          abort_shape("inputs", sprintf("%d feature%s on the last axis", want,
                                        if (want == 1) "" else "s"), input_shape,
                      "i" = "Layer {.val {self$name}} was built for {want} feature{?s}.")
        }
      }
      invisible(TRUE)
    },
    compute_output_shape = function(input_shape) {
      c(input_shape[-length(input_shape)], self$units)
    },
    layer_config = function() self$config_args,

    forward_impl = function(inputs, mask, training, initial_state) {
      d <- dim(inputs)
      x <- matrix(inputs, ncol = d[length(d)])
      pre <- x %*% self$variables[[1]]$value
      if (self$use_bias) pre <- sweep(pre, 2L, self$variables[[2]]$value, "+")
      y <- apply_activation(self$activation, pre)
      out <- y
      dim(out) <- c(d[-length(d)], self$units)
      list(outputs = out, mask = mask, tape = list(x = x, pre = pre, y = y, dims = d))
    },
    backward = function(tape, d_outputs) {
      d_y <- matrix(d_outputs, ncol = self$units)
      d_pre <- activation_vjp(self$activation, tape$pre, tape$y, d_y)
      d_x <- d_pre %*% t(self$variables[[1]]$value)
      dim(d_x) <- tape$dims
      grads <- list(crossprod(tape$x, d_pre))
      if (self$use_bias) grads[[2]] <- colSums(d_pre)
      list(d_inputs = d_x, grads = conform_grads(self$weights, grads))
    }
  )
)
