# Activation functions: Keras's built-ins with their exact formulas
# (keras/src/activations/activations.py and the backends' nn.py), each paired
# with its derivative for backpropagation, and resolve_activation(), which
# turns a layer's `activation` argument into list(name, fn, grad, vjp).

# numpy's where(): a comparison with NaN is FALSE, so NaN inputs take the
# "else" branch and propagate as they do in Keras, instead of becoming NA.
where <- function(cond, yes, no) {
  cond[is.na(cond)] <- FALSE
  ifelse(cond, yes, no)
}

sigmoid_fn <- function(x) 1 / (1 + exp(-x))

softplus_fn <- function(x) pmax(x, 0) + log1p(exp(-abs(x)))

# Keras's ReLU.static_call with all its options.
relu_fn <- function(x, negative_slope = 0, max_value = NULL, threshold = 0) {
  if (negative_slope != 0 && is.null(max_value) && threshold == 0) {
    return(leaky_relu_fn(x, negative_slope))
  }
  negative_part <- if (negative_slope != 0) pmax(threshold - x, 0) else 0
  clip_max <- !is.null(max_value)
  y <- if (threshold != 0) where(x > threshold, x, 0) else pmax(x, 0)
  if (clip_max) y <- pmin(pmax(y, 0), max_value)
  y - negative_slope * negative_part
}

leaky_relu_fn <- function(x, negative_slope = 0.2) {
  where(negative_slope * x > x, negative_slope * x, x)
}

elu_fn <- function(x, alpha = 1) where(x >= 0, x, alpha * expm1(x))

selu_alpha <- 1.6732632423543772848170429916717
selu_scale <- 1.0507009873554804934193349852946

gelu_fn <- function(x, approximate = FALSE) {
  if (approximate) {
    return(x * 0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))))
  }
  x * stats::pnorm(x)
}

gelu_grad <- function(x, approximate = FALSE) {
  if (approximate) {
    inner <- sqrt(2 / pi) * (x + 0.044715 * x^3)
    t <- tanh(inner)
    return(0.5 * (1 + t) + 0.5 * x * (1 - t^2) * sqrt(2 / pi) * (1 + 3 * 0.044715 * x^2))
  }
  stats::pnorm(x) + x * stats::dnorm(x)
}

celu_fn <- function(x, alpha = 1) pmax(x, 0) + alpha * expm1(pmin(x, 0) / alpha)

hard_sigmoid_fn <- function(x) {
  y <- x / 6 + 0.5
  where(y <= 0, 0, where(y >= 1, 1, y))
}

soft_shrink_fn <- function(x, threshold = 0.5) {
  where(x > threshold, x - threshold, where(x < -threshold, x + threshold, 0))
}

hard_shrink_fn <- function(x, threshold = 0.5) where(abs(x) > threshold, x, 0)

squareplus_fn <- function(x, b = 4) (x + sqrt(x^2 + b)) / 2

mish_fn <- function(x) x * tanh(softplus_fn(x))

# ---------------------------------------------------------------------------
# Functions along an axis (softmax, log_softmax, sparsemax, glu). The axis is
# 1-based as in R; negative values count from the end (-1, the default, is the
# last axis, Keras's features axis).

resolve_axis <- function(axis, rank) {
  axis <- check_integer(axis, arg = "axis")
  if (axis == 0L || abs(axis) > rank) {
    abort_argument("axis", axis, sprintf(
      "between 1 and %d (or -%d and -1 from the end) for an input with %d ax%s",
      rank, rank, rank, if (rank == 1L) "is" else "es"))
  }
  if (axis < 0L) rank + axis + 1L else axis
}

# The values of `x` as a matrix whose rows are the vectors along `axis`, and
# a function putting such a matrix (possibly with another number of columns)
# back into x's layout.
rows_along <- function(x, axis) {
  dims <- dim(x) %||% length(x)
  rank <- length(dims)
  axis <- resolve_axis(axis, rank)
  perm <- c(setdiff(seq_len(rank), axis), axis)
  moved <- aperm(array(x, dims), perm)
  restore <- function(m) {
    new_dims <- dims
    new_dims[[axis]] <- ncol(m)
    out <- aperm(array(m, new_dims[perm]), order(perm))
    if (is.null(dim(x))) as.vector(out) else out
  }
  list(m = matrix(moved, ncol = dims[[axis]]), restore = restore)
}

