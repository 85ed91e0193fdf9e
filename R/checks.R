# Argument checks: each check_*() validates one argument at the R boundary.
#
# On failure it signals an `rgru_error` (family "argument" unless said
# otherwise) in the one wording of abort_argument(): "`arg` must be
# <expected>, not <given>."; the call shown is the user's (error_call()). On
# success it returns the (possibly coerced) value invisibly, so callers write
# `units <- check_positive_integer(units)`. `arg` defaults to the expression
# the caller passed, so `check_bool(use_bias)` names `use_bias`.

is_scalar_number <- function(x) {
  is.numeric(x) && length(x) == 1L && is.null(dim(x)) && !is.na(x) &&
    !is.object(x)
}

# Scalars -------------------------------------------------------------------

check_bool <- function(x, arg = deparse(substitute(x)), allow_null = FALSE,
                       call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  if (!(is.logical(x) && length(x) == 1L && !is.na(x))) {
    abort_argument(arg, x, "`TRUE` or `FALSE`", call = call)
  }
  invisible(unname(as.vector(x)))
}

check_flag <- function(x, arg = deparse(substitute(x)), call = error_call()) {
  check_bool(x, arg = arg, call = call)
}

# A finite number, optionally bounded. `min_inclusive`/`max_inclusive` choose
# between closed and open ends, so one helper covers [0, 1), (0, Inf) etc.
check_number <- function(x, arg = deparse(substitute(x)), min = -Inf, max = Inf,
                         min_inclusive = TRUE, max_inclusive = TRUE,
                         allow_null = FALSE, call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  lower_ok <- function(v) if (min_inclusive) v >= min else v > min
  upper_ok <- function(v) if (max_inclusive) v <= max else v < max
  ok <- is_scalar_number(x) && is.finite(x) && lower_ok(x) && upper_ok(x)
  if (!ok) {
    abort_argument(arg, x, describe_range("a finite number", min, max,
                                          min_inclusive, max_inclusive),
                   call = call)
  }
  invisible(as.numeric(x))
}

describe_range <- function(what, min, max, min_inclusive, max_inclusive) {
  if (is.infinite(min) && is.infinite(max)) return(what)
  if (is.infinite(max)) {
    return(sprintf("%s %s %s", what, if (min_inclusive) ">=" else ">", format(min)))
  }
  if (is.infinite(min)) {
    return(sprintf("%s %s %s", what, if (max_inclusive) "<=" else "<", format(max)))
  }
  sprintf("%s in %s%s, %s%s", what, if (min_inclusive) "[" else "(", format(min),
          format(max), if (max_inclusive) "]" else ")")
}

# A number >= 0 (`allow_zero`) or > 0.
check_positive_number <- function(x, arg = deparse(substitute(x)), allow_zero = FALSE,
                                  call = error_call()) {
  check_number(x, arg = arg, min = 0, min_inclusive = allow_zero, call = call)
}

# A rate in [0, 1) by default (Keras's dropout rates); `include_one = TRUE`
# gives the closed interval [0, 1].
check_probability <- function(x, arg = deparse(substitute(x)),
                              include_one = FALSE, allow_null = FALSE,
                              call = error_call()) {
  check_number(x, arg = arg, min = 0, max = 1, max_inclusive = include_one,
               allow_null = allow_null, call = call)
}

# Whole numbers given as doubles (`4`) are accepted like `4L`, as keras3 does
# with `as_integer()`; fractional values, `NA` and values outside R's integer
# range (so never an NA from as.integer()) are not.
check_integer <- function(x, arg = deparse(substitute(x)), min = -Inf,
                          max = .Machine$integer.max, allow_null = FALSE,
                          call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  ok <- is_scalar_number(x) && is.finite(x) && x == trunc(x) &&
    x >= min && x <= max && abs(x) <= .Machine$integer.max
  if (!ok) {
    abort_argument(arg, x, describe_range("a whole number", min, max, TRUE, TRUE),
                   call = call)
  }
  invisible(as.integer(x))
}

check_positive_integer <- function(x, arg = deparse(substitute(x)),
                                   allow_null = FALSE, call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  ok <- is_scalar_number(x) && is.finite(x) && x == trunc(x) && x >= 1 &&
    x <= .Machine$integer.max
  if (!ok) abort_argument(arg, x, "a positive whole number", call = call)
  invisible(as.integer(x))
}

