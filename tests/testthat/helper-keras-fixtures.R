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
