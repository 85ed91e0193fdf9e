# layer_bidirectional(): Keras's Bidirectional wrapper. It runs a recurrent
# layer forwards and a copy of it backwards over the same inputs, and merges
# the two outputs. Each direction is an ordinary layer of ours (its engine,
# cuDNN dispatch, masks, dropout and states are its own); this file only
# splits, flips and merges, and adds the two directions' gradients.

#' Bidirectional wrapper for recurrent layers
#'
#' Runs `layer` over the sequence forwards and a copy of it backwards, and
#' merges the two outputs. As in Keras, both directions are new layers made
#' from `layer`'s configuration, named `forward_<name>` and `backward_<name>`
#' (the backward one with `go_backwards = TRUE`), with freshly initialized
#' weights: the weights of `layer` itself are not reused.
#'
#' With `return_sequences = TRUE` the backward output sequence is flipped back
#' to input order before merging, and masked time steps output zeros in both
#' directions (Keras forces `zero_output_for_mask = return_sequences` on
#' them). A mask reaches both directions; the backward one reads it, like its
#' inputs, from the end.
#'
#' With `return_state = TRUE` the result is the output (two outputs when
#' `merge_mode = NULL`), then the forward layer's final states, then the
#' backward layer's. In a call, `initial_state` is a list whose first half goes
#' to the forward layer and second half to the backward layer.
#'
#' `get_weights()` lists the forward layer's weights, then the backward
#' layer's; `summary()` shows one `Bidirectional` row counting both. On a GPU
#' each direction picks cuDNN or the CPU engine by itself, exactly as a
#' [layer_gru()] would (see its `use_cudnn`); the backward layer takes
#' `layer`'s `use_cudnn`, as in Keras.
#'
#' The layer has Keras's attributes `$forward_layer`, `$backward_layer`,
#' `$merge_mode`, `$return_sequences`, `$return_state`, `$stateful` and
#' `$states` (the forward layer's states, then the backward layer's);
#' `$reset_state()` zeroes both directions' states of a stateful layer.
#'
#' Keras 3 stores `weights` without using them; here they are set when the
#' layer is built: the first half on the forward layer, the rest on the
#' backward layer.
#'
#' @inheritParams layer_gru
#' @param layer A recurrent layer: [layer_gru()] or [layer_rnn()], unbuilt or
#'   built (only its configuration is used).
#' @param merge_mode How the outputs of the two directions are combined:
#'   `"concat"` (along the last axis, forward first), `"sum"`, `"mul"`, `"ave"`,
#'   or `NULL` to return both, as a list.
#' @param weights `NULL`, or a list of weight arrays: the forward layer's (as
#'   `get_weights()` gives them) followed by the backward layer's.
#' @param backward_layer `NULL`, or a recurrent layer to use as the backward
#'   direction (used as given, not copied). It must have a different
#'   `go_backwards` than `layer` and the same `stateful`, `return_sequences`
#'   and `return_state`.
#' @param ... Keras's common layer keywords: `name`, `dtype`, `trainable`,
#'   `input_shape`, `batch_size`.
#'
#' @returns A layer, a symbolic tensor, an array (a list of them with
#'   `return_state = TRUE` or `merge_mode = NULL`), or the sequential model
#'   `object` with the layer appended (invisibly).
#' @family rnn layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 10)) |>
#'   layer_bidirectional(layer_gru(units = 10, return_sequences = TRUE)) |>
#'   layer_bidirectional(layer_gru(units = 10)) |>
#'   layer_dense(5, activation = "softmax")
#'
#' model |> compile(loss = "categorical_crossentropy",
#'                   optimizer = "rmsprop")
#'
#' # With custom backward layer
#' forward_layer <- layer_gru(units = 10, return_sequences = TRUE)
#' backward_layer <- layer_gru(units = 10, activation = "relu",
#'                             return_sequences = TRUE, go_backwards = TRUE)
#'
#' model <- keras_model_sequential(input_shape = c(5, 10)) |>
#'   bidirectional(forward_layer, backward_layer = backward_layer) |>
#'   layer_dense(5, activation = "softmax")
#'
#' model |> compile(loss = "categorical_crossentropy",
#'                   optimizer = "rmsprop")
#' model
layer_bidirectional <- function(object, layer, merge_mode = "concat", weights = NULL,
                                backward_layer = NULL, ...) {
  object <- if (missing(object)) NULL else object
  args <- layer_common_args(list(...), "layer_bidirectional")
  if (missing(layer)) abort_argument("layer", NULL, recurrent_layer_expected)
  layer <- do.call(BidirectionalLayer$new, c(list(
    layer = layer, merge_mode = merge_mode, weights = weights, backward_layer = backward_layer
  ), args), quote = TRUE)
  create_layer(layer, object)
}

