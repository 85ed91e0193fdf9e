# Small helpers shared across the package: dtypes, callable objects
# (initializers, regularizers, constraints) and Keras's name registries. The
# argument checks are in R/checks.R.

# Keras's backend.epsilon(), the fuzz factor of constraints and losses.
keras_epsilon <- 1e-7

# dtype names the package computes in. R stores doubles either way; "float32"
# means values are rounded to single precision where the package creates them.
rgru_float_dtypes <- c("float32", "float64")

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
  rgru_abort("{.cls {class(x)[[1]]}} objects are read-only; create a new one instead.")
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
lookup_by_name <- function(name, registry, what, arg) {
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
      class = "unknown_name"
    )
  }
  entry
}

# The shared part of resolve_initializer()/_regularizer()/_constraint(), as
# Keras's `get()`: NULL stays NULL, objects of `class` pass through, strings
# and list(class_name, config) go through the registry of constructors
# (`from_config` adapts a constructor to Keras's config conventions), and
# functions are wrapped by `from_function(x, arg)`.
resolve_keras_object <- function(x, class, registry, what, from_function,
                                 from_config = identity, arg = "x") {
  if (is.null(x) || inherits(x, class)) return(x)
  if (is.character(x) && length(x) == 1L && !is.na(x)) {
    return(lookup_by_name(x, registry, what, arg)())
  }
  if (is_object_config(x)) {
    constructor <- lookup_by_name(x$class_name, registry, what, arg)
    return(do.call(from_config(constructor), as.list(x$config)))
  }
  if (is.function(x) && !inherits(x, "rgru_callable")) return(from_function(x, arg))
  abort_argument(arg, x, sprintf("%s %s name, object or function",
                                 if (what == "initializer") "an" else "a", what))
}

is_object_config <- function(x) {
  is.list(x) && !is.object(x) && is.character(x$class_name) &&
    length(x$class_name) == 1L
}

# Calls a user-supplied R function, given as argument `arg`: its errors become
# rgru errors of family `class` naming the argument (the original error is
# kept as the parent), and a value that fails `returns` is reported as not
# being the `expected` one.
call_user_function <- function(fn, args, arg, class, returns = NULL, expected = NULL) {
  value <- tryCatch(do.call(fn, args), error = function(e) {
    rgru_abort("The R function given as {.arg {arg}} failed.", class = class, parent = e)
  })
  if (!is.null(returns) && !isTRUE(returns(value))) {
    given <- describe_value(value)
    rgru_abort("The R function given as {.arg {arg}} must return {expected}, not {given}.",
               class = class)
  }
  value
}

# The name of the argument a resolver was given, for its error messages: the
# variable's name when it was one, otherwise "x".
argument_label <- function(expr) {
  if (is.name(expr)) as.character(expr) else "x"
}
