# The GRU cell: the weights and the math of one time step, in R. layer_rnn()
# loops it over time; layer_gru() owns one too (its weights live here, as in
# Keras, so their paths read "gru/gru_cell/kernel") and uses this step only when
# the C++ engine can't run the configuration (activations given as R functions).

#' GRU cell: one step of a gated recurrent unit
#'
#' The cell holds the weights of a GRU and computes a single time step. Wrap it
#' in [layer_rnn()] to process sequences (the numbers equal [layer_gru()]'s with
#' the same weights), or call it directly on one step: `cell(x_t, states)`
#' returns `list(output, new_states)`.
#'
#' @inheritParams layer_gru
#' @param ... Keras's common layer keywords: `name`, `dtype` (`"float32"` or
#'   `"float64"`), `trainable`.
#'
#' @returns A cell object (callable, with `$weights`, `$units`, `$get_config()`).
#' @family gru rnn layers
#' @export
#' @examples
#' cell <- rnn_cell_gru(4)
#' x_t <- random_uniform(c(2, 3))
#' c(output, new_states) %<-% cell(x_t, list(matrix(0, 2, 4)))
#' dim(output)
#'
#' # a whole sequence
#' seq_out <- layer_rnn(cell = rnn_cell_gru(4))(random_uniform(c(2, 5, 3)))
#' dim(seq_out)
rnn_cell_gru <- function(units, activation = "tanh", recurrent_activation = "sigmoid",
                         use_bias = TRUE, kernel_initializer = "glorot_uniform",
                         recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                         kernel_regularizer = NULL, recurrent_regularizer = NULL,
                         bias_regularizer = NULL, kernel_constraint = NULL,
                         recurrent_constraint = NULL, bias_constraint = NULL, dropout = 0,
                         recurrent_dropout = 0, reset_after = TRUE, seed = NULL, ...) {
  if (missing(units)) abort_argument("units", NULL, "a positive integer")
  args <- layer_common_args(list(...), "rnn_cell_gru")
  cell <- do.call(GruCell$new, c(formal_args(rnn_cell_gru, environment()), args), quote = TRUE)
  cell$handle
}

