# keras_model(): a functional model, the graph of layer calls between
# keras_input() tensors and output tensors (several inputs and outputs, shared
# layers, initial states fed from other layers).

#' Create a functional model
#'
#' Gives a model made of the layer calls that lead from `inputs` (tensors from
#' [keras_input()]) to `outputs`. Models with several inputs or outputs, and
#' layers used more than once (shared weights), are supported.
#'
#' @param inputs A [keras_input()] tensor or a list of them.
#' @param outputs A symbolic tensor computed from `inputs`, or a list of them.
#' @param name Name of the model.
#' @param ... `trainable`, as in keras3.
#'
#' @returns A functional model: callable on arrays (a list of arrays for
#'   several inputs), with `predict()`, `summary()`, `get_weights()`, ...
#' @family model creation
#' @export
#' @examples
#' inputs <- keras_input(shape = c(10, 8))
#' c(sequence, state) %<-% layer_gru(inputs, 4, return_sequences = TRUE,
#'                                   return_state = TRUE)
#' last <- layer_dense(state, 1)
#' model <- keras_model(inputs, list(sequence, last))
#' model
#' out <- model(random_uniform(c(2, 10, 8)))
#' lapply(out, dim)
keras_model <- function(inputs, outputs, name = NULL, ...) {
  dots <- list(...)
  bad <- setdiff(names(dots) %||% rep("", length(dots)), "trainable")
  if (length(bad) > 0) {
    rgru_abort("Unknown argument{?s}: {.arg {bad}}.")
  }
  check_bool(dots$trainable, "trainable", allow_null = TRUE)
  if (missing(inputs) || !is_symbolic_input(inputs)) {
    abort_argument("inputs", if (!missing(inputs)) inputs, "a `keras_input()` tensor or a list of them")
  }
  if (missing(outputs) || !is_symbolic_input(outputs)) {
    abort_argument("outputs", if (!missing(outputs)) outputs, "a symbolic tensor or a list of them")
  }
  model <- Functional$new(inputs, outputs, name = name, trainable = dots$trainable %||% TRUE)
  model$handle
}

