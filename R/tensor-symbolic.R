# Symbolic tensors: what keras_input() returns and what calling a layer on one
# gives back. They carry a shape (batch axis first, NA when unknown), a dtype,
# whether a Keras mask travels with them, and the node that produced them, so
# keras_model() can walk the graph from outputs back to inputs.

symbolic_ids <- new.env(parent = emptyenv())
symbolic_ids$next_id <- 0L

new_symbolic_tensor <- function(shape, dtype = "float32", name = NULL, node = NULL,
                                index = 1L, has_mask = FALSE) {
  t <- new.env(parent = emptyenv())
  symbolic_ids$next_id <- symbolic_ids$next_id + 1L
  t$id <- symbolic_ids$next_id
  t$shape <- as.integer(shape)
  t$dtype <- dtype
  t$name <- name %||% if (symbolic_ids$next_id == 1L) "keras_tensor" else
    paste0("keras_tensor_", symbolic_ids$next_id - 1L)
  t$node <- node
  t$index <- index
  t$has_mask <- has_mask
  class(t) <- "rgru_symbolic_tensor"
  t
}

is_symbolic_tensor <- function(x) inherits(x, "rgru_symbolic_tensor")

is_symbolic_input <- function(x) {
  is_symbolic_tensor(x) || is.list(x) && length(x) > 0 && !is.object(x) &&
    all(vapply(x, is_symbolic_tensor, logical(1)))
}

#' Create a symbolic input tensor
#'
#' `keras_input()` starts a functional model: call layers on the tensor it
#' returns to get symbolic outputs with inferred shapes, then give both ends to
#' [keras_model()]. Nothing is computed until the model is called on data.
#'
#' `layer_input()` is keras3's older name for `keras_input()`, kept for scripts
#' written for keras 2.
#'
#' @param shape Shape of one sample, without the batch axis (e.g. `c(10, 8)`
#'   for sequences of 10 steps with 8 features). `NA` marks an unknown size,
#'   e.g. `c(NA, 8)` for sequences of any length.
#' @param batch_size Optional fixed batch size.
#' @param dtype `"float32"` (default) or `"float64"` for numbers; an integer
#'   dtype (`"int32"`, `"int64"`, `"int"`, which is `"int64"` as on keras3's
#'   TensorFlow backend, `"int8"`, `"int16"`, `"uint8"`, ...) or `"bool"` for
#'   token ids or flags feeding [layer_embedding()]. Integer and logical R
#'   arrays are accepted for any dtype.
#' @param sparse,ragged Must be `NULL` or `FALSE`: sparse and ragged inputs are
#'   not supported.
#' @param batch_shape Optional shape including the batch axis; replaces `shape`
#'   and `batch_size`.
#' @param name Optional name of the input.
#' @param tensor Must be `NULL`: rgru has no backend tensors to wrap.
#' @param optional Must be `FALSE`: optional (`NULL`) inputs are not supported.
#'
#' @returns A symbolic tensor. [shape()] gives its shape; printing shows
#'   `<KerasTensor shape=(None, 10, 8), dtype=float32, ...>` as in keras3.
#' @family model creation
#' @export
#' @examples
#' inputs <- keras_input(shape = c(10, 8))
#' shape(inputs)
#' outputs <- inputs |> layer_gru(4)
#' shape(outputs)
keras_input <- function(shape = NULL, batch_size = NULL, dtype = NULL, sparse = NULL,
                        ragged = NULL, batch_shape = NULL, name = NULL, tensor = NULL,
                        optional = FALSE) {
  if (isTRUE(sparse)) {
    abort_argument("sparse", sparse, "`NULL` or `FALSE` (sparse inputs are not supported)")
  }
  if (isTRUE(ragged)) {
    abort_arg("ragged", ragged, "NULL or FALSE (ragged inputs are not supported)")
  }
  if (!is.null(tensor)) abort_arg("tensor", tensor, "NULL (rgru has no backend tensors)")
  if (!isFALSE(optional)) abort_arg("optional", optional, "FALSE (optional inputs are not supported)")
  if (!is.null(batch_shape)) {
    full <- arg_shape(batch_shape, "batch_shape", batch = TRUE)
  } else {
    if (is.null(shape)) abort_argument("shape", shape, "the shape of one sample, e.g. `c(10, 8)`")
    batch <- if (is.null(batch_size)) NA_integer_ else check_positive_integer(batch_size, "batch_size")
    full <- c(batch, arg_shape(shape, "shape"))
  }
  name <- if (is.null(name)) unique_layer_name("input_layer") else check_string(name, "name")
  input_layer <- InputLayer$new(full, dtype = check_input_dtype(dtype, "dtype"), name = name)
  input_layer$output
}

