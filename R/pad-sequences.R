# pad_sequences(): Keras's utility that lays variable-length sequences (token
# ids, usually) out as one (samples, timesteps) matrix for layer_embedding().

#' Pad sequences to the same length
#'
#' Turns a list of sequences (numeric vectors, e.g. word indices) into a
#' matrix of shape `(length(sequences), maxlen)`, as keras3's
#' `pad_sequences()`. Sequences shorter than `maxlen` are padded with `value`;
#' longer ones are truncated. `padding` and `truncating` say at which end:
#' `"pre"` (the default for both) pads or cuts at the beginning, `"post"` at
#' the end. Values are converted to `dtype` as NumPy converts them (integer
#' dtypes truncate toward zero).
#'
#' @param sequences A list of numeric vectors (`NULL` or empty elements are
#'   sequences of length 0).
#' @param maxlen `NULL` (the length of the longest sequence) or the number of
#'   time steps of the result.
#' @param dtype Type of the result: `"int32"` (default), `"int8"`, `"int16"`,
#'   `"uint8"` or `"uint16"` give an R integer matrix; `"int64"`, `"uint32"`,
#'   `"uint64"` a double matrix of whole numbers (R has no 64-bit integers);
#'   `"float32"` a double matrix rounded to single precision, `"float64"` a
#'   double matrix.
#' @param padding `"pre"` or `"post"`: pad before or after each sequence.
#' @param truncating `"pre"` or `"post"`: drop values from the beginning or
#'   the end of sequences longer than `maxlen`.
#' @param value The padding value.
#'
#' @returns A matrix with one row per sequence and `maxlen` columns.
#' @family utilities
#' @export
#' @examples
#' sequence <- list(c(1), c(2, 3), c(4, 5, 6))
#' pad_sequences(sequence)
#' pad_sequences(sequence, value = -1)
#' pad_sequences(sequence, padding = "post")
#' pad_sequences(sequence, maxlen = 2)
pad_sequences <- function(sequences, maxlen = NULL, dtype = "int32", padding = "pre",
                          truncating = "pre", value = 0) {
  sequences <- check_sequences(sequences)
  maxlen <- check_nonnegative_integer(maxlen, "maxlen", allow_null = TRUE)
  dtype <- check_choice(dtype, c(rgru_integer_dtypes, rgru_float_dtypes), "dtype")
  padding <- check_choice(padding, c("pre", "post"), "padding")
  truncating <- check_choice(truncating, c("pre", "post"), "truncating")
  value <- check_number(value, "value")
  lens <- lengths(sequences)
  maxlen <- maxlen %||% max(c(lens, 0L))
  kept <- pmin(lens, maxlen)
  # Where each kept value comes from (in the flattened sequences) and goes to.
  first_kept <- if (truncating == "pre") lens - kept + 1L else rep(1L, length(lens))
  first_col <- if (padding == "pre") maxlen - kept + 1L else rep(1L, length(lens))
  offsets <- cumsum(c(0L, lens[-length(lens)]))
  from <- sequence(kept, from = offsets + first_kept)
  rows <- rep(seq_along(sequences), kept)
  cols <- sequence(kept, from = first_col)
  values <- unlist(sequences, use.names = FALSE)[from]
  out <- matrix(cast_to_dtype(value, dtype, "value"), length(sequences), maxlen)
  out[cbind(rows, cols)] <- cast_to_dtype(values, dtype, "sequences")
  out
}

check_sequences <- function(sequences) {
  if (is.data.frame(sequences) || !is.list(sequences) || is.object(sequences)) {
    abort_argument("sequences", sequences, "a list of numeric vectors")
  }
  for (i in seq_along(sequences)) {
    s <- sequences[[i]]
    if (is.list(s) && !is.object(s)) s <- unlist(s, use.names = FALSE)
    if (is.logical(s) && length(s) > 0 && !anyNA(s)) s <- as.integer(s)
    if (!is.null(s) && !(is.numeric(s) && !is.object(s)) && !(is.logical(s) && length(s) == 0)) {
      abort_argument(sprintf("sequences[[%d]]", i), s, "a numeric vector")
    }
    sequences[i] <- list(as.vector(s))
  }
  sequences
}

integer_dtype_ranges <- list(
  int8 = c(-2^7, 2^7 - 1), int16 = c(-2^15, 2^15 - 1), int32 = c(-2^31 + 1, 2^31 - 1),
  int64 = c(-2^63, 2^63), uint8 = c(0, 2^8 - 1), uint16 = c(0, 2^16 - 1),
  uint32 = c(0, 2^32 - 1), uint64 = c(0, 2^64)
)

# NumPy's conversion to `dtype`: integer dtypes truncate toward zero (values
# outside the dtype's range, where NumPy would wrap around, are an error).
cast_to_dtype <- function(x, dtype, arg) {
  x <- as.double(x)
  if (dtype %in% rgru_float_dtypes) return(round_to_dtype(x, dtype))
  x <- trunc(x)
  range <- integer_dtype_ranges[[dtype]]
  bad <- !is.finite(x) | x < range[1] | x > range[2]
  if (any(bad)) {
    rgru_abort(c(
      "{.arg {arg}} must hold values that fit {.val {dtype}}.",
      x = "Found {.val {x[which(bad)[1]]}}."
    ), class = "input")
  }
  if (dtype %in% c("int8", "int16", "int32", "uint8", "uint16")) as.integer(x) else x
}
