# array_reshape(): reticulate's row-major reshape, which keras3 re-exports and
# scripts use to lay data out as (samples, timesteps, features).

#' Reshape an array in row-major (C) order
#'
#' keras3 re-exports reticulate's `array_reshape()`; rgru has its own, without
#' Python. With `order = "C"` (the default) elements are read and written with
#' the last axis varying fastest, as NumPy does; `order = "F"` is R's own
#' column-major order (the same as setting `dim()`). One entry of `dim` may be
#' `-1`: it is inferred from the number of elements.
#'
#' @param x An array or vector.
#' @param dim The new dimensions.
#' @param order `"C"` (row-major) or `"F"` (column-major).
#'
#' @returns An array with dimensions `dim` holding the elements of `x`.
#' @family utilities
#' @export
#' @examples
#' x <- 1:6
#' array_reshape(x, c(2, 3))
#' array_reshape(x, c(2, 3), order = "F")
#' # a series cut into (samples, timesteps, features)
#' dim(array_reshape(seq_len(24), c(-1, 4, 1)))
array_reshape <- function(x, dim, order = c("C", "F")) {
  order <- match.arg(order)
  if (!is.atomic(x) || is.null(x)) abort_argument("x", x, "an array or atomic vector")
  dim <- resolve_reshape_dim(dim, length(x))
  if (order == "F") return(array(as.vector(x), dim))
  values <- if (length(base::dim(x)) > 1L) as.vector(aperm(x)) else as.vector(x)
  if (length(dim) == 1L) return(array(values, dim))
  aperm(array(values, rev(dim)))
}

resolve_reshape_dim <- function(dim, n) {
  ok <- is.numeric(dim) && length(dim) >= 1L && !anyNA(dim) && all(dim == round(dim)) &&
    all(dim >= 1 | dim == -1) && sum(dim == -1) <= 1L
  if (!ok) abort_argument("dim", dim, "a vector of positive whole numbers (one may be -1)")
  known <- prod(dim[dim != -1])
  if (any(dim == -1)) {
    if (known == 0 || n %% known != 0) {
      rgru_abort("Can't reshape {n} element{?s} into dimensions ({paste(dim, collapse = ', ')}).",
                 class = "shape")
    }
    dim[dim == -1] <- n / known
  }
  if (prod(dim) != n) {
    rgru_abort("Can't reshape {n} element{?s} into dimensions ({paste(dim, collapse = ', ')}).",
               class = "shape")
  }
  as.integer(dim)
}