#' @rdname keras_input
#' @usage NULL
#' @export
layer_input <- keras_input

# What an input may hold: the float dtypes layers compute in, and Keras's
# integer and boolean dtypes (token ids, flags), which R holds as integers,
# logicals or whole doubles.
rgru_input_dtypes <- c("float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                       "uint16", "uint32", "uint64", "bool")

check_input_dtype <- function(x, arg = "dtype") {
  if (is.null(x)) return("float32")
  # Keras maps "int" to int64 on TensorFlow, keras3's default backend.
  if (identical(x, "int")) return("int64")
  check_choice(x, rgru_input_dtypes, arg)
}

is_float_dtype <- function(dtype) dtype %in% rgru_float_dtypes

# The layer a keras_input() tensor comes from, listed by functional models.
InputLayer <- R6::R6Class(
  "RgruInputLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "InputLayer",
    output = NULL,
    initialize = function(batch_shape, dtype, name) {
      super$initialize(name = name, default_name = "input_layer")
      self$dtype <- dtype
      self$declared_input_shape <- batch_shape
      self$built <- TRUE
      self$built_input_shape <- batch_shape
      self$output <- new_symbolic_tensor(batch_shape, dtype = dtype, name = name,
                                         node = NULL)
      self$output$input_layer <- self
    },
    layer_config = function() list(batch_shape = self$declared_input_shape)
  )
)

#' @export
print.rgru_symbolic_tensor <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

#' @export
format.rgru_symbolic_tensor <- function(x, ...) {
  sprintf("<KerasTensor shape=%s, dtype=%s, sparse=False, name=%s>",
          format_tuple(x$shape), x$dtype, x$name)
}

#' @export
dim.rgru_symbolic_tensor <- function(x) x$shape

# A layer applied to symbolic tensors: builds the layer from the inferred input
# shape, records a graph node and returns the symbolic output(s).
call_layer_symbolic <- function(layer, inputs, mask = NULL, training = NULL,
                                initial_state = NULL) {
  if (!is.null(mask)) {
    abort_argument("mask", mask, "`NULL` when calling a layer on symbolic tensors",
                   "i" = "Masks flow from layers such as {.fn layer_masking}.")
  }
  if (!is_symbolic_input(inputs)) {
    abort_argument("inputs", inputs, "symbolic tensors when `initial_state` is",
                   class = "input")
  }
  if (!is.null(initial_state)) {
    if (is_symbolic_tensor(initial_state)) initial_state <- list(initial_state)
    if (!is_symbolic_input(initial_state)) {
      abort_argument("initial_state", initial_state, "symbolic tensors when `inputs` are",
                     class = "input")
    }
  }
  in_shape <- if (is_symbolic_tensor(inputs)) inputs$shape else lapply(inputs, function(t) t$shape)
  has_mask <- if (is_symbolic_tensor(inputs)) inputs$has_mask else
    vapply(inputs, function(t) t$has_mask, logical(1))
  layer$prepare(in_shape)
  if (!is.null(initial_state)) layer$check_initial_state_shapes(lapply(initial_state, function(t) t$shape))
  out_shape <- layer$compute_output_shape(in_shape)
  out_mask <- layer$compute_output_mask(has_mask)
  node <- list(layer = layer, inputs = inputs, initial_state = initial_state,
               training = training)
  dtype <- layer$dtype
  if (is.list(out_shape)) {
    out_mask <- rep_len(as.list(out_mask), length(out_shape))
    outputs <- lapply(seq_along(out_shape), function(i) {
      new_symbolic_tensor(out_shape[[i]], dtype = dtype, node = node, index = i,
                          has_mask = isTRUE(out_mask[[i]]))
    })
    node$outputs <- outputs
    for (o in outputs) o$node <- node
    return(outputs)
  }
  out <- new_symbolic_tensor(out_shape, dtype = dtype, node = node, index = 1L,
                             has_mask = isTRUE(out_mask))
  node$outputs <- list(out)
  out$node <- node
  out
}

#' @export
tensor_dims.rgru_symbolic_tensor <- function(x) x$shape
