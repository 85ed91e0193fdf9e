# layer_gru(): keras3's GRU layer. The weights live in its GRU cell; sequences
# run on the C++ engine (or cuDNN), or on the cell's R step when an activation
# is an R function.

#' Gated Recurrent Unit layer
#'
#' keras3's `layer_gru()`, with the same arguments and defaults, running on the
#' package's C++ engine (Eigen + BLAS) on the CPU or on cuDNN when a GPU is
#' present and the configuration allows it (see `use_cudnn`).
#'
#' The requirements for cuDNN are Keras's: `activation == "tanh"`,
#' `recurrent_activation == "sigmoid"`, `dropout == 0` and
#' `recurrent_dropout == 0`, `unroll == FALSE`, `use_bias == TRUE`,
#' `reset_after == TRUE`, and masks, if any, strictly right-padded.
#'
#' `NA`, `NaN` and `Inf` in the inputs are not rejected: as in Keras they
#' propagate through the arithmetic, so the outputs of the affected samples are
#' `NaN` (or saturate, for `Inf` in a gate). Masked time steps don't propagate
#' them to the outputs.
#'
#' @param object Object to compose the layer with: `NULL` or missing gives the
#'   layer; a [keras_model_sequential()] gets the layer appended (in place,
#'   returned invisibly); a [keras_input()] tensor gives the symbolic output; an
#'   array (batch, timesteps, features) is computed on at once.
#' @param units Positive integer, dimensionality of the output space.
#' @param activation Activation function: a Keras activation name, an R
#'   function (computed on a slower R path), or `NULL` for linear.
#' @param recurrent_activation Activation of the update and reset gates.
#' @param use_bias Whether the layer uses bias vectors.
#' @param kernel_initializer,recurrent_initializer,bias_initializer
#'   Initializers of the weights: names (`"glorot_uniform"`, `"orthogonal"`,
#'   `"zeros"`, ...) or `initializer_*()` objects.
#' @param kernel_regularizer,recurrent_regularizer,bias_regularizer Regularizer
#'   objects (`regularizer_l2()`, ...) for the weights, or `NULL`; applied by
#'   training.
#' @param activity_regularizer Regularizer of the layer's output, or `NULL`.
#' @param kernel_constraint,recurrent_constraint,bias_constraint Constraint
#'   objects (`constraint_maxnorm()`, ...) or `NULL`; applied after each
#'   training update.
#' @param dropout Fraction in \[0, 1) of the inputs dropped in training.
#' @param recurrent_dropout Fraction in \[0, 1) of the recurrent state dropped
#'   in training.
#' @param seed Integer seed making dropout masks reproducible, or `NULL`.
#' @param return_sequences Whether to return the whole output sequence
#'   (batch, timesteps, units) rather than the last output (batch, units).
#' @param return_state Whether to also return the final state: the result is
#'   then a list, destructured with `c(output, state) %<-% ...`.
#' @param go_backwards Whether to process the sequence backwards (the returned
#'   sequence is then in processing order, reversed).
#' @param stateful Whether the final state of sample i is the initial state of
#'   sample i in the next call (reset with `layer$reset_state()`).
#' @param unroll Accepted for compatibility; the numbers are the same.
#' @param reset_after GRU convention: `TRUE` applies the reset gate after the
#'   recurrent matrix product (default, cuDNN compatible).
#' @param use_cudnn `"auto"` uses cuDNN when a GPU is present and the
#'   configuration allows it, `TRUE` requires it (an error says which condition
#'   fails), `FALSE` never uses it.
#' @param ... Keras's common layer keywords: `name`, `dtype` (`"float32"`
#'   default, or `"float64"`), `trainable`, `input_shape`, `batch_size`; and
#'   the keywords Keras's GRU forwards to its base classes:
#'   `zero_output_for_mask` (as in [layer_rnn()]: `TRUE` makes masked steps
#'   output zeros) and the legacy `implementation` (1 or 2, accepted and
#'   ignored, as in Keras 3).
#'
#' @section Calling the layer:
#' `gru(inputs, mask = NULL, training = NULL, initial_state = NULL)`: `inputs`
#' is a 3-D array (batch, timesteps, features); `mask` a logical
#' (batch, timesteps) matrix, `TRUE` for steps to use; `training = TRUE`
#' applies dropout; `initial_state` a (batch, units) matrix or a list of one.
#'
#' @returns A GRU layer, the sequential model `object` (invisibly), a symbolic
#'   tensor, or an array, depending on `object` (see above).
#' @family gru rnn layers
#' @family rnn layers
#' @export
#' @examples
#' inputs <- random_uniform(c(32, 10, 8))
#' outputs <- inputs |> layer_gru(4)
#' shape(outputs)
#'
#' gru <- layer_gru(, 4, return_sequences = TRUE, return_state = TRUE)
#' c(whole_sequence_output, final_state) %<-% gru(inputs)
#' shape(whole_sequence_output)
#' shape(final_state)
#'
#' # in a model
#' model <- keras_model_sequential(input_shape = c(10, 8)) |>
#'   layer_gru(16) |>
#'   layer_dense(1)
#' model
layer_gru <- function(object, units, activation = "tanh", recurrent_activation = "sigmoid",
                      use_bias = TRUE, kernel_initializer = "glorot_uniform",
                      recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                      kernel_regularizer = NULL, recurrent_regularizer = NULL,
                      bias_regularizer = NULL, activity_regularizer = NULL,
                      kernel_constraint = NULL, recurrent_constraint = NULL,
                      bias_constraint = NULL, dropout = 0, recurrent_dropout = 0,
                      seed = NULL, return_sequences = FALSE, return_state = FALSE,
                      go_backwards = FALSE, stateful = FALSE, unroll = FALSE,
                      reset_after = TRUE, use_cudnn = "auto", ...) {
  object <- if (missing(object)) NULL else object
  if (missing(units)) abort_arg("units", NULL, "a positive integer")
  args <- layer_common_args(list(...), "layer_gru",
                            also = c("zero_output_for_mask", "implementation"))
  layer <- do.call(GruLayer$new, c(formal_args(layer_gru, environment()), args), quote = TRUE)
  create_layer(layer, object)
}

