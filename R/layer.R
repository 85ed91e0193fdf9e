# The layer system: variables, the Layer base class every layer and model
# inherits, and the callable handle users hold.
#
# A layer lives as an R6 object (reference semantics, like a Keras layer). Users
# get a *handle*: a function `function(object, ...)` that composes like keras3's
# layer objects (`gru(x)`, `gru(model)`), whose `$` reads the R6 object so
# `gru$weights`, `gru$units`, `gru$reset_state()` work as in keras3.

# Variables ---------------------------------------------------------------

variable_ids <- new.env(parent = emptyenv())
variable_ids$next_id <- 0L

new_variable <- function(value, name, path, trainable = TRUE, regularizer = NULL,
                         constraint = NULL, dtype = "float32") {
  v <- new.env(parent = emptyenv())
  variable_ids$next_id <- variable_ids$next_id + 1L
  v$id <- variable_ids$next_id
  v$value <- value
  v$version <- next_variable_version()
  v$name <- name
  v$path <- path
  v$trainable <- trainable
  v$regularizer <- regularizer
  v$constraint <- constraint
  v$dtype <- dtype
  class(v) <- "rgru_variable"
  v
}

# A variable's `version` changes with every write to its `value` (the methods below
# catch `v$value <- x` and `v[["value"]] <- x` wherever they are written: optimizers,
# constraints, weight loading). Versions are unique across variables and never reused
# while the library is loaded (the counter is C++'s, next_weight_version_cpp()), so the
# versions of a layer's weights identify their contents: the cuDNN backend keeps its
# device copy while they are unchanged instead of hashing every weight per call.
next_variable_version <- function() {
  .Call(`_rgru_next_weight_version_cpp`)
}

#' @export
`$<-.rgru_variable` <- function(x, name, value) {
  assign(name, value, envir = x)
  if (identical(name, "value")) assign("version", next_variable_version(), envir = x)
  # Layers cache their trainable weights (Layer's `trainable_weights`).
  if (identical(name, "trainable")) layer_structure_changed()
  x
}

#' @export
`[[<-.rgru_variable` <- function(x, i, value) {
  `$<-.rgru_variable`(x, i, value)
}

#' @export
print.rgru_variable <- function(x, ...) {
  cat(sprintf(
    "<Variable path=%s, shape=%s, dtype=%s, trainable=%s>\n",
    x$path, format_tuple(value_shape(x$value)), x$dtype, x$trainable
  ))
  print(unclass(x$value))
  invisible(x)
}

value_shape <- function(x) {
  if (is.null(dim(x))) length(x) else dim(x)
}

# Layer names: "gru", "gru_1", ... per session, as Keras's auto-naming.
layer_name_counts <- new.env(parent = emptyenv())

unique_layer_name <- function(prefix) {
  n <- layer_name_counts[[prefix]] %||% 0L
  layer_name_counts[[prefix]] <- n + 1L
  if (n == 0L) prefix else paste0(prefix, "_", n)
}

# Shapes inside the layer system are integer vectors, NA for an unknown size
# (the batch, usually). format_tuple() gives Keras's "(None, 10, 4)".
format_tuple <- function(shape) {
  parts <- ifelse(is.na(shape), "None", as.character(shape))
  if (length(parts) == 1L) paste0("(", parts, ",)") else paste0("(", paste(parts, collapse = ", "), ")")
}

# The named arguments a layer_*() function was called with (all but `object`
# and `...`), to pass on to the layer's constructor.
formal_args <- function(fn, env) {
  mget(setdiff(names(formals(fn)), c("object", "...")), envir = env)
}

# The Layer base class ----------------------------------------------------

