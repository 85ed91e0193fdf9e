# layer_conv_1d(): a convolution along the steps axis of (batch, steps, channels)
# sequences, computed in C++ (inst/include/rgru/conv1d.hpp) as one GEMM over
# im2col columns per call.

#' 1D convolution layer (temporal convolution)
#'
#' Slides `filters` kernels of `kernel_size` steps along the steps axis of the
#' inputs and returns `activation(conv1d(inputs, kernel) + bias)`. For output
#' step `t` and filter `f` (channels-last, `groups = 1`):
#' \deqn{y_{t,f} = \sum_{k=0}^{K-1} \sum_{c} x_{t \cdot s + k \cdot d - p,\, c}\; W_{k,c,f} + b_f}
#' with `s = strides`, `d = dilation_rate` and `p` the steps of zero padding on
#' the left: none for `"valid"`, half the padding needed for `ceiling(steps /
#' strides)` outputs (rounded down) for `"same"`, and `d * (K - 1)` for
#' `"causal"` (so an output never depends on later inputs).
#'
#' The kernel has Keras's shape `(kernel_size, channels / groups, filters)`.
#' With `groups > 1` the channels are split into `groups` blocks, each
#' convolved with its own `filters / groups` filters.
#'
#' The convolution runs as [layer_gru()]'s CPU engine does: its matrix products
#' on `options(rgru.gemm)` (R's BLAS, or rgru's own AVX2 build) and its work on
#' up to `options(rgru.num_threads)` threads; neither changes the results.
#'
#' Inputs are `(batch, steps, channels)` arrays (`"channels_last"`, the
#' default) or `(batch, channels, steps)` (`"channels_first"`); outputs are
#' `(batch, new_steps, filters)` or `(batch, filters, new_steps)`. The layer
#' does not support masks: a masked input loses its mask, with a warning, as in
#' Keras.
#'
#' @inheritParams layer_dense
#' @param filters Positive integer, the number of filters (output channels).
#' @param kernel_size Positive integer (or a list of one), the length of the
#'   convolution window in steps.
#' @param strides Positive integer (or a list of one), the step between
#'   windows. Values above 1 can't be combined with `dilation_rate` above 1.
#' @param padding `"valid"` (no padding), `"same"` (zero padding so that
#'   `strides = 1` keeps the number of steps) or `"causal"` (zero padding on
#'   the left only); case-insensitive.
#' @param data_format `"channels_last"` (`NULL`, the default) or
#'   `"channels_first"`: where the channels axis is.
#' @param dilation_rate Positive integer (or a list of one): the kernel's taps
#'   are this many steps apart.
#' @param groups Positive integer dividing both `filters` and the number of
#'   input channels.
#' @param kernel_initializer,bias_initializer Initializers of the kernel and
#'   the bias.
#' @param kernel_regularizer,bias_regularizer Regularizers of the kernel and the
#'   bias, or `NULL`.
#' @param activity_regularizer Regularizer of the layer's output, or `NULL`.
#' @param kernel_constraint,bias_constraint Constraints applied to the kernel
#'   and the bias after each optimizer step, or `NULL`.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' # 4 sequences of 10 steps with 128 channels
#' x <- random_uniform(c(4, 10, 128))
#' y <- x |> layer_conv_1d(32, 3, activation = "relu")
#' shape(y)
#'
#' # a text classifier's front end
#' model <- keras_model_sequential(input_shape = c(20, 8)) |>
#'   layer_conv_1d(16, 5, padding = "causal", dilation_rate = 2) |>
#'   layer_max_pooling_1d(2) |>
#'   layer_gru(4)
#' summary(model)
layer_conv_1d <- function(object, filters, kernel_size, strides = 1L, padding = "valid",
                          data_format = NULL, dilation_rate = 1L, groups = 1L,
                          activation = NULL, use_bias = TRUE,
                          kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                          kernel_regularizer = NULL, bias_regularizer = NULL,
                          activity_regularizer = NULL, kernel_constraint = NULL,
                          bias_constraint = NULL, ...) {
  object <- if (missing(object)) NULL else object
  if (missing(filters)) abort_argument("filters", NULL, "a positive whole number")
  if (missing(kernel_size)) abort_argument("kernel_size", NULL, "a positive whole number")
  args <- layer_common_args(list(...), "layer_conv_1d")
  layer <- do.call(Conv1DLayer$new, c(formal_args(layer_conv_1d, environment()), args),
                   quote = TRUE)
  create_layer(layer, object)
}