GruLayer <- R6::R6Class(
  "RgruGruLayer",
  inherit = RnnLayer,
  cloneable = FALSE,
  public = list(
    class_name = "GRU",
    use_cudnn = "auto",
    # Which implementation the last forward pass ran on: "cpu", "cudnn" or "r".
    last_backend = NULL,

    # `...` are the cell's arguments (units, activation, ..., seed).
    initialize = function(..., activity_regularizer = NULL, return_sequences = FALSE,
                          return_state = FALSE, go_backwards = FALSE, stateful = FALSE,
                          unroll = FALSE, use_cudnn = "auto", zero_output_for_mask = FALSE,
                          implementation = 2L, name = NULL, dtype = NULL,
                          trainable = TRUE, input_shape = NULL, batch_size = NULL,
                          batch_input_shape = NULL) {
      ok <- identical(use_cudnn, "auto") || isTRUE(use_cudnn) || isFALSE(use_cudnn)
      if (!ok) abort_arg("use_cudnn", use_cudnn, "\"auto\", TRUE or FALSE")
      # Keras 3 keeps `implementation` only for old code: the numbers are the same.
      if (!(is_scalar_number(implementation) && implementation %in% 1:2)) {
        abort_arg("implementation", implementation, "1 or 2")
      }
      self$use_cudnn <- use_cudnn
      cell <- GruCell$new(..., name = "gru_cell", dtype = dtype, trainable = trainable)
      super$initialize(cell, return_sequences = return_sequences, return_state = return_state,
                       go_backwards = go_backwards, stateful = stateful, unroll = unroll,
                       zero_output_for_mask = zero_output_for_mask,
                       name = name, dtype = dtype, trainable = trainable,
                       input_shape = input_shape, batch_size = batch_size,
                       batch_input_shape = batch_input_shape,
                       activity_regularizer = activity_regularizer, default_name = "gru")
    },

    layer_config = function() {
      c(self$cell$config_args,
        list(activity_regularizer = self$activity_regularizer,
             return_sequences = self$return_sequences, return_state = self$return_state,
             go_backwards = self$go_backwards, stateful = self$stateful, unroll = self$unroll,
             zero_output_for_mask = self$zero_output_for_mask, use_cudnn = self$use_cudnn))
    },

    # NULL when cuDNN can run this call, otherwise the reason it can't.
    cudnn_obstacle = function(mask) {
      if (!cudnn_usable()) return("no CUDA GPU with cuDNN is available to this build of rgru")
      cell <- self$cell
      cudnn_unmet_condition(
        activation = cell$activation, recurrent_activation = cell$recurrent_activation,
        dropout = cell$dropout, recurrent_dropout = cell$recurrent_dropout,
        unroll = self$unroll, use_bias = cell$use_bias, reset_after = cell$reset_after,
        mask = mask
      )
    },

    select_backend = function(mask) {
      if (!isFALSE(self$use_cudnn)) {
        obstacle <- self$cudnn_obstacle(mask)
        if (is.null(obstacle)) return("cudnn")
        if (isTRUE(self$use_cudnn)) {
          cli::cli_abort(c(
            "{.code use_cudnn = TRUE} was given, but cuDNN can't run layer {.val {self$name}}.",
            x = obstacle,
            i = "Use {.code use_cudnn = \"auto\"} to fall back to the CPU engine."
          ), class = c("rgru_error_cudnn", "rgru_error"), call = NULL)
        }
      }
      builtin <- !is.null(self$cell$activation$name) &&
        !is.null(self$cell$recurrent_activation$name)
      if (builtin) "cpu" else "r"
    },

    run_sequence = function(x, initial_state, mask, masks, keep_tape) {
      backend <- self$select_backend(mask)
      self$last_backend <- backend
      record_gru_backend(backend)
      if (backend == "r") return(super$run_sequence(x, initial_state, mask, masks, keep_tape))
      cell <- self$cell
      forward_fn <- if (backend == "cudnn") cudnn_gru_forward else gru_forward_cpp
      res <- forward_fn(
        x, cell$kernel_value(), cell$recurrent_value(), cell$bias_value(),
        if (is.null(initial_state)) NULL else initial_state[[1]], mask,
        masks$input, masks$recurrent, cell$activation$name, cell$recurrent_activation$name,
        cell$reset_after, self$go_backwards, self$return_sequences, self$dtype, keep_tape
      )
      # Keras outputs zeros before a sample's first kept step (its "previous
      # output" starts at zero), and at every masked step with
      # zero_output_for_mask; the engines carry the previous output there.
      lead <- if (self$zero_output_for_mask) masked_steps(mask, self$go_backwards) else
        if (!is.null(initial_state)) leading_masked(mask, self$go_backwards)
      sequence <- res$sequence
      last_output <- res$final_state
      if (!is.null(lead)) {
        if (!is.null(sequence)) sequence <- sequence * as.vector(!lead)
        last_output <- last_output * !lead[, ncol(lead)]
      }
      list(engine = backend, sequence = sequence, last_output = last_output,
           final_states = list(res$final_state), tape = res$tape, lead = lead)
    },

    backward_sequence = function(run, d_sequence, d_last, d_states) {
      if (is.null(run$engine)) return(super$backward_sequence(run, d_sequence, d_last, d_states))
      if (is.null(run$tape)) {
        cli::cli_abort("Layer {.val {self$name}} ran forward without keeping a tape; backward is impossible.",
                       class = c("rgru_error_backward", "rgru_error"), call = NULL)
      }
      if (!is.null(run$lead)) {
        if (!is.null(d_sequence)) d_sequence <- d_sequence * as.vector(!run$lead)
        if (!is.null(d_last)) d_last <- d_last * !run$lead[, ncol(run$lead)]
      }
      d_final <- add_or_null(d_last, d_states[[1]])
      backward_fn <- if (run$engine == "cudnn") cudnn_gru_backward else gru_backward_cpp
      g <- backward_fn(run$tape, d_sequence, d_final)
      list(d_x = g$d_x, d_initial_states = list(g$d_initial_state),
           grads = compact_grads(list(g$d_kernel, g$d_recurrent_kernel, g$d_bias)))
    }
  ),
  active = list(
    units = function() self$cell$units,
    activation = function() self$cell$activation,
    recurrent_activation = function() self$cell$recurrent_activation,
    use_bias = function() self$cell$use_bias,
    dropout = function() self$cell$dropout,
    recurrent_dropout = function() self$cell$recurrent_dropout,
    reset_after = function() self$cell$reset_after,
    seed = function() self$cell$seed,
    kernel_regularizer = function() self$cell$kernel_regularizer,
    recurrent_regularizer = function() self$cell$recurrent_regularizer,
    bias_regularizer = function() self$cell$bias_regularizer,
    kernel_constraint = function() self$cell$kernel_constraint,
    recurrent_constraint = function() self$cell$recurrent_constraint,
    bias_constraint = function() self$cell$bias_constraint
  )
)

# (batch, timesteps) in processing order: TRUE before a sample's first kept
# step. NULL when no sample starts with a masked step.
leading_masked <- function(mask, go_backwards) {
  if (is.null(mask)) return(NULL)
  if (go_backwards) mask <- mask[, rev(seq_len(ncol(mask))), drop = FALSE]
  lead <- t(apply(mask, 1, function(row) cumsum(row) == 0))
  dim(lead) <- dim(mask)
  if (any(lead)) lead else NULL
}

# (batch, timesteps) in processing order: TRUE at masked steps. NULL when none is.
masked_steps <- function(mask, go_backwards) {
  if (is.null(mask) || all(mask)) return(NULL)
  if (go_backwards) mask <- mask[, rev(seq_len(ncol(mask))), drop = FALSE]
  !mask
}

add_or_null <- function(a, b) {
  if (is.null(a)) return(b)
  if (is.null(b)) return(a)
  a + b
}
