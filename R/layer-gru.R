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
#' `recurrent_activation == "sigmoid"`, `recurrent_dropout == 0`,
#' `unroll == FALSE`, `use_bias == TRUE`, `reset_after == TRUE`, and masks, if
#' any, strictly right-padded. `dropout > 0` keeps cuDNN, as in Keras: in
#' training the inputs are multiplied by the (batch, features) dropout mask
#' before the cuDNN call. See [rgru-cudnn] for the options and the fallbacks.
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
#'   function, or `NULL` for linear. Keras's elementwise activations run on the
#'   C++ engine; R functions and the activations along an axis (`"softmax"`,
#'   `"log_softmax"`, `"sparsemax"`, `"glu"`) on a slower R path, as in
#'   [layer_rnn()].
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
#'   configuration allows it (falling back to the CPU engine, with a warning, if
#'   cuDNN refuses it at run time), `TRUE` requires it (an error says which
#'   condition fails), `FALSE` never uses it.
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
#' A built layer decides once how it computes (backend, engine configuration),
#' so `gru(x)` on a double array costs little more than the engine's own work.
#' Its settings can be changed afterwards through the layer
#' (`gru$return_sequences <- TRUE`), which makes it decide again.
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
  if (missing(units)) abort_argument("units", NULL, "a positive integer")
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
    # The cuDNN status with which cuDNN refused this layer at run time (then it runs on
    # the CPU engine; see cudnn_guarded()), or NULL.
    cudnn_refused = NULL,

    # `...` are the cell's arguments (units, activation, ..., seed).
    initialize = function(..., activity_regularizer = NULL, return_sequences = FALSE,
                          return_state = FALSE, go_backwards = FALSE, stateful = FALSE,
                          unroll = FALSE, use_cudnn = "auto", zero_output_for_mask = FALSE,
                          implementation = 2L, name = NULL, dtype = NULL,
                          trainable = TRUE, input_shape = NULL, batch_size = NULL,
                          batch_input_shape = NULL) {
      ok <- identical(use_cudnn, "auto") || isTRUE(use_cudnn) || isFALSE(use_cudnn)
      if (!ok) abort_argument("use_cudnn", use_cudnn, "\"auto\", `TRUE` or `FALSE`")
      # Keras 3 keeps `implementation` only for old code: the numbers are the same.
      if (!(is_scalar_number(implementation) && implementation %in% 1:2)) {
        abort_argument("implementation", implementation, "1 or 2")
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

    settings_changed = function() {
      private$plan <- NULL
      self$fast_call <- NULL
      invisible(self)
    },

    # What every call of the built layer shares, decided once: the backend, the engine
    # configuration, the weights' variables, and a fast path for plain arrays.
    engine_plan = function() {
      private$plan %||% self$make_plan()
    },

    # The plan stands until a setting changes through the layer's handle
    # (`gru$return_sequences <- TRUE`, `gru$cell$activation <- ...`), which calls
    # settings_changed(). rgru's own code sets a layer's settings before its first call.
    make_plan = function() {
      cell <- self$cell
      plan <- gru_engine_plan(self, cell)
      private$plan <- plan
      self$fast_call <- plan$fast$call
      plan
    },

    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      fast <- private$plan$fast
      if (!is.null(fast) && is.null(mask) && is.null(initial_state) &&
          !(isTRUE(training) && private$plan$dropout)) {
        res <- fast$forward(inputs, keep_tape)
        if (!is.null(res)) return(res)
      }
      super$forward(inputs, mask = mask, training = training, initial_state = initial_state,
                    keep_tape = keep_tape)
    },

    run_sequence = function(x, initial_state, mask, masks, keep_tape) {
      plan <- self$engine_plan()
      backend <- plan$backend
      config <- plan$config
      if (backend == "cudnn" && !is.null(mask)) {
        obstacle <- mask_unmet_condition(mask)
        if (!is.null(obstacle)) {
          if (isTRUE(self$use_cudnn)) abort_cudnn_required(self$name, obstacle)
          backend <- "cpu"
          config <- plan$cpu_config
        }
      }
      if (backend == "r") {
        self$last_backend <- backend
        record_gru_backend(backend)
        return(super$run_sequence(x, initial_state, mask, masks, keep_tape))
      }
      state <- if (is.null(initial_state)) NULL else initial_state[[1]]
      res <- NULL
      if (backend == "cudnn") {
        res <- cudnn_guarded(
          gru_engine_forward(config, plan, x, state, mask, masks, keep_tape, premask = TRUE),
          self
        )
        # cuDNN refused: the layer's plan is now the CPU engine's.
        if (is.null(res)) backend <- "cpu"
      }
      if (is.null(res)) {
        config <- plan$cpu_config
        res <- gru_engine_forward(config, plan, x, state, mask, masks, keep_tape, premask = FALSE)
      }
      self$last_backend <- backend
      record_gru_backend(backend)
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
           final_states = list(res$final_state), tape = res$tape, lead = lead,
           input_keep = res$input_keep)
    },

    backward = function(tape, d_outputs) {
      run <- tape$run
      if (is.null(run)) abort_no_tape(self$name)
      if (!isTRUE(run$fast)) return(super$backward(tape, d_outputs))
      d_state <- NULL
      if (run$return_state) {
        d_state <- d_outputs[[2L]]
        d_outputs <- d_outputs[[1L]]
      }
      d_final <- if (run$return_sequences) d_state else add_or_null(d_outputs, d_state)
      # gru_backward_cpp()'s routine, called directly as the fast forward calls its own.
      g <- .Call(`_rgru_gru_backward_cpp`, run$tape, if (run$return_sequences) d_outputs,
                 d_final, TRUE)
      # The engines' gradients are already shaped like the cell's weights.
      list(d_inputs = g$d_x, grads = engine_grads(g))
    },

    backward_sequence = function(run, d_sequence, d_last, d_states) {
      if (is.null(run$engine)) return(super$backward_sequence(run, d_sequence, d_last, d_states))
      if (is.null(run$tape)) abort_no_tape(self$name)
      if (!is.null(run$lead)) {
        if (!is.null(d_sequence)) d_sequence <- d_sequence * as.vector(!run$lead)
        if (!is.null(d_last)) d_last <- d_last * !run$lead[, ncol(run$lead)]
      }
      g <- gru_backward_cpp(run$tape, d_sequence, add_or_null(d_last, d_states[[1]]))
      # Input dropout applied before the engine (gru_engine_forward()'s premask).
      if (!is.null(run$input_keep)) g$d_x <- g$d_x * run$input_keep
      list(d_x = g$d_x, d_initial_states = list(g$d_initial_state), grads = engine_grads(g))
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
  ),
  private = list(
    plan = NULL
  )
)