Functional <- R6::R6Class(
  "RgruFunctional",
  inherit = Model,
  cloneable = FALSE,
  public = list(
    class_name = "Functional",
    inputs = NULL,
    outputs = NULL,
    single_input = TRUE,
    single_output = TRUE,
    nodes = list(),

    initialize = function(inputs, outputs, name = NULL, trainable = TRUE) {
      self$single_input <- is_symbolic_tensor(inputs)
      self$single_output <- is_symbolic_tensor(outputs)
      self$inputs <- if (self$single_input) list(inputs) else unname(inputs)
      self$outputs <- if (self$single_output) list(outputs) else unname(outputs)
      for (t in self$inputs) {
        if (!is.null(t$node)) {
          rgru_abort(c(
            "{.arg inputs} must be tensors made by {.fn keras_input}.",
            "x" = "Got {.val {t$name}}, the output of layer {.val {t$node$layer$name}}."
          ), class = "model")
        }
      }
      self$nodes <- graph_nodes(self$outputs, self$inputs)
      layers <- c(lapply(self$inputs, function(t) t$input_layer),
                  lapply(self$nodes, function(n) n$layer))
      keep <- !duplicated(vapply(layers, function(l) l$name, ""))
      self$layer_objects <- layers[keep]
      super$initialize(name = name, trainable = trainable, default_name = "functional",
                       dtype = functional_dtype(self$inputs))
      self$declared_input_shape <- self$input_batch_shapes()
      self$built <- TRUE
      self$built_input_shape <- self$declared_input_shape
    },

    input_batch_shapes = function() {
      shapes <- lapply(self$inputs, function(t) t$shape)
      if (self$single_input) shapes[[1]] else shapes
    },
    sublayers = function() Filter(function(l) !inherits(l, "RgruInputLayer"), self$layer_objects),
    prepare = function(input_shape) {
      self$check_input_shape(input_shape)
      invisible(self)
    },
    check_input_shape = function(input_shape) {
      shapes <- if (self$single_input) list(input_shape) else input_shape
      if (!is.list(shapes) || length(shapes) != length(self$inputs)) {
        rgru_abort(c(
          "Model {.val {self$name}} takes {length(self$inputs)} input{?s}.",
          "x" = "Got {if (is.list(input_shape)) length(input_shape) else 1}."
        ), class = "input")
      }
      for (i in seq_along(shapes)) {
        want <- self$inputs[[i]]$shape
        got <- shapes[[i]]
        ok <- length(want) == length(got) && all(is.na(want[-1]) | is.na(got[-1]) | want[-1] == got[-1])
        if (!ok) {
          abort_shape(if (self$single_input) "inputs" else sprintf("inputs[[%d]]", i),
                      want, got, "i" = "In model {.val {self$name}}.")
        }
      }
      invisible(TRUE)
    },
    coerce_inputs = function(inputs) {
      if (self$single_input) {
        if (is.list(inputs) && !is.data.frame(inputs) && length(inputs) == 1L) inputs <- inputs[[1]]
        return(as_input_array(inputs, "inputs"))
      }
      if (!is.list(inputs) || length(inputs) != length(self$inputs)) {
        abort_argument("inputs", inputs, sprintf("a list of %d arrays", length(self$inputs)),
                       "i" = "Model {.val {self$name}} has {length(self$inputs)} inputs.",
                       class = "input")
      }
      lapply(inputs, as_input_array, arg = "inputs")
    },
    compute_output_shape = function(input_shape) {
      shapes <- lapply(self$outputs, function(t) {
        s <- t$shape
        s[1] <- if (is.list(input_shape)) input_shape[[1]][1] else input_shape[1]
        s
      })
      if (self$single_output) shapes[[1]] else shapes
    },
    compute_output_mask = function(input_has_mask) {
      has <- lapply(self$outputs, function(t) t$has_mask)
      if (self$single_output) has[[1]] else has
    },

    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      if (self$single_input && is.list(inputs) && length(inputs) == 1L) inputs <- inputs[[1]]
      self$prepare(batch_shape_of(inputs))
      values <- new.env(parent = emptyenv())
      masks <- new.env(parent = emptyenv())
      input_list <- if (self$single_input) list(inputs) else inputs
      mask_list <- if (self$single_input) list(mask) else mask %||% list()
      for (i in seq_along(self$inputs)) {
        key <- as.character(self$inputs[[i]]$id)
        values[[key]] <- input_list[[i]]
        if (i <= length(mask_list) && !is.null(mask_list[[i]])) masks[[key]] <- mask_list[[i]]
      }
      fetch <- function(env, t) env[[as.character(t$id)]]
      loss <- 0
      tapes <- vector("list", length(self$nodes))
      for (k in seq_along(self$nodes)) {
        node <- self$nodes[[k]]
        x <- if (is_symbolic_tensor(node$inputs)) fetch(values, node$inputs) else
          lapply(node$inputs, fetch, env = values)
        m <- if (is_symbolic_tensor(node$inputs)) fetch(masks, node$inputs) else
          lapply(node$inputs, fetch, env = masks)
        state <- if (!is.null(node$initial_state)) lapply(node$initial_state, fetch, env = values)
        node_training <- if (is.null(node$training)) training else node$training
        res <- model_layer_forward(node$layer, x, m, node_training, state, keep_tape)
        outs <- output_list(res$outputs)
        out_masks <- if (length(node$outputs) > 1) res$mask else list(res$mask)
        for (j in seq_along(node$outputs)) {
          key <- as.character(node$outputs[[j]]$id)
          values[[key]] <- outs[[j]]
          if (j <= length(out_masks) && !is.null(out_masks[[j]])) masks[[key]] <- out_masks[[j]]
        }
        loss <- loss + res$activity_loss
        tapes[[k]] <- if (keep_tape) res
      }
      outputs <- lapply(self$outputs, fetch, env = values)
      out_masks <- lapply(self$outputs, fetch, env = masks)
      list(outputs = if (self$single_output) outputs[[1]] else outputs,
           mask = if (self$single_output) out_masks[[1]] else out_masks,
           tape = tapes, activity_loss = loss)
    },

    backward = function(tape, d_outputs) {
      grads <- self$empty_grads()
      d <- new.env(parent = emptyenv())
      add_d <- function(t, value) {
        if (is.null(value)) return()
        key <- as.character(t$id)
        d[[key]] <- if (is.null(d[[key]])) value else d[[key]] + value
      }
      d_list <- if (self$single_output) list(d_outputs) else d_outputs
      for (i in seq_along(self$outputs)) add_d(self$outputs[[i]], d_list[[i]])
      for (k in rev(seq_along(self$nodes))) {
        node <- self$nodes[[k]]
        res <- tape[[k]]
        d_outs <- lapply(node$outputs, function(t) d[[as.character(t$id)]])
        if (all(vapply(d_outs, is.null, logical(1)))) next
        values <- output_list(res$outputs)
        d_outs <- Map(function(g, v) g %||% array(0, value_shape(v)), d_outs, values)
        g <- model_layer_backward(node$layer, res, if (length(node$outputs) > 1) d_outs else d_outs[[1]])
        grads <- self$accumulate_grads(grads, node$layer, g$grads)
        in_tensors <- if (is_symbolic_tensor(node$inputs)) list(node$inputs) else node$inputs
        in_tensors <- c(in_tensors, node$initial_state)
        d_in <- if (length(in_tensors) == 1L && !is.list(g$d_inputs)) list(g$d_inputs) else g$d_inputs
        for (j in seq_along(in_tensors)) {
          if (j <= length(d_in)) add_d(in_tensors[[j]], d_in[[j]])
        }
      }
      d_inputs <- lapply(self$inputs, function(t) d[[as.character(t$id)]])
      list(d_inputs = if (self$single_input) d_inputs[[1]] else d_inputs, grads = grads)
    },

    summary_rows = function() {
      rows <- list()
      for (t in self$inputs) {
        l <- t$input_layer
        rows[[length(rows) + 1]] <- c(sprintf("%s (InputLayer)", l$name), format_tuple(t$shape), "0", "-")
      }
      seen <- character()
      for (node in self$nodes) {
        l <- node$layer
        if (l$name %in% seen) next
        seen <- c(seen, l$name)
        shapes <- lapply(node$outputs, function(t) t$shape)
        in_tensors <- c(if (is_symbolic_tensor(node$inputs)) list(node$inputs) else node$inputs,
                        node$initial_state)
        connected <- paste(vapply(in_tensors, tensor_origin, ""), collapse = ", ")
        rows[[length(rows) + 1]] <- c(sprintf("%s (%s)", l$name, l$class_name),
                                      format_output_shape(if (length(shapes) == 1) shapes[[1]] else shapes),
                                      layer_summary_params(l), connected)
      }
      m <- do.call(rbind, rows)
      out <- data.frame(layer = m[, 1], shape = m[, 2], params = m[, 3], stringsAsFactors = FALSE)
      if (!self$sequential_like()) out$connected <- m[, 4]
      out
    },
    # Keras prints a "Connected to" column unless the graph is a plain chain.
    sequential_like = function() {
      if (length(self$inputs) != 1 || length(self$outputs) != 1) return(FALSE)
      all(vapply(self$nodes, function(n) is_symbolic_tensor(n$inputs) && is.null(n$initial_state), logical(1)))
    },

    layer_config = function() functional_config(self)
  )
)

