# Reads the fixtures written by tools/keras-fixtures/*.py from real Keras 3.15.1:
# <stem>.txt holds the arrays (as read_engine_fixture() reads them) and
# <stem>-cases.csv one row per case, whose results are "<case>.result<i>".
read_keras_fixture <- function(stem) {
  cases <- utils::read.csv(test_path("fixtures", paste0(stem, "-cases.csv")),
                           stringsAsFactors = FALSE)
  list(arrays = read_engine_fixture(stem), cases = split(cases, seq_len(nrow(cases))))
}

keras_results <- function(fixture, case) {
  lapply(seq_len(case$n_results), function(i) fixture$arrays[[paste0(case$case, ".result", i)]])
}

# The issue's bar against Keras: float32 within 1e-5, float64 within 1e-10.
keras_tolerance <- function(dtype) if (dtype == "float32") 1e-5 else 1e-10

# Largest absolute difference between our results and Keras's, shapes checked
# first (R drops nothing: a (3, 2) result stays a matrix).
max_abs_difference <- function(got, want) {
  got <- if (is.list(got)) got else list(got)
  if (length(got) != length(want)) return(Inf)
  errors <- mapply(function(g, w) {
    if (!identical(as.integer(value_dims(g)), as.integer(value_dims(w)))) return(Inf)
    max(abs(g - w))
  }, got, want)
  max(errors)
}

value_dims <- function(x) if (is.null(dim(x))) length(x) else dim(x)

# Checks every case of a fixture with `run(case, arrays)`, which returns our
# results; one expectation per case, labelled with the case's settings.
expect_keras_cases <- function(fixture, run) {
  errors <- c(float32 = 0, float64 = 0)
  for (case in fixture$cases) {
    error <- max_abs_difference(run(case, fixture$arrays), keras_results(fixture, case))
    errors[case$dtype] <- max(errors[case$dtype], error)
    settings <- paste(names(case), unlist(case), sep = "=", collapse = ", ")
    expect_lte(error, keras_tolerance(case$dtype), label = paste("max |rgru - Keras| for", settings))
  }
  invisible(errors)
}
