#' Weight regularizers
#'
#' A regularizer adds a penalty on a weight (or a layer's output) to the loss
#' minimised during training, exactly as Keras defines it:
#' `l1 * sum(abs(x)) + l2 * sum(x^2)`. `regularizer_orthogonal()` penalises
#' non-orthogonal rows (or columns) of a matrix: `factor * 0.5 * sum(abs(P -
#' diag(P))) / (n * (n - 1) / 2)`, where `P` holds the dot products between the
#' L2-normalised rows (columns) and `n` is their number.
#'
#' A regularizer is called like a function, `reg(x)`, returning the penalty, or
#' through its fields: `reg$penalty(x)` (the same scalar), `reg$gradient(x)`
#' (the penalty's gradient, an array like `x`; the derivative of `abs()` at 0
#' is taken as 0) and `reg$get_config()`.
#'
#' Layers also accept Keras's names: `"l1"`, `"l2"` (factor `0.01`), `"l1_l2"`
#' (both `0.01`), `"L1L2"` (both 0, Keras's class defaults),
#' `"orthogonal_regularizer"`.
#'
#' @param l1,l2 Non-negative penalty factors.
#' @param factor Non-negative factor of the orthogonality penalty.
#' @param mode `"rows"` or `"columns"`: which vectors should be orthogonal.
#' @returns A regularizer object (class `rgru_regularizer`).
#' @family regularizers
#' @name regularizers
#' @examples
#' reg <- regularizer_l1_l2(l1 = 0.01, l2 = 0.1)
#' w <- matrix(c(-1, 0, 2, 3), 2)
#' reg(w)
#' reg$gradient(w)
#' regularizer_l2()$get_config()
NULL

#' @rdname regularizers
#' @export
regularizer_l1 <- function(l1 = 0.01) {
  l1 <- check_penalty_factor(l1)
  new_norm_regularizer("L1", list(l1 = l1), l1 = l1, l2 = 0)
}

#' @rdname regularizers
#' @export
regularizer_l2 <- function(l2 = 0.01) {
  l2 <- check_penalty_factor(l2)
  new_norm_regularizer("L2", list(l2 = l2), l1 = 0, l2 = l2)
}

#' @rdname regularizers
#' @export
regularizer_l1_l2 <- function(l1 = 0, l2 = 0) {
  l1 <- check_penalty_factor(l1)
  l2 <- check_penalty_factor(l2)
  new_norm_regularizer("L1L2", list(l1 = l1, l2 = l2), l1 = l1, l2 = l2)
}

#' @rdname regularizers
#' @export
regularizer_orthogonal <- function(factor = 0.01, mode = "rows") {
  factor <- check_penalty_factor(factor)
  mode <- check_choice(mode, c("rows", "columns"))
  penalty <- function(x) {
    x <- check_regularized(x, matrix_only = TRUE)
    if (mode == "columns") x <- t(x)
    n <- nrow(x)
    if (n < 2L) return(0)
    normalised <- x / sqrt(pmax(rowSums(x^2), 1e-14))
    products <- tcrossprod(normalised)
    diag(products) <- 0
    factor * 0.5 * sum(abs(products)) / (n * (n - 1) / 2)
  }
  gradient <- function(x) {
    x <- check_regularized(x, matrix_only = TRUE)
    transposed <- mode == "columns"
    if (transposed) x <- t(x)
    n <- nrow(x)
    if (n < 2L) return(if (transposed) t(x * 0) else x * 0)
    squared_norms <- rowSums(x^2)
    # Keras normalizes by rsqrt(max(sum(x^2), epsilon^2)), epsilon = 1e-7; below that
    # floor the norm is constant and only the scaling contributes.
    norms <- sqrt(pmax(squared_norms, 1e-14))
    normalised <- x / norms
    products <- tcrossprod(normalised)
    signs <- sign(products)
    diag(signs) <- 0
    d_normalised <- factor * 0.5 / (n * (n - 1) / 2) * 2 * signs %*% normalised
    radial <- rowSums(d_normalised * normalised)
    above_floor <- squared_norms > 1e-14
    d_x <- (d_normalised - normalised * (radial * above_floor)) / norms
    if (transposed) t(d_x) else d_x
  }
  new_regularizer("OrthogonalRegularizer", list(factor = factor, mode = mode),
                  penalty, gradient)
}