GruCell <- R6::R6Class(
  "RgruGruCell",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "GRUCell",
    units = NULL,
    activation = NULL,
    recurrent_activation = NULL,
    use_bias = TRUE,
    reset_after = TRUE,
    dropout = 0,
    recurrent_dropout = 0,
    seed = NULL,
    kernel_initializer = NULL,
    recurrent_initializer = NULL,
    bias_initializer = NULL,
    kernel_regularizer = NULL,
    recurrent_regularizer = NULL,
    bias_regularizer = NULL,
    kernel_constraint = NULL,
    recurrent_constraint = NULL,
    bias_constraint = NULL,
    # The owning RNN layer's name: weight paths read "<owner>/gru_cell/kernel".
    path_owner = NULL,
    # How many dropout masks were drawn, so each call draws fresh but
    # reproducible masks from `seed`.
    seed_draws = 0L,
    config_args = NULL,

    initialize = function(units, activation = "tanh", recurrent_activation = "sigmoid",
                          use_bias = TRUE, kernel_initializer = "glorot_uniform",
                          recurrent_initializer = "orthogonal", bias_initializer = "zeros",
                          kernel_regularizer = NULL, recurrent_regularizer = NULL,
                          bias_regularizer = NULL, kernel_constraint = NULL,
                          recurrent_constraint = NULL, bias_constraint = NULL, dropout = 0,
                          recurrent_dropout = 0, reset_after = TRUE, seed = NULL,
                          name = NULL, dtype = NULL, trainable = TRUE, input_shape = NULL,
                          batch_size = NULL, batch_input_shape = NULL,
                          activity_regularizer = NULL) {
      self$units <- check_units(units)
      self$activation <- resolve_activation(activation, "activation")
      self$recurrent_activation <- resolve_activation(recurrent_activation, "recurrent_activation")
      self$use_bias <- check_bool(use_bias, "use_bias")
      self$reset_after <- check_bool(reset_after, "reset_after")
      self$dropout <- check_probability(dropout, "dropout")
      self$recurrent_dropout <- check_probability(recurrent_dropout, "recurrent_dropout")
      self$seed <- check_seed(seed)
      self$kernel_initializer <- resolve_initializer(kernel_initializer, "kernel_initializer")
      self$recurrent_initializer <- resolve_initializer(recurrent_initializer, "recurrent_initializer")
      self$bias_initializer <- resolve_initializer(bias_initializer, "bias_initializer")
      self$kernel_regularizer <- resolve_regularizer(kernel_regularizer, "kernel_regularizer")
      self$recurrent_regularizer <- resolve_regularizer(recurrent_regularizer, "recurrent_regularizer")
      self$bias_regularizer <- resolve_regularizer(bias_regularizer, "bias_regularizer")
      self$kernel_constraint <- resolve_constraint(kernel_constraint, "kernel_constraint")
      self$recurrent_constraint <- resolve_constraint(recurrent_constraint, "recurrent_constraint")
      self$bias_constraint <- resolve_constraint(bias_constraint, "bias_constraint")
      self$config_args <- list(
        units = self$units, activation = activation %||% "linear",
        recurrent_activation = recurrent_activation %||% "linear", use_bias = use_bias,
        kernel_initializer = kernel_initializer, recurrent_initializer = recurrent_initializer,
        bias_initializer = bias_initializer, kernel_regularizer = kernel_regularizer,
        recurrent_regularizer = recurrent_regularizer, bias_regularizer = bias_regularizer,
        kernel_constraint = kernel_constraint, recurrent_constraint = recurrent_constraint,
        bias_constraint = bias_constraint, dropout = self$dropout,
        recurrent_dropout = self$recurrent_dropout, reset_after = reset_after, seed = seed
      )
      super$initialize(name = name, dtype = dtype, trainable = trainable,
                       input_shape = input_shape, batch_size = batch_size,
                       batch_input_shape = batch_input_shape,
                       activity_regularizer = activity_regularizer, default_name = "gru_cell")
    },

    build = function(input_shape) {
      input_dim <- input_shape[length(input_shape)]
      check_weight_count(input_dim, 3 * self$units, "kernel", "inputs' features")
      prefix <- if (is.null(self$path_owner)) self$name else paste0(self$path_owner, "/", self$name)
      u3 <- 3L * self$units
      self$add_weight("kernel", c(input_dim, u3), self$kernel_initializer,
                      self$kernel_regularizer, self$kernel_constraint, path_prefix = prefix)
      self$add_weight("recurrent_kernel", c(self$units, u3), self$recurrent_initializer,
                      self$recurrent_regularizer, self$recurrent_constraint,
                      path_prefix = prefix)
      if (self$use_bias) {
        bias_shape <- if (self$reset_after) c(2L, u3) else u3
        self$add_weight("bias", bias_shape, self$bias_initializer, self$bias_regularizer,
                        self$bias_constraint, path_prefix = prefix)
      }
    },

    check_input_shape = function(input_shape) {
      check_feature_shape(self, input_shape, rank = 2L, what = "a matrix (batch, features)")
    },
    layer_config = function() self$config_args,
    state_size = function() self$units,
    output_size = function() self$units,
    initial_states = function(batch) list(matrix(0, batch, self$units)),

    kernel_value = function() self$variables[[1]]$value,
    recurrent_value = function() self$variables[[2]]$value,
    bias_value = function() if (self$use_bias) self$variables[[3]]$value else NULL,

    # Keras's masks for one sequence: the already-scaled keep masks (0 or
    # 1 / (1 - rate)) multiplying the inputs and the recurrent state at every step.
    dropout_masks = function(batch, input_dim, training) {
      masks <- list(input = NULL, recurrent = NULL)
      if (!training || (self$dropout == 0 && self$recurrent_dropout == 0)) return(masks)
      seed <- if (is.null(self$seed)) NULL else self$seed + self$seed_draws
      self$seed_draws <- self$seed_draws + 1L
      # With recurrent dropout Keras switches to one mask per gate.
      gates <- if (self$recurrent_dropout > 0) 3L else 1L
      with_seed(seed, {
        if (self$dropout > 0) masks$input <- keep_mask(batch, input_dim, self$dropout, gates)
        if (self$recurrent_dropout > 0) {
          masks$recurrent <- keep_mask(batch, self$units, self$recurrent_dropout, gates)
        }
      })
      masks
    },

    # One step: x (batch, input_dim), states list(h (batch, units)).
    step_forward = function(x, states, masks = list()) {
      h <- states[[1]]
      gru_step_forward(
        x, h, self$kernel_value(), self$recurrent_value(), self$bias_value(),
        self$activation, self$recurrent_activation, self$reset_after, self$units,
        masks$input, masks$recurrent
      )
    },
    step_backward = function(cache, d_output, d_states) {
      d_h <- d_output + d_states[[1]]
      g <- gru_step_backward(cache, d_h, self$kernel_value(), self$recurrent_value(),
                             self$reset_after, self$units)
      list(d_x = g$d_x, d_states = list(g$d_h_prev),
           grads = compact_grads(list(g$d_kernel, g$d_recurrent_kernel, g$d_bias)))
    },

    # The protocol's forward() on one step: inputs x_t, initial_state = states.
    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      self$prepare(batch_shape_of(inputs))
      batch <- nrow(inputs)
      states <- initial_state %||% self$initial_states(batch)
      self$check_initial_state_shapes(lapply(states, value_shape), batch)
      masks <- self$dropout_masks(batch, ncol(inputs), isTRUE(training))
      step <- self$step_forward(inputs, states, masks)
      list(outputs = list(step$output, list(step$output)), mask = NULL, tape = step$cache)
    },
    backward = function(tape, d_outputs) {
      # d_outputs: list(d_output, list(d_state)), or the output's gradient alone.
      if (!is.list(d_outputs)) d_outputs <- list(d_outputs)
      d_out <- d_outputs[[1]] %||% 0
      d_state <- if (length(d_outputs) > 1) d_outputs[[2]][[1]] %||% 0 else 0
      g <- self$step_backward(tape, d_out, list(d_state))
      list(d_inputs = list(g$d_x, g$d_states[[1]]), grads = conform_grads(self$weights, g$grads))
    },
    check_initial_state_shapes = function(shapes, batch = NA) {
      check_state_shapes(shapes, self$units, batch, n_states = 1L)
    },
    call_handle = function(inputs, states = NULL, training = NULL, ...) {
      call_cell(self, inputs, states, training, ...)
    }
  )
)