row_max <- function(m) {
  if (ncol(m) == 0L) return(rep(-Inf, nrow(m)))
  # max.col() is vectorised C; "first" breaks ties exactly (no tolerance).
  m[cbind(seq_len(nrow(m)), max.col(m, ties.method = "first"))]
}

softmax_fn <- function(x, axis = -1L) {
  r <- rows_along(x, axis)
  e <- exp(r$m - row_max(r$m))
  r$restore(e / rowSums(e))
}

log_softmax_fn <- function(x, axis = -1L) {
  r <- rows_along(x, axis)
  shifted <- r$m - row_max(r$m)
  r$restore(shifted - log(rowSums(exp(shifted))))
}

# The published sparsemax (Martins & Astudillo, 2016): tau = (sum of the k
# largest values - 1) / k. Keras 3's backends instead subtract 1 from the sum
# of the first k cumulative sums, which agrees only when k = 1 (the only case
# Keras's tests cover) and otherwise does not even sum to 1; we follow the
# definition Keras documents.
sparsemax_fn <- function(x, axis = -1L) {
  r <- rows_along(x, axis)
  m <- r$m
  k <- ncol(m)
  tau <- vapply(seq_len(nrow(m)), function(i) {
    sorted <- sort(m[i, ], decreasing = TRUE)
    cumulative <- cumsum(sorted)
    # The largest value is always in the support; rounding (huge values) or
    # infinities may say otherwise.
    support_size <- max(1L, sum(sorted - (cumulative - 1) / seq_len(k) > 0, na.rm = TRUE))
    (cumulative[[support_size]] - 1) / support_size
  }, 0)
  r$restore(pmax(m - tau, 0))
}

glu_fn <- function(x, axis = -1L) {
  r <- rows_along(x, axis)
  halves <- glu_halves(r$m)
  r$restore(halves$a * sigmoid_fn(halves$b))
}

glu_halves <- function(m) {
  k <- ncol(m)
  if (k %% 2L != 0L) {
    rgru_abort(c("{.arg x} must have an even size along {.arg axis} for the glu activation.",
                 "x" = "Got size {k}."),
               class = "shape")
  }
  half <- seq_len(k / 2L)
  list(a = m[, half, drop = FALSE], b = m[, k / 2L + half, drop = FALSE])
}

# Vector-Jacobian products (d input from d output) for the axis functions.
softmax_vjp <- function(x, y, dy) {
  ry <- rows_along(y, -1L)
  rdy <- rows_along(dy, -1L)
  ry$restore(ry$m * (rdy$m - rowSums(rdy$m * ry$m)))
}

log_softmax_vjp <- function(x, y, dy) {
  ry <- rows_along(y, -1L)
  rdy <- rows_along(dy, -1L)
  ry$restore(rdy$m - exp(ry$m) * rowSums(rdy$m))
}

sparsemax_vjp <- function(x, y, dy) {
  ry <- rows_along(y, -1L)
  rdy <- rows_along(dy, -1L)
  support <- ry$m > 0
  centred <- rdy$m - rowSums(rdy$m * support) / pmax(rowSums(support), 1)
  ry$restore(centred * support)
}

glu_vjp <- function(x, y, dy) {
  rx <- rows_along(x, -1L)
  rdy <- rows_along(dy, -1L)
  halves <- glu_halves(rx$m)
  s <- sigmoid_fn(halves$b)
  rx$restore(cbind(rdy$m * s, rdy$m * halves$a * s * (1 - s)))
}

# ---------------------------------------------------------------------------
# The built-ins by Keras name (keras.src.activations.ALL_OBJECTS_DICT), each
# with `fn(x)` and, for elementwise ones, `grad(x, y)` = f'(x) given y = f(x).
# At kinks the derivative takes the value PyTorch's autograd uses.

elementwise <- function(fn, grad) list(fn = fn, grad = grad, elementwise = TRUE)
along_axis <- function(fn, vjp) list(fn = fn, grad = NULL, vjp = vjp, elementwise = FALSE)