Conv1DLayer <- R6::R6Class(
  "RgruConv1DLayer",
  inherit = MasklessLayer,
  cloneable = FALSE,
  public = list(
    class_name = "Conv1D",
    filters = NULL,
    kernel_size = NULL,
    strides = NULL,
    padding = NULL,
    data_format = NULL,
    dilation_rate = NULL,
    groups = NULL,
    activation = NULL,
    use_bias = TRUE,
    initializers = NULL,
    regularizers = NULL,
    constraints = NULL,
    config_args = NULL,

    initialize = function(filters, kernel_size, strides = 1L, padding = "valid",
                          data_format = NULL, dilation_rate = 1L, groups = 1L,
                          activation = NULL, use_bias = TRUE,
                          kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                          kernel_regularizer = NULL, bias_regularizer = NULL,
                          activity_regularizer = NULL, kernel_constraint = NULL,
                          bias_constraint = NULL, ...) {
      self$filters <- check_positive_integer(filters, "filters")
      self$kernel_size <- check_axis_size(kernel_size, "kernel_size")
      self$strides <- check_axis_size(strides, "strides")
      self$padding <- check_padding(padding, c("valid", "same", "causal"))
      self$data_format <- check_data_format(data_format)
      self$dilation_rate <- check_axis_size(dilation_rate, "dilation_rate")
      self$groups <- check_positive_integer(groups, "groups")
      if (self$strides > 1L && self$dilation_rate > 1L) {
        rgru_abort(c(
          "{.arg strides} and {.arg dilation_rate} can't both be above 1.",
          x = "Got {.code strides = {self$strides}} and {.code dilation_rate = {self$dilation_rate}}."
        ), class = "argument")
      }
      if (self$filters %% self$groups != 0L) {
        abort_argument("groups", groups,
                       sprintf("a divisor of `filters` (%d)", self$filters))
      }
      self$activation <- resolve_activation(activation, "activation")
      self$use_bias <- check_bool(use_bias, "use_bias")
      self$initializers <- list(
        kernel = resolve_initializer(kernel_initializer, "kernel_initializer"),
        bias = resolve_initializer(bias_initializer, "bias_initializer"))
      self$regularizers <- list(
        kernel = resolve_regularizer(kernel_regularizer, "kernel_regularizer"),
        bias = resolve_regularizer(bias_regularizer, "bias_regularizer"))
      self$constraints <- list(
        kernel = resolve_constraint(kernel_constraint, "kernel_constraint"),
        bias = resolve_constraint(bias_constraint, "bias_constraint"))
      self$config_args <- list(
        filters = self$filters, kernel_size = self$kernel_size, strides = self$strides,
        padding = self$padding, data_format = self$data_format,
        dilation_rate = self$dilation_rate, groups = self$groups,
        activation = activation %||% "linear", use_bias = self$use_bias,
        kernel_initializer = kernel_initializer, bias_initializer = bias_initializer,
        kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
        activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
        bias_constraint = bias_constraint
      )
      super$initialize(..., activity_regularizer = activity_regularizer,
                       default_name = "conv1d")
    },

    channel_axis = function() if (self$data_format == "channels_last") 3L else 2L,
    steps_axis = function() if (self$data_format == "channels_last") 2L else 3L,

    build = function(input_shape) {
      channels <- input_shape[self$channel_axis()]
      if (is.na(channels)) {
        rgru_abort("The channels axis of the inputs of layer {.val {self$name}} must have a known size.",
                   class = "shape")
      }
      if (channels %% self$groups != 0L) {
        rgru_abort(c(
          "The inputs of layer {.val {self$name}} must have a number of channels divisible by {.arg groups} ({self$groups}).",
          x = "Got shape {format_tuple(input_shape)}, with {channels} channel{?s}."
        ), class = "shape")
      }
      self$add_weight("kernel", c(self$kernel_size, channels %/% self$groups, self$filters),
                      self$initializers$kernel, self$regularizers$kernel,
                      self$constraints$kernel)
      if (self$use_bias) {
        self$add_weight("bias", self$filters, self$initializers$bias, self$regularizers$bias,
                        self$constraints$bias)
      }
    },
    check_input_shape = function(input_shape) {
      what <- if (self$data_format == "channels_last") "(batch, steps, channels)" else
        "(batch, channels, steps)"
      check_input_rank(self, input_shape, 3L, what)
      if (self$built) {
        want <- dim(self$variables[[1]]$value)[2] * self$groups
        got <- input_shape[self$channel_axis()]
        if (!is.na(got) && got != want) {
          rgru_abort(c(
            "{.arg inputs} of layer {.val {self$name}} must have {want} channel{?s} (the number it was built with).",
            x = "Got shape {format_tuple(input_shape)}."
          ), class = "shape")
        }
      }
      invisible(TRUE)
    },
    compute_output_shape = function(input_shape) {
      steps <- sliding_output_steps(input_shape[self$steps_axis()], self$kernel_size,
                                    self$strides, self$dilation_rate, self$padding, self$name)
      if (self$data_format == "channels_last") {
        c(input_shape[1], steps, self$filters)
      } else {
        c(input_shape[1], self$filters, steps)
      }
    },
    layer_config = function() self$config_args,

    forward_impl = function(inputs, mask, training, initial_state) {
      x <- if (self$data_format == "channels_first") swap_steps_channels(inputs) else inputs
      sliding_output_steps(dim(x)[2], self$kernel_size, self$strides, self$dilation_rate,
                           self$padding, self$name)
      bias <- if (self$use_bias) as.numeric(self$variables[[2]]$value)
      pre <- conv1d_forward_cpp(x, self$variables[[1]]$value, bias, self$strides,
                                self$dilation_rate, self$padding, self$groups,
                                self$dtype == "float32", engine_run_options())
      # The identity is skipped: applying it copies the whole output (and its gradient 3x).
      linear <- identical(self$activation$name, "linear")
      y <- if (linear) pre else apply_activation(self$activation, pre)
      out <- if (self$data_format == "channels_first") swap_steps_channels(y) else y
      list(outputs = out, mask = self$drop_mask(mask), tape = list(x = x, pre = pre, y = y))
    },
    backward = function(tape, d_outputs) {
      d_y <- if (self$data_format == "channels_first") swap_steps_channels(d_outputs) else d_outputs
      if (identical(self$activation$name, "linear")) {
        d_pre <- d_y
        if (!identical(dim(d_pre), dim(tape$pre))) dim(d_pre) <- dim(tape$pre)
      } else {
        d_pre <- activation_vjp(self$activation, tape$pre, tape$y, d_y)
      }
      if (!is.double(d_pre)) storage.mode(d_pre) <- "double"
      g <- conv1d_backward_cpp(tape$x, self$variables[[1]]$value, d_pre, self$strides,
                               self$dilation_rate, self$padding, self$groups,
                               need_d_x = TRUE, need_d_bias = self$use_bias,
                               float32 = self$dtype == "float32",
                               options = engine_run_options())
      d_x <- if (self$data_format == "channels_first") swap_steps_channels(g$d_x) else g$d_x
      grads <- list(g$d_kernel)
      if (self$use_bias) grads[[2]] <- g$d_bias
      list(d_inputs = d_x, grads = conform_grads(self$weights, grads))
    }
  )
)
