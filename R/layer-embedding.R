# layer_embedding(): integer indices to dense vectors; with mask_zero = TRUE the
# index 0 is padding and masks the step for downstream recurrent layers.
# Without mask_zero, Keras's Embedding does not support masking: an incoming
# mask is dropped (with MasklessLayer's warning), not passed on.

#' Turn integer indices into dense vectors
#'
#' Indices are 0-based as in Keras: `0 <= index < input_dim`. With
#' `mask_zero = TRUE`, index 0 is reserved for padding: those steps are masked
#' and [layer_gru()] skips them. The mask travels between layers of a model
#' (sequential or functional); a plain array returned by calling the layer
#' directly carries none, so pass `mask = tokens != 0` to the next layer then.
#' Without `mask_zero`, as in Keras, the layer does not support masking: a
#' masked input's mask is dropped, with a warning, and later layers see none.
#'
#' @inheritParams layer_gru
#' @param input_dim Size of the vocabulary (largest index + 1).
#' @param output_dim Dimension of the embedding vectors.
#' @param embeddings_initializer Initializer of the embeddings matrix
#'   (default `"uniform"`, Keras's `RandomUniform(-0.05, 0.05)`).
#' @param embeddings_regularizer Regularizer of the embeddings, or `NULL`.
#' @param embeddings_constraint Constraint of the embeddings, or `NULL`.
#' @param mask_zero Whether index 0 is padding to be masked.
#' @param weights Optional initial embeddings matrix (input_dim, output_dim).
#' @param lora_rank,lora_alpha Must be `NULL`: LoRA is not supported.
#' @param ... Keras's common layer keywords: `name`, `dtype`, `trainable`,
#'   `input_shape`, `batch_size`, `activity_regularizer`; and keras 2's
#'   `input_length`, the length of the sequences: Keras 3 ignores it with a
#'   deprecation warning, rgru warns the same way and checks it against the
#'   inputs' second axis.
#'
#' @returns A layer, a symbolic tensor, an array, or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family layers
#' @export
#' @examples
#' tokens <- rbind(c(3, 1, 0, 0), c(2, 2, 4, 1))   # 0 = padding
#' model <- keras_model_sequential() |>
#'   layer_embedding(input_dim = 5, output_dim = 3, mask_zero = TRUE) |>
#'   layer_gru(2)
#' predict(model, tokens)
layer_embedding <- function(object, input_dim, output_dim, embeddings_initializer = "uniform",
                            embeddings_regularizer = NULL, embeddings_constraint = NULL,
                            mask_zero = FALSE, weights = NULL, lora_rank = NULL,
                            lora_alpha = NULL, ...) {
  object <- if (missing(object)) NULL else object
  if (missing(input_dim)) abort_argument("input_dim", NULL, "a positive whole number")
  if (missing(output_dim)) abort_argument("output_dim", NULL, "a positive whole number")
  if (!is.null(lora_rank)) abort_argument("lora_rank", lora_rank, "`NULL` (LoRA is not supported)")
  if (!is.null(lora_alpha)) abort_argument("lora_alpha", lora_alpha, "`NULL` (LoRA is not supported)")
  dots <- list(...)
  input_length <- dots$input_length
  dots$input_length <- NULL
  if (!is.null(input_length)) {
    rgru_warn(c("Argument {.arg input_length} is deprecated (as in Keras 3); just remove it.",
                i = "rgru checks it against the length of the input sequences."),
              class = "deprecated")
  }
  args <- c(layer_common_args(dots, "layer_embedding"), list(input_length = input_length))
  layer <- do.call(EmbeddingLayer$new,
                   c(formal_args(layer_embedding, environment())[c("input_dim", "output_dim",
                     "embeddings_initializer", "embeddings_regularizer", "embeddings_constraint",
                     "mask_zero", "weights")], args), quote = TRUE)
  create_layer(layer, object)
}