# `cell(inputs, states, training = NULL)`: one step, list(output, new_states).
call_cell <- function(cell, inputs, states = NULL, training = NULL, ...) {
  if (...length() > 0) {
    rgru_abort("A cell is called as {.code cell(inputs, states, training = NULL)}.")
  }
  inputs <- as_input_array(inputs, "inputs")
  if (!is.null(states)) states <- coerce_initial_state(states)
  if (!is.null(training)) training <- check_bool(training, "training")
  cell$forward(inputs, training = isTRUE(training), initial_state = states)$outputs
}

compact_grads <- function(grads) grads[!vapply(grads, is.null, logical(1))]

keep_mask <- function(rows, cols, rate, gates = 1L) {
  keep <- stats::runif(rows * cols * gates) >= rate
  dims <- if (gates == 1L) c(rows, cols) else c(rows, cols, gates)
  array(keep / (1 - rate), dims)
}

# `shapes`: the states' shapes (NA for an unknown size); `batch`: the inputs'
# batch size, or NA when unknown.
check_state_shapes <- function(shapes, units, batch, n_states) {
  if (length(shapes) != n_states) {
    rgru_abort(c(
      "{.arg initial_state} must hold {n_states} state matri{?x/ces}.",
      x = "Got {length(shapes)}."
    ), class = "shape")
  }
  for (i in seq_along(shapes)) {
    s <- shapes[[i]]
    ok <- length(s) == 2 && (is.na(s[2]) || s[2] == units[[i]])
    if (!ok) {
      rgru_abort(c(
        "{.arg initial_state} must have shape (batch, {units[[i]]}).",
        x = "Got shape {format_tuple(s)}."
      ), class = "shape")
    }
    if (!is.na(batch) && !is.na(s[1]) && s[1] != batch) {
      rgru_abort(c(
        "{.arg initial_state} must have one row per sample: shape ({batch}, {units[[i]]}).",
        x = "Got shape {format_tuple(s)}."
      ), class = "shape")
    }
  }
  invisible(TRUE)
}

