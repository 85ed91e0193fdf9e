#' Weight initializers
#'
#' Initializers decide the starting values of a layer's weights. Each function
#' returns an initializer object defined exactly as its Keras namesake
#' (`keras.initializers.*`); layers also accept the Keras name as a string
#' (`"glorot_uniform"`, `"GlorotUniform"`, `"orthogonal"`, ...).
#'
#' An initializer is called like a function, `init(shape, dtype = NULL)`, or
#' as `init$generate(shape, dtype)`; both return an array with `dim = shape`.
#' `init$get_config()` returns its arguments as Keras names them.
#'
#' * `initializer_zeros()`, `initializer_ones()`, `initializer_constant(value)`:
#'   constant values.
#' * `initializer_identity(gain)`: `gain` times the identity matrix (ones on
#'   the main diagonal; 2-D shapes only).
#' * `initializer_random_uniform(minval, maxval)`, `initializer_random_normal(mean,
#'   stddev)`, `initializer_truncated_normal(mean, stddev)`: plain draws (see
#'   [random_uniform()]); the truncated normal redraws values more than two
#'   standard deviations from the mean.
#' * `initializer_variance_scaling(scale, mode, distribution)`: with
#'   `n = fan_in`, `fan_out` or their mean (`mode`, each at least 1), draws
#'   from `uniform(-limit, limit)` with `limit = sqrt(3 * scale / n)`, from a
#'   normal with `stddev = sqrt(scale / n)` (`"untruncated_normal"`), or from a
#'   truncated normal with `stddev = sqrt(scale / n) / 0.87962566103423978`
#'   (`"truncated_normal"`, also called `"normal"`; the constant makes the
#'   standard deviation after truncation equal `sqrt(scale / n)`). Fans follow
#'   Keras: for a matrix `(fan_in, fan_out)`; for higher ranks (convolution
#'   kernels) the leading axes multiply both as the receptive field.
#' * `initializer_glorot_uniform()` / `_glorot_normal()`: variance scaling with
#'   `scale = 1`, `mode = "fan_avg"` (uniform: `limit = sqrt(6 / (fan_in +
#'   fan_out))`).
#' * `initializer_he_uniform()` / `_he_normal()`: `scale = 2`, `mode = "fan_in"`.
#' * `initializer_lecun_uniform()` / `_lecun_normal()`: `scale = 1`,
#'   `mode = "fan_in"`.
#' * `initializer_orthogonal(gain)`: the `Q` factor of the QR decomposition of
#'   a standard normal matrix, with each column's sign chosen so that the
#'   diagonal of `R` is positive, times `gain`. A shape with more than two axes
#'   is treated as a matrix with the last axis as columns; when there are fewer
#'   rows than columns the rows are orthonormal, otherwise the columns are.
#'
#' As in Keras, a random initializer returns the same values every time it is
#' called (for the same shape): with a `seed`, those of that seed, drawn
#' without touching R's own random stream; without one, those of a seed drawn
#' from R's generator when the initializer is created, so `set.seed()` before
#' creating a model makes its weights reproducible, and two initializers
#' created one after the other differ.
#'
#' With `dtype = "float32"` (the default) values are rounded to single
#' precision.
#'
#' @param seed `NULL` or a whole number making the values reproducible.
#' @param value A number, or an array with exactly the shape requested.
#' @param gain Multiplicative factor applied to the matrix.
#' @param mean,stddev Mean and standard deviation of the normal distribution.
#' @param minval,maxval Bounds of the uniform distribution.
#' @param scale Positive scaling factor.
#' @param mode One of `"fan_in"`, `"fan_out"`, `"fan_avg"`.
#' @param distribution One of `"truncated_normal"` (or `"normal"`),
#'   `"untruncated_normal"`, `"uniform"`.
#'
#' @returns An initializer object (class `rgru_initializer`).
#' @family initializers
#' @name initializers
#' @examples
#' init <- initializer_glorot_uniform(seed = 1)
#' w <- init(c(4, 6))
#' max(abs(w)) <= sqrt(6 / (4 + 6))
#' identical(w, init$generate(c(4, 6)))
#'
#' q <- initializer_orthogonal(seed = 2)$generate(c(5, 5), "float64")
#' all.equal(crossprod(q), diag(5))
#'
#' initializer_variance_scaling(scale = 2, mode = "fan_out")
#' resolve_initializer("he_normal")$get_config()
NULL

