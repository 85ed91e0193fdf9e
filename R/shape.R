#' Create or get a tensor shape
#'
#' `shape()` builds a `keras_shape`: a list with one integer per axis, where an
#' unknown (unspecified) axis is `NULL`. It prints the way keras3 prints shapes,
#' `shape(NA, 10, 4)`, and is what model summaries and symbolic inputs report.
#'
#' Arguments are combined in order:
#' * numbers give axis sizes (whole numbers; doubles like `4` are accepted);
#' * `NA`, `NULL` and `-1` give an unknown axis;
#' * an array (or matrix) contributes its dimensions, so `shape(x)` is the
#'   shape of `x`;
#' * another `keras_shape` (or a list) contributes its axes;
#' * objects with a `tensor_dims()` method (such as symbolic tensors)
#'   contribute their dimensions.
#'
#' A useful pattern is to unpack a shape with [`%<-%`]:
#' `c(batch_size, timesteps, features) %<-% shape(x)`.
#'
#' @param ... Axis sizes, arrays, shapes or tensors, as described above.
#' @param x,y A `keras_shape` (for the methods).
#' @param prefix Whether `format()` writes the word `shape` before the
#'   parentheses; a string gives another prefix.
#' @param na.rm Passed on to `Summary` group generics such as `prod()`; unknown
#'   axes count as `NA`.
#'
#' @returns A list of class `keras_shape`, each element an integer or `NULL`.
#'   `format()` returns a string, `as.integer()` an integer vector with `NA`
#'   for unknown axes.
#' @family utilities
#' @export
#' @examples
#' shape(32, 4)
#' shape(NA, 10, 4)
#' shape(NULL, 10, -1)
#'
#' x <- array(0, dim = c(2, 5, 3))
#' shape(x)
#' shape(x, 7)
#' format(shape(NA, 3), prefix = FALSE)
#' prod(shape(2, 5, 3))
#' shape(2, 5, 3) == c(2, 5, 3)
shape <- function(...) {
  as_keras_shape(list(...))
}

# The shape made from a list of shape() arguments; `arg` names the argument
# they came from in errors (NULL: they are shape()'s own).
as_keras_shape <- function(parts, arg = NULL) {
  axes <- unlist(lapply(parts, shape_axes, arg = arg), use.names = FALSE)
  structure(lapply(axes, function(d) if (is.na(d)) NULL else d),
            class = "keras_shape")
}

# One argument of shape() as an integer vector, NA for unknown axes.
shape_axes <- function(x, arg = NULL) {
  if (is.null(x)) return(NA_integer_)
  if (is.object(x) && !inherits(x, c("keras_shape", "AsIs"))) {
    dims <- tensor_dims(x)
    if (!is.null(dims)) return(as_axis_sizes(dims, arg))
  }
  if (is.array(x)) return(dim(x))
  if (is.list(x)) {
    return(unlist(lapply(x, shape_axes, arg = arg), use.names = FALSE) %||% integer())
  }
  as_axis_sizes(x, arg)
}

as_axis_sizes <- function(x, arg = NULL) {
  if (is.logical(x) && all(is.na(x))) return(rep(NA_integer_, length(x)))
  ok <- is.numeric(x) && !is.factor(x)
  if (ok) {
    known <- x[!is.na(x)]
    ok <- all(is.finite(known)) && all(known == trunc(known)) &&
      all(known >= -1) && all(known <= .Machine$integer.max)
  }
  if (!ok) {
    if (!is.null(arg)) {
      abort_argument(arg, x, "a shape: whole numbers >= 0, with `NA`, `NULL` or `-1` for an unknown axis",
                     class = "shape")
    }
    given <- describe_value(x)
    rgru_abort(
      c("Can't use {given} as an axis size in {.fn shape}.",
        "i" = "Axis sizes are whole numbers >= 0; use {.code NA}, {.code NULL} or {.code -1} for an unknown axis."),
      class = "shape"
    )
  }
  out <- as.integer(x)
  out[out == -1L] <- NA_integer_
  out
}

#' Dimensions of a tensor-like object
#'
#' The extension point behind [shape()]: a class representing a tensor (for
#' example a symbolic input) defines a `tensor_dims()` method returning its
#' dimensions as an integer vector, `NA` for unknown axes. The default method
#' returns `NULL`, meaning "not a tensor".
#'
#' @param x An object.
#' @returns An integer vector (with `NA` for unknown axes) or `NULL`.
#' @family utilities
#' @keywords internal
#' @export
#' @examples
#' tensor_dims(array(0, c(2, 3)))
tensor_dims <- function(x) UseMethod("tensor_dims")

#' @export
tensor_dims.default <- function(x) {
  if (is.array(x)) dim(x) else NULL
}

#' @export
tensor_dims.keras_shape <- function(x) as.integer.keras_shape(x)

#' @export
#' @rdname shape
format.keras_shape <- function(x, ..., prefix = TRUE) {
  dims <- vapply(unclass(x), function(d) if (is.null(d)) "NA" else format(d), "")
  prefix <- if (isTRUE(prefix)) "shape" else if (is.character(prefix) &&
    length(prefix) == 1L && !is.na(prefix)) prefix else ""
  paste0(prefix, "(", paste(dims, collapse = ", "), ")")
}

#' @export
#' @rdname shape
print.keras_shape <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}

#' @export
#' @rdname shape
`[.keras_shape` <- function(x, ...) {
  structure(unclass(x)[...], class = "keras_shape")
}

#' @export
#' @rdname shape
as.integer.keras_shape <- function(x, ...) {
  vapply(unclass(x), function(d) if (is.null(d)) NA_integer_ else d, 1L)
}

#' @export
#' @rdname shape
as.list.keras_shape <- function(x, ...) unclass(x)

#' @export
#' @rdname shape
Summary.keras_shape <- function(..., na.rm = FALSE) {
  axes <- as.integer.keras_shape(shape(...))
  do.call(.Generic, list(axes, na.rm = na.rm))
}

#' @export
#' @rdname shape
`==.keras_shape` <- function(x, y) {
  identical(unclass(shape(x)), unclass(shape(y)))
}

#' @export
#' @rdname shape
`!=.keras_shape` <- function(x, y) {
  !`==.keras_shape`(x, y)
}

#' @export
as.character.keras_shape <- function(x, ...) format.keras_shape(x, ...)

# Fully known axis sizes of a shape specification, for functions that must
# allocate (random_uniform(), initializers): errors on unknown axes.
concrete_shape <- function(spec, arg = "shape") {
  if (missing(spec)) {
    rgru_abort("{.arg {arg}} is missing, with no default.", class = "shape")
  }
  requested <- as_keras_shape(list(spec), arg)
  axes <- as.integer.keras_shape(requested)
  if (anyNA(axes)) {
    abort_argument(arg, requested, "a fully known shape to create values", class = "shape")
  }
  axes
}