# A weight matrix holds fewer than 2^31 values: R's limit for an ordinary
# array, and 17 GB in float64 already.
max_weight_count <- .Machine$integer.max

# The largest `units` whose recurrent kernel (units, 3 * units) stays within it.
max_units <- floor(sqrt(max_weight_count / 3))

check_units <- function(units) {
  units <- check_positive_integer(units, "units")
  if (units > max_units) {
    rgru_abort(c(
      "{.arg units} must be at most {max_units}, not {units}.",
      i = "The recurrent kernel (units, 3 * units) must hold fewer than 2^31 weights."
    ))
  }
  units
}

# `rows` x `cols` weights within max_weight_count, or a classed error naming what
# made them too many.
check_weight_count <- function(rows, cols, weight, what) {
  if (as.double(rows) * cols > max_weight_count) {
    rgru_abort(c(
      "The {weight} ({rows}, {cols}) would hold more than 2^31 weights.",
      i = "Use fewer {.arg units} or fewer {what}."
    ), class = "shape")
  }
  invisible(TRUE)
}

# Rank and feature-size checks shared by the recurrent layers and the cell.
check_feature_shape <- function(layer, input_shape, rank, what) {
  if (is.list(input_shape)) {
    rgru_abort("Layer {.val {layer$name}} takes one input, not a list of {length(input_shape)}.",
                   class = "input")
  }
  if (length(input_shape) != rank) {
    rgru_abort(c(
      "{.arg inputs} of layer {.val {layer$name}} must be {what}.",
      x = "Got shape {format_tuple(input_shape)}."
    ), class = "shape")
  }
  if (layer$built) {
    want <- layer$built_input_shape[rank]
    got <- input_shape[rank]
    if (!is.na(want) && !is.na(got) && want != got) {
      rgru_abort(c(
        "{.arg inputs} of layer {.val {layer$name}} must have {want} feature{?s} (the size it was built with).",
        x = "Got shape {format_tuple(input_shape)} with {got} feature{?s}."
      ), class = "shape")
    }
  }
  invisible(TRUE)
}

# The GRU step math, Keras 3's GRUCell. A dropout mask is (batch, dim), shared
# by the three gates (Keras's implementation 2, used when recurrent_dropout is
# 0), or (batch, dim, 3), one per gate z, r, h (its implementation 1). The
# update mixes the undropped previous state, as Keras does.
gate_inputs <- function(x, mask) {
  if (is.null(mask)) return(list(x, x, x))
  if (length(dim(mask)) == 3L) return(lapply(1:3, function(g) x * mask[, , g]))
  xm <- x * mask
  list(xm, xm, xm)
}

gate_mask_sum <- function(d_parts, mask) {
  if (is.null(mask)) return(d_parts[[1]] + d_parts[[2]] + d_parts[[3]])
  if (length(dim(mask)) == 3L) {
    return(d_parts[[1]] * mask[, , 1] + d_parts[[2]] * mask[, , 2] + d_parts[[3]] * mask[, , 3])
  }
  (d_parts[[1]] + d_parts[[2]] + d_parts[[3]]) * mask
}

gru_step_forward <- function(x, h, kernel, recurrent_kernel, bias, activation,
                             recurrent_activation, reset_after, units,
                             input_mask = NULL, recurrent_mask = NULL) {
  cols <- list(seq_len(units), units + seq_len(units), 2L * units + seq_len(units))
  xg <- gate_inputs(x, input_mask)
  hg <- gate_inputs(h, recurrent_mask)
  b_in <- if (is.null(bias)) NULL else if (reset_after) bias[1, ] else bias
  b_rec <- if (!is.null(bias) && reset_after) bias[2, ]
  proj <- function(a, w, g, b) {
    out <- a %*% w[, cols[[g]], drop = FALSE]
    if (is.null(b)) out else sweep(out, 2L, b[cols[[g]]], "+")
  }
  mx <- lapply(1:3, function(g) proj(xg[[g]], kernel, g, b_in))
  n_rec <- if (reset_after) 3L else 2L
  mi <- lapply(seq_len(n_rec), function(g) proj(hg[[g]], recurrent_kernel, g, b_rec))
  pre_z <- mx[[1]] + mi[[1]]
  pre_r <- mx[[2]] + mi[[2]]
  z <- apply_activation(recurrent_activation, pre_z)
  r <- apply_activation(recurrent_activation, pre_r)
  pre_h <- if (reset_after) mx[[3]] + r * mi[[3]] else
    mx[[3]] + (r * hg[[3]]) %*% recurrent_kernel[, cols[[3]], drop = FALSE]
  hh <- apply_activation(activation, pre_h)
  h_new <- z * h + (1 - z) * hh
  cache <- list(xg = xg, hg = hg, h = h, z = z, r = r, hh = hh, pre_z = pre_z,
                pre_r = pre_r, pre_h = pre_h, rec_h = if (reset_after) mi[[3]],
                input_mask = input_mask, recurrent_mask = recurrent_mask,
                activation = activation, recurrent_activation = recurrent_activation,
                has_bias = !is.null(bias))
  list(output = h_new, states = list(h_new), cache = cache)
}