new_norm_regularizer <- function(class_name, config, l1, l2) {
  penalty <- function(x) {
    x <- check_regularized(x)
    value <- 0
    if (l1 != 0) value <- value + l1 * sum(abs(x))
    if (l2 != 0) value <- value + l2 * sum(x^2)
    value
  }
  gradient <- function(x) {
    x <- check_regularized(x)
    l1 * sign(x) + 2 * l2 * x
  }
  new_regularizer(class_name, config, penalty, gradient)
}

new_regularizer <- function(class_name, config, penalty, gradient,
                            name = keras_snake_case(class_name)) {
  fields <- list(penalty = penalty, gradient = gradient,
                 get_config = function() config, class_name = class_name,
                 name = name)
  new_callable(function(x) penalty(x), fields, class = "rgru_regularizer")
}

#' @export
print.rgru_regularizer <- function(x, ...) {
  cat("<regularizer> ", format_config_call(x$class_name %||% "<R function>",
                                           x$get_config()), "\n", sep = "")
  invisible(x)
}

regularizer_registry <- list(
  L1 = regularizer_l1, l1 = regularizer_l1,
  L2 = regularizer_l2, l2 = regularizer_l2,
  L1L2 = regularizer_l1_l2, l1l2 = regularizer_l1_l2,
  # The documented Keras shortcut `l1_l2` has 0.01 for both factors.
  l1_l2 = function(l1 = 0.01, l2 = 0.01) regularizer_l1_l2(l1, l2),
  OrthogonalRegularizer = regularizer_orthogonal,
  orthogonal_regularizer = regularizer_orthogonal
)

#' Resolve a regularizer specification
#'
#' Turns a `*_regularizer` argument into a regularizer object: `NULL` (no
#' regularization), a regularizer object, a Keras name (`"l1"`, `"l2"`,
#' `"l1_l2"`, `"L1L2"`, ...), a configuration `list(class_name = , config = )`,
#' or an R function `function(x)` returning the penalty. A function's gradient
#' is computed by central finite differences, one pair of calls per element, so
#' it suits small weights only.
#'
#' @param x The specification.
#' @param arg The argument name used in error messages.
#' @returns A regularizer object (class `rgru_regularizer`), or `NULL`.
#' @family regularizers
#' @export
#' @examples
#' resolve_regularizer("l2")
#' reg <- resolve_regularizer(function(x) 0.5 * sum(x^4))
#' reg$gradient(c(1, 2))
resolve_regularizer <- function(x, arg = argument_label(substitute(x))) {
  resolve_keras_object(x, "rgru_regularizer", regularizer_registry, "regularizer",
                       from_function = regularizer_from_function, arg = arg)
}

regularizer_from_function <- function(fn, arg = "regularizer") {
  penalty <- function(x) {
    value <- call_user_function(fn, list(x), arg, "regularizer",
                                returns = function(v) is.numeric(v) && length(v) == 1L,
                                expected = "a single number")
    as.numeric(value)
  }
  gradient <- function(x) {
    x <- check_numeric_array(x, "x")
    out <- x
    for (i in seq_along(x)) {
      h <- .Machine$double.eps^(1 / 3) * max(1, abs(x[[i]]))
      up <- x
      up[[i]] <- x[[i]] + h
      down <- x
      down[[i]] <- x[[i]] - h
      out[[i]] <- (penalty(up) - penalty(down)) / (2 * h)
    }
    out
  }
  new_regularizer(NULL, list(), penalty, gradient, name = NULL)
}
