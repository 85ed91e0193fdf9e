# Arguments shared by the convolution, pooling and reshaping layers: sizes along
# one axis given as Keras tuples, data formats and paddings.

# keras3's `as_integer_tuple` for a layer over one spatial axis: a whole number,
# or a vector or list holding one, as Keras's standardize_tuple(value, 1).
check_axis_size <- function(x, arg, call = error_call()) {
  if (is.list(x) && !is.object(x) && length(x) == 1L) x <- x[[1]]
  if (is.numeric(x) && length(x) == 1L && !is.null(dim(x))) x <- as.vector(x)
  check_positive_integer(x, arg, call = call)
}

# Keras reads a missing data_format from its config file; rgru has none, so
# NULL means Keras's default, "channels_last".
check_data_format <- function(x, arg = "data_format", call = error_call()) {
  if (is.null(x)) return("channels_last")
  check_choice(x, c("channels_last", "channels_first"), arg, call = call)
}

# Paddings are case-insensitive in Keras ("SAME" works as "same").
check_padding <- function(x, choices, arg = "padding", call = error_call()) {
  if (is.character(x) && length(x) == 1L && !is.na(x)) x <- tolower(x)
  check_choice(x, choices, arg, call = call)
}

# Steps after sliding a window (a kernel or a pooling window) along a steps axis
# of `steps` (NA when unknown), by Keras's rules: "valid" keeps the positions
# where the window fits, "same" and "causal" give ceiling(steps / stride).
sliding_output_steps <- function(steps, window, stride, dilation, padding, layer_name) {
  if (is.na(steps)) return(NA_integer_)
  span <- dilation * (window - 1L) + 1L
  if (padding != "valid") return(as.integer((steps - 1L) %/% stride + 1L))
  if (steps < span) {
    rgru_abort(c(
      "The inputs of layer {.val {layer_name}} are too short for its window.",
      x = "They have {steps} step{?s}; the window spans {span} with {.code padding = \"valid\"}.",
      i = "Use longer sequences, a smaller window or {.code padding = \"same\"}."
    ), class = "shape")
  }
  as.integer((steps - span) %/% stride + 1L)
}

# (batch, channels, steps) <-> (batch, steps, channels): the layers compute in
# channels-last order.
swap_steps_channels <- function(x) aperm(x, c(1L, 3L, 2L))

check_single_input <- function(layer, input_shape) {
  if (is.list(input_shape)) {
    rgru_abort("Layer {.val {layer$name}} takes one input, not a list of {length(input_shape)}.",
               class = "input")
  }
  invisible(TRUE)
}

check_input_rank <- function(layer, input_shape, rank, what) {
  check_single_input(layer, input_shape)
  if (length(input_shape) != rank) {
    rgru_abort(c(
      "{.arg inputs} of layer {.val {layer$name}} must have {rank} axes {what}.",
      x = "Got shape {format_tuple(input_shape)}."
    ), class = "shape")
  }
  invisible(TRUE)
}
