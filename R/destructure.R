#' Multiple assignment
#'
#' `c(a, b) %<-% value` assigns the elements of `value` to `a` and `b` in the
#' calling environment, as keras3 (via zeallot) allows, e.g. to unpack a GRU's
#' outputs and states: `c(sequence, state) %<-% layer_gru(x, 4,
#' return_sequences = TRUE, return_state = TRUE)`.
#'
#' The left-hand side is a name or a `c()` of names, possibly nested
#' (`c(a, c(b, d))`). `.` skips one value, `...` skips any number of values,
#' and `...rest` collects them into `rest` (a list). Lists give their
#' elements, a [shape()] its axes (`NULL` for unknown ones), atomic vectors
#' their elements. The number of names must match the number of values, or an
#' error says what was found.
#'
#' @param x The names to assign: a name or a call to `c()`.
#' @param value The value to destructure.
#' @returns `value`, invisibly.
#' @family utilities
#' @name destructure
#' @aliases %<-%
#' @export
#' @examples
#' c(a, b) %<-% list(1, "two")
#' a
#' b
#' c(first, c(second, third)) %<-% list(1, list(2, 3))
#' third
#' c(batch, ...) %<-% shape(32, 10, 4)
#' batch
#' c(head, ...rest) %<-% 1:4
#' rest
`%<-%` <- function(x, value) {
  pattern <- substitute(x)
  env <- parent.frame()
  assignments <- destructure_pattern(pattern, value, deparse_short(pattern))
  for (name in names(assignments)) assign(name, assignments[[name]], envir = env)
  invisible(value)
}

deparse_short <- function(expr) {
  text <- paste(deparse(expr, width.cutoff = 60L), collapse = " ")
  if (nchar(text) > 60L) paste0(substr(text, 1L, 57L), "...") else text
}

# The (name -> value) pairs that `pattern` binds when matched against `value`.
# A list with possibly NULL elements, kept with `[<-` semantics.
destructure_pattern <- function(pattern, value, whole) {
  if (is.name(pattern)) {
    name <- as.character(pattern)
    if (name == ".") return(list())
    check_target_name(name, whole)
    return(stats::setNames(list(value), name))
  }
  if (!(is.call(pattern) && identical(pattern[[1L]], as.name("c")))) {
    shown <- deparse_short(pattern)
    rgru_abort(
      c("Can't assign to {.code {shown}} in {.code {whole} %<-% ...}.",
        "i" = "The left-hand side must be a name or {.code c()} of names, e.g. {.code c(a, b)}."),
      class = "destructure"
    )
  }
  targets <- as.list(pattern)[-1L]
  values <- destructure_values(value, whole)
  rest_at <- which(vapply(targets, is_rest_target, TRUE))
  if (length(rest_at) > 1L) {
    rgru_abort("Only one {.code ...} may appear in {.code {whole}}.",
               class = "destructure")
  }
  n_fixed <- length(targets) - length(rest_at)
  if ((length(rest_at) == 0L && length(values) != n_fixed) ||
      (length(rest_at) == 1L && length(values) < n_fixed)) {
    expected <- if (length(rest_at)) paste("at least", n_fixed) else n_fixed
    rgru_abort(
      c("{.code {whole} %<-% ...} expects {expected} value{?s} but the right-hand side has {length(values)}.",
        "i" = "Use {.code .} to skip a value and {.code ...} to skip several."),
      class = "destructure"
    )
  }
  out <- list()
  value_index <- 0L
  for (i in seq_along(targets)) {
    if (i %in% rest_at) {
      n_rest <- length(values) - n_fixed
      rest <- values[value_index + seq_len(n_rest)]
      value_index <- value_index + n_rest
      rest_name <- sub("^\\.\\.\\.", "", as.character(targets[[i]]))
      if (nzchar(rest_name)) {
        check_target_name(rest_name, whole)
        out[rest_name] <- list(rest)
      }
      next
    }
    value_index <- value_index + 1L
    bound <- destructure_pattern(targets[[i]], values[[value_index]], whole)
    out[names(bound)] <- bound
  }
  out
}

is_rest_target <- function(target) {
  is.name(target) && startsWith(as.character(target), "...")
}

# The elements a value destructures into.
destructure_values <- function(value, whole) {
  if (inherits(value, "keras_shape")) return(unclass(value))
  if (is.list(value)) return(unclass(value))
  if (is.atomic(value) && !is.null(value)) {
    return(lapply(seq_along(value), function(i) value[[i]]))
  }
  given <- describe_value(value)
  rgru_abort(
    c("Can't destructure {given} into {.code {whole}}.",
      "i" = "The right-hand side must be a list, a vector or a shape."),
    class = "destructure"
  )
}
