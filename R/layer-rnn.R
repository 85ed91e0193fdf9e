# The recurrent layer: loops a cell over time (masks, go_backwards, stateful,
# initial states, return_sequences/return_state), forward and backward in R.
# layer_gru() inherits it and swaps the loop for the C++ or cuDNN engine.

#' Recurrent layer looping a cell over time
#'
#' `layer_rnn()` runs a cell such as [rnn_cell_gru()] over the time axis of a
#' 3-D input (batch, timesteps, features). With a GRU cell it gives the same
#' numbers as [layer_gru()] with the same weights; the loop runs in R, so it is
#' slower.
#'
#' @inheritParams layer_gru
#' @param cell A cell made by [rnn_cell_gru()] or [rnn_cells_stack()], or a
#'   list of GRU cells (stacked, as Keras does).
#' @param zero_output_for_mask Whether masked time steps output zeros (`TRUE`)
#'   or repeat the previous step's output (`FALSE`, default).
#' @param ... Keras's common layer keywords: `name`, `dtype`, `trainable`,
#'   `input_shape`, `batch_size`, `activity_regularizer`.
#'
#' @returns As for [layer_gru()]: a layer, a symbolic tensor, an array, or the
#'   sequential model `object` with the layer appended (invisibly).
#' @family rnn layers
#' @export
#' @examples
#' x <- random_uniform(c(2, 5, 3))
#' rnn <- layer_rnn(cell = rnn_cell_gru(4), return_sequences = TRUE)
#' dim(rnn(x))
#'
#' # same weights, same numbers as layer_gru()
#' gru <- layer_gru(units = 4, return_sequences = TRUE)
#' invisible(gru(x))
#' set_weights(rnn, get_weights(gru))
#' all.equal(rnn(x), gru(x), tolerance = 1e-5)
layer_rnn <- function(object, cell, return_sequences = FALSE, return_state = FALSE,
                      go_backwards = FALSE, stateful = FALSE, unroll = FALSE,
                      zero_output_for_mask = FALSE, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_rnn")
  expected <- "a cell made by `rnn_cell_gru()` or `rnn_cells_stack()`, or a list of cells"
  if (missing(cell)) abort_argument("cell", NULL, expected)
  if (is.list(cell) && !is.object(cell)) {
    is_cell <- vapply(cell, function(c) inherits(layer_object(c), "RgruGruCell"), TRUE)
    if (length(cell) == 0L || !all(is_cell)) abort_argument("cell", cell, expected)
    cell <- rnn_cells_stack(cell)
  }
  cell_obj <- layer_object(cell)
  if (!inherits(cell_obj, c("RgruGruCell", "RgruStackedCells"))) abort_argument("cell", cell, expected)
  layer <- do.call(RnnLayer$new, c(list(
    cell = cell_obj, return_sequences = return_sequences, return_state = return_state,
    go_backwards = go_backwards, stateful = stateful, unroll = unroll,
    zero_output_for_mask = zero_output_for_mask
  ), args), quote = TRUE)
  create_layer(layer, object)
}