activation_registry <- list(
  linear = elementwise(function(x) x, function(x, y) 1 + 0 * x),
  relu = elementwise(function(x) pmax(x, 0), function(x, y) (x > 0) + 0),
  relu6 = elementwise(function(x) pmin(pmax(x, 0), 6),
                      function(x, y) (x > 0 & x < 6) + 0),
  leaky_relu = elementwise(leaky_relu_fn, function(x, y) 0.2 + 0.8 * (x > 0)),
  elu = elementwise(elu_fn, function(x, y) where(x >= 0, 1, y + 1)),
  selu = elementwise(function(x) selu_scale * elu_fn(x, selu_alpha),
                     function(x, y) where(x >= 0, selu_scale, y + selu_scale * selu_alpha)),
  celu = elementwise(celu_fn, function(x, y) where(x > 0, 1, exp(pmin(x, 0)))),
  softplus = elementwise(softplus_fn, function(x, y) sigmoid_fn(x)),
  softsign = elementwise(function(x) x / (1 + abs(x)), function(x, y) 1 / (1 + abs(x))^2),
  squareplus = elementwise(squareplus_fn, function(x, y) (1 + x / sqrt(x^2 + 4)) / 2),
  soft_shrink = elementwise(soft_shrink_fn, function(x, y) (abs(x) > 0.5) + 0),
  sparse_plus = elementwise(
    function(x) where(x <= -1, 0, where(x < 1, (x + 1)^2 / 4, x)),
    function(x, y) where(x <= -1, 0, where(x < 1, (x + 1) / 2, 1))),
  silu = elementwise(function(x) x * sigmoid_fn(x), function(x, y) {
    s <- sigmoid_fn(x)
    s * (1 + x * (1 - s))
  }),
  gelu = elementwise(gelu_fn, function(x, y) gelu_grad(x)),
  tanh = elementwise(tanh, function(x, y) 1 - y^2),
  tanh_shrink = elementwise(function(x) x - tanh(x), function(x, y) tanh(x)^2),
  hard_tanh = elementwise(function(x) pmin(pmax(x, -1), 1),
                          function(x, y) (x > -1 & x < 1) + 0),
  hard_shrink = elementwise(hard_shrink_fn, function(x, y) (abs(x) > 0.5) + 0),
  sigmoid = elementwise(sigmoid_fn, function(x, y) y * (1 - y)),
  sparse_sigmoid = elementwise(
    function(x) where(x <= -1, 0, where(x >= 1, 1, 0.5 * (x + 1))),
    function(x, y) 0.5 * (x > -1 & x < 1)),
  exponential = elementwise(exp, function(x, y) y),
  hard_sigmoid = elementwise(hard_sigmoid_fn, function(x, y) (x > -3 & x < 3) / 6),
  hard_silu = elementwise(function(x) x * hard_sigmoid_fn(x),
                          function(x, y) where(x <= -3, 0, where(x >= 3, 1, (2 * x + 3) / 6))),
  mish = elementwise(mish_fn, function(x, y) {
    t <- tanh(softplus_fn(x))
    t + x * (1 - t^2) * sigmoid_fn(x)
  }),
  log_sigmoid = elementwise(function(x) -softplus_fn(-x), function(x, y) sigmoid_fn(-x)),
  softmax = along_axis(softmax_fn, softmax_vjp),
  log_softmax = along_axis(log_softmax_fn, log_softmax_vjp),
  sparsemax = along_axis(sparsemax_fn, sparsemax_vjp),
  glu = along_axis(glu_fn, glu_vjp)
)

activation_aliases <- list(swish = "silu", hard_swish = "hard_silu")

