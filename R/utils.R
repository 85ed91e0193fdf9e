# Shared argument validators and small helpers.
#
# Every validator checks one argument at the R boundary and, on failure,
# signals a classed condition (always `rgru_error` plus a specific class,
# `rgru_error_argument` by default) whose message names the argument, shows the
# value given and says what was expected. On success they return the
# (possibly coerced) value invisibly, so callers can write
# `units <- check_positive_integer(units)`.

# Fails with the package's one wording: "`arg` must be <expected>, not <given>."
abort_expected <- function(x, arg, expected, call = error_call(), class = "rgru_error_argument") {
  abort_argument(arg, x, expected, class = class, call = call)
}

is_scalar_number <- function(x) {
  is.numeric(x) && length(x) == 1L && is.null(dim(x)) && !is.na(x) &&
    !is.object(x)
}

check_bool <- function(x, arg = deparse(substitute(x)), allow_null = FALSE,
                       call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  if (!(is.logical(x) && length(x) == 1L && !is.na(x))) {
    abort_expected(x, arg, "`TRUE` or `FALSE`", call)
  }
  invisible(unname(as.vector(x)))
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
    abort_expected(x, arg, describe_range("a finite number", min, max,
                                          min_inclusive, max_inclusive), call)
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

# Whole numbers given as doubles (`4`) are accepted like `4L`, as keras3 does
# with `as_integer()`; fractional values, `NA` and out-of-range values are not.
check_integer <- function(x, arg = deparse(substitute(x)), min = -Inf,
                          max = .Machine$integer.max, allow_null = FALSE,
                          call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  ok <- is_scalar_number(x) && is.finite(x) && x == trunc(x) &&
    x >= min && x <= max && abs(x) <= .Machine$integer.max
  if (!ok) {
    abort_expected(x, arg, describe_range("a whole number", min, max, TRUE, TRUE),
                   call)
  }
  invisible(as.integer(x))
}

check_positive_integer <- function(x, arg = deparse(substitute(x)),
                                   allow_null = FALSE, call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  ok <- is_scalar_number(x) && is.finite(x) && x == trunc(x) && x >= 1 &&
    x <= .Machine$integer.max
  if (!ok) abort_expected(x, arg, "a positive whole number", call)
  invisible(as.integer(x))
}

check_nonnegative_integer <- function(x, arg = deparse(substitute(x)),
                                      allow_null = FALSE, call = error_call()) {
  check_integer(x, arg = arg, min = 0, allow_null = allow_null, call = call)
}

# A rate in [0, 1) by default (Keras's dropout rates); `include_one = TRUE`
# gives the closed interval [0, 1].
check_probability <- function(x, arg = deparse(substitute(x)),
                              include_one = FALSE, allow_null = FALSE,
                              call = error_call()) {
  check_number(x, arg = arg, min = 0, max = 1, max_inclusive = include_one,
               allow_null = allow_null, call = call)
}

check_string <- function(x, arg = deparse(substitute(x)), allow_null = FALSE,
                         allow_empty = FALSE, call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  ok <- is.character(x) && length(x) == 1L && !is.na(x) &&
    (allow_empty || nzchar(x))
  if (!ok) {
    abort_expected(x, arg, if (allow_empty) "a single string" else
      "a single non-empty string", call)
  }
  invisible(as.vector(x))
}

# One of a fixed set of strings (exact match, as Keras compares names).
check_choice <- function(x, choices, arg = deparse(substitute(x)),
                         allow_null = FALSE, call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  if (!(is.character(x) && length(x) == 1L && !is.na(x) && x %in% choices)) {
    expected <- paste0("one of ", paste0("\"", choices, "\"", collapse = ", "))
    abort_expected(x, arg, expected, call)
  }
  invisible(as.vector(x))
}

# A numeric (or logical) vector/array, optionally requiring finite values.
# Integers and logicals are converted to doubles, keeping dimensions.
check_numeric_array <- function(x, arg = deparse(substitute(x)),
                                finite = FALSE, allow_null = FALSE,
                                call = error_call()) {
  if (is.null(x) && allow_null) return(invisible(x))
  if (!((is.numeric(x) || is.logical(x)) && is.atomic(x)) || is.factor(x)) {
    abort_expected(x, arg, "a numeric vector or array", call,
                   class = "rgru_error_type")
  }
  if (finite && !all(is.finite(x))) {
    bad <- which(!is.finite(x))
    rgru_abort(
      c("{.arg {arg}} must contain only finite values.",
        "x" = "Found {length(bad)} non-finite value{?s} ({.val {format(x[bad[1]])}} at position {bad[1]})."),
      class = "rgru_error_value", call = call
    )
  }
  if (!is.double(x)) storage.mode(x) <- "double"
  invisible(x)
}

# Keras's backend.epsilon(), the fuzz factor of constraints and losses.
keras_epsilon <- 1e-7

# dtype names the package computes in. R stores doubles either way; "float32"
# means values are rounded to single precision where the package creates them.
rgru_float_dtypes <- c("float32", "float64")

check_dtype <- function(x, arg = deparse(substitute(x)), allow_null = TRUE,
                        call = error_call()) {
  if (is.null(x) && allow_null) return(invisible("float32"))
  invisible(check_choice(x, rgru_float_dtypes, arg = arg, call = call))
}

# Rounds doubles to the nearest single-precision value (R has no float type):
# a float32 weight created here is then exactly representable in the float32
# engines and in other frameworks.
round_to_dtype <- function(x, dtype = "float32") {
  if (!identical(dtype, "float32") || length(x) == 0L) return(x)
  attrs <- attributes(x)
  out <- readBin(writeBin(as.double(x), raw(), size = 4L), "double",
                 n = length(x), size = 4L)
  attributes(out) <- attrs
  out
}

# ---------------------------------------------------------------------------
# Callable objects: initializers, regularizers and constraints are R functions
# (callable as in keras3, e.g. `init(shape = c(2, 2))`) that also expose named
# fields with `$` (e.g. `init$generate`, `reg$penalty`), as the package's
# internal protocol requires.

new_callable <- function(fn, fields, class) {
  structure(fn, rgru_fields = fields, class = c(class, "rgru_callable", "function"))
}

#' @export
`$.rgru_callable` <- function(x, name) {
  attr(x, "rgru_fields", exact = TRUE)[[name]]
}

#' @export
`[[.rgru_callable` <- function(x, i, ...) {
  attr(x, "rgru_fields", exact = TRUE)[[i]]
}

#' @export
`$<-.rgru_callable` <- function(x, name, value) {
  rgru_abort("{.cls {class(x)[[1]]}} objects are read-only; create a new one instead.",
             class = "rgru_error_argument", call = NULL)
}

#' @rawNamespace S3method(utils::.DollarNames, rgru_callable)
.DollarNames.rgru_callable <- function(x, pattern = "") {
  names <- names(attr(x, "rgru_fields", exact = TRUE))
  names[grepl(pattern, names)]
}

#' @export
names.rgru_callable <- function(x) names(attr(x, "rgru_fields", exact = TRUE))

# "GlorotUniform(seed = NULL)"-style one-line description from a config list.
format_config_call <- function(class_name, config) {
  args <- vapply(names(config), function(nm) {
    value <- config[[nm]]
    shown <- if (is.null(value)) "NULL" else if (is.character(value))
      paste0("\"", value, "\"", collapse = ", ") else
      paste(format(value, digits = 7L), collapse = ", ")
    if (length(value) > 1L) shown <- paste0("c(", shown, ")")
    paste0(nm, " = ", shown)
  }, "")
  paste0(class_name, "(", paste(args, collapse = ", "), ")")
}

# Keras's registry look-up for built-ins: exact names (snake_case function names
# and CamelCase class names); an unknown name lists every valid one.
lookup_by_name <- function(name, registry, what, arg, call) {
  entry <- registry[[name]]
  if (is.null(entry)) {
    all_names <- names(registry)
    valid <- cli::cli_vec(sort(all_names[all_names == tolower(all_names)]),
                          list("vec-trunc" = 100L))
    class_names <- any(all_names != tolower(all_names))
    rgru_abort(
      c("Unknown {what} {.val {name}} in {.arg {arg}}.",
        "i" = paste0("Valid names: {.val {valid}}",
                     if (class_names) ", or the CamelCase Keras class names" else "",
                     ".")),
      class = "rgru_error_unknown_name", call = call
    )
  }
  entry
}

# The shared part of resolve_initializer()/_regularizer()/_constraint(), as
# Keras's `get()`: NULL stays NULL, objects of `class` pass through, strings
# and list(class_name, config) go through the registry of constructors
# (`from_config` adapts a constructor to Keras's config conventions), and
# functions are wrapped by `from_function`.
resolve_keras_object <- function(x, class, registry, what, from_function,
                                 from_config = identity, arg = "x",
                                 call = error_call()) {
  if (is.null(x) || inherits(x, class)) return(x)
  if (is.character(x) && length(x) == 1L && !is.na(x)) {
    return(lookup_by_name(x, registry, what, arg, call)())
  }
  if (is_object_config(x)) {
    constructor <- lookup_by_name(x$class_name, registry, what, arg, call)
    return(do.call(from_config(constructor), as.list(x$config)))
  }
  if (is.function(x) && !inherits(x, "rgru_callable")) return(from_function(x))
  abort_expected(x, arg, sprintf("%s %s name, object or function",
                                 if (what == "initializer") "an" else "a", what),
                 call)
}

is_object_config <- function(x) {
  is.list(x) && !is.object(x) && is.character(x$class_name) &&
    length(x$class_name) == 1L
}

# Calls a user-supplied R function, turning its errors into rgru errors that
# say which role the function had (the original error is kept as the parent).
call_user_function <- function(fn, args, role, class) {
  tryCatch(do.call(fn, args), error = function(e) {
    rgru_abort(c("The R function given as {role} failed.", "x" = conditionMessage(e)),
               class = class, call = NULL, parent = e)
  })
}

# The name of the argument a resolver was given, for its error messages: the
# variable's name when it was one, otherwise "x".
argument_label <- function(expr) {
  if (is.name(expr)) as.character(expr) else "x"
}