check_nonnegative_integer <- function(x, arg = deparse(substitute(x)),
                                      allow_null = FALSE, call = error_call()) {
  check_integer(x, arg = arg, min = 0, allow_null = allow_null, call = call)
}

check_count <- function(x, arg = deparse(substitute(x)), call = error_call()) {
  check_nonnegative_integer(x, arg = arg, call = call)
}

# A seed for R's generator: NULL (unseeded) or a whole number.
check_seed <- function(seed, arg = "seed", call = error_call()) {
  check_integer(seed, arg = arg, min = -.Machine$integer.max,
                allow_null = TRUE, call = call)
}

check_string <- function(x, arg = deparse(substitute(x)), allow_null = FALSE,
                         allow_empty = FALSE, call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  ok <- is.character(x) && length(x) == 1L && !is.na(x) &&
    (allow_empty || nzchar(x))
  if (!ok) {
    abort_argument(arg, x, if (allow_empty) "a single string" else
      "a single non-empty string", call = call)
  }
  invisible(as.vector(x))
}

check_string_arg <- function(x, arg = deparse(substitute(x)), call = error_call()) {
  check_string(x, arg = arg, call = call)
}

# One of a fixed set of strings (exact match, as Keras compares names).
check_choice <- function(x, choices, arg = deparse(substitute(x)),
                         allow_null = FALSE, call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  if (!(is.character(x) && length(x) == 1L && !is.na(x) && x %in% choices)) {
    expected <- paste0("one of ", paste0("\"", choices, "\"", collapse = ", "))
    abort_argument(arg, x, expected, call = call)
  }
  invisible(as.vector(x))
}

check_one_of <- function(x, choices, arg = deparse(substitute(x)), call = error_call()) {
  check_choice(x, choices, arg = arg, call = call)
}

check_dtype <- function(x, arg = deparse(substitute(x)), allow_null = TRUE,
                        call = error_call()) {
  if (is.null(x) && allow_null) return(invisible("float32"))
  invisible(check_choice(x, rgru_float_dtypes, arg = arg, call = call))
}

# `...` of a function that takes no extra arguments. keras 2 scripts often end
# an argument list with a comma (`fit(x, y, epochs = 5, )`), which R hands on
# as an empty argument: those are dropped; anything else is an error.
check_empty_dots <- function(..., call = error_call()) {
  if (...length() == 0L) return(invisible())
  exprs <- as.list(substitute(list(...)))[-1L]
  blank <- vapply(exprs, function(e) identical(e, quote(expr = )), TRUE)
  if (all(blank)) return(invisible())
  names <- names(exprs) %||% rep("", length(exprs))
  names <- ifelse(nzchar(names), names, "<unnamed>")[!blank]
  rgru_abort("Unknown argument{?s}: {.arg {names}}.", call = call)
}

# Arrays --------------------------------------------------------------------

# A numeric (or logical) vector/array, optionally requiring finite values.
# Integers and logicals are converted to doubles, keeping dimensions.
check_numeric_array <- function(x, arg = deparse(substitute(x)),
                                finite = FALSE, allow_null = FALSE,
                                call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  if (!((is.numeric(x) || is.logical(x)) && is.atomic(x)) || is.factor(x)) {
    abort_argument(arg, x, "a numeric vector or array", class = "type", call = call)
  }
  if (finite && !all(is.finite(x))) {
    bad <- which(!is.finite(x))
    rgru_abort(
      c("{.arg {arg}} must contain only finite values.",
        "x" = "Got {length(bad)} non-finite value{?s} ({.code {format(x[bad[1]])}} at position {bad[1]})."),
      class = "value", call = call
    )
  }
  if (!is.double(x)) storage.mode(x) <- "double"
  invisible(x)
}

# R axes as given by the user: non-zero whole numbers, 1-based.
check_axes <- function(axis, arg = "axis", call = error_call()) {
  ok <- is.numeric(axis) && !is.object(axis) && length(axis) >= 1L && !anyNA(axis) &&
    all(is.finite(axis)) && all(axis == trunc(axis)) && all(axis != 0) &&
    all(abs(axis) <= 1e6) && !anyDuplicated(axis)
  if (!ok) {
    abort_argument(arg, axis, "one or more distinct non-zero whole numbers (1-based axes; negative counts from the end)",
                   call = call)
  }
  as.integer(axis)
}

# Only Keras's default class axis, the last one, is supported by the losses.
check_last_axis <- function(axis, arg = "axis", call = error_call()) {
  if (!(is_scalar_number(axis) && axis == -1)) {
    abort_argument(arg, axis, "`-1` (the last axis, the only one supported)",
                   call = call)
  }
}