#' @rdname layer_bidirectional
#' @usage NULL
#' @export
bidirectional <- layer_bidirectional

recurrent_layer_expected <- "a recurrent layer made by `layer_gru()` or `layer_rnn()`"

BidirectionalLayer <- R6::R6Class(
  "RgruBidirectionalLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "Bidirectional",
    supports_masking = TRUE,
    forward_layer = NULL,
    backward_layer = NULL,
    merge_mode = "concat",
    return_sequences = FALSE,
    return_state = FALSE,
    stateful = FALSE,
    # `weights` given at creation, set once the directions are built.
    initial_weights = NULL,

    initialize = function(layer, merge_mode = "concat", weights = NULL, backward_layer = NULL,
                          name = NULL, dtype = NULL, trainable = TRUE, input_shape = NULL,
                          batch_size = NULL, batch_input_shape = NULL,
                          activity_regularizer = NULL) {
      template <- recurrent_layer_object(layer, "layer")
      if (!is.null(merge_mode)) {
        merge_mode <- check_choice(merge_mode, c("concat", "sum", "mul", "ave"), "merge_mode")
      }
      backward <- if (!is.null(backward_layer)) {
        recurrent_layer_object(backward_layer, "backward_layer")
      }
      if (!is.null(weights) && !(is.list(weights) && !is.object(weights))) {
        abort_argument("weights", weights, "`NULL` or a list of weight arrays")
      }
      super$initialize(name = name, dtype = dtype %||% template$dtype, trainable = trainable,
                       input_shape = input_shape, batch_size = batch_size,
                       batch_input_shape = batch_input_shape,
                       activity_regularizer = activity_regularizer,
                       default_name = "bidirectional")
      self$declared_input_shape <- self$declared_input_shape %||% template$declared_input_shape
      self$forward_layer <- renamed_copy(template, "forward_", dtype)
      self$backward_layer <- backward %||% renamed_copy(template, "backward_", dtype,
                                                        go_backwards = TRUE)
      if (inherits(self$backward_layer, "RgruGruLayer") && inherits(template, "RgruGruLayer")) {
        self$backward_layer$use_cudnn <- template$use_cudnn
      }
      check_direction_pair(self$forward_layer, self$backward_layer, backward_given = !is.null(backward))
      for (direction in self$sublayers()) {
        direction$zero_output_for_mask <- direction$return_sequences
        if (!direction$built) {
          direction$cell$path_owner <- paste0(self$name, "/", direction$name)
        }
      }
      self$merge_mode <- merge_mode
      self$return_sequences <- template$return_sequences
      self$return_state <- template$return_state
      self$stateful <- template$stateful
      self$initial_weights <- weights
      if (!isTRUE(trainable)) self$trainable <- FALSE
    },

    sublayers = function() list(self$forward_layer, self$backward_layer),
    check_input_shape = function(input_shape) {
      for (direction in self$sublayers()) direction$check_input_shape(input_shape)
      invisible(TRUE)
    },
    build = function(input_shape) {
      for (direction in self$sublayers()) direction$prepare(input_shape)
      # The directions' outputs must merge.
      self$compute_output_shape(input_shape)
      w <- self$initial_weights
      if (!is.null(w)) {
        half <- length(w) %/% 2L
        assign_weights(self$forward_layer$weights, w[seq_len(half)])
        assign_weights(self$backward_layer$weights, w[half + seq_len(length(w) - half)])
        self$initial_weights <- NULL
      }
    },
    state_counts = function() {
      vapply(self$sublayers(), function(d) length(d$cell$state_size()), integer(1))
    },
    compute_output_shape = function(input_shape) {
      shapes <- lapply(self$sublayers(), function(d) output_list(d$compute_output_shape(input_shape)))
      outputs <- merge_output_shapes(shapes[[1]][[1]], shapes[[2]][[1]], self$merge_mode)
      if (self$return_state) outputs <- c(outputs, shapes[[1]][-1], shapes[[2]][-1])
      if (length(outputs) == 1L) outputs[[1]] else outputs
    },
    compute_output_mask = function(input_has_mask) {
      unlist_single(self$direction_masks(isTRUE(input_has_mask) && self$return_sequences, FALSE))
    },
    output_mask = function(inputs, mask) {
      unlist_single(self$direction_masks(if (self$return_sequences) mask, NULL))
    },
    # One mask per output: the merged output(s), then the states.
    direction_masks = function(sequence_mask, state_mask) {
      masks <- rep(list(sequence_mask), if (is.null(self$merge_mode)) 2L else 1L)
      if (self$return_state) masks <- c(masks, rep(list(state_mask), sum(self$state_counts())))
      masks
    },
    check_initial_state_shapes = function(shapes, batch = NA) {
      halves <- self$split_states(shapes)
      self$forward_layer$check_initial_state_shapes(halves[[1]], batch)
      self$backward_layer$check_initial_state_shapes(halves[[2]], batch)
    },
    # Keras's rule: the first half of the states is the forward layer's.
    split_states = function(states) {
      counts <- self$state_counts()
      if (length(states) != sum(counts)) {
        rgru_abort(c(
          "{.arg initial_state} of bidirectional layer {.val {self$name}} must hold {sum(counts)} state matri{?x/ces}: the forward layer's {counts[1]}, then the backward layer's {counts[2]}.",
          x = "Got {length(states)}."
        ), class = "shape")
      }
      list(states[seq_len(counts[1])], states[counts[1] + seq_len(counts[2])])
    },
    layer_config = function() {
      list(merge_mode = self$merge_mode, layer = self$forward_layer$get_config(),
           backward_layer = self$backward_layer$get_config())
    },

    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      self$prepare(batch_shape_of(inputs))
      if (!is.null(mask)) mask <- coerce_sequence_mask(mask, value_shape(inputs)[1:2])
      states <- list(NULL, NULL)
      if (!is.null(initial_state)) states <- self$split_states(coerce_initial_state(initial_state))
      runs <- Map(function(direction, state) {
        model_layer_forward(direction, inputs, mask, training, state, keep_tape)
      }, self$sublayers(), states)
      y <- lapply(runs, function(run) output_list(run$outputs)[[1]])
      if (self$return_sequences) y[[2]] <- reverse_time(y[[2]])
      outputs <- merge_outputs(y[[1]], y[[2]], self$merge_mode)
      if (self$return_state) {
        outputs <- c(outputs, output_list(runs[[1]]$outputs)[-1], output_list(runs[[2]]$outputs)[-1])
      }
      tape <- list(runs = runs, y = y, given_state = !is.null(initial_state))
      list(outputs = unlist_single(outputs),
           mask = self$output_mask(inputs, mask),
           tape = tape,
           activity_loss = runs[[1]]$activity_loss + runs[[2]]$activity_loss)
    },
    backward = function(tape, d_outputs) {
      y <- tape$y
      d_list <- if (self$return_state || is.null(self$merge_mode)) d_outputs else list(d_outputs)
      n_merged <- if (is.null(self$merge_mode)) 2L else 1L
      d_y <- merge_backward(d_list[seq_len(n_merged)], y[[1]], y[[2]], self$merge_mode)
      if (self$return_sequences) d_y[[2]] <- reverse_time(d_y[[2]])
      counts <- self$state_counts()
      d_states <- d_list[n_merged + seq_len(sum(counts))]
      d_state_halves <- list(d_states[seq_len(counts[1])], d_states[counts[1] + seq_len(counts[2])])
      g <- Map(function(direction, run, d, d_state) {
        model_layer_backward(direction, run, if (self$return_state) c(list(d), d_state) else d)
      }, self$sublayers(), tape$runs, d_y, d_state_halves)
      d_x <- lapply(g, function(gi) if (tape$given_state) gi$d_inputs[[1]] else gi$d_inputs)
      d_inputs <- d_x[[1]] + d_x[[2]]
      if (tape$given_state) {
        d_inputs <- c(list(d_inputs), g[[1]]$d_inputs[-1], g[[2]]$d_inputs[-1])
      }
      list(d_inputs = d_inputs, grads = c(g[[1]]$grads, g[[2]]$grads))
    },

    reset_state = function() {
      if (!self$stateful) {
        rgru_abort(c(
          "Bidirectional layer {.val {self$name}} is not stateful; it has no state to reset.",
          i = "Wrap a layer made with {.code stateful = TRUE}."
        ), class = "stateful")
      }
      for (direction in self$sublayers()) direction$reset_state()
      invisible(self$handle)
    },
    reset_states = function() self$reset_state()
  ),
  active = list(
    # Keras's `states`: the forward layer's, then the backward layer's, once both have some.
    states = function() {
      f <- self$forward_layer$states
      b <- self$backward_layer$states
      if (length(f) > 0 && length(b) > 0) c(f, b)
    }
  )
)