RnnLayer <- R6::R6Class(
  "RgruRnnLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "RNN",
    cell = NULL,
    return_sequences = FALSE,
    return_state = FALSE,
    go_backwards = FALSE,
    stateful = FALSE,
    unroll = FALSE,
    zero_output_for_mask = FALSE,
    supports_masking = TRUE,
    # Stateful layers keep the last states here (list of matrices).
    states = NULL,

    initialize = function(cell, return_sequences = FALSE, return_state = FALSE,
                          go_backwards = FALSE, stateful = FALSE, unroll = FALSE,
                          zero_output_for_mask = FALSE, name = NULL, dtype = NULL,
                          trainable = TRUE, input_shape = NULL, batch_size = NULL,
                          batch_input_shape = NULL, activity_regularizer = NULL,
                          default_name = "rnn") {
      self$return_sequences <- check_bool(return_sequences, "return_sequences")
      self$return_state <- check_bool(return_state, "return_state")
      self$go_backwards <- check_bool(go_backwards, "go_backwards")
      self$stateful <- check_bool(stateful, "stateful")
      self$unroll <- check_bool(unroll, "unroll")
      self$zero_output_for_mask <- check_bool(zero_output_for_mask, "zero_output_for_mask")
      super$initialize(name = name, dtype = dtype %||% cell$dtype, trainable = trainable,
                       input_shape = input_shape, batch_size = batch_size,
                       batch_input_shape = batch_input_shape,
                       activity_regularizer = activity_regularizer, default_name = default_name)
      self$cell <- cell
      if (!cell$built) cell$path_owner <- self$name
      cell$dtype <- self$dtype
    },

    sublayers = function() list(self$cell),
    build = function(input_shape) {
      self$cell$maybe_build(c(input_shape[1], input_shape[3]))
    },
    check_input_shape = function(input_shape) {
      check_feature_shape(self, input_shape, rank = 3L,
                          what = "a 3-D array (batch, timesteps, features)")
      if (!is.na(input_shape[2]) && input_shape[2] < 1) {
        rgru_abort("{.arg inputs} must have at least one timestep.", class = "shape")
      }
      cell_dim <- self$cell$built_input_shape
      if (self$cell$built && !is.na(input_shape[3]) && cell_dim[2] != input_shape[3]) {
        rgru_abort(c(
          "{.arg inputs} of layer {.val {self$name}} must have {cell_dim[2]} features (its cell's size).",
          x = "Got shape {format_tuple(input_shape)}."
        ), class = "shape")
      }
      invisible(TRUE)
    },
    check_initial_state_shapes = function(shapes, batch = NA) {
      sizes <- self$cell$state_size()
      check_state_shapes(shapes, sizes, batch, n_states = length(sizes))
    },
    compute_output_shape = function(input_shape) {
      units <- self$cell$units
      out <- if (self$return_sequences) c(input_shape[1:2], units) else c(input_shape[1], units)
      if (!self$return_state) return(out)
      c(list(out), lapply(self$cell$state_size(), function(size) c(input_shape[1], size)))
    },
    compute_output_mask = function(input_has_mask) {
      seq_mask <- isTRUE(input_has_mask) && self$return_sequences
      if (!self$return_state) return(seq_mask)
      c(list(seq_mask), rep(list(FALSE), length(self$cell$state_size())))
    },
    output_mask = function(inputs, mask) {
      seq_mask <- if (self$return_sequences) mask
      if (!self$return_state) return(seq_mask)
      c(list(seq_mask), rep(list(NULL), length(self$cell$state_size())))
    },
    layer_config = function() {
      list(cell = self$cell$get_config(), return_sequences = self$return_sequences,
           return_state = self$return_state, go_backwards = self$go_backwards,
           stateful = self$stateful, unroll = self$unroll,
           zero_output_for_mask = self$zero_output_for_mask)
    },

    reset_state = function(states = NULL) {
      if (is.null(states)) {
        if (!is.null(self$states)) self$states <- lapply(self$states, function(s) s * 0)
      } else {
        states <- coerce_initial_state(states)
        self$check_initial_state_shapes(lapply(states, dim))
        self$states <- states
      }
      invisible(self$handle)
    },
    reset_states = function(states = NULL) self$reset_state(states),

    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      self$prepare(batch_shape_of(inputs))
      check_finite_dims(inputs)
      batch <- dim(inputs)[1]
      mask <- coerce_sequence_mask(mask, dim(inputs)[1:2])
      given_state <- !is.null(initial_state)
      if (given_state) {
        initial_state <- coerce_initial_state(initial_state)
        self$check_initial_state_shapes(lapply(initial_state, dim), batch)
      } else if (self$stateful) {
        initial_state <- self$stateful_states(batch)
      }
      masks <- self$cell$dropout_masks(batch, dim(inputs)[3], isTRUE(training))
      run <- self$run_sequence(inputs, initial_state, mask, masks, keep_tape)
      if (self$stateful) self$states <- run$final_states
      output <- if (self$return_sequences) run$sequence else run$last_output
      outputs <- if (self$return_state) c(list(output), run$final_states) else output
      # Keras passes the input mask on unchanged, even with go_backwards.
      out_mask <- if (self$return_sequences) mask
      if (self$return_state) out_mask <- c(list(out_mask), rep(list(NULL), length(run$final_states)))
      tape <- list(run = run, given_state = given_state, input_dim = dim(inputs))
      list(outputs = outputs, mask = out_mask, tape = tape)
    },

    stateful_states = function(batch) {
      if (is.null(self$states)) {
        self$states <- self$cell$initial_states(batch)
      } else if (nrow(self$states[[1]]) != batch) {
        rgru_abort(c(
          "Stateful layer {.val {self$name}} was used with batch size {nrow(self$states[[1]])}; it can't take batch size {batch}.",
          i = "Feed batches of a fixed size, or call {.code layer$reset_state()} on a new layer."
        ), class = "stateful")
      }
      self$states
    },

    # The R loop over the cell; layer_gru() overrides this with the engines.
    run_sequence = function(x, initial_state, mask, masks, keep_tape) {
      rnn_loop_forward(self$cell, x, initial_state, mask, masks, self$go_backwards,
                       self$zero_output_for_mask)
    },
    backward_sequence = function(run, d_sequence, d_last, d_states) {
      rnn_loop_backward(self$cell, run, d_sequence, d_last, d_states,
                        self$zero_output_for_mask)
    },

    backward = function(tape, d_outputs) {
      if (self$return_state) {
        d_out <- d_outputs[[1]]
        d_states <- d_outputs[-1]
      } else {
        d_out <- d_outputs
        d_states <- list(NULL)
      }
      d_sequence <- if (self$return_sequences) d_out
      d_last <- if (!self$return_sequences) d_out
      g <- self$backward_sequence(tape$run, d_sequence, d_last, d_states)
      d_inputs <- if (tape$given_state) c(list(g$d_x), g$d_initial_states) else g$d_x
      list(d_inputs = d_inputs, grads = conform_grads(self$weights, g$grads))
    }
  )
)

