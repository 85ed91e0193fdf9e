# Array plumbing shared by losses, metrics, fit() and evaluate(): batches are
# rows (the first dimension) of R arrays of any rank, and per-sample
# reductions run over the last dimension, as Keras does.

as_training_array <- function(x, arg) {
  # A plain double array, what training is fed nearly always, is taken as it is: this
  # runs on every batch of train_on_batch().
  if (is.double(x) && !is.object(x) && !is.null(dim(x))) return(x)
  if (is.data.frame(x)) x <- as.matrix(x)
  if (is.logical(x) || is.integer(x)) storage.mode(x) <- "double"
  if (!is.numeric(x)) {
    abort_argument(arg, x, "a numeric array", class = "type")
  }
  if (is.null(dim(x))) dim(x) <- length(x)
  x
}

# A list of arrays (several inputs or outputs) or one array; NULL stays NULL.
as_training_data <- function(x, arg) {
  if (is.null(x)) return(NULL)
  if (is.list(x) && !is.data.frame(x)) {
    if (length(x) == 0) {
      abort_argument(arg, x, "an array or a non-empty list of arrays", class = "type")
    }
    out <- lapply(seq_along(x), function(i) {
      as_training_array(x[[i]], paste0(arg, "[[", i, "]]"))
    })
    names(out) <- names(x)
    return(out)
  }
  as_training_array(x, arg)
}

n_rows <- function(x) {
  if (is.list(x)) return(n_rows(x[[1]]))
  dim(x)[1]
}

slice_samples <- function(x, idx) {
  if (is.null(x)) return(NULL)
  if (is.list(x)) {
    out <- lapply(x, slice_samples, idx = idx)
    names(out) <- names(x)
    return(out)
  }
  d <- dim(x)
  switch(length(d),
    array(x[idx], dim = length(idx)),
    x[idx, , drop = FALSE],
    x[idx, , , drop = FALSE],
    do.call(`[`, c(list(x, idx), rep(list(TRUE), length(d) - 1), drop = FALSE))
  )
}

# (rows, last) matrix view of an array: rows enumerate every leading index
# (column-major, so the sample index varies fastest).
last_axis_matrix <- function(x) {
  d <- dim(x)
  # A plain double matrix (its one attribute `dim`) is its own view: a loss reads two
  # per training step.
  if (length(d) == 2L && is.double(x) && length(attributes(x)) == 1L) {
    return(list(m = x, lead = d[1L]))
  }
  if (is.null(d)) d <- length(x)
  if (length(d) == 1) d <- c(d, 1L)
  k <- d[length(d)]
  list(m = matrix(as.double(x), ncol = k), lead = d[-length(d)])
}

# Keras's squeeze_or_expand_to_same_rank() for targets: a target one rank
# short gets a trailing dimension of 1, one with an extra trailing 1 loses it.
align_target <- function(y_true, y_pred, arg = "y") {
  dt <- dim(y_true)
  dp <- dim(y_pred)
  # What the general case below returns for a target already shaped like y_pred, a
  # plain double array (its one attribute `dim`).
  if (!is.null(dt) && length(dt) == length(dp) && all(dt == dp) && is.double(y_true) &&
      length(attributes(y_true)) == 1L) {
    return(y_true)
  }
  if (is.null(dt)) dt <- length(y_true)
  if (is.null(dp)) dp <- length(y_pred)
  if (length(dt) == length(dp) - 1) {
    dt <- c(dt, 1L)
  } else if (length(dt) == length(dp) + 1 && dt[length(dt)] == 1) {
    dt <- dt[-length(dt)]
  }
  if (!identical(as.integer(dt), as.integer(dp))) {
    abort_shape(arg, paste("the shape of `y_pred`,", format_tuple(dp)),
                dim(y_true) %||% length(y_true))
  }
  array(as.double(y_true), dim = dp)
}

# Per-row weights for per-sample values with leading dimensions `lead`:
# sample weights of shape (batch) broadcast over the remaining leading
# dimensions, temporal weights (batch, timesteps) match them directly.
row_weights <- function(sample_weight, lead) {
  if (is.null(sample_weight)) return(NULL)
  rows <- prod(lead)
  sw <- as.double(sample_weight)
  if (length(sw) == rows) return(sw)
  if (length(sw) == lead[1]) return(rep(sw, length.out = rows))
  rgru_abort(
    c("{.arg sample_weight} must have one weight per sample.",
      "x" = "Got {length(sw)} value{?s} for {lead[1]} sample{?s}."),
    class = "shape"
  )
}