recurrent_layer_object <- function(x, arg) {
  obj <- layer_object(x)
  if (!inherits(obj, "RgruRnnLayer")) abort_argument(arg, x, recurrent_layer_expected)
  obj
}

# Keras remakes the wrapped layer from its configuration, named
# "forward_<name>" / "backward_<name>", so it shares no state with `layer`.
renamed_copy <- function(layer, prefix, dtype, go_backwards = layer$go_backwards) {
  config <- layer$get_config()
  config$go_backwards <- go_backwards
  if (!is.null(dtype)) config$dtype <- dtype
  name <- paste0(prefix, sub(paste0("^", prefix), "", layer$name))
  layer_object(build_from_config(config, name = name))
}

# Keras's _verify_layer_config().
check_direction_pair <- function(forward, backward, backward_given) {
  if (identical(forward$go_backwards, backward$go_backwards)) {
    rgru_abort(c(
      "The forward and backward layers of a bidirectional layer must have different {.arg go_backwards}.",
      x = "Both have {.code go_backwards = {forward$go_backwards}}.",
      i = if (!backward_given) {
        "The backward layer is {.arg layer} with {.code go_backwards = TRUE}: give {.arg layer} {.code go_backwards = FALSE}, or a {.arg backward_layer}."
      }
    ))
  }
  for (field in c("stateful", "return_sequences", "return_state")) {
    if (!identical(forward[[field]], backward[[field]])) {
      rgru_abort(c(
        "The forward and backward layers of a bidirectional layer must have the same {.arg {field}}.",
        x = "The forward layer has {.code {field} = {forward[[field]]}}, the backward layer {.code {field} = {backward[[field]]}}."
      ))
    }
  }
  invisible(TRUE)
}

