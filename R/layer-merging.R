# Merge layers: layer_concatenate() and layer_add() join several tensors into
# one, for functional models with several inputs or branches (multi-input
# forecasting, seq2seq encoders feeding decoders). They take a list of tensors,
# as keras3's merge layers do, and pass Keras's masks on.

#' Concatenate a list of inputs
#'
#' Joins tensors that have the same shape except along `axis` into one tensor.
#' As in keras3, the tensors are given as a list in `inputs`, as further
#' unnamed arguments, or both: `layer_concatenate(x1, x2)` and
#' `layer_concatenate(list(x1, x2))` are the same.
#'
#' Masks are combined as Keras's `Concatenate` layer does: when any input
#' carries one, the output's mask marks a position kept when any input keeps
#' it along the concatenated features (an input without a mask counts as kept
#' everywhere).
#'
#' @param inputs Tensors to combine: a list of [keras_input()] tensors or of
#'   arrays (with the batch axis first), or a single one with more in `...`.
#'   Missing or `NULL` gives the layer, to be called on a list later.
#' @param ... Further tensors to combine (unnamed), and Keras's common layer
#'   keywords (named): `name`, `dtype`, `trainable`, `input_shape`,
#'   `batch_size`.
#' @param axis Axis along which to concatenate, counted from 1 with the batch
#'   axis first as in keras3; negative values count from the end (`-1`, the
#'   default, is the last axis).
#'
#' @returns The layer when no tensors are given; otherwise the concatenation:
#'   a symbolic tensor for [keras_input()] tensors, an array for arrays.
#' @family merging layers
#' @family layers
#' @export
#' @examples
#' x <- array(0:19, c(2, 2, 5))
#' y <- array(20:39, c(2, 2, 5))
#' dim(layer_concatenate(x, y, axis = 2))
#'
#' # two inputs feeding one GRU
#' prices <- keras_input(shape = c(10, 3))
#' weather <- keras_input(shape = c(10, 2))
#' outputs <- layer_concatenate(prices, weather) |>
#'   layer_gru(8) |>
#'   layer_dense(1)
#' model <- keras_model(list(prices, weather), outputs)
#' model
layer_concatenate <- function(inputs, ..., axis = -1L) {
  merge_layer_call(if (missing(inputs)) NULL else inputs, list(...), "layer_concatenate",
                   function(args) do.call(ConcatenateLayer$new,
                                          c(list(axis = keras_axis(axis)), args), quote = TRUE))
}

#' Add a list of inputs element-wise
#'
#' Sums tensors of the same shape. As in keras3, the tensors are given as a
#' list in `inputs`, as further unnamed arguments, or both. As Keras's `Add`
#' layer, shapes broadcast: sizes of 1 stretch to match, and an input with
#' fewer axes gets them inserted after the batch axis.
#'
#' Masks are combined as Keras's `Merge` layers do: the output carries a mask
#' only when every input does, keeping a position kept by any of them.
#'
#' @inheritParams layer_concatenate
#' @param ... Further tensors to add (unnamed), and Keras's common layer
#'   keywords (named): `name`, `dtype`, `trainable`, `input_shape`,
#'   `batch_size`.
#'
#' @returns The layer when no tensors are given; otherwise the sum: a symbolic
#'   tensor for [keras_input()] tensors, an array for arrays.
#' @family merging layers
#' @family layers
#' @export
#' @examples
#' x1 <- array(1, c(1, 2, 3))
#' x2 <- array(1, c(1, 2, 3))
#' layer_add(x1, x2)
#'
#' input1 <- keras_input(shape = 16)
#' x1 <- input1 |> layer_dense(8, activation = "relu")
#' input2 <- keras_input(shape = 32)
#' x2 <- input2 |> layer_dense(8, activation = "relu")
#' added <- layer_add(x1, x2)
#' output <- added |> layer_dense(4)
#' model <- keras_model(inputs = list(input1, input2), outputs = output)
layer_add <- function(inputs, ...) {
  merge_layer_call(if (missing(inputs)) NULL else inputs, list(...), "layer_add",
                   function(args) do.call(AddLayer$new, args, quote = TRUE))
}