#' Resolve an activation specification
#'
#' Turns a layer's `activation` argument into the functions the package
#' computes with. Accepted: `NULL` (`"linear"`), any Keras activation name
#' (`"tanh"`, `"sigmoid"`, `"relu"`, `"gelu"`, `"swish"`, ... with Keras's
#' default parameters), one of the `activation_*()` functions (treated as its
#' name), or any other R function of one argument, applied elementwise.
#'
#' For a built-in, `grad(x, y)` is the exact derivative `f'(x)` given `y =
#' f(x)`. For another R function, `grad` is a five-point central finite
#' difference (relative accuracy about `1e-12` for smooth functions), which
#' assumes the function is elementwise. `vjp(x, y, dy)` always gives the gradient with respect to `x`
#' of `sum(dy * f(x))`; for the functions along an axis (`softmax`,
#' `log_softmax`, `sparsemax`, `glu`, applied along the last axis) `grad` is
#' `NULL` and `vjp` is exact.
#'
#' `NaN` inputs give `NaN` outputs, as in Keras (comparisons follow numpy:
#' a piecewise function takes its "otherwise" branch for `NaN`).
#'
#' @param x `NULL`, a string, an `activation_*()` function or an R function.
#' @param arg The argument name used in error messages.
#' @returns A list of class `rgru_activation` with `name` (the Keras name, or
#'   `NULL` for an R function), `fn`, `grad`, `vjp` and `elementwise`.
#' @family activations
#' @export
#' @examples
#' act <- resolve_activation("tanh")
#' act$fn(c(-1, 0, 1))
#' act$grad(0.5, tanh(0.5))
#' resolve_activation(activation_relu)$name
#' resolve_activation(function(x) x^3)$grad(2, 8)
resolve_activation <- function(x, arg = argument_label(substitute(x))) {
  if (inherits(x, "rgru_activation")) return(x)
  if (is.null(x)) return(builtin_activation("linear"))
  if (is.character(x) && length(x) == 1L && !is.na(x)) {
    if (identical(x, "threshold")) {
      rgru_abort(
        c("The {.val threshold} activation has no defaults for its {.arg threshold} and {.arg default_value}.",
          "i" = "Pass a function instead, e.g. {.code function(x) activation_threshold(x, 0.5, 0)}."),
        class = "unknown_name"
      )
    }
    name <- activation_aliases[[x]] %||% x
    if (is.null(activation_registry[[name]])) {
      lookup_by_name(x, c(activation_registry, activation_aliases),
                     "activation", arg)
    }
    return(builtin_activation(name))
  }
  if (is.function(x)) {
    name <- builtin_name_of_function(x)
    if (!is.null(name)) return(builtin_activation(name))
    return(function_activation(x, arg))
  }
  abort_argument(arg, x, "an activation name, `NULL` or a function")
}

builtin_activation <- function(name) {
  entry <- activation_registry[[name]]
  grad <- entry$grad
  vjp <- entry$vjp %||% function(x, y, dy) dy * grad(x, y)
  structure(list(name = name, fn = entry$fn, grad = grad, vjp = vjp,
                 elementwise = entry$elementwise),
            class = "rgru_activation")
}

function_activation <- function(user_fn, arg = "activation") {
  fn <- function(x) {
    y <- call_user_function(
      user_fn, list(x), arg, "activation",
      returns = function(y) (is.numeric(y) || is.logical(y)) && length(y) == length(x),
      expected = sprintf("one number per input value (%d)", length(x))
    )
    if (is.null(dim(y)) && !is.null(dim(x))) dim(y) <- dim(x)
    y
  }
  grad <- function(x, y) {
    # Five-point central differences (error O(h^4)) with a step near the
    # optimum for doubles: about 1e-12 relative error for smooth functions.
    h <- .Machine$double.eps^(1 / 5) * pmax(1, abs(x))
    (8 * (fn(x + h) - fn(x - h)) - (fn(x + 2 * h) - fn(x - 2 * h))) / (12 * h)
  }
  structure(list(name = NULL, fn = fn, grad = grad,
                 vjp = function(x, y, dy) dy * grad(x, y), elementwise = TRUE),
            class = "rgru_activation")
}

# The exported activation_*() functions (and base R's tanh and exp) stand for
# their Keras names, so that e.g. `activation = activation_relu` runs the
# built-in code path.
builtin_name_of_function <- function(fn) {
  for (name in names(activation_functions)) {
    if (identical(fn, activation_functions[[name]], ignore.environment = FALSE)) {
      return(activation_aliases[[name]] %||% name)
    }
  }
  if (identical(fn, base::tanh)) return("tanh")
  if (identical(fn, base::exp)) return("exponential")
  NULL
}

#' @export
print.rgru_activation <- function(x, ...) {
  cat("<activation> ", x$name %||% "<R function>", "\n", sep = "")
  invisible(x)
}