#' @rdname initializers
#' @export
initializer_zeros <- function() {
  new_initializer("Zeros", list(), function(dims, dtype) array(0, dims))
}

#' @rdname initializers
#' @export
initializer_ones <- function() {
  new_initializer("Ones", list(), function(dims, dtype) array(1, dims))
}

#' @rdname initializers
#' @export
initializer_constant <- function(value = 0) {
  constant_initializer(value, "value")
}

# `arg`: what the value was given as (`value`, or a layer's `*_initializer`).
constant_initializer <- function(value, arg) {
  value <- check_numeric_array(value, arg, finite = TRUE)
  if (length(value) == 0L) abort_argument(arg, value, "a number or an array")
  new_initializer("Constant", list(value = value), function(dims, dtype) {
    if (length(value) == 1L) return(array(as.vector(value), dims))
    value_dims <- dim(value) %||% length(value)
    if (!identical(as.integer(value_dims), as.integer(dims))) {
      abort_shape(arg, dims, value_dims,
                  "i" = "Give a single number, or an array of exactly that shape.")
    }
    array(as.vector(value), dims)
  })
}

#' @rdname initializers
#' @export
initializer_identity <- function(gain = 1) {
  gain <- check_number(gain)
  new_initializer("Identity", list(gain = gain), function(dims, dtype) {
    if (length(dims) != 2L) {
      abort_weight_rank("2 axes (the identity initializer makes matrices)", dims)
    }
    out <- matrix(0, dims[[1]], dims[[2]])
    n <- min(dims)
    if (n > 0L) out[cbind(seq_len(n), seq_len(n))] <- gain
    out
  })
}

#' @rdname initializers
#' @export
initializer_random_uniform <- function(minval = -0.05, maxval = 0.05, seed = NULL) {
  minval <- check_number(minval)
  maxval <- check_number(maxval)
  new_random_initializer("RandomUniform", list(minval = minval, maxval = maxval),
                         check_seed(seed), function(dims, dtype, seed) {
                           random_uniform(dims, minval, maxval, dtype, seed)
                         })
}

#' @rdname initializers
#' @export
initializer_random_normal <- function(mean = 0, stddev = 0.05, seed = NULL) {
  mean <- check_number(mean)
  stddev <- check_number(stddev, min = 0)
  new_random_initializer("RandomNormal", list(mean = mean, stddev = stddev),
                         check_seed(seed), function(dims, dtype, seed) {
                           random_normal(dims, mean, stddev, dtype, seed)
                         })
}

#' @rdname initializers
#' @export
initializer_truncated_normal <- function(mean = 0, stddev = 0.05, seed = NULL) {
  mean <- check_number(mean)
  stddev <- check_number(stddev, min = 0)
  new_random_initializer("TruncatedNormal", list(mean = mean, stddev = stddev),
                         check_seed(seed), function(dims, dtype, seed) {
                           random_truncated_normal(dims, mean, stddev, dtype, seed)
                         })
}

#' @rdname initializers
#' @export
initializer_variance_scaling <- function(scale = 1, mode = "fan_in",
                                         distribution = "truncated_normal",
                                         seed = NULL) {
  make_variance_scaling("VarianceScaling", scale, mode, distribution, seed,
                        config_has_parameters = TRUE)
}

#' @rdname initializers
#' @export
initializer_glorot_uniform <- function(seed = NULL) {
  make_variance_scaling("GlorotUniform", 1, "fan_avg", "uniform", seed)
}

#' @rdname initializers
#' @export
initializer_glorot_normal <- function(seed = NULL) {
  make_variance_scaling("GlorotNormal", 1, "fan_avg", "truncated_normal", seed)
}

