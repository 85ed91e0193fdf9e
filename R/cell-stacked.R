# rnn_cells_stack(): Keras's StackedRNNCells, cells run one after the other at
# every time step, so that layer_rnn() runs a deep GRU as one layer. Each cell
# keeps its own state; the last cell's output is the stack's output.

#' Stack of recurrent cells, used as one cell
#'
#' `rnn_cells_stack()` chains cells made by [rnn_cell_gru()]: at every time
#' step the first cell reads the input, each further cell reads the output of
#' the one below, and the last cell's output is the output of the stack. Wrap
#' it in [layer_rnn()] (which also stacks a plain list of cells this way). The
#' states are one per cell, in order: `initial_state` takes a list of them and
#' `return_state = TRUE` returns them after the output.
#'
#' With the same weights, `layer_rnn(rnn_cells_stack(cells))` computes what a
#' stack of [layer_gru()] layers with `return_sequences = TRUE` computes
#' (except for the last, which follows the RNN's `return_sequences`), masks
#' included; it runs on the R loop of [layer_rnn()].
#'
#' @param cells A list of cells made by [rnn_cell_gru()].
#' @param ... Unnamed arguments are further cells; named ones are Keras's
#'   common layer keywords (`name`, `dtype`, `trainable`).
#'
#' @returns A cell object, to give to [layer_rnn()] (callable on one step as
#'   `cell(x_t, states)`, returning `list(output, new_states)`).
#' @family rnn layers
#' @export
#' @examples
#' batch_size <- 3
#' sentence_length <- 5
#' num_features <- 2
#' new_shape <- c(batch_size, sentence_length, num_features)
#' x <- array(1:30, dim = new_shape)
#'
#' rnn_cells <- lapply(1:2, function(x) rnn_cell_gru(units = 128))
#' stacked_gru <- rnn_cells_stack(rnn_cells)
#' gru_layer <- layer_rnn(cell = stacked_gru)
#'
#' result <- gru_layer(x)
#' str(result)
rnn_cells_stack <- function(cells, ...) {
  dots <- list(...)
  named <- if (is.null(names(dots))) rep(FALSE, length(dots)) else names(dots) != ""
  if (missing(cells)) cells <- NULL
  if (!is.null(cells) && !(is.list(cells) && !is.object(cells))) cells <- list(cells)
  args <- layer_common_args(dots[named], "rnn_cells_stack")
  layer <- do.call(StackedCells$new, c(list(cells = unname(c(cells, dots[!named]))), args),
                   quote = TRUE)
  layer$handle
}

