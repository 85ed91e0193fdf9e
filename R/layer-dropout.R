# layer_dropout() and layer_spatial_dropout_1d(): inverted dropout, applied
# only while training.

#' Randomly drop inputs while training
#'
#' While training (in [fit()], or when called with `training = TRUE`),
#' `layer_dropout()` sets each input to 0 with probability `rate` and scales
#' the others by `1 / (1 - rate)`, so the expected sum is unchanged (inverted
#' dropout). At inference (in [predict()], [evaluate()], or called without
#' `training = TRUE`) it returns its inputs unchanged. It has no weights, and
#' passes masks through.
#'
#' `noise_shape` draws one keep-or-drop decision per cell of a smaller array
#' that is then repeated along the axes where it has size 1: with inputs
#' `(batch, steps, features)`, `noise_shape = c(NA, 1, features)` drops the same
#' features at every step. `layer_spatial_dropout_1d()` is that case: it drops
#' whole channels of `(batch, steps, channels)` inputs, which helps when
#' neighbouring steps are strongly correlated (as after a convolution).
#'
#' Draws come from R's random number generator, so `set.seed()` makes them
#' reproducible; with a `seed`, the layer's draws are reproducible on their own
#' (each call draws new values from a sequence fixed by the seed) and leave
#' R's random stream untouched.
#'
#' @inheritParams layer_dense
#' @param rate Fraction of the inputs to drop, in `[0, 1]`.
#' @param noise_shape `NULL` (the shape of the inputs), or the shape of the
#'   drop pattern including the batch axis: one entry per input axis, each 1
#'   (the pattern repeats along that axis), the input's size, or `NA`/`NULL`
#'   for the input's size.
#' @param seed `NULL`, or a whole number making the draws reproducible.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' x <- matrix(1, 2, 5)
#' drop <- layer_dropout(rate = 0.4, seed = 1)
#' drop(x)                   # inference: unchanged
#' drop(x, training = TRUE)  # training: zeros, the rest scaled by 1 / 0.6
#'
#' model <- keras_model_sequential(input_shape = c(10, 4)) |>
#'   layer_gru(8, return_sequences = TRUE) |>
#'   layer_dropout(0.5) |>
#'   layer_gru(4)
layer_dropout <- function(object, rate, noise_shape = NULL, seed = NULL, ...) {
  object <- if (missing(object)) NULL else object
  if (missing(rate)) abort_argument("rate", NULL, "a number in [0, 1]")
  args <- layer_common_args(list(...), "layer_dropout")
  layer <- do.call(DropoutLayer$new,
                   c(list(rate = rate, noise_shape = noise_shape, seed = seed), args), quote = TRUE)
  create_layer(layer, object)
}

#' @rdname layer_dropout
#' @param name Name of the layer, or `NULL` for a unique default.
#' @param dtype `"float32"` (`NULL`, the default) or `"float64"`.
#' @export
#' @examples
#'
#' x <- array(1, c(2, 6, 3))
#' y <- layer_spatial_dropout_1d(rate = 0.5, seed = 2)(x, training = TRUE)
#' y[1, , ]   # each channel is kept or dropped at every step
layer_spatial_dropout_1d <- function(object, rate, seed = NULL, name = NULL, dtype = NULL) {
  object <- if (missing(object)) NULL else object
  if (missing(rate)) abort_argument("rate", NULL, "a number in [0, 1]")
  layer <- SpatialDropout1DLayer$new(rate = rate, seed = seed, name = name, dtype = dtype)
  create_layer(layer, object)
}