#' @rdname initializers
#' @export
initializer_he_uniform <- function(seed = NULL) {
  make_variance_scaling("HeUniform", 2, "fan_in", "uniform", seed)
}

#' @rdname initializers
#' @export
initializer_he_normal <- function(seed = NULL) {
  make_variance_scaling("HeNormal", 2, "fan_in", "truncated_normal", seed)
}

#' @rdname initializers
#' @export
initializer_lecun_uniform <- function(seed = NULL) {
  make_variance_scaling("LecunUniform", 1, "fan_in", "uniform", seed)
}

#' @rdname initializers
#' @export
initializer_lecun_normal <- function(seed = NULL) {
  make_variance_scaling("LecunNormal", 1, "fan_in", "truncated_normal", seed)
}

#' @rdname initializers
#' @export
initializer_orthogonal <- function(gain = 1, seed = NULL) {
  gain <- check_number(gain)
  new_random_initializer("Orthogonal", list(gain = gain), check_seed(seed),
                         function(dims, dtype, seed) {
    if (length(dims) < 2L) {
      abort_weight_rank("at least 2 axes (the orthogonal initializer makes matrices)",
                        dims)
    }
    n_rows <- prod(dims[-length(dims)])
    n_cols <- dims[[length(dims)]]
    # float64 draws: the rounding to `dtype` happens once, on the result.
    a <- random_normal(c(max(n_rows, n_cols), min(n_rows, n_cols)),
                       dtype = "float64", seed = seed)
    q <- orthonormal_columns(a)
    if (n_rows < n_cols) q <- t(q)
    array(gain * q, dims)
  })
}

#' Initializer of STFT convolution kernels
#'
#' Keras's `STFT` initializer: kernels of shape `(frame_length, input_channels,
#' fft_length / 2 + 1)` computing the real (`side = "real"`) or imaginary
#' (`"imag"`) part of a short-time Fourier transform of each frame, optionally
#' windowed and normalised. For frequency bin `f` and time `t`, the kernel is
#' `cos(-2 * pi * t * f / n)` (or `sin`), with `n = 2 * (bins - 1)`, times
#' `window[t] / scale`, where `scale` is `sqrt(sum(window^2))` (`"density"`),
#' `sum(abs(window))` (`"spectrum"`) or 1 (`NULL`).
#'
#' `window` is a numeric vector of length `frame_length`, `NULL` (no window),
#' or the name of a SciPy window computed as `scipy.signal.get_window()` does:
#' `"hann"`, `"hamming"`, `"blackman"`, `"blackmanharris"`, `"nuttall"`,
#' `"flattop"`, `"bartlett"`, `"triang"`, `"cosine"`, `"boxcar"`.
#'
#' @param side `"real"` or `"imag"`.
#' @param window A window name, a numeric vector, or `NULL`.
#' @param scaling `"density"`, `"spectrum"` or `NULL`.
#' @param periodic Whether named windows are periodic (as for spectral
#'   analysis) rather than symmetric.
#' @returns An initializer object (class `rgru_initializer`).
#' @family initializers
#' @export
#' @examples
#' kernel <- initializer_stft("real", "hann")(c(8, 1, 5))
#' dim(kernel)
initializer_stft <- function(side = "real", window = "hann", scaling = "density",
                             periodic = FALSE) {
  side <- check_choice(side, c("real", "imag"))
  if (is.character(window)) {
    window <- check_choice(window, scipy_window_names, arg = "window")
  } else if (!is.null(window)) {
    window <- check_numeric_array(window, finite = TRUE)
  }
  scaling <- check_choice(scaling, c("density", "spectrum"), allow_null = TRUE)
  periodic <- check_bool(periodic)
  config <- list(side = side, window = window, periodic = periodic, scaling = scaling)
  new_initializer("STFT", config, function(dims, dtype) {
    if (length(dims) != 3L) {
      abort_weight_rank(paste("3 axes (the STFT initializer makes kernels of shape",
                              "(frame_length, input_channels, fft_length / 2 + 1))"), dims)
    }
    frame_length <- dims[[1]]
    bins <- dims[[3]]
    win <- if (is.character(window)) scipy_window(window, frame_length, periodic) else
      as.vector(window)
    if (!is.null(win) && length(win) != frame_length) {
      rgru_abort(
        c("The STFT {.arg window} must have one value per frame sample ({frame_length}).",
          "x" = "Got {length(win)} value{?s}."),
        class = "shape"
      )
    }
    angle <- -2 * pi * outer(seq_len(frame_length) - 1, seq_len(bins) - 1) /
      (2 * (bins - 1))
    kernel <- if (side == "real") cos(angle) else sin(angle)
    if (!is.null(win)) {
      scale <- switch(scaling %||% "none", density = sqrt(sum(win^2)),
                      spectrum = sum(abs(win)), none = 1)
      kernel <- kernel * win / scale
    }
    # One copy per input channel, as the (frame, 1, bins) Keras kernel broadcasts.
    aperm(array(kernel, c(frame_length, bins, dims[[2]])), c(1L, 3L, 2L))
  })
}