gru_step_backward <- function(cache, d_h_new, kernel, recurrent_kernel, reset_after, units) {
  cols <- list(seq_len(units), units + seq_len(units), 2L * units + seq_len(units))
  xg <- cache$xg
  hg <- cache$hg
  z <- cache$z
  r <- cache$r
  d_z <- d_h_new * (cache$h - cache$hh)
  d_hh <- d_h_new * (1 - z)
  d_pre_h <- activation_vjp(cache$activation, cache$pre_h, cache$hh, d_hh)
  u_h <- recurrent_kernel[, cols[[3]], drop = FALSE]
  if (reset_after) {
    d_r <- d_pre_h * cache$rec_h
    d_rec_h <- d_pre_h * r
    d_u_h <- crossprod(hg[[3]], d_rec_h)
    d_hg3 <- d_rec_h %*% t(u_h)
  } else {
    d_rh <- d_pre_h %*% t(u_h)
    d_u_h <- crossprod(r * hg[[3]], d_pre_h)
    d_r <- d_rh * hg[[3]]
    d_hg3 <- d_rh * r
  }
  d_pre_z <- activation_vjp(cache$recurrent_activation, cache$pre_z, z, d_z)
  d_pre_r <- activation_vjp(cache$recurrent_activation, cache$pre_r, r, d_r)
  d_pre <- list(d_pre_z, d_pre_r, d_pre_h)
  d_kernel <- do.call(cbind, lapply(1:3, function(g) crossprod(xg[[g]], d_pre[[g]])))
  d_x <- gate_mask_sum(lapply(1:3, function(g) {
    d_pre[[g]] %*% t(kernel[, cols[[g]], drop = FALSE])
  }), cache$input_mask)
  d_rk <- cbind(crossprod(hg[[1]], d_pre_z), crossprod(hg[[2]], d_pre_r), d_u_h)
  d_hg <- list(d_pre_z %*% t(recurrent_kernel[, cols[[1]], drop = FALSE]),
               d_pre_r %*% t(recurrent_kernel[, cols[[2]], drop = FALSE]), d_hg3)
  d_h_prev <- d_h_new * z + gate_mask_sum(d_hg, cache$recurrent_mask)
  d_bias <- NULL
  if (cache$has_bias) {
    d_in <- c(colSums(d_pre_z), colSums(d_pre_r), colSums(d_pre_h))
    d_bias <- if (reset_after) {
      rbind(d_in, c(colSums(d_pre_z), colSums(d_pre_r), colSums(d_rec_h)), deparse.level = 0)
    } else d_in
  }
  list(d_x = d_x, d_h_prev = d_h_prev, d_kernel = d_kernel, d_recurrent_kernel = d_rk,
       d_bias = d_bias)
}

# Activations as api-support resolves them (name, fn, vjp): R functions must
# keep the input's shape, which is checked here with a clear error.
apply_activation <- function(act, x) {
  y <- act$fn(x)
  if (!is.numeric(y) || length(y) != length(x)) {
    rgru_abort(c(
      "An {.arg activation} or {.arg recurrent_activation} must return a numeric array shaped like its input.",
      x = "It returned {.obj_type_friendly {y}} of length {length(y)} for an input of length {length(x)}."
    ), class = "activation")
  }
  dim(y) <- dim(x)
  y
}

activation_vjp <- function(act, x, y, dy) {
  g <- act$vjp(x, y, dy)
  dim(g) <- dim(x)
  g
}