EmbeddingLayer <- R6::R6Class(
  "RgruEmbeddingLayer",
  inherit = MasklessLayer,
  cloneable = FALSE,
  public = list(
    class_name = "Embedding",
    input_dim = NULL,
    output_dim = NULL,
    mask_zero = FALSE,
    initializer = NULL,
    regularizer = NULL,
    constraint = NULL,
    initial_weights = NULL,
    input_length = NULL,
    config_args = NULL,
    initialize = function(input_dim, output_dim, embeddings_initializer = "uniform",
                          embeddings_regularizer = NULL, embeddings_constraint = NULL,
                          mask_zero = FALSE, weights = NULL, lora_rank = NULL,
                          input_length = NULL, ...) {
      self$input_dim <- check_positive_integer(input_dim, "input_dim")
      self$input_length <- check_positive_integer(input_length, "input_length", allow_null = TRUE)
      self$output_dim <- check_positive_integer(output_dim, "output_dim")
      self$mask_zero <- check_bool(mask_zero, "mask_zero")
      self$supports_masking <- self$mask_zero
      self$initializer <- resolve_initializer(embeddings_initializer, "embeddings_initializer")
      self$regularizer <- resolve_regularizer(embeddings_regularizer, "embeddings_regularizer")
      self$constraint <- resolve_constraint(embeddings_constraint, "embeddings_constraint")
      if (!is.null(weights)) {
        w <- if (is.list(weights) && !is.data.frame(weights) && length(weights) == 1) weights[[1]] else weights
        if (!is.numeric(w) || !identical(as.integer(dim(w)), c(self$input_dim, self$output_dim))) {
          abort_argument("weights", weights, sprintf("a numeric matrix (%d, %d)", self$input_dim, self$output_dim))
        }
        self$initial_weights <- w
      }
      self$config_args <- list(input_dim = self$input_dim, output_dim = self$output_dim,
                               embeddings_initializer = embeddings_initializer,
                               embeddings_regularizer = embeddings_regularizer,
                               embeddings_constraint = embeddings_constraint,
                               mask_zero = self$mask_zero, input_length = self$input_length)
      super$initialize(..., default_name = "embedding")
    },
    build = function(input_shape) {
      v <- self$add_weight("embeddings", c(self$input_dim, self$output_dim), self$initializer,
                           self$regularizer, self$constraint)
      if (!is.null(self$initial_weights)) {
        v$value <- matrix(as.numeric(self$initial_weights), self$input_dim, self$output_dim)
      }
    },
    check_input_shape = function(input_shape) {
      if (is.list(input_shape)) {
        rgru_abort("Layer {.val {self$name}} takes one input, not a list.", class = "input")
      }
      steps <- if (length(input_shape) >= 2) input_shape[2] else NA
      if (!is.null(self$input_length) && !is.na(steps) && steps != self$input_length) {
        rgru_abort(c(
          "{.arg inputs} of layer {.val {self$name}} must have {.arg input_length} = {self$input_length} steps on their second axis.",
          x = "Got shape {format_tuple(input_shape)}."
        ), class = "shape")
      }
      invisible(TRUE)
    },
    coerce_inputs = function(inputs) {
      x <- as_input_array(inputs, "inputs")
      check_indices(x, self$input_dim)
      x
    },
    compute_output_shape = function(input_shape) c(input_shape, self$output_dim),
    compute_output_mask = function(input_has_mask) {
      self$mask_zero || super$compute_output_mask(input_has_mask)
    },
    layer_config = function() self$config_args,
    forward_impl = function(inputs, mask, training, initial_state) {
      check_indices(inputs, self$input_dim)
      d <- value_shape(inputs)
      idx <- as.integer(inputs) + 1L
      out <- self$variables[[1]]$value[idx, , drop = FALSE]
      dim(out) <- c(d, self$output_dim)
      out_mask <- if (self$mask_zero) array(inputs != 0, d) else self$drop_mask(mask)
      list(outputs = out, mask = out_mask, tape = list(idx = idx, dims = d))
    },
    backward = function(tape, d_outputs) {
      d_rows <- matrix(d_outputs, ncol = self$output_dim)
      sums <- rowsum(d_rows, tape$idx)
      grad <- matrix(0, self$input_dim, self$output_dim)
      grad[as.integer(rownames(sums)), ] <- sums
      list(d_inputs = NULL, grads = list(grad))
    }
  )
)