# Keras's common keywords, accepted by every layer through `...`; `also` names
# the keywords a layer takes on top (Keras's **kwargs forwarded to a base class).
layer_common_args <- function(dots, layer_fn, also = character()) {
  known <- c("name", "dtype", "trainable", "input_shape", "batch_size",
             "batch_input_shape", "activity_regularizer", also)
  unknown <- setdiff(names(dots) %||% rep("", length(dots)), known)
  if (length(dots) > 0 && (is.null(names(dots)) || any(names(dots) == ""))) {
    rgru_abort(c(
      "All arguments in {.arg ...} of {.fn {layer_fn}} must be named.",
      i = "Keras's common layer keywords are {.arg {known}}."
    ))
  }
  if (length(unknown) > 0) {
    rgru_abort(c(
      "Unrecognized {cli::qty(length(unknown))}argument{?s} {.arg {unknown}} passed to {.code {layer_fn}()}.",
      i = "Keras's common layer keywords are {.arg {known}}."
    ))
  }
  dots
}

# The layer protocol. A layer subclass overrides what it needs of:
#   build(input_shape)              creates its weights with add_weight()
#   forward_impl() / forward(inputs, mask, training, initial_state, keep_tape)
#                                   -> list(outputs, mask, tape)
#   backward(tape, d_outputs)       -> list(d_inputs, grads), grads aligned with $weights
#   compute_output_shape(), compute_output_mask(), check_input_shape(), layer_config(),
#   sublayers(), coerce_inputs(), call_handle()
# and may set `fast_call` (below) once built. Every layer's settings are fixed at
# construction unless changed through its handle (`layer$name <- value`), which calls
# settings_changed() afterwards.
Layer <- R6::R6Class(
  "RgruLayer",
  cloneable = FALSE,
  public = list(
    name = NULL,
    class_name = "Layer",
    built = FALSE,
    dtype = "float32",
    activity_regularizer = NULL,
    supports_masking = FALSE,
    # Declared input (via `input_shape`/`batch_size`), batch axis first.
    declared_input_shape = NULL,
    built_input_shape = NULL,
    variables = list(),
    handle = NULL,
    # NULL, or a function(inputs) the handle calls first for `layer(inputs)` with no
    # other arguments: it returns the outputs, or NULL to take the general path
    # (call_handle()). Set by layers that decide once, when built, how plain arrays are
    # computed (layer_gru()); cleared by settings_changed().
    fast_call = NULL,

    initialize = function(name = NULL, dtype = NULL, trainable = TRUE, input_shape = NULL,
                          batch_size = NULL, batch_input_shape = NULL,
                          activity_regularizer = NULL, default_name = "layer") {
      self$name <- if (is.null(name)) unique_layer_name(default_name) else check_string(name, "name")
      self$dtype <- check_dtype(dtype %||% "float32", "dtype")
      private$trainable_flag <- check_bool(trainable, "trainable")
      batch <- if (is.null(batch_size)) NA_integer_ else
        as.integer(check_positive_integer(batch_size, "batch_size"))
      if (!is.null(batch_input_shape)) {
        self$declared_input_shape <- arg_shape(batch_input_shape, "batch_input_shape", batch = TRUE)
      } else if (!is.null(input_shape)) {
        self$declared_input_shape <- c(batch, arg_shape(input_shape, "input_shape"))
      }
      self$activity_regularizer <- resolve_regularizer(activity_regularizer, "activity_regularizer")
      self$handle <- layer_handle(self)
    },

    # Subclasses create their weights here, with add_weight().
    build = function(input_shape) invisible(NULL),

    maybe_build = function(input_shape) {
      if (!self$built) {
        self$build(input_shape)
        self$built <- TRUE
        self$built_input_shape <- input_shape
        layer_structure_changed()
      }
      invisible(self)
    },

    add_weight = function(name, shape, initializer, regularizer = NULL, constraint = NULL,
                          trainable = TRUE, path_prefix = self$name) {
      # Keras's add_weight() falls back to glorot_uniform without an initializer.
      init <- resolve_initializer(initializer %||% "glorot_uniform")
      value <- init$generate(as.integer(shape), self$dtype)
      if (length(shape) >= 2) value <- array(as.numeric(value), dim = shape)
      v <- new_variable(
        value = value, name = name, path = paste0(path_prefix, "/", name),
        trainable = trainable && private$trainable_flag, regularizer = regularizer,
        constraint = constraint, dtype = self$dtype
      )
      self$variables <- c(self$variables, list(v))
      layer_structure_changed()
      v
    },

    # The protocol's forward(): validate, build on first use, compute.
    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      self$prepare(batch_shape_of(inputs))
      self$forward_impl(inputs, mask = mask, training = isTRUE(training),
                        initial_state = initial_state)
    },
    forward_impl = function(inputs, mask, training, initial_state) {
      list(outputs = inputs, mask = mask, tape = NULL)
    },
    backward = function(tape, d_outputs) {
      list(d_inputs = d_outputs, grads = rep(list(NULL), length(self$weights)))
    },
    # Checks the input shape before and after building (the rank is known
    # before, the feature sizes only after), then builds.
    # A shape accepted once is accepted again until a layer's structure or settings
    # change: every forward() prepares, and most see one shape call after call.
    prepare = function(input_shape) {
      accepted <- private$accepted_shape
      if (!is.null(accepted) && accepted$version == layer_structure$version &&
          identical(accepted$shape, input_shape)) {
        return(invisible(self))
      }
      self$check_input_shape(input_shape)
      if (!self$built) {
        self$maybe_build(input_shape)
        self$check_input_shape(input_shape)
      }
      private$accepted_shape <- list(shape = input_shape, version = layer_structure$version)
      invisible(self)
    },
    # Raises a classed error when inputs of this shape can't be fed to the layer. It
    # depends only on the shape and on what the layer was built or set up with (see
    # prepare()).
    check_input_shape = function(input_shape) invisible(TRUE),
    check_initial_state_shapes = function(shapes) invisible(TRUE),

    compute_output_shape = function(input_shape) input_shape,
    # Whether each output carries a Keras mask, given whether the input does.
    compute_output_mask = function(input_has_mask) {
      input_has_mask && self$supports_masking
    },
    # Keras's compute_mask(): the mask(s) this layer hands on for these inputs
    # and input mask, a (batch, timesteps) logical matrix or NULL per output.
    compute_mask = function(inputs, mask = NULL) {
      inputs <- self$coerce_inputs(inputs)
      if (!is.null(mask)) mask <- coerce_sequence_mask(mask, value_shape(inputs)[1:2])
      self$prepare(batch_shape_of(inputs))
      self$output_mask(inputs, mask)
    },
    # Layers computing in forward_impl() are stateless there; those overriding
    # forward() override this too.
    output_mask = function(inputs, mask) {
      self$forward_impl(inputs, mask = mask, training = FALSE, initial_state = NULL)$mask
    },

    count_params = function() {
      sum(vapply(self$weights, function(v) length(v$value), numeric(1)))
    },
    get_config = function() {
      config <- c(list(name = self$name, trainable = private$trainable_flag, dtype = self$dtype),
                  self$layer_config())
      if (!is.null(self$declared_input_shape)) {
        config$batch_input_shape <- self$declared_input_shape
      }
      structure(config, rgru_class = class(self)[1])
    },
    layer_config = function() list(),
    get_weights = function() lapply(self$weights, function(v) v$value),
    set_weights = function(weights) {
      assign_weights(self$weights, weights)
      invisible(self$handle)
    },
    # Layers owning other layers (a GRU its cell, models their layers) override this.
    sublayers = function() list(),
    # What `layer(inputs, ...)` does once composition has ruled out a model to add to.
    call_handle = function(inputs, ...) call_layer(self, inputs, ...),
    coerce_inputs = function(inputs) as_input_array(inputs, "inputs"),
    # Called after a setting changed through the handle; layers that decided something
    # from their settings forget it here.
    settings_changed = function() invisible(self)
  ),
  active = list(
    trainable = function(value) {
      if (missing(value)) return(private$trainable_flag)
      private$trainable_flag <- check_bool(value, "trainable")
      layer_structure_changed()
      for (v in self$weights) v$trainable <- private$trainable_flag
      for (l in self$sublayers()) l$trainable <- private$trainable_flag
    },
    # Cached until a layer anywhere is built, adds a weight or changes its sublayers
    # (layer_structure_changed()): training reads it several times a step.
    weights = function() {
      cache <- private$weights_cache
      if (!is.null(cache) && cache$version == layer_structure$version) return(cache$weights)
      weights <- unique_variables(c(self$variables, unlist(
        lapply(self$sublayers(), function(l) l$weights), recursive = FALSE
      )))
      private$weights_cache <- list(version = layer_structure$version, weights = weights)
      weights
    },
    # Cached as `weights` is: every training step reads it. Setting a variable's or a
    # layer's `trainable` counts as a change of structure.
    trainable_weights = function() {
      if (!private$trainable_flag) return(list())
      cache <- private$trainable_cache
      if (!is.null(cache) && cache$version == layer_structure$version) return(cache$weights)
      weights <- self$weights
      keep <- vapply(weights, is_trainable, TRUE)
      if (!all(keep)) weights <- weights[keep]
      private$trainable_cache <- list(version = layer_structure$version, weights = weights)
      weights
    },
    non_trainable_weights = function() {
      weights <- self$weights
      if (!private$trainable_flag) return(weights)
      weights[!vapply(weights, is_trainable, TRUE)]
    },
    input_shape = function() self$built_input_shape %||% self$declared_input_shape,
    # Keras's layer.losses: the penalty of each regularized trainable weight, at
    # its current value.
    losses = function() {
      regularized <- Filter(function(v) !is.null(v$regularizer), self$trainable_weights)
      lapply(regularized, function(v) v$regularizer$penalty(v$value))
    }
  ),
  private = list(
    trainable_flag = TRUE,
    weights_cache = NULL,
    trainable_cache = NULL,
    accepted_shape = NULL
  )
)