# keras3's calling convention for merge layers: `inputs` plus unnamed `...`
# are the tensors, named `...` the layer's keywords; with no tensors, the layer.
merge_layer_call <- function(inputs, dots, fn, make_layer) {
  if (inherits(inputs, "rgru_model_sequential")) {
    rgru_abort(c(
      "{.fn {fn}} can't be added to a sequential model: it merges several tensors.",
      i = "Build the model with {.fn keras_input} and {.fn keras_model} instead."
    ), class = "input")
  }
  named <- if (is.null(names(dots))) rep(FALSE, length(dots)) else nzchar(names(dots))
  if (!is.null(inputs) && (!is.list(inputs) || is.object(inputs))) inputs <- list(inputs)
  inputs <- c(inputs, unname(dots[!named]))
  layer <- make_layer(layer_common_args(dots[named], fn))
  if (length(inputs) == 0) return(layer$handle)
  layer$call_handle(inputs)
}

# keras3 counts axes from 1 (batch first); Keras from 0. Negative axes are the same.
keras_axis <- function(axis) {
  axis <- check_integer(axis, "axis", min = -.Machine$integer.max)
  if (axis == 0L) abort_argument("axis", axis, "a non-zero whole number (axes count from 1)")
  if (axis > 0L) axis - 1L else axis
}

MergeLayer <- R6::R6Class(
  "RgruMergeLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "Merge",
    supports_masking = TRUE,

    coerce_inputs = function(inputs) {
      check_merge_list(inputs, self$name)
      lapply(inputs, as_input_array, arg = "inputs")
    },
    check_input_shape = function(input_shape) {
      check_merge_list(input_shape, self$name)
      batches <- unique(stats::na.omit(vapply(input_shape, function(s) s[1], integer(1))))
      if (length(batches) > 1 && !self$merges_batch_axis(length(input_shape[[1]]))) {
        rgru_abort(c(
          "Layer {.val {self$name}} can't merge tensors with different batch sizes.",
          x = "Got shapes {merge_shapes_text(input_shape)}."
        ), class = "shape")
      }
      self$check_merge_shapes(input_shape)
      invisible(TRUE)
    },
    forward_impl = function(inputs, mask, training, initial_state) {
      batches <- vapply(inputs, function(x) dim(x)[1], integer(1))
      if (any(batches != batches[1]) && !self$merges_batch_axis(length(dim(inputs[[1]])))) {
        rgru_abort(c(
          "Layer {.val {self$name}} can't merge tensors with different batch sizes.",
          x = "Got shapes {merge_shapes_text(lapply(inputs, dim))}."
        ), class = "shape")
      }
      self$merge_forward(inputs, if (is.list(mask)) mask)
    },
    # Whether the inputs are joined along the batch axis (which only a
    # concatenation can do), so their batch sizes may differ.
    merges_batch_axis = function(rank) FALSE,
    # A list of inputs' gradient for one output gradient, in input order.
    backward = function(tape, d_outputs) {
      list(d_inputs = self$merge_backward(tape, d_outputs), grads = list())
    }
  )
)

check_merge_list <- function(x, layer_name) {
  if (!is.list(x) || is.object(x) || length(x) < 1) {
    rgru_abort(c(
      "Layer {.val {layer_name}} must be called on a list of tensors.",
      x = "Got {.obj_type_friendly {x}}."
    ), class = "input")
  }
}

merge_shapes_text <- function(shapes) paste(vapply(shapes, format_tuple, ""), collapse = ", ")

