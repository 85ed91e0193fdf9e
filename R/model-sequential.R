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
#' @param ... Keywords of Keras's `InputLayer` that keras 2 scripts pass:
#'   `batch_size`, `batch_input_shape`/`batch_shape`, `dtype`.
#' @param input_dtype dtype of the inputs: `"float32"`, `"float64"`, or an
#'   integer dtype such as `"int32"` for token ids (see [keras_input()]).
#' @param input_batch_size Optional fixed batch size.
#' @param input_sparse,input_ragged Must be `NULL` or `FALSE`.
#' @param input_batch_shape Optional shape including the batch axis; replaces
#'   `input_shape` and `input_batch_size`.
#' @param input_name Accepted for keras3 compatibility (rgru does not list the
#'   input layer of a sequential model).
#' @param input_tensor Must be `NULL`.
#' @param input_optional Must be `FALSE`.
#' @param trainable Whether the model's weights are trained.
#' @param layers A list of layers to add.
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
keras_model_sequential <- function(input_shape = NULL, name = NULL, ..., input_dtype = NULL,
                                   input_batch_size = NULL, input_sparse = NULL,
                                   input_ragged = NULL, input_batch_shape = NULL,
                                   input_name = NULL, input_tensor = NULL,
                                   input_optional = FALSE, trainable = TRUE,
                                   layers = list()) {
  dots <- list(...)
  # keras3 hands `...` to Keras's InputLayer, whose own names keras 2 scripts use.
  known <- c("batch_size", "batch_input_shape", "batch_shape", "dtype")
  bad <- setdiff(names(dots) %||% rep("", length(dots)), known)
  if (length(bad) > 0 || length(dots) > 0 && is.null(names(dots))) {
    rgru_abort(c(
      "Unknown argument{?s}: {.arg {bad}}.",
      "i" = "{.fn keras_model_sequential} passes on {.arg {known}} in {.arg ...}."
    ))
  }
  if (!is.list(layers) || is.object(layers)) {
    abort_argument("layers", layers, "a list of layers")
  }
  if (isTRUE(input_sparse) || isTRUE(input_ragged)) {
    abort_argument(if (isTRUE(input_sparse)) "input_sparse" else "input_ragged", TRUE,
                   "NULL or FALSE (sparse and ragged inputs are not supported)")
  }
  if (!is.null(input_tensor)) abort_argument("input_tensor", input_tensor, "NULL")
  if (!isFALSE(input_optional)) abort_argument("input_optional", input_optional, "FALSE")
  if (!is.null(input_name)) check_string(input_name, "input_name")
  dtype <- check_input_dtype(input_dtype %||% dots$dtype, "input_dtype")
  # checked under keras3's names before Sequential checks them under Keras's
  check_positive_integer(input_batch_size, "input_batch_size", allow_null = TRUE)
  if (!is.null(input_batch_shape)) arg_shape(input_batch_shape, "input_batch_shape", batch = TRUE)
  model <- Sequential$new(
    input_shape = input_shape, name = name,
    batch_size = input_batch_size %||% dots$batch_size,
    batch_input_shape = input_batch_shape %||% dots$batch_input_shape %||% dots$batch_shape,
    dtype = if (is_float_dtype(dtype)) dtype, trainable = trainable
  )
  for (i in seq_along(layers)) {
    model$add(as_layer_object(layers[[i]], sprintf("layers[[%d]]", i)))
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

    # Every training step runs forward() and backward(): they read the layer list once
    # (`layer_objects` is an active binding) rather than per layer.
    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      if (is.list(inputs) && length(inputs) == 1L) inputs <- inputs[[1]]
      self$prepare(batch_shape_of(inputs))
      layers <- private$layer_list
      x <- inputs
      tapes <- vector("list", length(layers))
      loss <- 0
      for (i in seq_along(layers)) {
        res <- model_layer_forward(layers[[i]], x, mask, training,
                                   if (i == 1) initial_state, keep_tape)
        x <- res$outputs
        mask <- res$mask
        loss <- loss + res$activity_loss
        if (keep_tape) tapes[[i]] <- res
      }
      list(outputs = x, mask = mask, tape = tapes, activity_loss = loss)
    },
    backward = function(tape, d_outputs) {
      layers <- private$layer_list
      positions <- self$layer_weight_positions(layers)
      grads <- vector("list", attr(positions, "weights"))
      d <- d_outputs
      for (i in seq.int(length(layers), by = -1L, length.out = length(layers))) {
        if (is.null(d)) break
        g <- model_layer_backward(layers[[i]], tape[[i]], d)
        grads <- add_grads_at(grads, positions[[i]], g$grads)
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
    # A model built by its first call keeps that input shape, as Keras's
    # "build_input_shape", so a rebuilt model has its weights at once.
    layer_config = function() {
      list(layers = lapply(self$layer_objects, function(l) l$get_config()),
           build_input_shape = if (is.null(self$declared_input_shape)) self$built_input_shape)
    }
  )
)

sequential_from_config <- function(config) {
  model <- Sequential$new(batch_input_shape = config$batch_input_shape, dtype = config$dtype,
                          trainable = config$trainable)
  for (layer_config in config$layers) model$add(from_config(layer_config))
  if (!is.null(config$build_input_shape)) model$maybe_build(config$build_input_shape)
  model$handle
}