# Counts changes to the tree of layers, their variables and their settings anywhere in
# the session; what layers cache (weights, accepted input shapes) is valid while it
# stands. A layer whose sublayers() change after it was made (other than a Model's
# `layer_objects`, which does this itself) calls layer_structure_changed().
layer_structure <- new.env(parent = emptyenv())
layer_structure$version <- 0L

layer_structure_changed <- function() {
  layer_structure$version <- layer_structure$version + 1L
  invisible()
}

# Gradients shaped exactly like their variables' values (NULL stays NULL).
conform_grads <- function(variables, grads) {
  lapply(seq_along(variables), function(k) {
    g <- if (k <= length(grads)) grads[[k]]
    if (is.null(g)) return(NULL)
    g <- as.numeric(g)
    dim(g) <- dim(variables[[k]]$value)
    g
  })
}

is_trainable <- function(v) isTRUE(.subset2(v, "trainable"))

unique_variables <- function(vars) {
  if (length(vars) == 0) return(list())
  ids <- vapply(vars, function(v) v$id, integer(1))
  vars[!duplicated(ids)]
}

assign_weights <- function(variables, weights) {
  if (!is.list(weights) || length(weights) != length(variables)) {
    rgru_abort(c(
      "{.arg weights} must be a list of {length(variables)} array{?s}, one per weight.",
      x = "Got {.obj_type_friendly {weights}} of length {length(weights)}."
    ), class = "weights")
  }
  for (i in seq_along(variables)) {
    v <- variables[[i]]
    w <- weights[[i]]
    want <- value_shape(v$value)
    got <- if (is.numeric(w) || is.logical(w)) value_shape(w) else NULL
    if (is.null(got) || length(got) != length(want) || any(got != want)) {
      rgru_abort(c(
        "Weight {i} ({.field {v$path}}) must be a numeric array of shape {format_tuple(want)}.",
        x = "Got {.obj_type_friendly {w}} of shape {if (is.null(got)) 'NULL' else format_tuple(got)}."
      ), class = "weights")
    }
    value <- as.numeric(w)
    if (length(want) > 1 || !is.null(dim(v$value))) dim(value) <- dim(v$value)
    v$value <- value
  }
  invisible(variables)
}