# SciPy's generalized cosine windows, by coefficients a_k of
# sum_k (-1)^k a_k cos(2 pi k n / (M - 1)) (scipy.signal.windows.general_cosine).
scipy_cosine_windows <- list(
  hann = c(0.5, 0.5),
  hamming = c(0.54, 0.46),
  blackman = c(0.42, 0.50, 0.08),
  blackmanharris = c(0.35875, 0.48829, 0.14128, 0.01168),
  nuttall = c(0.3635819, 0.4891775, 0.1365995, 0.0106411),
  flattop = c(0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368)
)
scipy_window_names <- c(names(scipy_cosine_windows), "bartlett", "triang", "cosine",
                        "boxcar")

# scipy.signal.get_window(name, m, fftbins = periodic): a periodic window is
# the symmetric window of length m + 1 without its last value.
scipy_window <- function(name, m, periodic) {
  if (m <= 1L) return(rep(1, m))
  n_points <- if (periodic) m + 1L else m
  n <- seq_len(n_points) - 1
  w <- switch(name,
    boxcar = rep(1, n_points),
    bartlett = ifelse(n <= (n_points - 1) / 2, 2 * n / (n_points - 1),
                      2 - 2 * n / (n_points - 1)),
    triang = {
      half <- seq_len((n_points + 1) %/% 2)
      if (n_points %% 2L == 0L) {
        rising <- (2 * half - 1) / n_points
        c(rising, rev(rising))
      } else {
        rising <- 2 * half / (n_points + 1)
        c(rising, rev(rising)[-1])
      }
    },
    cosine = sin(pi / n_points * (n + 0.5)),
    {
      a <- scipy_cosine_windows[[name]]
      phase <- seq(-pi, pi, length.out = n_points)
      Reduce(`+`, lapply(seq_along(a), function(k) a[[k]] * cos((k - 1) * phase)))
    }
  )
  w[seq_len(m)]
}

# A random initializer: `draw(dims, dtype, seed)` makes the values. Keras gives
# an unseeded one a seed of its own when it is created
# (random.make_default_seed()), so that every call returns the same values;
# drawing that seed from R's generator keeps set.seed() in control. The config
# reports the seed the user gave.
new_random_initializer <- function(class_name, parameters, seed, draw) {
  draw_seed <- seed %||% sample.int(1e9L, 1L)
  new_initializer(class_name, c(list(seed = seed), parameters),
                  function(dims, dtype) draw(dims, dtype, draw_seed))
}

# Q of a thin QR decomposition with the signs fixed so that diag(R) > 0, which
# makes Q uniformly distributed (Haar) rather than biased by the algorithm.
orthonormal_columns <- function(a) {
  if (length(a) == 0L) return(a)
  # LINPACK's QR only pivots numerically rank-deficient columns (probability 0
  # for Gaussian draws), so Q's columns correspond to a's, as in Keras.
  decomposition <- qr(a)
  q <- qr.Q(decomposition)
  r_diagonal <- diag(qr.R(decomposition))
  sweep(q, 2L, sign(r_diagonal), `*`)
}

