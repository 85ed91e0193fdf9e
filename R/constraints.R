#' Weight constraints
#'
#' A constraint projects a weight back into an allowed set after each
#' training update, exactly as Keras defines it. Norms are Euclidean norms
#' over `axis` (kept for broadcasting), and `epsilon = 1e-7` (Keras's
#' `backend.epsilon()`) guards the division:
#'
#' * `constraint_maxnorm()`: `w * clip(norm, 0, max_value) / (epsilon + norm)`.
#' * `constraint_nonneg()`: `max(w, 0)`.
#' * `constraint_unitnorm()`: `w / (epsilon + norm)`.
#' * `constraint_minmaxnorm()`: `w * desired / (epsilon + norm)` with
#'   `desired = rate * clip(norm, min_value, max_value) + (1 - rate) * norm`.
#'
#' `axis` is 1-based as everywhere in R (keras3 converts it to Python's
#' 0-based axis): the default `axis = 1` takes norms over the first axis, i.e.
#' over the incoming weights of each unit of a `(input_dim, units)` kernel.
#' Negative values count from the end; several axes may be given.
#'
#' A constraint is called like a function, `con(w)`, or as `con$apply(w)`;
#' both return an array like `w`. `con$get_config()` gives its arguments
#' (with Keras's 0-based axis, as Keras stores it). Layers also accept an R
#' function `function(w)` (turned into a constraint by [resolve_constraint()])
#' and Keras's names (`"max_norm"`, `"non_neg"`, `"unit_norm"`,
#' `"min_max_norm"`, or the class names).
#'
#' @param max_value Maximum norm.
#' @param min_value Minimum norm.
#' @param rate Rate of enforcement in `[0, 1]`: 1 projects onto the interval,
#'   smaller values move the norm part of the way.
#' @param axis Axis or axes (1-based; negative from the end) over which norms
#'   are computed.
#' @returns A constraint object (class `rgru_constraint`).
#' @family constraints
#' @name constraints
#' @examples
#' w <- matrix(c(3, 4, 0.3, 0.4), 2)
#' constraint_maxnorm(max_value = 1)(w)
#' constraint_unitnorm()$apply(w)
#' constraint_nonneg()(c(-1, 2))
#' constraint_minmaxnorm(min_value = 1, max_value = 2, rate = 0.5)(w)
NULL

#' @rdname constraints
#' @export
constraint_maxnorm <- function(max_value = 2, axis = 1) {
  max_value <- check_number(max_value, min = 0)
  axis <- check_axes(axis)
  new_constraint("MaxNorm", list(max_value = max_value, axis = axis),
                 function(w) {
                   norms <- axis_norms(w, axis)
                   rescale(w, norms, pmin(pmax(norms$values, 0), max_value))
                 })
}

#' @rdname constraints
#' @export
constraint_nonneg <- function() {
  new_constraint("NonNeg", list(), function(w) pmax(w, 0))
}

#' @rdname constraints
#' @export
constraint_unitnorm <- function(axis = 1) {
  axis <- check_axes(axis)
  new_constraint("UnitNorm", list(axis = axis), function(w) {
    norms <- axis_norms(w, axis)
    rescale(w, norms, 1)
  })
}

#' @rdname constraints
#' @export
constraint_minmaxnorm <- function(min_value = 0, max_value = 1, rate = 1, axis = 1) {
  min_value <- check_number(min_value, min = 0)
  max_value <- check_number(max_value, min = 0)
  if (max_value < min_value) {
    abort_argument("max_value", max_value, sprintf("at least `min_value` (%s)", format(min_value)))
  }
  rate <- check_probability(rate, include_one = TRUE)
  axis <- check_axes(axis)
  new_constraint("MinMaxNorm",
                 list(min_value = min_value, max_value = max_value, rate = rate,
                      axis = axis),
                 function(w) {
                   norms <- axis_norms(w, axis)
                   clipped <- pmin(pmax(norms$values, min_value), max_value)
                   rescale(w, norms, rate * clipped + (1 - rate) * norms$values)
                 })
}