ConcatenateLayer <- R6::R6Class(
  "RgruConcatenateLayer",
  inherit = MergeLayer,
  cloneable = FALSE,
  public = list(
    class_name = "Concatenate",
    # Keras's axis: 0 is the batch axis, negative counts from the end.
    axis = -1L,
    initialize = function(axis = -1L, ...) {
      self$axis <- check_integer(axis, "axis", min = -.Machine$integer.max)
      super$initialize(..., default_name = "concatenate")
    },
    layer_config = function() list(axis = self$axis),
    merges_batch_axis = function(rank) self$r_axis(rank) == 1L,
    # The 1-based R axis for inputs of rank `rank`.
    r_axis = function(rank) {
      k <- if (self$axis < 0) rank + self$axis + 1L else self$axis + 1L
      if (k < 1 || k > rank) {
        rgru_abort(c(
          "{.arg axis} of layer {.val {self$name}} is outside inputs of rank {rank}.",
          x = "Keras axis {self$axis}; the inputs have {rank} axes (batch included)."
        ), class = "shape")
      }
      k
    },
    check_merge_shapes = function(shapes) {
      ranks <- lengths(shapes)
      k <- self$r_axis(ranks[1])
      mismatch <- any(ranks != ranks[1]) || any(vapply(seq_len(ranks[1])[-k], function(j) {
        sizes <- stats::na.omit(vapply(shapes, function(s) s[j], integer(1)))
        length(unique(sizes)) > 1
      }, logical(1)))
      if (mismatch) {
        rgru_abort(c(
          "Layer {.val {self$name}} needs inputs of one shape except along the concatenation axis ({k}).",
          x = "Got shapes {merge_shapes_text(shapes)}."
        ), class = "shape")
      }
    },
    compute_output_shape = function(input_shape) {
      k <- self$r_axis(length(input_shape[[1]]))
      out <- input_shape[[1]]
      for (j in seq_len(length(out))[-k]) {
        known <- stats::na.omit(vapply(input_shape, function(s) s[j], integer(1)))
        out[j] <- if (length(known) > 0) known[[1]] else NA_integer_
      }
      sizes <- vapply(input_shape, function(s) s[k], integer(1))
      out[k] <- if (anyNA(sizes)) NA_integer_ else sum(sizes)
      out
    },
    compute_output_mask = function(input_has_mask) any(input_has_mask),
    merge_forward = function(inputs, mask) {
      dims <- lapply(inputs, dim)
      k <- self$r_axis(length(dims[[1]]))
      out_mask <- NULL
      if (!all(vapply(mask, is.null, logical(1)))) {
        full <- Map(expand_mask_to_input, mask, dims)
        combined <- bind_along_axis(full, k)
        out_mask <- apply_any_last(combined)
      }
      list(outputs = bind_along_axis(inputs, k), mask = out_mask,
           tape = list(k = k, sizes = vapply(dims, function(d) d[k], integer(1))))
    },
    merge_backward = function(tape, d_outputs) {
      split_along_axis(d_outputs, tape$k, tape$sizes)
    }
  )
)

AddLayer <- R6::R6Class(
  "RgruAddLayer",
  inherit = MergeLayer,
  cloneable = FALSE,
  public = list(
    class_name = "Add",
    initialize = function(...) {
      super$initialize(..., default_name = "add")
    },
    check_merge_shapes = function(shapes) {
      broadcast_shape(shapes, self$name)
    },
    compute_output_shape = function(input_shape) broadcast_shape(input_shape, self$name),
    compute_output_mask = function(input_has_mask) all(input_has_mask),
    merge_forward = function(inputs, mask) {
      dims <- lapply(inputs, dim)
      out_dims <- broadcast_shape(dims, self$name)
      out <- broadcast_to(inputs[[1]], out_dims)
      for (x in inputs[-1]) out <- out + broadcast_to(x, out_dims)
      out_mask <- NULL
      if (length(mask) == length(inputs) && !any(vapply(mask, is.null, logical(1)))) {
        out_mask <- Reduce(`|`, mask)
      }
      list(outputs = out, mask = out_mask, tape = list(dims = dims))
    },
    merge_backward = function(tape, d_outputs) {
      lapply(tape$dims, function(d) sum_to_shape(d_outputs, d))
    }
  )
)