make_variance_scaling <- function(class_name, scale, mode, distribution, seed,
                                  config_has_parameters = FALSE) {
  scale <- check_number(scale, min = 0, min_inclusive = FALSE)
  mode <- check_choice(mode, c("fan_in", "fan_out", "fan_avg"))
  distribution <- check_string(distribution)
  distribution <- tolower(distribution)
  if (distribution == "normal") distribution <- "truncated_normal"
  distribution <- check_choice(distribution,
                               c("truncated_normal", "untruncated_normal", "uniform"))
  seed <- check_seed(seed)
  parameters <- if (config_has_parameters) {
    list(scale = scale, mode = mode, distribution = distribution)
  }
  new_random_initializer(class_name, parameters, seed, function(dims, dtype, seed) {
    fans <- compute_fans(dims)
    n <- switch(mode, fan_in = fans[[1]], fan_out = fans[[2]],
                fan_avg = (fans[[1]] + fans[[2]]) / 2)
    variance <- scale / max(1, n)
    switch(distribution,
      uniform = {
        limit <- sqrt(3 * variance)
        random_uniform(dims, -limit, limit, dtype = dtype, seed = seed)
      },
      untruncated_normal = random_normal(dims, 0, sqrt(variance), dtype = dtype,
                                         seed = seed),
      truncated_normal = random_truncated_normal(
        dims, 0, sqrt(variance) / 0.87962566103423978, dtype = dtype, seed = seed)
    )
  })
}

# An initializer asked for a weight of a rank it cannot make.
abort_weight_rank <- function(expected, dims) {
  abort_shape("shape", expected, dims)
}

# Keras's fan computation (keras.src.initializers.random_initializers.compute_fans):
# a matrix is (fan_in, fan_out); higher ranks are convolution kernels
# (..., input_depth, depth) whose leading axes form the receptive field.
compute_fans <- function(dims) {
  rank <- length(dims)
  if (rank == 0L) return(c(1, 1))
  if (rank == 1L) return(c(dims, dims))
  if (rank == 2L) return(as.numeric(dims))
  receptive_field <- prod(dims[seq_len(rank - 2L)])
  c(dims[[rank - 1L]] * receptive_field, dims[[rank]] * receptive_field)
}

# Builds the callable initializer object. `generate_values(dims, dtype)`
# returns the values for a concrete shape; the wrapper validates arguments,
# rounds to `dtype` and returns an array with `dim = shape`.
new_initializer <- function(class_name, config, generate_values,
                            name = keras_snake_case(class_name)) {
  generate <- function(shape, dtype = NULL) {
    dims <- concrete_shape(shape)
    dtype <- check_dtype(dtype)
    values <- generate_values(dims, dtype)
    shape_values(round_to_dtype(as.vector(values), dtype), dims)
  }
  fields <- list(
    generate = generate,
    get_config = function() config,
    class_name = class_name,
    name = name
  )
  new_callable(function(shape, dtype = NULL) generate(shape, dtype), fields,
               class = "rgru_initializer")
}

#' @export
print.rgru_initializer <- function(x, ...) {
  cat("<initializer> ", format_config_call(x$class_name %||% "<R function>",
                                           x$get_config()), "\n", sep = "")
  invisible(x)
}

# Keras's to_snake_case() for class names ("GlorotUniform" -> "glorot_uniform").
keras_snake_case <- function(name) {
  if (is.null(name)) return(NULL)
  name <- gsub("\\W+", "", name, perl = TRUE)
  name <- gsub("(.)([A-Z][a-z]+)", "\\1_\\2", name, perl = TRUE)
  tolower(gsub("([a-z])([A-Z])", "\\1_\\2", name, perl = TRUE))
}