# Euclidean norms of `w` over `axis` with the reduced axes kept as size 1, and
# the margins (the kept axes) for broadcasting them back.
axis_norms <- function(w, axis) {
  dims <- dim(w) %||% length(w)
  rank <- length(dims)
  if (any(abs(axis) > rank)) {
    shown <- format(shape(dims))
    rgru_abort(
      c("The constraint's {.arg axis} ({axis}) does not exist in a weight of shape {shown}.",
        "i" = "Axes are 1-based and must be between -{rank} and {rank}."),
      class = "shape"
    )
  }
  reduced <- ifelse(axis < 0L, rank + axis + 1L, axis)
  kept <- setdiff(seq_len(rank), reduced)
  squares <- array(w^2, dims)
  values <- if (length(kept) == 0L) sqrt(sum(squares)) else
    sqrt(apply(squares, kept, sum))
  list(values = values, kept = kept, dims = dims)
}

# w * desired / (epsilon + norm), broadcasting the per-slice factors.
rescale <- function(w, norms, desired) {
  factor <- desired / (keras_epsilon + norms$values)
  if (length(norms$kept) == 0L) return(w * factor)
  out <- sweep(array(w, norms$dims), norms$kept, array(factor, norms$dims[norms$kept]),
               `*`, check.margin = FALSE)
  if (is.null(dim(w))) as.vector(out) else out
}

# Keras stores axes 0-based; get_config() reports them that way, as keras3
# passes them to Keras.
python_axes <- function(axis) {
  out <- ifelse(axis > 0L, axis - 1L, axis)
  if (length(out) == 1L) out else as.list(out)
}

new_constraint <- function(class_name, config, project,
                           name = keras_snake_case(class_name)) {
  apply_constraint <- function(w) {
    w <- check_numeric_array(w, "w")
    out <- project(w)
    storage.mode(out) <- "double"
    attributes(out) <- attributes(w)
    out
  }
  keras_config <- config
  if (!is.null(keras_config$axis)) keras_config$axis <- python_axes(keras_config$axis)
  fields <- list(apply = apply_constraint, get_config = function() keras_config,
                 arguments = config, class_name = class_name, name = name)
  new_callable(function(w) apply_constraint(w), fields, class = "rgru_constraint")
}

#' @export
print.rgru_constraint <- function(x, ...) {
  # The R arguments (1-based axes), not Keras's 0-based config.
  cat("<constraint> ", format_config_call(x$class_name %||% "<R function>",
                                          x$arguments), "\n", sep = "")
  invisible(x)
}

# Keras's configs carry 0-based axes; constructors take 1-based ones.
from_keras_axes <- function(constructor) {
  function(...) {
    args <- list(...)
    if (!is.null(args$axis)) {
      axis <- unlist(args$axis)
      args$axis <- ifelse(axis >= 0, axis + 1, axis)
    }
    do.call(constructor, args)
  }
}

constraint_registry <- list(
  MaxNorm = constraint_maxnorm, max_norm = constraint_maxnorm,
  NonNeg = constraint_nonneg, non_neg = constraint_nonneg,
  UnitNorm = constraint_unitnorm, unit_norm = constraint_unitnorm,
  MinMaxNorm = constraint_minmaxnorm, min_max_norm = constraint_minmaxnorm
)

#' Resolve a constraint specification
#'
#' Turns a `*_constraint` argument into a constraint object: `NULL` (none), a
#' constraint object, a Keras name (`"max_norm"`, `"NonNeg"`, ...), a
#' configuration `list(class_name = , config = )` as produced by
#' [serialize_keras_object()] (with Keras's 0-based axes), or an R function
#' `function(w)` returning the projected weight (as keras3 wraps a bare R
#' function into a constraint).
#'
#' @param x The specification.
#' @param arg The argument name used in error messages.
#' @returns A constraint object (class `rgru_constraint`), or `NULL`.
#' @family constraints
#' @export
#' @examples
#' clip_weights <- resolve_constraint(function(w) pmin(pmax(w, -1), 1))
#' clip_weights(c(-3, 0.5, 2))
#' resolve_constraint("non_neg")
resolve_constraint <- function(x, arg = argument_label(substitute(x))) {
  resolve_keras_object(x, "rgru_constraint", constraint_registry, "constraint",
                       from_function = constraint_from_function,
                       from_config = from_keras_axes, arg = arg)
}

constraint_from_function <- function(fn, arg = "constraint") {
  new_constraint(NULL, list(), function(w) {
    call_user_function(
      fn, list(w), arg, "constraint",
      returns = function(out) (is.numeric(out) || is.logical(out)) && length(out) == length(w),
      expected = sprintf("an array like its input (%d value%s)", length(w),
                         if (length(w) == 1) "" else "s")
    )
  }, name = NULL)
}
