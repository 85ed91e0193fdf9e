# Reads the cases tools/keras-fixtures/layers.py wrote with real Keras: blocks of
# "case<TAB>name", "config<TAB>R arguments" and "name<TAB>dims<TAB>values" lines
# (values in column-major order). Returns a named list of cases, each a list of
# `config` (a list of layer arguments) and arrays.
read_keras_cases <- function(file = "keras-layers.txt") {
  lines <- readLines(test_path("fixtures", file))
  fields <- strsplit(lines[!startsWith(lines, "#")], "\t", fixed = TRUE)
  cases <- list()
  current <- NULL
  for (f in fields) {
    if (f[[1]] == "case") {
      current <- f[[2]]
      cases[[current]] <- list(config = list())
    } else if (f[[1]] == "config") {
      text <- if (length(f) > 1) f[[2]] else ""
      cases[[current]]$config <- eval(parse(text = paste0("list(", text, ")")), baseenv())
    } else {
      dims <- as.integer(strsplit(f[[2]], ",", fixed = TRUE)[[1]])
      values <- as.numeric(strsplit(f[[3]], " ", fixed = TRUE)[[1]])
      cases[[current]][[f[[1]]]] <- if (length(dims) > 1) array(values, dims) else values
    }
  }
  cases
}

keras_cases <- function(prefix) {
  all <- read_keras_cases()
  all[startsWith(names(all), prefix)]
}

# Largest error of `got` against `want`, relative to the largest magnitude of `want`.
max_relative_error <- function(got, want) {
  max(abs(as.numeric(got) - as.numeric(want))) / max(abs(as.numeric(want)), 1e-300)
}

keras_tolerance <- function(dtype) if (identical(dtype, "float32")) 1e-5 else 1e-10
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
