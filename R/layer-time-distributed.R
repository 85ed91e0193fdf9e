# layer_time_distributed(): Keras's TimeDistributed, one layer applied to every
# time step of a sequence with the same weights.

#' Apply a layer to every time step of a sequence
#'
#' The wrapped layer sees each time step of inputs (batch, timesteps, ...) as
#' a batch of its own (batch, ...), with the same weights at every step, and
#' the results are stacked back along the time axis: a [layer_dense()] turns
#' (batch, timesteps, features) into (batch, timesteps, units). As in Keras, a
#' mask passes through unchanged, for the recurrent layers downstream.
#'
#' The wrapped layer is the layer you pass (not a copy): its weights are the
#' wrapper's weights, trained by [fit()].
#'
#' All time steps go through the wrapped layer in one call, as one batch of
#' batch x timesteps rows; a stateful recurrent layer, whose states are per
#' sample, can't be wrapped. As in Keras (which runs the wrapped layer's
#' `call()` directly), the wrapped layer's own `activity_regularizer` is not
#' applied; give one to `layer_time_distributed()` instead.
#'
#' @inheritParams layer_gru
#' @param layer A layer, such as [layer_dense()].
#' @param ... Keras's common layer keywords: `name`, `dtype`, `trainable`,
#'   `input_shape`, `batch_size`.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family rnn layers
#' @export
#' @examples
#' inputs <- keras_input(shape = c(10, 128), batch_size = 32)
#' dense_layer <- layer_dense(units = 64)
#' outputs <- layer_time_distributed(inputs, layer = dense_layer)
#' shape(outputs)
#'
#' # per time step, the same numbers as the dense layer on that step
#' x <- random_uniform(c(2, 3, 4))
#' td <- layer_time_distributed(layer = layer_dense(units = 5))
#' y <- td(x)
#' all.equal(y[, 2, ], td$layer(x[, 2, ]))
layer_time_distributed <- function(object, layer, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_time_distributed")
  if (missing(layer)) abort_argument("layer", NULL, "a layer, such as `layer_dense()`")
  layer <- do.call(TimeDistributedLayer$new, c(list(layer = layer), args), quote = TRUE)
  create_layer(layer, object)
}

#' @rdname layer_time_distributed
#' @usage NULL
#' @export
time_distributed <- layer_time_distributed

TimeDistributedLayer <- R6::R6Class(
  "RgruTimeDistributedLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "TimeDistributed",
    supports_masking = TRUE,
    inner = NULL,

    initialize = function(layer, name = NULL, dtype = NULL, trainable = TRUE,
                          input_shape = NULL, batch_size = NULL, batch_input_shape = NULL,
                          activity_regularizer = NULL) {
      inner <- layer_object(layer)
      if (is.null(inner) || inherits(inner, c("RgruInputLayer", "RgruGruCell", "RgruStackedCells"))) {
        abort_argument("layer", layer, "a layer, such as `layer_dense()`")
      }
      if (isTRUE(inner$stateful)) {
        rgru_abort(c(
          "{.fn layer_time_distributed} can't wrap the stateful layer {.val {inner$name}}.",
          i = "All time steps run as one batch, so per-sample states can't carry over."
        ), class = "stateful")
      }
      self$inner <- inner
      super$initialize(name = name, dtype = dtype %||% inner$dtype, trainable = trainable,
                       input_shape = input_shape, batch_size = batch_size,
                       batch_input_shape = batch_input_shape,
                       activity_regularizer = activity_regularizer,
                       default_name = "time_distributed")
      if (!isTRUE(trainable)) self$trainable <- FALSE
    },

    sublayers = function() list(self$inner),
    # The wrapped layer's view of the input: one time step, (batch, ...).
    step_shape = function(input_shape) input_shape[-2],
    check_input_shape = function(input_shape) {
      if (is.list(input_shape)) {
        rgru_abort("Layer {.val {self$name}} takes one input, not a list of {length(input_shape)}.",
                   class = "input")
      }
      if (length(input_shape) < 3) {
        rgru_abort(c(
          "{.arg inputs} of layer {.val {self$name}} must have at least 3 axes (batch, timesteps, ...).",
          x = "Got shape {format_tuple(input_shape)}."
        ), class = "shape")
      }
      self$inner$check_input_shape(self$step_shape(input_shape))
    },
    build = function(input_shape) {
      self$inner$prepare(self$step_shape(input_shape))
      self$compute_output_shape(input_shape)
    },
    compute_output_shape = function(input_shape) {
      step <- self$inner$compute_output_shape(self$step_shape(input_shape))
      if (is.list(step)) {
        rgru_abort("{.fn layer_time_distributed} needs a layer with one output; {.val {self$inner$name}} has {length(step)}.",
                   class = "input")
      }
      c(step[1], input_shape[2], step[-1])
    },
    compute_output_mask = function(input_has_mask) isTRUE(input_has_mask),
    # Keras's TimeDistributed.call() takes no initial state.
    check_initial_state_shapes = function(shapes, batch = NA) {
      rgru_abort("Layer {.val {self$name}} takes no {.arg initial_state}.")
    },
    output_mask = function(inputs, mask) mask,
    layer_config = function() list(layer = self$inner$get_config()),
    coerce_inputs = function(inputs) self$inner$coerce_inputs(inputs),

    # Time steps are folded into the batch: (batch, timesteps, ...) column-major
    # is (batch * timesteps, ...) with the batch index running fastest.
    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      self$prepare(batch_shape_of(inputs))
      if (!is.null(initial_state)) self$check_initial_state_shapes(list())
      d <- value_shape(inputs)
      if (!is.null(mask)) mask <- coerce_sequence_mask(mask, d[1:2])
      folded <- inputs
      dim(folded) <- c(d[1] * d[2], d[-(1:2)])
      res <- self$inner$forward(folded, mask = NULL, training = training, keep_tape = keep_tape)
      out <- res$outputs
      out_d <- value_shape(out)
      dim(out) <- c(d[1:2], out_d[-1])
      list(outputs = out, mask = mask, tape = list(inner = res$tape, dims = d))
    },
    backward = function(tape, d_outputs) {
      d <- value_shape(d_outputs)
      dim(d_outputs) <- c(d[1] * d[2], d[-(1:2)])
      g <- self$inner$backward(tape$inner, d_outputs)
      d_inputs <- g$d_inputs
      if (!is.null(d_inputs)) dim(d_inputs) <- tape$dims
      list(d_inputs = d_inputs, grads = g$grads)
    }
  ),
  active = list(
    # The wrapped layer, as Keras's `layer` attribute.
    layer = function() self$inner$handle
  )
)

time_distributed_from_config <- function(config, name = NULL) {
  inner <- build_from_config(config$layer, name = config$layer$name)
  config$layer <- inner
  config$name <- name
  do.call(TimeDistributedLayer$new, config, quote = TRUE)$handle
}