# A model computes in its first float input's dtype; one fed only integer
# inputs (token ids) in Keras's default float32.
functional_dtype <- function(inputs) {
  dtypes <- vapply(inputs, function(t) t$dtype, "")
  floats <- dtypes[is_float_dtype(dtypes)]
  if (length(floats) > 0) floats[[1]] else "float32"
}

tensor_origin <- function(t) {
  layer <- if (is.null(t$node)) t$input_layer else t$node$layer
  sprintf("%s[0][%d]", layer$name, t$index - 1L)
}

# The nodes between `inputs` and `outputs` in an order where each node comes
# after the nodes producing its inputs.
graph_nodes <- function(outputs, inputs) {
  input_ids <- vapply(inputs, function(t) t$id, integer(1))
  order <- list()
  done <- integer()
  visiting <- integer()
  visit <- function(t) {
    if (is.null(t$node)) {
      if (!t$id %in% input_ids) {
        rgru_abort(c(
          "The graph is disconnected: tensor {.val {t$name}} is needed but is not in {.arg inputs}.",
          "i" = "Pass every {.fn keras_input} the outputs depend on to {.fn keras_model}."
        ), class = "model")
      }
      return(invisible())
    }
    key <- t$node$outputs[[1]]$id
    if (key %in% done) return(invisible())
    if (key %in% visiting) {
      rgru_abort("The graph has a cycle.", class = "model")
    }
    visiting <<- c(visiting, key)
    node <- t$node
    parents <- c(if (is_symbolic_tensor(node$inputs)) list(node$inputs) else node$inputs,
                 node$initial_state)
    for (p in parents) visit(p)
    done <<- c(done, key)
    order[[length(order) + 1]] <<- node
    invisible()
  }
  for (t in outputs) visit(t)
  order
}