# The handle --------------------------------------------------------------

layer_handle <- function(layer) {
  force(layer)
  handle <- function(object, ...) {
    if (...length() == 0L && !missing(object)) {
      fast <- .subset2(layer, "fast_call")
      if (!is.null(fast)) {
        outputs <- fast(object)
        if (!is.null(outputs)) return(outputs)
      }
    }
    compose_layer(object, layer, ...)
  }
  class(handle) <- c(layer_handle_classes(layer), "rgru_layer", "function")
  handle
}

layer_handle_classes <- function(layer) {
  switch(layer$class_name,
    GRU = "rgru_layer_gru",
    GRUCell = "rgru_cell_gru",
    RNN = "rgru_layer_rnn",
    StackedRNNCells = "rgru_cells_stack",
    Bidirectional = "rgru_layer_bidirectional",
    TimeDistributed = "rgru_layer_time_distributed",
    Dense = "rgru_layer_dense",
    Masking = "rgru_layer_masking",
    Embedding = "rgru_layer_embedding",
    Concatenate = "rgru_layer_concatenate",
    Add = "rgru_layer_add",
    Sequential = c("rgru_model_sequential", "rgru_model"),
    Functional = c("rgru_model_functional", "rgru_model"),
    character()
  )
}

# The R6 object behind a handle (or the object itself).
layer_object <- function(x) {
  if (inherits(x, "RgruLayer")) return(x)
  if (inherits(x, "rgru_layer")) return(.subset2(environment(x), "layer"))
  NULL
}

