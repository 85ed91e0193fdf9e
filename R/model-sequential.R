# keras_model_sequential(): a stack of single-input, single-output layers.

#' Create a sequential model
#'
#' A model that is a plain stack of layers, each feeding the next. Layers are
#' added by piping: `keras_model_sequential() |> layer_gru(4)` appends the GRU
#' to the model, in place. With `input_shape` the model is built at once (its
#' summary shows every output shape); otherwise it is built on its first call.
#'
#' @param input_shape Shape of one sample, without the batch axis, or `NULL`.
#' @param name Name of the model.
#' @param ... `input_batch_size`, `input_dtype`, `input_name`, `trainable`,
#'   `layers` (a list of layers to add), as in keras3.
#'
#' @returns A sequential model: callable on arrays (`model(x)`), with
#'   `predict()`, `summary()`, `get_weights()`, `$layers`, ...
#' @family model creation
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 8)) |>
#'   layer_gru(16, return_sequences = TRUE) |>
#'   layer_gru(8) |>
#'   layer_dense(1)
#' summary(model)
#' dim(model(random_uniform(c(2, 10, 8))))
keras_model_sequential <- function(input_shape = NULL, name = NULL, ...) {
  dots <- list(...)
  known <- c("input_batch_size", "input_dtype", "input_name", "trainable", "layers",
             "input_batch_shape")
  bad <- setdiff(names(dots) %||% rep("", length(dots)), known)
  if (length(bad) > 0 || length(dots) > 0 && is.null(names(dots))) {
    rgru_abort(c(
      "Unknown argument{?s}: {.arg {bad}}.",
      "i" = "Known arguments are {.arg {c('input_shape', 'name', known)}}."
    ))
  }
  # keras3's names for the input layer's arguments, checked under those names.
  check_positive_integer(dots$input_batch_size, "input_batch_size", allow_null = TRUE)
  if (!is.null(dots$input_batch_shape)) arg_shape(dots$input_batch_shape, "input_batch_shape", batch = TRUE)
  check_dtype(dots$input_dtype, "input_dtype")
  check_string(dots$input_name, "input_name", allow_null = TRUE)
  check_bool(dots$trainable, "trainable", allow_null = TRUE)
  if (!is.null(dots$layers) && (!is.list(dots$layers) || is.object(dots$layers))) {
    abort_argument("layers", dots$layers, "a list of layers")
  }
  model <- Sequential$new(
    input_shape = input_shape, name = name, batch_size = dots$input_batch_size,
    batch_input_shape = dots$input_batch_shape, dtype = dots$input_dtype,
    trainable = dots$trainable %||% TRUE
  )
  for (i in seq_along(dots$layers)) {
    model$add(as_layer_object(dots$layers[[i]], sprintf("layers[[%d]]", i)))
  }
  model$handle
}