# Flips the time axis (the second) of (batch, timesteps, ...).
reverse_time <- function(x) {
  d <- dim(x)
  do.call(`[`, c(list(x, TRUE, rev(seq_len(d[2]))), rep(list(TRUE), length(d) - 2L),
                 list(drop = FALSE)))
}

unlist_single <- function(x) if (length(x) == 1L) x[[1]] else x

merge_outputs <- function(y, y_rev, merge_mode) {
  switch(merge_mode %||% "none",
    concat = list(bind_last_axis(y, y_rev)),
    sum = list(y + y_rev),
    ave = list((y + y_rev) / 2),
    mul = list(y * y_rev),
    none = list(y, y_rev)
  )
}

# The gradients of the two directions' outputs from those of the merged output(s).
merge_backward <- function(d_merged, y, y_rev, merge_mode) {
  zeros_like <- function(a) array(0, value_shape(a))
  if (is.null(merge_mode)) return(list(d_merged[[1]] %||% zeros_like(y), d_merged[[2]] %||% zeros_like(y_rev)))
  d <- d_merged[[1]]
  if (is.null(d)) return(list(zeros_like(y), zeros_like(y_rev)))
  switch(merge_mode,
    concat = split_last_axis(d, last_size(y)),
    sum = list(d, d),
    ave = list(d / 2, d / 2),
    mul = list(d * y_rev, d * y)
  )
}

last_size <- function(x) {
  d <- value_shape(x)
  d[length(d)]
}

# Column-major arrays are laid out last axis slowest: concatenating along it
# is concatenating the values.
bind_last_axis <- function(a, b) {
  d <- value_shape(a)
  array(c(a, b), c(d[-length(d)], d[length(d)] + last_size(b)))
}

split_last_axis <- function(x, first) {
  d <- value_shape(x)
  n <- prod(d[-length(d)]) * first
  list(array(x[seq_len(n)], c(d[-length(d)], first)),
       array(x[-seq_len(n)], c(d[-length(d)], d[length(d)] - first)))
}

merge_output_shapes <- function(forward, backward, merge_mode) {
  if (is.null(merge_mode)) return(list(forward, backward))
  last <- length(forward)
  if (merge_mode == "concat") {
    forward[last] <- forward[last] + backward[last]
    return(list(forward))
  }
  if (forward[last] != backward[last]) {
    rgru_abort(c(
      "{.code merge_mode = \"{merge_mode}\"} needs both directions to output the same size.",
      x = "The forward layer outputs {forward[last]} feature{?s}, the backward layer {backward[last]}."
    ), class = "shape")
  }
  list(forward)
}

bidirectional_from_config <- function(config, name = NULL) {
  config$layer <- build_from_config(config$layer, name = config$layer$name)
  config$backward_layer <- build_from_config(config$backward_layer,
                                             name = config$backward_layer$name)
  config$name <- name
  do.call(BidirectionalLayer$new, config, quote = TRUE)$handle
}
