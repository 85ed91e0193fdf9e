# Values that are wrong for almost every argument, for fuzzing the R boundary:
# each call given one of them must either succeed or signal an `rgru_error`,
# never another kind of error (or a crash).
malformed_values <- function() {
  list(
    NULL, NA, NA_real_, NA_integer_, NA_character_, NaN, Inf, -Inf, -1, 0, 0.5,
    1e300, -1e300, .Machine$integer.max + 1, TRUE, FALSE, "", "a", "NULL",
    "{x}", c(1, 2), c(a = 1), integer(), character(), numeric(), list(),
    list(1), list(list()), list(class_name = 1), list(class_name = "nope", config = list()),
    matrix(1:4, 2), array(0, c(1, 1, 1)), 1i, as.raw(1), factor("a"),
    data.frame(a = 1), function(x) x, sum, new.env(), quote(a), y ~ x,
    expression(1), structure(1, class = "strange")
  )
}

# Calls `f(value)` for every malformed value (and `extra` ones), or for `n` of
# them drawn at random; any error must carry the class `rgru_error`.
expect_only_rgru_errors <- function(f, extra = list(), n = NULL) {
  values <- c(malformed_values(), extra)
  if (!is.null(n)) values <- values[sample(length(values), n)]
  for (value in values) {
    result <- tryCatch({
      f(value)
      "ok"
    }, rgru_error = function(e) "rgru_error", error = function(e) e)
    if (inherits(result, "error")) {
      fail(paste0("A non-rgru error for ", paste(deparse(value), collapse = " "),
                  ": ", conditionMessage(result)))
    } else {
      succeed()
    }
  }
}