Sequential <- R6::R6Class(
  "RgruSequential",
  inherit = Model,
  cloneable = FALSE,
  public = list(
    class_name = "Sequential",
    supports_masking = TRUE,
    initialize = function(input_shape = NULL, name = NULL, batch_size = NULL,
                          batch_input_shape = NULL, dtype = NULL, trainable = TRUE) {
      super$initialize(name = name, dtype = dtype, trainable = trainable,
                       input_shape = input_shape, batch_size = batch_size,
                       batch_input_shape = batch_input_shape, default_name = "sequential")
    },

    add = function(layer) {
      layer <- as_layer_object(layer, "layer")
      if (inherits(layer, "RgruInputLayer")) {
        self$declared_input_shape <- layer$declared_input_shape
        return(invisible(self))
      }
      if (any(vapply(self$layer_objects, identical, logical(1), layer))) {
        rgru_abort("Layer {.val {layer$name}} is already in model {.val {self$name}}.",
                   class = "model")
      }
      if (length(self$layer_objects) == 0 && is.null(self$declared_input_shape)) {
        self$declared_input_shape <- layer$declared_input_shape
      }
      self$layer_objects <- c(self$layer_objects, list(layer))
      if (!is.null(self$declared_input_shape)) {
        # Build now, so shapes are known and mistakes are caught at add().
        tryCatch(self$layer_shapes(self$declared_input_shape), error = function(e) {
          self$layer_objects <- self$layer_objects[-length(self$layer_objects)]
          stop(e)
        })
        self$built <- TRUE
        self$built_input_shape <- self$declared_input_shape
      }
      invisible(self)
    },
    pop = function() {
      n <- length(self$layer_objects)
      if (n == 0) {
        rgru_abort("Model {.val {self$name}} has no layers to remove.", class = "model")
      }
      self$layer_objects <- self$layer_objects[-n]
      invisible(self$handle)
    },

    # Builds each layer in turn; returns every layer's output shape.
    layer_shapes = function(input_shape) {
      shape <- input_shape
      shapes <- vector("list", length(self$layer_objects))
      for (i in seq_along(self$layer_objects)) {
        layer <- self$layer_objects[[i]]
        layer$prepare(shape)
        shape <- layer$compute_output_shape(shape)
        if (is.list(shape)) {
          rgru_abort(c(
            "Layers in a sequential model must have a single output.",
            "x" = "Got layer {.val {layer$name}} with {length(shape)} outputs (e.g. {.code return_state = TRUE}).",
            "i" = "Use {.fn keras_model} for layers with several outputs."
          ), class = "model")
        }
        shapes[[i]] <- shape
      }
      shapes
    },
    build = function(input_shape) {
      self$layer_shapes(input_shape)
    },
    check_input_shape = function(input_shape) {
      if (length(self$layer_objects) == 0) {
        rgru_abort("Model {.val {self$name}} has no layers; add some before calling it.",
                   class = "model")
      }
      want <- self$built_input_shape %||% self$declared_input_shape
      if (!is.null(want) && !is.list(input_shape)) {
        ok <- length(want) == length(input_shape) &&
          all(is.na(want[-1]) | is.na(input_shape[-1]) | want[-1] == input_shape[-1])
        if (!ok) {
          abort_shape("inputs", want, input_shape, "i" = "In model {.val {self$name}}.")
        }
      }
      invisible(TRUE)
    },
    coerce_inputs = function(inputs) {
      if (length(self$layer_objects) == 0) return(as_input_array(inputs, "inputs"))
      self$layer_objects[[1]]$coerce_inputs(inputs)
    },
    compute_output_shape = function(input_shape) {
      shapes <- self$layer_shapes(input_shape)
      shapes[[length(shapes)]]
    },
    compute_output_mask = function(input_has_mask) {
      has <- input_has_mask
      for (layer in self$layer_objects) has <- isTRUE(layer$compute_output_mask(has))
      has
    },

    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      if (is.list(inputs) && length(inputs) == 1L) inputs <- inputs[[1]]
      self$prepare(batch_shape_of(inputs))
      x <- inputs
      tapes <- vector("list", length(self$layer_objects))
      loss <- 0
      for (i in seq_along(self$layer_objects)) {
        res <- model_layer_forward(self$layer_objects[[i]], x, mask, training,
                                   if (i == 1) initial_state, keep_tape)
        x <- res$outputs
        mask <- res$mask
        loss <- loss + res$activity_loss
        tapes[[i]] <- if (keep_tape) res
      }
      list(outputs = x, mask = mask, tape = tapes, activity_loss = loss)
    },
    backward = function(tape, d_outputs) {
      grads <- self$empty_grads()
      d <- d_outputs
      for (i in rev(seq_along(self$layer_objects))) {
        if (is.null(d)) break
        layer <- self$layer_objects[[i]]
        g <- model_layer_backward(layer, tape[[i]], d)
        grads <- self$accumulate_grads(grads, layer, g$grads)
        d <- g$d_inputs
      }
      list(d_inputs = d, grads = grads)
    },

    summary_rows = function() {
      shape <- self$built_input_shape %||% self$declared_input_shape
      shapes <- if (!is.null(shape) && length(self$layer_objects) > 0) self$layer_shapes(shape) else
        vector("list", length(self$layer_objects))
      data.frame(
        layer = vapply(self$layer_objects, function(l) sprintf("%s (%s)", l$name, l$class_name), ""),
        shape = vapply(shapes, format_output_shape, ""),
        params = vapply(self$layer_objects, layer_summary_params, ""),
        stringsAsFactors = FALSE
      )
    },
    layer_config = function() {
      list(layers = lapply(self$layer_objects, function(l) l$get_config()))
    }
  )
)

sequential_from_config <- function(config) {
  model <- Sequential$new(batch_input_shape = config$batch_input_shape, dtype = config$dtype,
                          trainable = config$trainable)
  for (layer_config in config$layers) model$add(from_config(layer_config))
  model$handle
}