# Whether the C++ and cuDNN engines compute an activation: Keras's elementwise
# built-ins. R functions and the functions along an axis (softmax, log_softmax,
# sparsemax, glu) run on the cell's R step.
engine_computes <- function(activation) {
  !is.null(activation$name) && isTRUE(activation$elementwise)
}

# The plan of a built GRU layer (see GruLayer$engine_plan()). Its `fast` closures
# compute a call without a mask or initial state on the engine: the per-call work is
# checking that `x` is a plain double array of the built feature size, reading the
# options, and one .Call; they return NULL for anything else, which then takes the
# general path.
gru_engine_plan <- function(layer, cell) {
  vars <- cell$variables
  plan <- list(
    kernel = vars[[1]], recurrent_kernel = vars[[2]],
    bias = if (cell$use_bias) vars[[3]],
    dropout = cell$dropout > 0 || cell$recurrent_dropout > 0
  )
  obstacle <- if (!isFALSE(layer$use_cudnn)) gru_cudnn_obstacle(layer, cell)
  # A forked child runs on the CPU engine whatever use_cudnn says (see ?rgru-cudnn).
  if (isTRUE(layer$use_cudnn) && !is.null(obstacle) && !cuda_forked_cpp()) {
    abort_cudnn_required(layer$name, obstacle)
  }
  if (!engine_computes(cell$activation) || !engine_computes(cell$recurrent_activation)) {
    plan$backend <- "r"
    return(plan)
  }
  cudnn <- !isFALSE(layer$use_cudnn) && is.null(obstacle)
  input_dim <- cell$built_input_shape[[2]]
  config_for <- function(backend) {
    engine_config(
      units = cell$units, input_dim = input_dim, activation = cell$activation$name,
      recurrent_activation = cell$recurrent_activation$name, use_bias = cell$use_bias,
      reset_after = cell$reset_after, go_backwards = layer$go_backwards,
      return_sequences = layer$return_sequences, dtype = layer$dtype, backend = backend
    )
  }
  plan$backend <- if (cudnn) "cudnn" else "cpu"
  plan$config <- config_for(plan$backend)
  plan$cpu_config <- if (cudnn) config_for("cpu") else plan$config
  plan$fast <- gru_fast_paths(layer, plan, input_dim)
  plan
}