# Keras's element-wise broadcasting of merge inputs: inputs of lower rank get
# axes of size 1 inserted after the batch axis, then sizes of 1 stretch.
broadcast_shape <- function(shapes, layer_name) {
  rank <- max(lengths(shapes))
  expanded <- lapply(shapes, expand_rank, rank = rank)
  out <- expanded[[1]]
  for (s in expanded[-1]) {
    for (j in seq_len(rank)[-1]) {
      a <- out[j]
      b <- s[j]
      out[j] <- if (is.na(a) || is.na(b)) NA_integer_ else if (a == 1L) b else
        if (b == 1L || a == b) a else {
          rgru_abort(c(
            "Layer {.val {layer_name}} can't add tensors of incompatible shapes.",
            x = "Got shapes {merge_shapes_text(shapes)}."
          ), class = "shape")
        }
    }
  }
  batch <- stats::na.omit(vapply(shapes, function(s) s[1], integer(1)))
  out[1] <- if (length(batch) > 0) batch[[1]] else NA_integer_
  out
}

expand_rank <- function(shape, rank) {
  if (length(shape) >= rank) return(shape)
  c(shape[1], rep(1L, rank - length(shape)), shape[-1])
}

broadcast_to <- function(x, dims) {
  d <- expand_rank(dim(x), length(dims))
  if (identical(as.integer(d), as.integer(dims))) {
    dim(x) <- dims
    return(x)
  }
  dim(x) <- d
  index <- lapply(seq_along(dims), function(j) if (d[j] == 1L) rep(1L, dims[j]) else seq_len(dims[j]))
  do.call(`[`, c(list(x), index, list(drop = FALSE)))
}

# The gradient of broadcast_to(): sums over the stretched axes, then drops the
# inserted ones.
sum_to_shape <- function(g, d) {
  dims <- dim(g)
  expanded <- expand_rank(d, length(dims))
  keep <- which(expanded == dims)
  if (length(keep) < length(dims)) {
    g <- if (length(keep) == 0) sum(g) else apply(g, keep, sum)
  }
  array(as.numeric(g), d)
}

# Concatenation of arrays along axis k (1-based): the axis is moved last, the
# values joined, and the axis moved back.
bind_along_axis <- function(arrays, k) {
  dims <- dim(arrays[[1]])
  rank <- length(dims)
  sizes <- vapply(arrays, function(a) dim(a)[k], integer(1))
  perm <- c(seq_len(rank)[-k], k)
  values <- unlist(lapply(arrays, function(a) if (k == rank) as.vector(a) else as.vector(aperm(a, perm))),
                   use.names = FALSE)
  out <- array(values, c(dims[-k], sum(sizes)))
  if (k == rank) out else aperm(out, order(perm))
}

split_along_axis <- function(x, k, sizes) {
  dims <- dim(x)
  rank <- length(dims)
  perm <- c(seq_len(rank)[-k], k)
  moved <- if (k == rank) x else aperm(x, perm)
  block <- prod(dims[-k])
  ends <- cumsum(sizes)
  lapply(seq_along(sizes), function(i) {
    piece <- array(moved[(ends[i] - sizes[i]) * block + seq_len(sizes[i] * block)],
                   c(dims[-k], sizes[i]))
    if (k == rank) piece else aperm(piece, order(perm))
  })
}

# A mask covering one input's positions: all kept without a mask, a mask of one
# axis fewer repeated along the features.
expand_mask_to_input <- function(mask, dims) {
  if (is.null(mask)) return(array(TRUE, dims))
  mask <- as.logical(mask)
  if (length(mask) == prod(dims)) return(array(mask, dims))
  if (length(mask) * dims[length(dims)] == prod(dims)) {
    return(array(rep(mask, times = dims[length(dims)]), dims))
  }
  rgru_abort(c(
    "A mask reaching a concatenation doesn't fit its input.",
    x = "The input has shape {format_tuple(dims)}; the mask has {length(mask)} entries."
  ), class = "mask")
}

apply_any_last <- function(m) {
  dims <- dim(m)
  rank <- length(dims)
  kept <- rowSums(matrix(m, ncol = dims[rank])) > 0
  if (rank == 2) kept else array(kept, dims[-rank])
}