#' @export
`$.rgru_layer` <- function(x, name) {
  layer_object(x)[[name]]
}

#' @export
`[[.rgru_layer` <- function(x, i, ...) {
  layer_object(x)[[i]]
}

#' @export
`$<-.rgru_layer` <- function(x, name, value) {
  obj <- layer_object(x)
  # `model$layers[[i]]$trainable <- FALSE` writes the (unchanged) layer list back.
  if (identical(name, "layers") && inherits(obj, "RgruModel") &&
      length(value) == length(obj$layer_objects) &&
      all(mapply(function(a, b) identical(layer_object(a), b), value, obj$layer_objects))) {
    return(x)
  }
  obj[[name]] <- value
  obj$settings_changed()
  layer_structure_changed()
  x
}

#' @rawNamespace S3method(utils::.DollarNames, rgru_layer)
.DollarNames.rgru_layer <- function(x, pattern = "") {
  obj <- layer_object(x)
  nms <- setdiff(ls(obj, all.names = FALSE), c("clone", "initialize", "handle", "fast_call"))
  grep(pattern, nms, value = TRUE)
}

#' @export
print.rgru_layer <- function(x, ...) {
  obj <- layer_object(x)
  # GRU layers also say which engine their last call ran on ("cpu", "cudnn" or "r").
  ran <- if (!is.null(obj$last_backend)) sprintf(", last_backend=%s", obj$last_backend) else ""
  cat(sprintf("<%s name=%s, built=%s%s>\n", obj$class_name, obj$name,
              if (obj$built) "True" else "False", ran))
  invisible(x)
}

#' @export
format.rgru_layer <- function(x, ...) {
  obj <- layer_object(x)
  sprintf("<%s name=%s>", obj$class_name, obj$name)
}

# Composition (keras3's create_layer()/compose_layer() semantics) ----------

# `object` must already have been forced by the caller, before the layer was made,
# so pipe chains create layers in reading order.
create_layer <- function(layer, object) {
  if (is.null(object)) return(layer$handle)
  compose_layer(object, layer)
}

compose_layer <- function(object, layer, ...) {
  if (missing(object) || is.null(object)) {
    rgru_abort(c(
      "A layer must be called on inputs.",
      i = "Call {.code layer(inputs)} with an array, a {.fn keras_input} tensor or a sequential model."
    ), class = "input")
  }
  if (inherits(object, "rgru_model_sequential")) {
    if (...length() > 0) rgru_warn("Arguments in {.arg ...} are ignored when adding a layer to a model.")
    layer_object(object)$add(layer)
    return(invisible(object))
  }
  layer$call_handle(object, ...)
}