StackedCells <- R6::R6Class(
  "RgruStackedCells",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "StackedRNNCells",
    cells = list(),
    # The owning RNN layer's name: weight paths read
    # "<owner>/stacked_rnn_cells/gru_cell/kernel", as in Keras.
    path_owner = NULL,

    initialize = function(cells, name = NULL, dtype = NULL, trainable = TRUE,
                          input_shape = NULL, batch_size = NULL, batch_input_shape = NULL,
                          activity_regularizer = NULL) {
      expected <- "a non-empty list of cells made by `rnn_cell_gru()`"
      if (length(cells) == 0) abort_argument("cells", cells, expected)
      self$cells <- lapply(cells, function(cell) {
        obj <- layer_object(cell)
        if (!inherits(obj, "RgruGruCell")) abort_argument("cells", cells, expected)
        obj
      })
      for (i in seq_along(self$cells)[-1]) {
        below <- self$cells[[i - 1L]]$units
        cell <- self$cells[[i]]
        if (cell$built && cell$built_input_shape[2] != below) {
          rgru_abort(c(
            "Cell {i} of {.arg cells} was built for {cell$built_input_shape[2]} input feature{?s}, but the cell below it outputs {below}.",
            i = "Stack fresh cells, or cells built for these sizes."
          ), class = "shape")
        }
      }
      super$initialize(name = name, dtype = dtype %||% self$cells[[1]]$dtype,
                       trainable = trainable, input_shape = input_shape,
                       batch_size = batch_size, batch_input_shape = batch_input_shape,
                       activity_regularizer = activity_regularizer,
                       default_name = "stacked_rnn_cells")
      if (!isTRUE(trainable)) self$trainable <- FALSE
    },

    sublayers = function() self$cells,
    build = function(input_shape) {
      prefix <- if (is.null(self$path_owner)) self$name else paste0(self$path_owner, "/", self$name)
      shape <- input_shape
      for (cell in self$cells) {
        if (!cell$built) {
          cell$path_owner <- prefix
          cell$dtype <- self$dtype
        }
        cell$maybe_build(shape)
        shape <- c(input_shape[1], cell$units)
      }
    },
    check_input_shape = function(input_shape) {
      check_feature_shape(self, input_shape, rank = 2L, what = "a matrix (batch, features)")
    },
    layer_config = function() list(cells = lapply(self$cells, function(cell) cell$get_config())),

    state_size = function() vapply(self$cells, function(cell) cell$units, integer(1)),
    output_size = function() self$cells[[length(self$cells)]]$units,
    initial_states = function(batch) {
      lapply(self$cells, function(cell) cell$initial_states(batch)[[1]])
    },
    # Each cell draws its own masks, for the features it reads.
    dropout_masks = function(batch, input_dim, training) {
      sizes <- c(input_dim, self$state_size())
      lapply(seq_along(self$cells), function(k) {
        self$cells[[k]]$dropout_masks(batch, sizes[k], training)
      })
    },

    step_forward = function(x, states, masks = list()) {
      caches <- vector("list", length(self$cells))
      new_states <- vector("list", length(self$cells))
      for (k in seq_along(self$cells)) {
        step <- self$cells[[k]]$step_forward(x, states[k], if (k <= length(masks)) masks[[k]])
        x <- step$output
        new_states[[k]] <- step$states[[1]]
        caches[[k]] <- step$cache
      }
      list(output = x, states = new_states, cache = caches)
    },
    step_backward = function(cache, d_output, d_states) {
      d_x <- d_output
      d_prev <- vector("list", length(self$cells))
      grads <- vector("list", length(self$cells))
      for (k in rev(seq_along(self$cells))) {
        g <- self$cells[[k]]$step_backward(cache[[k]], d_x, d_states[k])
        d_x <- g$d_x
        d_prev[[k]] <- g$d_states[[1]]
        grads[[k]] <- g$grads
      }
      list(d_x = d_x, d_states = d_prev, grads = unlist(grads, recursive = FALSE))
    },

    # The protocol on one step: inputs x_t, initial_state = one state per cell.
    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      self$prepare(batch_shape_of(inputs))
      batch <- nrow(inputs)
      states <- initial_state %||% self$initial_states(batch)
      self$check_initial_state_shapes(lapply(states, batch_shape_of), batch)
      masks <- self$dropout_masks(batch, ncol(inputs), isTRUE(training))
      step <- self$step_forward(inputs, states, masks)
      list(outputs = list(step$output, step$states), mask = NULL, tape = step$cache)
    },
    backward = function(tape, d_outputs) {
      # d_outputs: list(d_output, list of d_state per cell), or the output's gradient alone.
      if (!is.list(d_outputs)) d_outputs <- list(d_outputs)
      d_out <- d_outputs[[1]] %||% 0
      d_states <- lapply(seq_along(self$cells), function(k) {
        if (length(d_outputs) > 1 && k <= length(d_outputs[[2]])) d_outputs[[2]][[k]] %||% 0 else 0
      })
      g <- self$step_backward(tape, d_out, d_states)
      list(d_inputs = c(list(g$d_x), g$d_states), grads = conform_grads(self$weights, g$grads))
    },
    output_mask = function(inputs, mask) NULL,
    check_initial_state_shapes = function(shapes, batch = NA) {
      check_state_shapes(shapes, self$state_size(), batch, n_states = length(self$cells))
    },
    call_handle = function(inputs, states = NULL, training = NULL, ...) {
      call_cell(self, inputs, states, training, ...)
    }
  ),
  active = list(
    # The output size, as a GRU cell's `units`: what the RNN layer outputs.
    units = function() self$output_size()
  )
)

stacked_cells_from_config <- function(config, name = NULL) {
  keep_names <- !is.null(name)
  cells <- lapply(config$cells, function(cell_config) {
    build_from_config(cell_config, name = if (keep_names) cell_config$name)
  })
  config$cells <- cells
  config$name <- name
  do.call(StackedCells$new, config, quote = TRUE)$handle
}