# ---------------------------------------------------------------------------
#' Activation functions
#'
#' Keras's activation functions, computed in R with Keras's formulas. They
#' take and return numeric arrays (dimensions kept) and can be given to layers
#' as `activation = activation_relu` or by name (`activation = "relu"`).
#'
#' * `relu`: `max(x, 0)`; with `negative_slope`, `max_value` and `threshold`
#'   as Keras's `relu`. `relu6`: `min(max(x, 0), 6)`.
#'   `leaky_relu`: `x` for `x >= 0`, `negative_slope * x` otherwise.
#' * `elu`: `x` for `x >= 0`, `alpha * (exp(x) - 1)` otherwise; `selu`: `scale
#'   * elu(x, alpha)` with `alpha = 1.67326324...`, `scale = 1.05070098...`;
#'   `celu`: `max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)`.
#' * `sigmoid`: `1 / (1 + exp(-x))`; `hard_sigmoid`: `relu6(x + 3) / 6`, i.e.
#'   `x / 6 + 0.5` clipped to `[0, 1]`; `sparse_sigmoid`: `(x + 1) / 2` clipped
#'   to `[0, 1]`; `log_sigmoid`: `-softplus(-x)`.
#' * `silu` (`swish`): `x * sigmoid(x)`; `hard_silu` (`hard_swish`): `x *
#'   hard_sigmoid(x)`; `gelu`: `x * P(X <= x)` for standard normal `X` (with
#'   `approximate = TRUE`, the tanh approximation); `mish`: `x *
#'   tanh(softplus(x))`.
#' * `softplus`: `log(exp(x) + 1)`; `softsign`: `x / (abs(x) + 1)`;
#'   `squareplus`: `(x + sqrt(x^2 + b)) / 2`; `sparse_plus`: `0`, `(x + 1)^2 /
#'   4`, `x` for `x <= -1`, `-1 < x < 1`, `x >= 1`.
#' * `tanh`; `tanh_shrink`: `x - tanh(x)`; `hard_tanh`: `x` clipped to `[-1, 1]`;
#'   `soft_shrink`: `x` moved towards 0 by `threshold`, 0 within it;
#'   `hard_shrink`: `x` where `abs(x) > threshold`, else 0; `threshold`: `x`
#'   where `x > threshold`, else `default_value`.
#' * `exponential`: `exp(x)`; `linear`: `x`.
#' * Along an axis (default the last): `softmax`, `log_softmax`, `sparsemax`,
#'   and `glu` (`a * sigmoid(b)` for the two halves `a`, `b` of `x`).
#'
#' @param x A numeric vector or array.
#' @param negative_slope Slope for values below the threshold.
#' @param max_value Largest value returned (`NULL` for no limit).
#' @param threshold Threshold value (see each function).
#' @param alpha The ELU / CELU scale for negative inputs.
#' @param approximate Whether to use the tanh approximation of GELU.
#' @param axis Axis (1-based; negative counts from the end) along which the
#'   function is applied.
#' @param b Smoothness parameter of squareplus.
#' @param default_value Value for inputs at or below `threshold`.
#' @returns An array like `x` (for `glu`, half as long along `axis`).
#' @family activations
#' @name activations
#' @examples
#' x <- c(-3, -1, 0, 1, 3)
#' activation_relu(x)
#' activation_relu(x, negative_slope = 0.1, max_value = 2)
#' activation_hard_sigmoid(x)
#' activation_gelu(x)
#' activation_softmax(matrix(1:6, 2))
NULL

#' @rdname activations
#' @export
activation_relu <- function(x, negative_slope = 0, max_value = NULL, threshold = 0) {
  x <- check_numeric_array(x)
  negative_slope <- check_number(negative_slope)
  max_value <- check_number(max_value, allow_null = TRUE)
  threshold <- check_number(threshold)
  relu_fn(x, negative_slope, max_value, threshold)
}

#' @rdname activations
#' @export
activation_relu6 <- function(x) activation_registry$relu6$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_leaky_relu <- function(x, negative_slope = 0.2) {
  x <- check_numeric_array(x)
  negative_slope <- check_number(negative_slope)
  leaky_relu_fn(x, negative_slope)
}

#' @rdname activations
#' @export
activation_elu <- function(x, alpha = 1) {
  x <- check_numeric_array(x)
  alpha <- check_number(alpha)
  elu_fn(x, alpha)
}

#' @rdname activations
#' @export
activation_selu <- function(x) activation_registry$selu$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_celu <- function(x, alpha = 1) {
  x <- check_numeric_array(x)
  alpha <- check_number(alpha, min = 0, min_inclusive = FALSE)
  celu_fn(x, alpha)
}

