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

#' Draw random integers from a uniform distribution
#'
#' Whole numbers drawn uniformly from `minval` (inclusive) to `maxval`
#' (exclusive), as keras3's `random_integer()`. Seeding works as for
#' [random_uniform()]: without `seed` the values come from R's generator (so
#' [set_random_seed()] or `set.seed()` reproduce them), with one the same call
#' gives the same values and leaves R's random stream alone.
#'
#' @inheritParams random_uniform
#' @param minval,maxval Lower (inclusive) and upper (exclusive) bounds; `maxval`
#'   is rounded up to a whole number as keras3 does.
#' @param dtype An integer dtype: `"int32"` (default), `"int8"`, `"int16"`,
#'   `"uint8"`, `"uint16"` give an R integer array; `"int64"`, `"uint32"`,
#'   `"uint64"` a double array holding whole numbers (R has no 64-bit integers).
#'
#' @returns An array with `dim = shape` of whole numbers in `[minval, maxval)`.
#' @family random
#' @export
#' @examples
#' random_integer(c(2, 5), minval = 0, maxval = 10)
#' identical(random_integer(4, 1, 7, seed = 3), random_integer(4, 1, 7, seed = 3))
random_integer <- function(shape, minval, maxval, dtype = "int32", seed = NULL) {
  dims <- concrete_shape(shape)
  if (missing(minval)) abort_argument("minval", NULL, "a whole number")
  if (missing(maxval)) abort_argument("maxval", NULL, "a whole number")
  if (is_scalar_number(maxval)) maxval <- ceiling(maxval)
  minval <- check_integer(minval, "minval", min = -.Machine$integer.max)
  maxval <- check_integer(maxval, "maxval", min = -.Machine$integer.max)
  if (maxval <= minval) {
    rgru_abort(c("{.arg maxval} must be greater than {.arg minval}.",
                 "x" = "You supplied minval = {minval} and maxval = {maxval}."))
  }
  dtype <- check_choice(dtype, rgru_integer_dtypes, "dtype")
  seed <- check_seed(seed)
  span <- as.double(maxval) - minval
  values <- with_seed(seed, minval + floor(stats::runif(prod(dims)) * span))
  if (dtype %in% c("int8", "int16", "int32", "uint8", "uint16")) values <- as.integer(values)
  shape_values(values, dims)
}

rgru_integer_dtypes <- c("int32", "int8", "int16", "int64", "uint8", "uint16", "uint32", "uint64")

#' Seed every random draw of a script
#'
#' Seeds R's random number generator, which rgru draws from wherever no `seed`
#' is given: weight initializers, dropout masks, [fit()]'s shuffling and the
#' `random_*()` functions. Calling `set_random_seed()` at the top of a script
#' makes it reproducible end to end, as keras3's `set_random_seed()` (which also
#' seeds Python, NumPy and the backend) does. Layers and initializers given
#' their own `seed` draw from that seed instead, and are reproducible either way.
#'
#' @param seed A whole number.
#'
#' @returns `NULL`, invisibly; called for its side effect.
#' @family random
#' @export
#' @examples
#' set_random_seed(42)
#' a <- layer_dense(units = 2)(matrix(1, 1, 3))
#' set_random_seed(42)
#' b <- layer_dense(units = 2)(matrix(1, 1, 3))
#' identical(a, b)
set_random_seed <- function(seed) {
  seed <- check_integer(seed, "seed", min = -.Machine$integer.max)
  set.seed(seed)
  invisible(NULL)
}
