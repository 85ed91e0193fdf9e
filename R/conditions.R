# Conditions: every error and warning rgru signals is made here.
#
# - Classes: an error carries `rgru_error` and one family class
#   `rgru_error_<family>` ("argument", "shape", "input", "mask", "weights",
#   "file", ...); a warning `rgru_warning` and `rgru_warning_<family>`. Tests
#   match on these classes, never on message text.
# - Wording: "{.arg x} must be <what was expected>, not <what was given>." for
#   a bad value (abort_argument()), "{.arg x} must have <shape>, not shape
#   <given>." for an array of the wrong shape (abort_shape()); other messages
#   state the problem first, then an "x" bullet saying what was found
#   ("Got ...") and "i" bullets with what to do.
# - The call shown is the user's: by default the outermost rgru entry point on
#   the stack (an exported function, an S3 method of ours, or a layer handle),
#   so an error raised deep inside a model shows `fit(model, x, y)`, not an
#   internal helper. Pass `call =` (an environment, a call or NULL) to override.

rgru_abort <- function(message, class = "argument", ..., call = error_call(),
                       .envir = parent.frame()) {
  cli::cli_abort(message, class = condition_classes(class, "error"), ...,
                 call = call, .envir = .envir)
}

rgru_warn <- function(message, class = "argument", ..., .envir = parent.frame()) {
  cli::cli_warn(message, class = condition_classes(class, "warning"), ..., .envir = .envir)
}

# A bad value: "`arg` must be <expected>, not <what x is>." Bullets in `...`
# ("i" = what to do) follow it, interpolated in the caller's frame.
abort_argument <- function(arg, value, expected, ..., class = "argument",
                           call = error_call(), .envir = parent.frame()) {
  env <- message_env(.envir, bad_arg = arg, bad_expected = expected,
                     bad_given = describe_value(value))
  rgru_abort(c("{.arg {bad_arg}} must be {bad_expected}, not {bad_given}.", ...),
             class = class, call = call, .envir = env)
}

# The same, with the value first: the order R/layer.R's abort_arg() calls it in.
abort_expected <- function(x, arg, expected, call = error_call(), class = "argument") {
  abort_argument(arg, x, expected, class = class, call = call)
}

# An array of the wrong shape: "`arg` must have <expected>, not shape (2, 4)."
# `expected` is a shape (NA for a size that may be anything), shown as
# "shape (None, 3)", or words such as "at least 2 axes"; `given` is the shape
# the array has.
abort_shape <- function(arg, expected, given, ..., class = "shape",
                        call = error_call(), .envir = parent.frame()) {
  if (is.numeric(expected) || is.logical(expected)) {
    expected <- paste("shape", format_tuple(expected))
  }
  env <- message_env(.envir, bad_arg = arg, bad_expected = expected,
                     bad_given = paste("shape", format_tuple(given)))
  rgru_abort(c("{.arg {bad_arg}} must have {bad_expected}, not {bad_given}.", ...),
             class = class, call = call, .envir = env)
}

# The caller's frame with a constructor's own values added, so one message
# can use both.
message_env <- function(parent, ...) {
  list2env(list(...), envir = new.env(parent = parent))
}

# "shape" -> c("rgru_error_shape", "rgru_error"); an already prefixed
# "rgru_error_shape" is accepted too.
condition_classes <- function(class, kind) {
  base <- paste0("rgru_", kind)
  family <- sub(paste0("^", base, "_"), "", setdiff(class, base))
  c(paste0(base, "_", family), base)
}

# The frame of the user's call into rgru: the outermost frame on the stack
# running an rgru entry point. NULL when rgru was entered some other way
# (an internal function called directly), so no misleading call is shown.
error_call <- function() {
  frames <- sys.nframe() - 1L
  for (i in seq_len(frames)) {
    if (is_entry_point(sys.function(i))) return(sys.frame(i))
  }
  NULL
}

is_entry_point <- function(fn) {
  if (inherits(fn, c("rgru_layer", "rgru_callable"))) return(TRUE)
  if (!identical(topenv(environment(fn)), rgru_namespace())) return(FALSE)
  for (entry in entry_point_functions()) if (identical(fn, entry)) return(TRUE)
  FALSE
}

rgru_namespace <- function() topenv(environment(rgru_namespace))

# Exported functions and registered S3 methods, looked up once per session
# (only ever needed while an error is being raised).
entry_point_cache <- new.env(parent = emptyenv())

entry_point_functions <- function() {
  if (is.null(entry_point_cache$functions)) {
    ns <- rgru_namespace()
    methods <- ns[[".__S3MethodsTable__."]]
    candidates <- c(mget(getNamespaceExports(ns), envir = ns, ifnotfound = list(NULL)),
                    if (!is.null(methods)) as.list(methods))
    entry_point_cache$functions <- Filter(is.function, unname(candidates))
  }
  entry_point_cache$functions
}

# A short, single-line description of a value for error messages: scalars are
# shown as they would be typed, everything else by type and size.
describe_value <- function(x) {
  if (is.null(x)) return("`NULL`")
  if (is.function(x)) return("a function")
  if (is.environment(x)) return("an environment")
  if (inherits(x, "keras_shape")) return(format(x))
  if (is.atomic(x) && length(x) == 1L && is.null(dim(x))) {
    if (is.character(x)) {
      return(if (is.na(x)) "`NA_character_`" else encodeString(x, quote = "\""))
    }
    if (is.factor(x)) return(sprintf("a factor with value \"%s\"", as.character(x)))
    return(paste0("`", format(x, digits = 15L), "`"))
  }
  if (is.atomic(x) && length(x) == 0L) {
    return(sprintf("an empty %s vector", typeof(x)))
  }
  if (!is.null(dim(x))) {
    return(sprintf("%s array of dimension (%s)", with_article(typeof(x)),
                   paste(dim(x), collapse = ", ")))
  }
  cls <- class(x)[[1L]]
  if (is.atomic(x)) {
    return(sprintf("%s vector of length %d", with_article(cls), length(x)))
  }
  sprintf("a %s of length %d", if (is.list(x) && cls == "list") "list" else
    paste0("<", cls, "> object"), length(x))
}

with_article <- function(word) {
  paste(if (grepl("^[aeiou]", word)) "an" else "a", word)
}

# The R side of the C++ glue's errors (src/rcpp_glue.hpp): every failure in C++ reaches R
# through here, as an error of class `rgru_error_<family>`. The message is C++'s own
# text, shown as is (no cli markup is interpreted in it); `status`, for a cuDNN failure,
# is the library status it names (a field of the condition, see cudnn_failure_action()).
abort_from_cpp <- function(family, message, status = NULL) {
  rgru_abort("{message}", class = family, status = status)
}