initializer_registry <- function() {
  constructors <- list(
    Constant = initializer_constant, Identity = initializer_identity,
    Ones = initializer_ones, Zeros = initializer_zeros,
    GlorotNormal = initializer_glorot_normal,
    GlorotUniform = initializer_glorot_uniform,
    HeNormal = initializer_he_normal, HeUniform = initializer_he_uniform,
    LecunNormal = initializer_lecun_normal, LecunUniform = initializer_lecun_uniform,
    Orthogonal = initializer_orthogonal, RandomNormal = initializer_random_normal,
    RandomUniform = initializer_random_uniform,
    TruncatedNormal = initializer_truncated_normal,
    VarianceScaling = initializer_variance_scaling, STFT = initializer_stft
  )
  snake <- constructors
  names(snake) <- keras_snake_case(names(constructors))
  # Keras's extra aliases (keras.src.initializers.ALL_OBJECTS_DICT).
  aliases <- list(IdentityInitializer = initializer_identity,
                  OrthogonalInitializer = initializer_orthogonal,
                  normal = initializer_random_normal, one = initializer_ones,
                  uniform = initializer_random_uniform, zero = initializer_zeros,
                  STFTInitializer = initializer_stft)
  c(constructors, snake, aliases)
}

#' Resolve an initializer specification
#'
#' Turns whatever a user may give as an initializer argument into an
#' initializer object: a Keras name (`"glorot_uniform"` or the class name
#' `"GlorotUniform"`, with Keras's defaults), an initializer object (returned
#' as is), a configuration `list(class_name = , config = )` as produced by
#' [serialize_keras_object()], an array of fixed values, or an R function
#' `function(shape, dtype)` returning the values.
#'
#' @param x The specification. `NULL` returns `NULL`.
#' @param arg The argument name used in error messages.
#' @returns An initializer object (class `rgru_initializer`), or `NULL`.
#' @family initializers
#' @export
#' @examples
#' resolve_initializer("orthogonal")
#' resolve_initializer("GlorotUniform")(c(2, 3))
#' ones_like <- function(shape, dtype) array(1, shape)
#' resolve_initializer(ones_like)(c(2, 2))
resolve_initializer <- function(x, arg = argument_label(substitute(x))) {
  if ((is.numeric(x) || is.logical(x)) && length(x) > 0L && !is.object(x)) {
    return(constant_initializer(x, arg))
  }
  resolve_keras_object(x, "rgru_initializer", initializer_registry(), "initializer",
                       from_function = initializer_from_function, arg = arg)
}

initializer_from_function <- function(fn, arg = "initializer") {
  new_initializer(NULL, list(), function(dims, dtype) {
    fits <- function(values) {
      (is.numeric(values) || is.logical(values)) && length(values) == prod(dims) &&
        (is.null(dim(values)) || identical(as.integer(dim(values)), as.integer(dims)) ||
           length(dims) <= 1L)
    }
    call_user_function(fn, list(dims, dtype), arg, "initializer", returns = fits,
                       expected = sprintf("%s number%s for shape %s", prod(dims),
                                          if (prod(dims) == 1) "" else "s",
                                          format_tuple(dims)))
  }, name = NULL)
}

#' Serialize an rgru object to its Keras configuration
#'
#' Initializers, regularizers and constraints serialize as Keras does:
#' `list(class_name = , config = )`, where `class_name` is the Keras class
#' (`"GlorotUniform"`, `"L2"`, `"MaxNorm"`, ...). The matching `resolve_*()`
#' functions turn such a list back into an object.
#'
#' @param x An initializer, regularizer or constraint object; `NULL` gives `NULL`.
#' @returns `list(class_name, config)`, or `NULL`.
#' @family initializers
#' @export
#' @examples
#' cfg <- serialize_keras_object(initializer_random_normal(stddev = 2))
#' str(cfg)
#' resolve_initializer(cfg)
serialize_keras_object <- function(x) {
  if (is.null(x)) return(NULL)
  if (!inherits(x, "rgru_callable") || is.null(x$class_name)) {
    abort_argument("x", x, "a built-in initializer, regularizer or constraint",
                   class = "serialize")
  }
  list(class_name = x$class_name, config = x$get_config())
}