# Config: layers once each, nodes as (layer index, input references).
functional_config <- function(model) {
  layers <- model$sublayers()
  layer_names <- vapply(layers, function(l) l$name, "")
  tensor_ref <- function(t) {
    if (is.null(t$node)) {
      return(list(input = match(t$id, vapply(model$inputs, function(i) i$id, integer(1)))))
    }
    key <- t$node$outputs[[1]]$id
    node_keys <- vapply(model$nodes, function(n) n$outputs[[1]]$id, integer(1))
    list(node = match(key, node_keys), index = t$index)
  }
  list(
    inputs = lapply(model$inputs, function(t) list(batch_shape = t$shape, dtype = t$dtype)),
    layers = lapply(layers, function(l) l$get_config()),
    nodes = lapply(model$nodes, function(n) list(
      layer = match(n$layer$name, layer_names),
      inputs = if (is_symbolic_tensor(n$inputs)) tensor_ref(n$inputs) else lapply(n$inputs, tensor_ref),
      multi_input = !is_symbolic_tensor(n$inputs),
      initial_state = lapply(n$initial_state, tensor_ref),
      training = n$training
    )),
    outputs = lapply(model$outputs, tensor_ref),
    single_input = model$single_input,
    single_output = model$single_output
  )
}

functional_from_config <- function(config) {
  inputs <- lapply(config$inputs, function(i) keras_input(batch_shape = i$batch_shape, dtype = i$dtype))
  layers <- lapply(config$layers, from_config)
  produced <- list()
  resolve <- function(ref) {
    if (!is.null(ref$input)) return(inputs[[ref$input]])
    out <- produced[[ref$node]]
    if (is_symbolic_tensor(out)) out else out[[ref$index]]
  }
  for (k in seq_along(config$nodes)) {
    n <- config$nodes[[k]]
    x <- if (isTRUE(n$multi_input)) lapply(n$inputs, resolve) else resolve(n$inputs)
    state <- if (length(n$initial_state) > 0) lapply(n$initial_state, resolve)
    produced[[k]] <- call_layer_symbolic(layer_object(layers[[n$layer]]), x,
                                         training = n$training, initial_state = state)
  }
  outputs <- lapply(config$outputs, resolve)
  keras_model(if (config$single_input) inputs[[1]] else inputs,
              if (config$single_output) outputs[[1]] else outputs)
}