# The fast path's closures, over everything decided when the plan was made. Every
# operation here is paid on each call: builtins and .subset2() rather than `$` on R6
# objects (whose class makes `$` look for S3 methods), writes only when a value changes.
gru_fast_paths <- function(layer, plan, input_dim) {
  backend <- plan$backend
  config <- plan$config
  kernel <- plan$kernel
  recurrent_kernel <- plan$recurrent_kernel
  bias <- plan$bias
  return_sequences <- layer$return_sequences
  return_state <- layer$return_state
  stateful <- layer$stateful
  out_mask <- if (return_state) list(NULL, NULL)
  cudnn <- backend == "cudnn"
  # The engine's list(sequence, final_state, tape), or NULL when `x` is not for here
  # (or cuDNN refused the call and the layer now runs on the CPU engine).
  # It calls gru_forward_cpp()'s routine directly (sparing its R wrapper's promises) and
  # reads the options as engine_run_options() does, a CPU call only the first two.
  engine_call <- function(x, keep_tape) {
    d <- dim(x)
    if (!is.double(x) || length(d) != 3L || d[[3L]] != input_dim || d[[1L]] < 1L ||
        d[[2L]] < 1L || is.object(x)) {
      return(NULL)
    }
    state <- NULL
    if (stateful) {
      states <- .subset2(layer, "states")
      if (is.null(states) || nrow(states[[1L]]) != d[[1L]]) return(NULL)
      state <- states[[1L]]
    }
    if (cudnn) {
      res <- cudnn_guarded(.Call(
        `_rgru_gru_forward_cpp`, config, engine_run_options(), x, .subset2(kernel, "value"),
        .subset2(recurrent_kernel, "value"), .subset2(bias, "value"), state, NULL, NULL,
        NULL, keep_tape, weights_version(kernel, recurrent_kernel, bias)
      ), layer)
      if (is.null(res)) return(NULL)
    } else {
      res <- .Call(
        `_rgru_gru_forward_cpp`, config, options("rgru.num_threads", "rgru.gemm"), x,
        .subset2(kernel, "value"), .subset2(recurrent_kernel, "value"),
        if (!is.null(bias)) .subset2(bias, "value"), state, NULL, NULL, NULL, keep_tape, NULL
      )
    }
    last <- .subset2(layer, "last_backend")
    if (is.null(last) || last != backend) assign("last_backend", backend, envir = layer)
    last <- .subset2(cudnn_state, "last_backend")
    if (is.null(last) || last != backend) cudnn_state$last_backend <- backend
    if (stateful) assign("states", list(.subset2(res, "final_state")), envir = layer)
    res
  }
  list(
    # the handle's `layer(x)`
    call = function(x) {
      res <- engine_call(x, FALSE)
      if (is.null(res)) return(NULL)
      output <- .subset2(res, if (return_sequences) "sequence" else "final_state")
      if (return_state) list(output, .subset2(res, "final_state")) else output
    },
    # the protocol's forward()
    forward = function(x, keep_tape) {
      res <- engine_call(x, keep_tape)
      if (is.null(res)) return(NULL)
      output <- .subset2(res, if (return_sequences) "sequence" else "final_state")
      # The general path's tape (R/layer-rnn.R), marked for the fast backward.
      tape <- if (keep_tape) {
        final_state <- .subset2(res, "final_state")
        list(run = list(engine = backend, sequence = .subset2(res, "sequence"),
                        last_output = final_state, final_states = list(final_state),
                        tape = .subset2(res, "tape"), lead = NULL, fast = TRUE,
                        return_sequences = return_sequences, return_state = return_state),
             given_state = FALSE, input_dim = dim(x))
      }
      list(outputs = if (return_state) list(output, .subset2(res, "final_state")) else output,
           mask = out_mask, tape = tape)
    }
  )
}