DropoutLayer <- R6::R6Class(
  "RgruDropoutLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "Dropout",
    supports_masking = TRUE,
    rate = 0,
    noise_shape = NULL,
    seed = NULL,
    # Draws so far: each seeded call draws from seed + draws, so calls differ
    # but a seeded layer repeats its sequence.
    seed_draws = 0L,

    initialize = function(rate, noise_shape = NULL, seed = NULL, ...,
                          default_name = "dropout") {
      self$rate <- check_probability(rate, "rate", include_one = TRUE)
      if (!is.null(noise_shape)) {
        self$noise_shape <- arg_shape(noise_shape, "noise_shape", batch = TRUE)
      }
      self$seed <- check_seed(seed, call = error_call())
      super$initialize(..., default_name = default_name)
    },
    check_input_shape = function(input_shape) check_single_input(self, input_shape),
    layer_config = function() {
      list(rate = self$rate, noise_shape = self$noise_shape, seed = self$seed)
    },
    # The drop pattern's shape for inputs of dimensions `dims`.
    noise_dims = function(dims) {
      if (is.null(self$noise_shape)) return(dims)
      noise <- self$noise_shape
      if (length(noise) == length(dims)) noise[is.na(noise)] <- dims[is.na(noise)]
      if (length(noise) != length(dims) || any(noise != 1L & noise != dims)) {
        rgru_abort(c(
          "{.arg noise_shape} of layer {.val {self$name}} doesn't fit its inputs.",
          x = "The inputs have shape {format_tuple(dims)}; {.arg noise_shape} is {format_tuple(self$noise_shape)}.",
          i = "Give one entry per input axis (batch first): 1, the input's size, or {.code NA}."
        ), class = "shape")
      }
      noise
    },
    forward_impl = function(inputs, mask, training, initial_state) {
      if (!training || self$rate == 0) return(list(outputs = inputs, mask = mask, tape = NULL))
      dims <- value_shape(inputs)
      keep <- broadcast_array(self$draw_keep(self$noise_dims(dims)), dims)
      scale <- if (self$rate < 1) 1 / (1 - self$rate) else 0
      out <- inputs * scale
      # Keras selects rather than multiplies: dropped entries are 0 even if Inf or NaN.
      out[!keep] <- 0
      list(outputs = out, mask = mask, tape = list(keep = keep, scale = scale))
    },
    backward = function(tape, d_outputs) {
      if (is.null(tape)) return(list(d_inputs = d_outputs, grads = list()))
      d <- d_outputs * tape$scale
      d[!tape$keep] <- 0
      list(d_inputs = d, grads = list())
    },
    # TRUE where an input is kept, with probability 1 - rate, as Keras draws it.
    draw_keep = function(dims) {
      seed <- if (!is.null(self$seed)) self$seed + self$seed_draws
      self$seed_draws <- self$seed_draws + 1L
      u <- with_seed(seed, draw_uniform(prod(dims), 0, 1, "float64"))
      array(u < 1 - self$rate, dims)
    }
  )
)

SpatialDropout1DLayer <- R6::R6Class(
  "RgruSpatialDropout1DLayer",
  inherit = DropoutLayer,
  cloneable = FALSE,
  public = list(
    class_name = "SpatialDropout1D",
    initialize = function(rate, seed = NULL, ...) {
      super$initialize(rate = rate, seed = seed, ..., default_name = "spatial_dropout1d")
    },
    check_input_shape = function(input_shape) {
      check_input_rank(self, input_shape, 3L, "(batch, steps, channels)")
    },
    layer_config = function() list(rate = self$rate, seed = self$seed),
    noise_dims = function(dims) c(dims[1], 1L, dims[3])
  )
)

# `a` repeated along its axes of size 1 to dimensions `dims` (each axis of `a`
# is 1 or already dims' size), as NumPy broadcasting.
broadcast_array <- function(a, dims) {
  from <- value_shape(a)
  if (identical(as.integer(from), as.integer(dims))) return(array(a, dims))
  strides <- cumprod(c(1, from[-length(from)]))
  inner <- cumprod(c(1, dims[-length(dims)]))
  n <- prod(dims)
  offset <- numeric(n)
  for (axis in which(from > 1L)) {
    coord <- rep(rep(seq_len(dims[axis]) - 1, each = inner[axis]), length.out = n)
    offset <- offset + coord * strides[axis]
  }
  array(a[offset + 1], dims)
}
