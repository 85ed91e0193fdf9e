#' Draw random arrays
#'
#' `random_uniform()` draws from the uniform distribution on `[minval, maxval)`,
#' `random_normal()` from a normal distribution and `random_truncated_normal()`
#' from a normal distribution whose values more than two standard deviations
#' from the mean are discarded and drawn again (as Keras does). They have
#' keras3's arguments and return plain R arrays with `dim = shape`.
#'
#' Without a `seed`, values come from R's random number generator, so
#' `set.seed()` makes them reproducible. With a `seed`, the same call always
#' returns the same values, and the R session's own random stream (the
#' `.Random.seed` in the global environment) is left exactly as it was.
#'
#' With `dtype = "float32"` (the default, as Keras's `floatx`) the values are
#' rounded to single precision; R still stores them as doubles.
#'
#' @param shape The shape of the result: a numeric vector of axis sizes or a
#'   [shape()]; every axis must be known.
#' @param minval,maxval Lower (inclusive) and upper (exclusive) bounds of the
#'   uniform distribution.
#' @param mean,stddev Mean and standard deviation of the normal distribution.
#' @param dtype `"float32"` (default when `NULL`) or `"float64"`.
#' @param seed `NULL`, or a whole number making the draw reproducible.
#'
#' @returns A numeric array with `dim = shape` (a length-one number for the
#'   empty shape `shape()`).
#' @family random
#' @export
#' @examples
#' random_uniform(c(2, 3))
#' random_normal(shape(2, 2), mean = 1, stddev = 0.1, seed = 42)
#' identical(random_normal(5, seed = 1), random_normal(5, seed = 1))
#' range(random_truncated_normal(1000, stddev = 2))
random_uniform <- function(shape, minval = 0, maxval = 1, dtype = NULL, seed = NULL) {
  dims <- concrete_shape(shape)
  minval <- check_number(minval)
  maxval <- check_number(maxval)
  if (!(maxval > minval)) {
    abort_argument("maxval", maxval, sprintf("greater than `minval` (%s)", format(minval)))
  }
  dtype <- check_dtype(dtype)
  seed <- check_seed(seed)
  values <- with_seed(seed, draw_uniform(prod(dims), minval, maxval, dtype))
  shape_values(values, dims)
}

#' @rdname random_uniform
#' @export
random_normal <- function(shape, mean = 0, stddev = 1, dtype = NULL, seed = NULL) {
  dims <- concrete_shape(shape)
  mean <- check_number(mean)
  stddev <- check_number(stddev, min = 0)
  dtype <- check_dtype(dtype)
  seed <- check_seed(seed)
  values <- with_seed(seed, round_to_dtype(
    stats::rnorm(prod(dims), mean = mean, sd = stddev), dtype))
  shape_values(values, dims)
}

#' @rdname random_uniform
#' @export
random_truncated_normal <- function(shape, mean = 0, stddev = 1, dtype = NULL,
                                    seed = NULL) {
  dims <- concrete_shape(shape)
  mean <- check_number(mean)
  stddev <- check_number(stddev, min = 0)
  dtype <- check_dtype(dtype)
  seed <- check_seed(seed)
  values <- with_seed(seed, draw_truncated_normal(prod(dims), mean, stddev, dtype))
  shape_values(values, dims)
}

draw_uniform <- function(n, minval, maxval, dtype) {
  values <- round_to_dtype(stats::runif(n, minval, maxval), dtype)
  # Rounding to float32 can land exactly on maxval, which must stay excluded.
  while (any(too_big <- values >= maxval)) {
    values[too_big] <- round_to_dtype(stats::runif(sum(too_big), minval, maxval), dtype)
  }
  values
}

draw_truncated_normal <- function(n, mean, stddev, dtype) {
  values <- stats::rnorm(n, mean = mean, sd = stddev)
  if (stddev > 0) {
    while (any(outside <- abs(values - mean) > 2 * stddev)) {
      values[outside] <- stats::rnorm(sum(outside), mean = mean, sd = stddev)
    }
  }
  round_to_dtype(values, dtype)
}

shape_values <- function(values, dims) {
  if (length(dims) == 0L) return(values)
  array(values, dim = dims)
}

# Evaluates `expr` with R's generator seeded by `seed` (fixed generator kinds,
# so the values do not depend on the user's RNGkind()), then puts the global
# stream back exactly as it was: a seeded draw neither depends on nor disturbs
# the user's random numbers. With `seed = NULL` it just evaluates `expr`.
with_seed <- function(seed, expr) {
  if (is.null(seed)) return(expr)
  global <- globalenv()
  had_seed <- exists(".Random.seed", envir = global, inherits = FALSE)
  if (had_seed) saved <- get(".Random.seed", envir = global, inherits = FALSE)
  on.exit({
    if (had_seed) {
      assign(".Random.seed", saved, envir = global)
    } else if (exists(".Random.seed", envir = global, inherits = FALSE)) {
      rm(".Random.seed", envir = global)
    }
  })
  set.seed(seed, kind = "Mersenne-Twister", normal.kind = "Inversion",
           sample.kind = "Rejection")
  expr
}