# A (batch, timesteps) logical mask, TRUE keeps the step.
coerce_sequence_mask <- function(mask, dims) {
  if (is.null(mask)) return(NULL)
  ok <- (is.logical(mask) || is.numeric(mask)) && length(dim(mask)) == 2 &&
    all(dim(mask) == dims) && !anyNA(mask)
  if (!ok) {
    shape <- if (is.null(dim(mask))) length(mask) else dim(mask)
    rgru_abort(c(
      "{.arg mask} must be a logical matrix of shape ({dims[1]}, {dims[2]}) (batch, timesteps) without NA.",
      x = "Got {.obj_type_friendly {mask}} of shape {format_tuple(shape)}."
    ), class = "mask")
  }
  mask <- mask != 0
  dim(mask) <- dims
  mask
}

check_finite_dims <- function(x) {
  if (any(dim(x) == 0)) {
    rgru_abort(c("{.arg inputs} must not have an empty dimension.",
                 x = "Got shape {format_tuple(dim(x))}."), class = "shape")
  }
}

time_step <- function(x, t) {
  d <- dim(x)
  matrix(x[, t, ], d[1], d[3])
}

rnn_loop_forward <- function(cell, x, states, mask, masks, go_backwards, zero_output_for_mask) {
  d <- dim(x)
  batch <- d[1]
  steps <- d[2]
  order <- if (go_backwards) rev(seq_len(steps)) else seq_len(steps)
  states <- states %||% cell$initial_states(batch)
  units <- cell$output_size()
  sequence <- array(0, c(batch, steps, units))
  prev_out <- matrix(0, batch, units)
  caches <- vector("list", steps)
  for (i in seq_len(steps)) {
    t <- order[i]
    step <- cell$step_forward(time_step(x, t), states, masks)
    out <- step$output
    new_states <- step$states
    if (!is.null(mask)) {
      skip <- !mask[, t]
      out[skip, ] <- if (zero_output_for_mask) 0 else prev_out[skip, ]
      for (k in seq_along(new_states)) new_states[[k]][skip, ] <- states[[k]][skip, ]
    }
    sequence[, i, ] <- out
    prev_out <- out
    states <- new_states
    caches[[i]] <- step$cache
  }
  list(sequence = sequence, last_output = prev_out, final_states = states,
       caches = caches, mask = mask, order = order, dims = d)
}

rnn_loop_backward <- function(cell, run, d_sequence, d_last, d_states, zero_output_for_mask) {
  d <- run$dims
  batch <- d[1]
  units <- cell$output_size()
  zero <- matrix(0, batch, units)
  d_states <- lapply(seq_along(run$final_states), function(k) {
    s <- if (k <= length(d_states)) d_states[[k]]
    if (is.null(s)) run$final_states[[k]] * 0 else s
  })
  d_prev_out <- d_last %||% zero
  d_x <- array(0, d)
  grads <- NULL
  for (i in rev(seq_along(run$order))) {
    t <- run$order[i]
    d_out <- d_prev_out
    if (!is.null(d_sequence)) d_out <- d_out + matrix(d_sequence[, i, ], batch, units)
    d_out_cell <- d_out
    d_states_cell <- d_states
    carry <- zero
    if (!is.null(run$mask)) {
      skip <- !run$mask[, t]
      d_out_cell[skip, ] <- 0
      for (k in seq_along(d_states_cell)) d_states_cell[[k]][skip, ] <- 0
      if (!zero_output_for_mask) carry[skip, ] <- d_out[skip, ]
    }
    g <- cell$step_backward(run$caches[[i]], d_out_cell, d_states_cell)
    d_x[, t, ] <- g$d_x
    new_d_states <- g$d_states
    if (!is.null(run$mask)) {
      for (k in seq_along(new_d_states)) new_d_states[[k]][skip, ] <- d_states[[k]][skip, ]
    }
    d_states <- new_d_states
    d_prev_out <- carry
    grads <- if (is.null(grads)) g$grads else Map(`+`, grads, g$grads)
  }
  list(d_x = d_x, d_initial_states = d_states, grads = grads)
}