# Embedding inputs: 0-based indices into a table of `input_dim` rows.
check_indices <- function(x, input_dim, arg = "inputs", call = error_call()) {
  bad <- is.na(x) | x != round(x) | x < 0 | x >= input_dim
  if (any(bad)) {
    first <- x[which(bad)[1]]
    rgru_abort(c(
      "{.arg {arg}} of an embedding must be integer indices in [0, {input_dim - 1}] (0-based, below {.arg input_dim}).",
      "x" = "Got {.val {first}}."
    ), class = "input", call = call)
  }
  invisible(TRUE)
}

# The weights a regularizer is applied to (the orthogonal regularizer takes
# matrices only).
check_regularized <- function(x, matrix_only = FALSE, arg = "x", call = error_call()) {
  x <- check_numeric_array(x, arg, call = call)
  if (matrix_only && length(dim(x)) != 2L) {
    abort_argument(arg, x, "a matrix (the orthogonal regularizer applies to matrices only)",
                   class = "shape", call = call)
  }
  x
}

check_penalty_factor <- function(x, arg = deparse(substitute(x)),
                                 call = error_call()) {
  check_number(x, arg = arg, min = 0, call = call)
}

# Training ------------------------------------------------------------------

# Samples per batch: NULL for Keras's default of 32.
check_batch_size <- function(batch_size, arg = "batch_size", call = error_call()) {
  if (is.null(batch_size)) return(32L)
  check_positive_integer(batch_size, arg = arg, call = call)
}

# Epoch numbers and step counts: whole numbers from 1 to R's largest integer.
check_epoch <- function(x, arg, call = error_call()) {
  check_integer(x, arg = arg, min = 1, call = call)
}

check_validation_split <- function(validation_split, call = error_call()) {
  check_number(validation_split, "validation_split", min = 0, max = 1,
               max_inclusive = FALSE, call = call)
}

# Every array in `data` (arrays or lists of arrays, labelled by `args`) must
# have the same number of samples; returns that number.
check_same_rows <- function(data, args, call = error_call()) {
  # Two arrays, the usual case, compare at once; the loop below names what differs.
  if (length(data) == 2L && !is.list(data[[1L]]) && !is.list(data[[2L]])) {
    rows <- dim(data[[1L]])[1L]
    if (!is.null(rows) && identical(rows, dim(data[[2L]])[1L])) return(rows)
  }
  labels <- character()
  rows <- integer()
  for (i in seq_along(data)) {
    arrays <- if (is.list(data[[i]])) data[[i]] else list(data[[i]])
    labels <- c(labels, if (is.list(data[[i]])) {
      paste0(args[[i]], "[[", seq_along(arrays), "]]")
    } else {
      args[[i]]
    })
    rows <- c(rows, vapply(arrays, n_rows, 1L))
  }
  if (length(unique(rows)) > 1) {
    rgru_abort(
      c("{.arg {labels}} must have the same number of samples (first dimension).",
        "x" = "Got {rows} samples respectively."),
      class = "shape", call = call
    )
  }
  rows[[1]]
}

# One number per output, as a vector or a (named) list.
check_loss_weights <- function(loss_weights, call = error_call()) {
  if (is.null(loss_weights)) return(invisible())
  weights <- if (is.list(loss_weights) && !is.object(loss_weights)) {
    unlist(loss_weights)
  } else {
    loss_weights
  }
  if (!is.numeric(weights) || is.object(weights) || length(weights) == 0 ||
      length(weights) != length(loss_weights) || !all(is.finite(weights))) {
    abort_argument("loss_weights", loss_weights, "`NULL` or one finite number per output",
                   call = call)
  }
}

check_mode <- function(mode, call = error_call()) {
  check_choice(mode, c("auto", "min", "max"), arg = "mode", call = call)
}

check_reduction <- function(reduction, call = error_call()) {
  if (is.null(reduction)) return("none")
  check_choice(reduction, c("sum_over_batch_size", "sum", "mean", "none"),
               arg = "reduction", call = call)
}

check_label_smoothing <- function(x, call = error_call()) {
  check_probability(x, "label_smoothing", include_one = TRUE, call = call)
}

# Destructuring ------------------------------------------------------------

check_target_name <- function(name, whole, call = error_call()) {
  if (!nzchar(name)) {
    rgru_abort("Empty name in {.code {whole}}.", class = "destructure", call = call)
  }
}
