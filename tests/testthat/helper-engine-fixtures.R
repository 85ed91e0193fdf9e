# Reads the plain-text fixtures written by tools/torch-fixtures.py: one array per
# line, "name<TAB>dims<TAB>values" with values in column-major order.
read_engine_fixture <- function(name) {
  lines <- readLines(test_path("fixtures", paste0(name, ".txt")))
  fields <- strsplit(lines, "\t", fixed = TRUE)
  out <- lapply(fields, function(f) {
    dims <- as.integer(strsplit(f[[2]], ",", fixed = TRUE)[[1]])
    values <- as.numeric(strsplit(f[[3]], " ", fixed = TRUE)[[1]])
    if (length(dims) > 1) array(values, dims) else values
  })
  stats::setNames(out, vapply(fields, `[[`, "", 1))
}