# `layer(inputs, mask, training, initial_state)` on symbolic tensors or arrays.
call_layer <- function(layer, inputs, mask = NULL, training = NULL, initial_state = NULL, ...) {
  if (...length() > 0) {
    extra <- names(list(...)) %||% rep("", ...length())
    rgru_abort(c(
      "Unexpected arguments in a call of layer {.val {layer$name}}.",
      i = "A layer is called as {.code layer(inputs, mask = NULL, training = NULL, initial_state = NULL)}.",
      x = "Also got {.arg {ifelse(extra == '', '<unnamed>', extra)}}."
    ))
  }
  if (!is.null(training)) training <- check_bool(training, "training")
  if (is_symbolic_input(inputs) || is_symbolic_input(initial_state)) {
    return(call_layer_symbolic(layer, inputs, mask = mask, training = training,
                               initial_state = initial_state))
  }
  inputs <- layer$coerce_inputs(inputs)
  if (!is.null(initial_state)) initial_state <- coerce_initial_state(initial_state)
  result <- layer$forward(inputs, mask = mask, training = isTRUE(training),
                          initial_state = initial_state, keep_tape = FALSE)
  result$outputs
}

# Arrays in, with the dimension (batch, ...) kept: a vector becomes a column.
as_input_array <- function(x, arg) {
  if (is.data.frame(x)) x <- as.matrix(x)
  if (is.logical(x)) storage.mode(x) <- "double"
  if (!is.numeric(x) || is.object(x) && !is.array(x) && !is.matrix(x)) {
    rgru_abort(c(
      "{.arg {arg}} must be a numeric array.",
      x = "Got {.obj_type_friendly {x}}."
    ), class = "input")
  }
  if (length(x) == 0) {
    rgru_abort(c(
      "{.arg {arg}} must not be empty.",
      x = "Got an array of shape {format_tuple(value_shape(x))}."
    ), class = "shape")
  }
  if (is.null(dim(x))) x <- array(x, dim = c(length(x), 1L))
  # Only when needed: on a double array also held by the caller, `storage.mode<-`
  # leaves it marked so that the engine's call later copies it whole.
  if (!is.double(x)) storage.mode(x) <- "double"
  x
}

coerce_initial_state <- function(initial_state) {
  states <- if (is.list(initial_state)) initial_state else list(initial_state)
  lapply(states, function(s) {
    s <- as_input_array(s, "initial_state")
    if (length(dim(s)) != 2) {
      rgru_abort(c(
        "{.arg initial_state} must be a matrix (batch, units) or a list of them.",
        x = "Got an array of shape {format_tuple(dim(s))}."
      ), class = "shape")
    }
    s
  })
}

batch_shape_of <- function(x) {
  if (is.list(x)) return(lapply(x, batch_shape_of))
  d <- dim(x)
  if (is.null(d)) d <- length(x)
  d[1] <- NA_integer_
  as.integer(d)
}

# Argument checks shared by the layers (the scalar ones are api-support's
# check_*() in utils.R).

abort_arg <- function(arg, value, expected, class = "argument") {
  abort_argument(arg, value, expected, class = class)
}

# A shape without (batch = FALSE) or with its batch axis; NA/NULL entries unknown.
arg_shape <- function(x, arg, batch = FALSE) {
  if (inherits(x, "keras_shape") || is.list(x) && !is.object(x)) {
    scalar <- function(d) is.null(d) || (is.numeric(d) || is.logical(d)) && length(d) == 1
    if (!all(vapply(x, scalar, logical(1)))) {
      abort_arg(arg, x, "a vector of positive integers (NA for an unknown size)",
                class = "shape")
    }
    x <- vapply(unclass(x), function(d) if (is.null(d)) NA_real_ else as.numeric(d), numeric(1))
  }
  # NA is an unknown size; NaN is no size at all.
  ok <- (is.numeric(x) || is.logical(x) && all(is.na(x))) && length(x) >= 1 &&
    !any(is.nan(x)) && all(is.na(x) | (x >= 1 & x == round(x) & x <= .Machine$integer.max))
  if (!ok) abort_arg(arg, x, "a vector of positive integers (NA for an unknown size)",
                     class = "shape")
  as.integer(x)
}