#' @rdname activations
#' @export
activation_sigmoid <- function(x) sigmoid_fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_hard_sigmoid <- function(x) hard_sigmoid_fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_sparse_sigmoid <- function(x) {
  activation_registry$sparse_sigmoid$fn(check_numeric_array(x))
}

#' @rdname activations
#' @export
activation_log_sigmoid <- function(x) activation_registry$log_sigmoid$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_silu <- function(x) activation_registry$silu$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_swish <- function(x) activation_registry$silu$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_hard_silu <- function(x) activation_registry$hard_silu$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_hard_swish <- function(x) activation_registry$hard_silu$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_gelu <- function(x, approximate = FALSE) {
  x <- check_numeric_array(x)
  approximate <- check_bool(approximate)
  gelu_fn(x, approximate)
}

#' @rdname activations
#' @export
activation_mish <- function(x) mish_fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_softplus <- function(x) softplus_fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_softsign <- function(x) activation_registry$softsign$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_squareplus <- function(x, b = 4) {
  x <- check_numeric_array(x)
  b <- check_number(b, min = 0)
  squareplus_fn(x, b)
}

#' @rdname activations
#' @export
activation_sparse_plus <- function(x) activation_registry$sparse_plus$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_tanh <- function(x) tanh(check_numeric_array(x))

#' @rdname activations
#' @export
activation_tanh_shrink <- function(x) activation_registry$tanh_shrink$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_hard_tanh <- function(x) activation_registry$hard_tanh$fn(check_numeric_array(x))

#' @rdname activations
#' @export
activation_soft_shrink <- function(x, threshold = 0.5) {
  x <- check_numeric_array(x)
  threshold <- check_number(threshold, min = 0)
  soft_shrink_fn(x, threshold)
}

#' @rdname activations
#' @export
activation_hard_shrink <- function(x, threshold = 0.5) {
  x <- check_numeric_array(x)
  threshold <- check_number(threshold, min = 0)
  hard_shrink_fn(x, threshold)
}

#' @rdname activations
#' @export
activation_threshold <- function(x, threshold, default_value) {
  if (missing(threshold)) threshold <- NULL
  if (missing(default_value)) default_value <- NULL
  x <- check_numeric_array(x)
  threshold <- check_number(threshold)
  default_value <- check_number(default_value)
  where(x > threshold, x, default_value)
}

#' @rdname activations
#' @export
activation_exponential <- function(x) exp(check_numeric_array(x))

#' @rdname activations
#' @export
activation_linear <- function(x) check_numeric_array(x)

#' @rdname activations
#' @export
activation_softmax <- function(x, axis = -1L) softmax_fn(check_numeric_array(x), axis)

#' @rdname activations
#' @export
activation_log_softmax <- function(x, axis = -1L) log_softmax_fn(check_numeric_array(x), axis)

#' @rdname activations
#' @export
activation_sparsemax <- function(x, axis = -1L) sparsemax_fn(check_numeric_array(x), axis)

#' @rdname activations
#' @export
activation_glu <- function(x, axis = -1L) glu_fn(check_numeric_array(x), axis)

# Exported functions that stand for a built-in name when given as `activation`
# (only those whose defaults are Keras's defaults for that name).
activation_functions <- list(
  relu = activation_relu, relu6 = activation_relu6, leaky_relu = activation_leaky_relu,
  elu = activation_elu, selu = activation_selu, celu = activation_celu,
  sigmoid = activation_sigmoid, hard_sigmoid = activation_hard_sigmoid,
  sparse_sigmoid = activation_sparse_sigmoid, log_sigmoid = activation_log_sigmoid,
  silu = activation_silu, swish = activation_swish, hard_silu = activation_hard_silu,
  hard_swish = activation_hard_swish, gelu = activation_gelu, mish = activation_mish,
  softplus = activation_softplus, softsign = activation_softsign,
  squareplus = activation_squareplus, sparse_plus = activation_sparse_plus,
  tanh = activation_tanh, tanh_shrink = activation_tanh_shrink,
  hard_tanh = activation_hard_tanh, soft_shrink = activation_soft_shrink,
  hard_shrink = activation_hard_shrink, exponential = activation_exponential,
  linear = activation_linear, softmax = activation_softmax,
  log_softmax = activation_log_softmax, sparsemax = activation_sparsemax,
  glu = activation_glu
)