# One engine call of a GRU layer's general path. With `premask`, input dropout runs as in
# Keras's cuDNN path (gru.py): the inputs times the (batch, features) keep mask, then the
# engine without dropout; `input_keep` in the result is the mask over every step, which
# the backward pass multiplies the input gradient by. The same numbers as the CPU
# engine's own input dropout (one mask shared by the gates, as without recurrent
# dropout), which tests check on the CPU.
gru_engine_forward <- function(config, plan, x, state, mask, masks, keep_tape, premask) {
  input_mask <- masks$input
  input_keep <- NULL
  if (premask && !is.null(input_mask)) {
    steps <- dim(x)[2L]
    input_keep <- as.vector(input_mask[, rep(seq_len(ncol(input_mask)), each = steps),
                                       drop = FALSE])
    x <- x * input_keep
    input_mask <- NULL
  }
  res <- gru_forward_cpp(
    config, engine_run_options(), x, plan$kernel$value, plan$recurrent_kernel$value,
    plan$bias$value, state, mask, input_mask, masks$recurrent, keep_tape,
    weights_version(plan$kernel, plan$recurrent_kernel, plan$bias)
  )
  res$input_keep <- input_keep
  res
}

# The weights' version counters (R/layer.R), which key the cuDNN backend's device copy
# of them; NULL without a bias (cuDNN needs one).
weights_version <- function(kernel, recurrent_kernel, bias) {
  if (is.null(bias)) return(NULL)
  c(.subset2(kernel, "version"), .subset2(recurrent_kernel, "version"),
    .subset2(bias, "version"))
}

# NULL when cuDNN can run every unmasked call of this layer, else the reason it can't.
gru_cudnn_obstacle <- function(layer, cell) {
  if (!cudnn_usable()) return("no CUDA GPU with cuDNN is available to this build of rgru")
  if (!is.null(layer$cudnn_refused)) {
    return(sprintf("cuDNN refused this layer at run time (%s).", layer$cudnn_refused))
  }
  cudnn_unmet_condition(
    activation = cell$activation, recurrent_activation = cell$recurrent_activation,
    dropout = cell$dropout, recurrent_dropout = cell$recurrent_dropout,
    unroll = layer$unroll, use_bias = cell$use_bias, reset_after = cell$reset_after
  )
}

abort_cudnn_required <- function(name, obstacle) {
  rgru_abort(c(
    "{.code use_cudnn = TRUE} was given, but cuDNN can't run layer {.val {name}}.",
    x = obstacle,
    i = "Use {.code use_cudnn = \"auto\"} to fall back to the CPU engine."
  ), class = "cudnn")
}

abort_no_tape <- function(name) {
  rgru_abort("Layer {.val {name}} ran forward without keeping a tape; backward is impossible.",
             class = "backward")
}

# The engines' weight gradients, in the cell's weight order.
engine_grads <- function(g) {
  if (is.null(g$d_bias)) list(g$d_kernel, g$d_recurrent_kernel)
  else list(g$d_kernel, g$d_recurrent_kernel, g$d_bias)
}

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
