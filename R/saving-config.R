# Keras's model configuration (config.json in a .keras archive, the
# model_config attribute of a legacy .h5) to and from rgru objects: the layer
# configs through the registry (saving-registry.R), the nested objects
# (dtype policies, activations, initializers, regularizers, constraints), and
# the models around them (Sequential, Functional with Keras's graph order).
#
# Reading keeps a context `ctx` (the file's name, for messages); every
# problem is one classed error naming the file and where in the config it is:
# "file" for a damaged or malformed file, "unsupported" (with "file") for a
# valid Keras file asking for something rgru does not have.

# Errors ---------------------------------------------------------------------

abort_damaged <- function(file, where, problem, hint = NULL, parent = NULL,
                          class = "file", .envir = parent.frame()) {
  abort_in_file("{.file {(.file)}} is not a readable Keras file.", file, where, problem, hint,
                class, parent, .envir)
}

abort_unsupported <- function(file, where, problem, hint = NULL, .envir = parent.frame()) {
  abort_in_file("{.file {(.file)}} uses a Keras feature rgru does not support.", file, where,
                problem, hint, c("unsupported", "file"), NULL, .envir)
}

# `problem` and `hint` are cli text interpolated in the caller's `.envir`.
abort_in_file <- function(headline, file, where, problem, hint, class, parent, .envir) {
  env <- new.env(parent = .envir)
  env$.file <- file
  env$.where <- where
  message <- c(headline, x = paste0(if (!is.null(where)) "{(.where)}: ", problem))
  if (!is.null(hint)) message <- c(message, i = hint)
  rgru_abort(message, class = class, parent = parent, .envir = env)
}

# Saving a model Keras's format can't describe.
abort_unsaveable <- function(where, problem, .envir = parent.frame()) {
  env <- new.env(parent = .envir)
  env$.where <- where
  rgru_abort(c("The model can't be saved in Keras's format.",
               x = paste0("{(.where)}: ", problem),
               i = "Save it with a {.file .rds} file name to keep it for R."),
             class = c("unsupported", "file"), .envir = env)
}

# JSON values (jsonlite, simplifyVector = FALSE) --------------------------------

read_json_text <- function(text, file, member) {
  if (!validUTF8(text)) abort_damaged(file, member, "it is not UTF-8 text")
  tryCatch(jsonlite::fromJSON(text, simplifyVector = FALSE), error = function(e) {
    abort_damaged(file, member, "it is not valid JSON ({conditionMessage(e)})")
  })
}

write_json_text <- function(x) {
  as.character(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null", na = "null",
                                digits = NA))
}

is_json_object <- function(x) is.list(x) && (length(x) == 0 || !is.null(names(x)) && all(names(x) != ""))

json_object <- function(x, where, ctx) {
  if (!is_json_object(x) || is.null(names(x)) && length(x) > 0) {
    abort_damaged(ctx$file, where, "expected a JSON object, found {describe_json(x)}")
  }
  x
}

json_array <- function(x, where, ctx) {
  if (!is.list(x) || !is.null(names(x))) {
    abort_damaged(ctx$file, where, "expected a JSON array, found {describe_json(x)}")
  }
  x
}

describe_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) return(if (is.null(names(x))) "an array" else "an object")
  if (length(x) == 1 && is.character(x)) return(encodeString(substr(x, 1, 40), quote = "\""))
  if (length(x) == 1) return(format(x))
  "a malformed value"
}

# `where` plus one more step: "layers[2]" + "units" -> "layers[2] > units".
where_join <- function(where, step) if (is.null(where)) step else paste0(where, " > ", step)

# Kinds: how one config value is read and written --------------------------------

read_bool <- function(x, where, ctx) {
  if (!is.logical(x) || length(x) != 1 || is.na(x)) {
    abort_damaged(ctx$file, where, "expected true or false, found {describe_json(x)}")
  }
  x
}

read_int <- function(x, where, ctx) {
  if (!is.numeric(x) || length(x) != 1 || !is.finite(x) || x != round(x) || abs(x) > .Machine$integer.max) {
    abort_damaged(ctx$file, where, "expected an integer, found {describe_json(x)}")
  }
  as.integer(x)
}

read_number <- function(x, where, ctx) {
  if (!is.numeric(x) || length(x) != 1 || is.na(x)) {
    abort_damaged(ctx$file, where, "expected a number, found {describe_json(x)}")
  }
  as.numeric(x)
}

read_string <- function(x, where, ctx) {
  if (!is.character(x) || length(x) != 1 || is.na(x)) {
    abort_damaged(ctx$file, where, "expected a string, found {describe_json(x)}")
  }
  x
}

read_shape <- function(x, where, ctx) {
  if (is.list(x) && is.null(names(x))) {
    ok <- vapply(x, function(d) is.null(d) || is.numeric(d) && length(d) == 1 && is.finite(d) &&
                   d == round(d) && d >= 0 && d <= .Machine$integer.max, TRUE)
    if (all(ok)) return(vapply(x, function(d) if (is.null(d)) NA_integer_ else as.integer(d), 1L))
  }
  abort_damaged(ctx$file, where, "expected a shape (an array of sizes or null), found {describe_json(x)}")
}

write_shape <- function(shape) lapply(as.integer(shape), function(d) if (is.na(d)) NULL else d)

# An activation is a Keras name (Keras 3 may wrap it as a "function" object).
read_activation <- function(x, where, ctx) {
  if (is_json_object(x) && identical(x$class_name, "function") && is.character(x$config)) {
    x <- x$config
  }
  name <- read_string(x, where, ctx)
  if (isTRUE(ctx$keras2) && name == "hard_sigmoid") {
    abort_unsupported(ctx$file, where, "Keras 2's {.val hard_sigmoid} (0.2 * x + 0.5, clipped) is not Keras 3's (x / 6 + 0.5, clipped), which rgru computes")
  }
  ok <- tryCatch({
    resolve_activation(name)
    TRUE
  }, rgru_error = function(e) FALSE)
  if (!ok) abort_unsupported(ctx$file, where, "the activation {.val {name}} is not one rgru has")
  name
}

write_activation <- function(x, where) {
  name <- resolve_activation(x)$name
  if (is.null(name)) abort_unsaveable(where, "the activation is an R function, which Keras can't load")
  name
}

# Initializers, regularizers and constraints: Keras's serialized objects
# (module, class_name, config) or names; rgru's resolve_*() take
# list(class_name, config) once the config keeps only arguments rgru knows.
keras_object_kinds <- list(
  initializer = list(module = "keras.initializers", resolve = function(x) resolve_initializer(x),
                     registry = function() initializer_registry()),
  regularizer = list(module = "keras.regularizers", resolve = function(x) resolve_regularizer(x),
                     registry = function() regularizer_registry),
  constraint = list(module = "keras.constraints", resolve = function(x) resolve_constraint(x),
                    registry = function() constraint_registry)
)

read_keras_object <- function(kind, x, where, ctx) {
  spec <- keras_object_kinds[[kind]]
  if (is.null(x)) return(NULL)
  if (is.character(x) && length(x) == 1) {
    value <- x
    class_name <- x
  } else {
    x <- json_object(x, where, ctx)
    class_name <- read_string(x$class_name, where_join(where, "class_name"), ctx)
    constructor <- spec$registry()[[class_name]]
    if (is.null(constructor)) {
      abort_unsupported(ctx$file, where, "the {kind} class {.cls {class_name}} is not one rgru has")
    }
    config <- x$config %||% list()
    config <- json_object(config, where_join(where, "config"), ctx)
    known <- names(formals(constructor))
    extra <- setdiff(names(config), known)
    set <- extra[!vapply(config[extra], is.null, TRUE)]
    if (length(set) > 0) {
      abort_unsupported(ctx$file, where,
                        "option {.field {set[1]}} of {kind} {.cls {class_name}} is not one rgru has")
    }
    value <- list(class_name = class_name, config = config[intersect(names(config), known)])
  }
  tryCatch(spec$resolve(value), rgru_error_unknown_name = function(e) {
    abort_unsupported(ctx$file, where, "the {kind} {.val {class_name}} is not one rgru has")
  }, rgru_error = function(e) {
    abort_damaged(ctx$file, where, "the {kind} is invalid: {conditionMessage(e)}", parent = e)
  })
  value
}

write_keras_object <- function(kind, x, where) {
  if (is.null(x)) return(NULL)
  spec <- keras_object_kinds[[kind]]
  object <- spec$resolve(x)
  serialized <- tryCatch(serialize_keras_object(object), rgru_error = function(e) NULL)
  if (is.null(serialized)) {
    abort_unsaveable(where, "the {kind} is an R function, which Keras can't load")
  }
  list(module = spec$module, class_name = serialized$class_name,
       config = as_json_object(serialized$config), registered_name = NULL)
}

as_json_object <- function(x) {
  if (length(x) == 0) structure(list(), names = character(0)) else x
}

keras_kinds <- list(
  bool = list(read = read_bool, write = function(x, where) isTRUE(x)),
  int = list(read = read_int, write = function(x, where) as.integer(x)),
  number = list(read = read_number, write = function(x, where) as.numeric(x)),
  string = list(read = read_string, write = function(x, where) x),
  value = list(read = function(x, where, ctx) x, write = function(x, where) x),
  shape = list(read = read_shape, write = function(x, where) write_shape(x)),
  activation = list(read = read_activation, write = write_activation),
  initializer = list(read = function(x, where, ctx) read_keras_object("initializer", x, where, ctx),
                     write = function(x, where) write_keras_object("initializer", x, where)),
  regularizer = list(read = function(x, where, ctx) read_keras_object("regularizer", x, where, ctx),
                     write = function(x, where) write_keras_object("regularizer", x, where)),
  constraint = list(read = function(x, where, ctx) read_keras_object("constraint", x, where, ctx),
                    write = function(x, where) write_keras_object("constraint", x, where)),
  layer = list(read = function(x, where, ctx) read_keras_layer(x, where, ctx),
               write = function(x, where) write_keras_layer(x, where)),
  layers = list(
    read = function(x, where, ctx) {
      x <- json_array(x, where, ctx)
      lapply(seq_along(x), function(i) read_keras_layer(x[[i]], paste0(where, "[", i, "]"), ctx))
    },
    write = function(x, where) {
      lapply(seq_along(x), function(i) write_keras_layer(x[[i]], paste0(where, "[", i, "]")))
    }
  )
)

# A kind by name ("int", or "int?" allowing null) or a list(read, write).
keras_kind <- function(kind) {
  if (is.list(kind)) return(kind)
  nullable <- endsWith(kind, "?")
  base <- keras_kinds[[sub("?", "", kind, fixed = TRUE)]]
  if (!nullable) return(base)
  list(read = function(x, where, ctx) if (is.null(x)) NULL else base$read(x, where, ctx),
       write = function(x, where) if (is.null(x)) NULL else base$write(x, where))
}

# dtype policies: rgru computes in float32 or float64.
read_dtype <- function(x, where, ctx) {
  if (is.null(x)) return(NULL)
  name <- x
  if (is_json_object(x)) {
    if (!is.null(x$class_name) && !x$class_name %in% c("DTypePolicy", "FloatDTypePolicy")) {
      abort_unsupported(ctx$file, where, "the dtype policy class {.cls {x$class_name}} is not one rgru has")
    }
    name <- x$config$name
  }
  name <- read_string(name, where, ctx)
  if (!name %in% c("float32", "float64")) {
    abort_unsupported(ctx$file, where, "the dtype {.val {name}} is not one rgru computes in",
                      hint = "rgru computes in {.val float32} or {.val float64}.")
  }
  name
}

write_dtype <- function(dtype) {
  list(module = "keras", class_name = "DTypePolicy", config = list(name = dtype %||% "float32"),
       registered_name = NULL)
}

# Layers ---------------------------------------------------------------------

# The R6 layer object for one serialized Keras layer (config.json's
# list(module, class_name, config, ...)).
read_keras_layer <- function(spec, where, ctx) {
  spec <- json_object(spec, where, ctx)
  class_name <- read_string(spec$class_name, where_join(where, "class_name"), ctx)
  config <- json_object(spec$config, where_join(where, "config"), ctx)
  name <- if (is.character(config$name) && length(config$name) == 1) config$name else "?"
  label <- sprintf("%s (layer \"%s\", %s)", where, name, class_name)
  entry <- keras_layer_registry[[class_name]]
  if (is.null(entry)) {
    supported <- sort(ls(keras_layer_registry))
    abort_unsupported(ctx$file, label, "the layer class {.cls {class_name}} is not one rgru has",
                      hint = "rgru reads the layer classes {.cls {supported}}.")
  }
  args <- list(name = read_string(config$name, where_join(label, "name"), ctx))
  if (!is.null(config$trainable)) {
    args$trainable <- read_bool(config$trainable, where_join(label, "trainable"), ctx)
  }
  args["dtype"] <- list(read_dtype(config$dtype, where_join(label, "dtype"), ctx))
  if (!is.null(config$batch_input_shape)) {
    args$batch_input_shape <- read_shape(config$batch_input_shape,
                                         where_join(label, "batch_input_shape"), ctx)
  }
  for (key in intersect(names(entry$options), names(config))) {
    args[key] <- list(keras_kind(entry$options[[key]])$read(config[[key]], where_join(label, key), ctx))
  }
  for (key in intersect(names(entry$fixed), names(config))) {
    if (!identical(config[[key]], entry$fixed[[key]])) {
      abort_unsupported(ctx$file, label,
                        "option {.field {key}} = {describe_json(config[[key]])} is not supported (rgru has {describe_json(entry$fixed[[key]])} only)")
    }
  }
  known <- c("name", "trainable", "dtype", "batch_input_shape", names(entry$options),
             names(entry$fixed), entry$ignore)
  extra <- setdiff(names(config), known)
  extra <- extra[!vapply(config[extra], is.null, TRUE)]
  if (length(extra) > 0) {
    abort_unsupported(ctx$file, label,
                      "option {.field {extra[1]}} = {describe_json(config[[extra[1]]])} is not one rgru has")
  }
  tryCatch(entry$new(args), rgru_error = function(e) {
    abort_damaged(ctx$file, label, "its config does not make a valid layer", parent = e)
  })
}

# One layer's serialized Keras config, from its rgru get_config().
write_keras_layer <- function(config, where) {
  rgru_class <- attr(config, "rgru_class")
  entry <- keras_entry_for_rgru_class(rgru_class)
  label <- sprintf("%s (layer \"%s\")", where, config$name %||% "?")
  if (is.null(entry)) {
    abort_unsaveable(label, "the layer class {.cls {rgru_class}} has no Keras format in rgru")
  }
  out <- list(name = config$name, trainable = isTRUE(config$trainable %||% TRUE),
              dtype = write_dtype(config$dtype))[entry$common]
  for (key in names(entry$options)) {
    out[key] <- list(keras_kind(entry$options[[key]])$write(config[[key]], where_join(label, key)))
  }
  list(module = "keras.layers", class_name = entry$class_name, config = out,
       registered_name = NULL)
}

write_build_config <- function(layer) {
  shape <- if (isTRUE(layer$built)) layer$built_input_shape
  if (is.null(shape) || is.list(shape)) return(NULL)
  list(input_shape = write_shape(shape))
}

# Models ---------------------------------------------------------------------

is_keras_model_object <- function(obj) inherits(obj, c("RgruSequential", "RgruFunctional"))

# The serialized model (config.json's content, without compile_config).
write_model_spec <- function(model) {
  if (inherits(model, "RgruSequential")) return(write_sequential_spec(model))
  if (inherits(model, "RgruFunctional")) return(write_functional_spec(model))
  abort_unsaveable("the model", "it is a {.cls {class(model)[1]}}, not a sequential or functional model")
}

write_sequential_spec <- function(model) {
  shape <- model$built_input_shape %||% model$declared_input_shape
  layers <- list()
  if (!is.null(shape)) {
    layers <- list(input_layer_spec(shape, model$dtype, "input_layer"))
  }
  for (i in seq_along(model$layer_objects)) {
    layer <- model$layer_objects[[i]]
    check_nested_model(layer, i)
    spec <- write_keras_layer(layer$get_config(), sprintf("layers[%d]", i))
    spec["build_config"] <- list(write_build_config(layer))
    layers[[length(layers) + 1L]] <- drop_null_build(spec)
  }
  config <- list(name = model$name, trainable = isTRUE(model$trainable),
                 dtype = write_dtype(model$dtype), layers = layers)
  if (!is.null(shape)) config$build_input_shape <- write_shape(shape)
  list(module = "keras", class_name = "Sequential", config = config, registered_name = NULL,
       build_config = list(input_shape = if (!is.null(shape)) write_shape(shape)))
}

check_nested_model <- function(layer, i) {
  if (is_keras_model_object(layer)) {
    abort_unsaveable(sprintf("layers[%d] (\"%s\")", i, layer$name),
                     "models used as layers are not written in Keras's format by rgru")
  }
}

drop_null_build <- function(spec) {
  if (is.null(spec$build_config)) spec$build_config <- NULL
  spec
}

input_layer_spec <- function(shape, dtype, name) {
  list(module = "keras.layers", class_name = "InputLayer",
       config = list(batch_shape = write_shape(shape), dtype = dtype %||% "float32",
                     sparse = FALSE, ragged = FALSE, name = name, optional = FALSE),
       registered_name = NULL)
}

write_functional_spec <- function(model) {
  layers <- keras_functional_layers(model)
  nodes_of <- function(layer) {
    nodes <- Filter(function(n) identical(n$layer, layer), model$nodes)
    nodes[order(vapply(nodes, function(n) n$outputs[[1]]$id, 1L))]
  }
  tensor_history <- function(t) {
    if (is.null(t$node)) return(list(t$input_layer$name, 0L, 0L))
    producer <- t$node$layer
    ids <- vapply(nodes_of(producer), function(n) n$outputs[[1]]$id, 1L)
    list(producer$name, match(t$node$outputs[[1]]$id, ids) - 1L, t$index - 1L)
  }
  tensor_spec <- function(t) {
    list(class_name = "__keras_tensor__",
         config = list(shape = write_shape(t$shape), dtype = t$dtype,
                       keras_history = tensor_history(t)))
  }
  specs <- lapply(seq_along(layers), function(i) {
    layer <- layers[[i]]
    if (inherits(layer, "RgruInputLayer")) {
      spec <- input_layer_spec(layer$declared_input_shape, layer$dtype, layer$name)
      spec$name <- layer$name
      spec$inbound_nodes <- list()
      return(spec)
    }
    check_nested_model(layer, i)
    spec <- write_keras_layer(layer$get_config(), sprintf("layers[%d]", i))
    spec["build_config"] <- list(write_build_config(layer))
    spec <- drop_null_build(spec)
    spec$name <- layer$name
    spec$inbound_nodes <- lapply(nodes_of(layer), function(n) {
      inputs <- if (is_symbolic_tensor(n$inputs)) tensor_spec(n$inputs) else
        lapply(n$inputs, tensor_spec)
      kwargs <- list()
      if (length(n$initial_state) > 0) {
        states <- lapply(n$initial_state, tensor_spec)
        kwargs$initial_state <- if (length(states) == 1) states[[1]] else states
      }
      if (!is.null(n$training)) kwargs$training <- n$training
      list(args = list(inputs), kwargs = as_json_object(kwargs))
    })
    spec
  })
  ends <- function(tensors, single) {
    refs <- lapply(tensors, tensor_history)
    if (single) refs[[1]] else refs
  }
  config <- list(name = model$name, trainable = isTRUE(model$trainable), layers = specs,
                 input_layers = ends(model$inputs, model$single_input),
                 output_layers = ends(model$outputs, model$single_output))
  list(module = "keras.src.models.functional", class_name = "Functional", config = config,
       registered_name = "Functional", build_config = list(input_shape = NULL))
}

# Keras's Functional.layers order (keras/src/ops/function.py, map_graph()):
# layers by decreasing depth from the outputs, ties broken by the order a
# depth-first walk from the outputs first meets them. The weights file names
# layers by this order ("gru", "gru_1", ...), so the writer must follow it.
keras_functional_layers <- function(model) {
  node_key <- function(t) if (is.null(t$node)) paste0("input:", t$id) else paste0("node:", t$node$outputs[[1]]$id)
  node_layer <- function(t) if (is.null(t$node)) t$input_layer else t$node$layer
  node_inputs <- function(t) {
    if (is.null(t$node)) return(list())
    n <- t$node
    c(if (is_symbolic_tensor(n$inputs)) list(n$inputs) else n$inputs, n$initial_state)
  }
  layer_index <- list()     # layers in first-traversal order
  layer_key <- function(layer) {
    for (i in seq_along(layer_index)) if (identical(layer_index[[i]], layer)) return(i)
    layer_index[[length(layer_index) + 1L]] <<- layer
    length(layer_index)
  }
  finished <- character()
  ordered <- list()         # nodes, inputs first (post-order)
  visit <- function(t) {
    key <- node_key(t)
    if (key %in% finished) return(invisible())
    layer_key(node_layer(t))
    for (p in node_inputs(t)) visit(p)
    finished <<- c(finished, key)
    ordered[[length(ordered) + 1L]] <<- t
    invisible()
  }
  for (t in model$outputs) visit(t)
  node_depth <- list()
  layer_depth <- numeric(length(layer_index))
  for (t in rev(ordered)) {
    key <- node_key(t)
    k <- layer_key(node_layer(t))
    depth <- max(node_depth[[key]] %||% 0, layer_depth[k])
    layer_depth[k] <- depth
    node_depth[[key]] <- depth
    for (p in node_inputs(t)) {
      pk <- node_key(p)
      node_depth[[pk]] <- max(depth + 1, node_depth[[pk]] %||% 0)
    }
  }
  # Inputs that no output depends on come at depth 0, first.
  first_seen <- seq_along(layer_index)
  for (t in model$inputs) {
    if (!any(vapply(layer_index, identical, TRUE, t$input_layer))) {
      k <- layer_key(t$input_layer)
      layer_depth[k] <- 0
      first_seen[k] <- 0
    }
  }
  layer_index[order(-layer_depth, first_seen)]
}

# Reading models -----------------------------------------------------------------

# The rgru model for a serialized Keras model, and its layers in the order of
# the file (which names them in the weights file).
read_model_spec <- function(spec, ctx) {
  spec <- json_object(spec, "config.json", ctx)
  class_name <- read_string(spec$class_name, "class_name", ctx)
  config <- json_object(spec$config, "config", ctx)
  switch(class_name,
    Sequential = read_sequential(config, ctx),
    Functional = , Model = read_functional(config, ctx),
    abort_unsupported(ctx$file, "class_name",
                      "the model class {.cls {class_name}} is not one rgru has",
                      hint = "rgru reads {.cls Sequential} and {.cls Functional} models.")
  )
}

read_input_layer <- function(spec, where, ctx) {
  spec <- json_object(spec, where, ctx)
  config <- json_object(spec$config, where_join(where, "config"), ctx)
  shape_key <- if (!is.null(config$batch_shape)) "batch_shape" else "batch_input_shape"
  shape <- read_shape(config[[shape_key]], where_join(where, shape_key), ctx)
  for (key in c("sparse", "ragged", "optional")) {
    if (isTRUE(config[[key]])) {
      abort_unsupported(ctx$file, where, "{.field {key}} inputs are not supported")
    }
  }
  dtype <- config$dtype
  if (is_json_object(dtype)) dtype <- dtype$config$name
  dtype <- if (is.null(dtype)) "float32" else read_string(dtype, where_join(where, "dtype"), ctx)
  # rgru's inputs are numeric arrays; integer inputs (token ids) are held as doubles.
  if (grepl("^u?int[0-9]+$", dtype) || dtype == "bool") dtype <- "float32"
  if (!dtype %in% c("float32", "float64")) {
    abort_unsupported(ctx$file, where, "inputs of dtype {.val {dtype}} are not supported")
  }
  name <- read_string(config$name %||% spec$name, where_join(where, "name"), ctx)
  list(shape = shape, dtype = dtype, name = name)
}

read_sequential <- function(config, ctx) {
  specs <- json_array(config$layers %||% list(), "config > layers", ctx)
  shape <- NULL
  dtype <- NULL
  if (!is.null(config$build_input_shape)) {
    shape <- read_shape(config$build_input_shape, "config > build_input_shape", ctx)
  }
  layer_specs <- specs
  if (length(specs) > 0 && identical(specs[[1]]$class_name, "InputLayer")) {
    input <- read_input_layer(specs[[1]], "config > layers[1]", ctx)
    shape <- input$shape
    dtype <- input$dtype
    layer_specs <- specs[-1]
  }
  offset <- length(specs) - length(layer_specs)
  layers <- lapply(seq_along(layer_specs), function(i) {
    read_keras_layer(layer_specs[[i]], sprintf("config > layers[%d]", i + offset), ctx)
  })
  name <- if (!is.null(config$name)) read_string(config$name, "config > name", ctx)
  trainable <- if (!is.null(config$trainable)) read_bool(config$trainable, "config > trainable", ctx) else TRUE
  model <- tryCatch({
    m <- Sequential$new(batch_input_shape = shape, name = name, dtype = dtype, trainable = trainable)
    for (layer in layers) m$add(layer)
    m
  }, rgru_error = function(e) {
    abort_damaged(ctx$file, "config > layers", "the layers don't fit together", parent = e)
  })
  list(model = model, layers = layers)
}

# Keras 3 records how masks are computed as operations in the graph: a
# Masking layer's mask is any(not_equal(x, mask_value), axis = -1), an
# Embedding's not_equal(tokens, 0); merging layers combine their inputs' masks
# (Concatenate: expand_dims, zeros_like/ones_like, logical_or, concatenate,
# any; Add: logical_or), and the layers downstream receive the result as
# their call's `mask`. rgru propagates these masks itself, so such a `mask`
# is accepted when it is exactly the one rgru's layers carry, and the
# operations are not layers of the rebuilt model.
#
# A mask is read as the OR of terms, each the step mask of one Masking
# ("any:<tensor id>:<mask_value>") or Embedding ("eq:<tensor id>:0"), "*" for
# all steps kept. `form` says what the operation's output holds: "raw" (a
# not_equal, element by element), "step" (batch, steps), "expanded" (a step
# mask broadcast over the features) or "unknown" (arithmetic rgru does not
# follow: refused once a layer is called with it).
keras_mask_ops <- c("NotEqual", "Any", "ExpandDims", "ZerosLike", "OnesLike", "LogicalOr",
                    "Concatenate")

mask_record <- function(terms = character(), form = "unknown") {
  terms <- if ("*" %in% terms) "*" else sort(unique(terms))
  structure(list(terms = terms, form = form), class = "rgru_mask_record")
}

mask_term <- function(kind, tensor, value) sprintf("%s:%d:%.17g", kind, tensor$id, value)

# Keras's legacy .h5 configs have no modules; there an operation (unlike a
# layer, such as the Concatenate layer) has no `trainable`.
is_mask_op_spec <- function(spec) {
  module <- spec$module
  if (is.character(module) && length(module) == 1) return(startsWith(module, "keras.src.ops"))
  isTRUE(spec$class_name %in% keras_mask_ops) && is.list(spec$config) &&
    is.null(spec$config$trainable)
}

read_mask_op <- function(class_name, spec, node, where, resolve, ctx) {
  if (!class_name %in% keras_mask_ops) {
    abort_unsupported(ctx$file, where, "the operation {.cls {class_name}} is not one rgru has",
                      hint = "rgru reads operations only as the masks of its layers.")
  }
  config <- json_object(spec$config %||% list(), where_join(where, "config"), ctx)
  node <- json_object(node, where, ctx)
  args <- json_array(node$args %||% list(), where_join(where, "args"), ctx)
  if (length(args) < 1) abort_damaged(ctx$file, where, "the operation has no inputs")
  inputs <- vector("list", length(args))
  for (k in seq_along(args)) {
    if (is.numeric(args[[k]])) {
      inputs[k] <- list(args[[k]])
      next
    }
    inputs[k] <- list(resolve(args[[k]], where_join(where, "args")))
    if (is.null(inputs[[k]])) return(NULL)
  }
  mask_op_record(class_name, inputs, config)
}

# What a mask operation computes, from its inputs (tensors, records, numbers).
mask_op_record <- function(class_name, inputs, config) {
  is_record <- function(x) inherits(x, "rgru_mask_record") && x$form != "unknown"
  last_axis <- identical(as.numeric(config$axis %||% -1), -1)
  x <- inputs[[1]]
  switch(class_name,
    NotEqual = if (length(inputs) == 2 && is_symbolic_tensor(x) && is.numeric(inputs[[2]]) &&
                   length(inputs[[2]]) == 1) {
      mask_record(mask_term("eq", x, inputs[[2]]), "raw")
    },
    Any = if (is_record(x) && last_axis && !isTRUE(config$keepdims)) {
      if (x$form == "raw") mask_record(sub("^eq:", "any:", x$terms), "step")
      else if (x$form == "expanded") mask_record(x$terms, "step")
    },
    ExpandDims = if (is_record(x) && x$form %in% c("raw", "step") && last_axis) {
      mask_record(x$terms, "expanded")
    },
    ZerosLike = mask_record(character(), "expanded"),
    OnesLike = mask_record("*", "expanded"),
    LogicalOr = if (length(inputs) == 2 && all(vapply(inputs, is_record, TRUE))) {
      forms <- vapply(inputs, function(r) r$form, "")
      mask_record(c(inputs[[1]]$terms, inputs[[2]]$terms),
                  if ("expanded" %in% forms) "expanded" else "step")
    },
    Concatenate = if (is.list(x) && !inherits(x, "rgru_mask_record") && last_axis &&
                      all(vapply(x, function(r) is_record(r) && r$form == "expanded", TRUE))) {
      mask_record(unlist(lapply(x, function(r) r$terms)), "expanded")
    }
  ) %||% mask_record()
}

# The mask an rgru layer's output carries, as mask terms (see mask_record()),
# or NULL when it has none or rgru can't say which.
mask_origin_of <- function(layer, inputs, output, origins) {
  if (!isTRUE(output$has_mask)) return(NULL)
  if (is_symbolic_tensor(inputs)) {
    if (inherits(layer, "RgruMaskingLayer")) {
      return(mask_term("any", inputs, as.numeric(layer$mask_value)))
    }
    if (inherits(layer, "RgruEmbeddingLayer") && isTRUE(layer$mask_zero)) {
      return(mask_term("eq", inputs, 0))
    }
    return(origins[[as.character(inputs$id)]])
  }
  # Merging: the OR of the inputs' masks (an unmasked input keeps every
  # step of a concatenation); a concatenation along the steps is no OR.
  if (!inherits(layer, c("RgruAddLayer", "RgruConcatenateLayer")) ||
      inherits(layer, "RgruConcatenateLayer") && !identical(layer$axis, -1L)) return(NULL)
  terms <- lapply(inputs, function(t) {
    if (!isTRUE(t$has_mask)) return("*")
    origins[[as.character(t$id)]] %||% NA_character_
  })
  terms <- unlist(terms)
  if (anyNA(terms)) NULL else mask_record(terms)$terms
}

read_functional <- function(config, ctx) {
  specs <- json_array(config$layers, "config > layers", ctx)
  where_of <- function(i) sprintf("config > layers[%d]", i)
  n <- length(specs)
  names <- character(n)
  layers <- vector("list", n)
  ops <- character(n)          # class of a mask operation, "" for layers
  pending <- vector("list", n)
  outputs <- list()            # layer name -> list of node outputs (each a list)
  origins <- new.env(parent = emptyenv())   # tensor id -> its mask's origin
  for (i in seq_len(n)) {
    spec <- json_object(specs[[i]], where_of(i), ctx)
    class_name <- if (is.character(spec$class_name)) spec$class_name else ""
    if (identical(class_name, "InputLayer")) {
      input <- read_input_layer(spec, where_of(i), ctx)
      tensor <- tryCatch(keras_input(batch_shape = input$shape, dtype = input$dtype, name = input$name),
                         rgru_error = function(e) {
                           abort_damaged(ctx$file, where_of(i), "its input is invalid", parent = e)
                         })
      layers[[i]] <- tensor$input_layer
      names[i] <- input$name
      outputs[[input$name]] <- list(list(tensor))
      pending[[i]] <- list()
      next
    }
    if (is_mask_op_spec(spec)) {
      ops[i] <- class_name
      names[i] <- read_string(spec$name %||% spec$config$name, where_join(where_of(i), "name"), ctx)
    } else {
      layers[[i]] <- read_keras_layer(spec, where_of(i), ctx)
      names[i] <- layers[[i]]$name
      if (!is.null(spec$name) && !identical(spec$name, names[i])) {
        abort_damaged(ctx$file, where_of(i), "its name {.val {spec$name}} differs from its config's {.val {names[i]}}")
      }
    }
    pending[[i]] <- json_array(spec$inbound_nodes %||% list(),
                               where_join(where_of(i), "inbound_nodes"), ctx)
  }
  if (anyDuplicated(names)) {
    abort_damaged(ctx$file, "config > layers", "two layers are named {.val {names[anyDuplicated(names)]}}")
  }
  tensor_for <- function(ref, where) {
    ref <- json_array(ref, where, ctx)
    if (length(ref) < 3) abort_damaged(ctx$file, where, "expected [layer name, node index, tensor index]")
    layer_name <- read_string(ref[[1]], where, ctx)
    node <- read_int(ref[[2]], where, ctx) + 1L
    index <- read_int(ref[[3]], where, ctx) + 1L
    if (!layer_name %in% names) abort_damaged(ctx$file, where, "there is no layer {.val {layer_name}}")
    produced <- outputs[[layer_name]]
    if (node > length(produced)) return(NULL)   # not computed yet
    if (node < 1 || index < 1 || index > length(produced[[node]])) {
      abort_damaged(ctx$file, where, "layer {.val {layer_name}} has no output {index - 1} at node {node - 1}")
    }
    produced[[node]][[index]]
  }
  resolve_tensors <- function(x, where) {
    if (is_json_object(x) && identical(x$class_name, "__keras_tensor__")) {
      config <- json_object(x$config, where, ctx)
      return(tensor_for(config$keras_history, where))
    }
    x <- json_array(x, where, ctx)
    if (length(x) == 0) abort_damaged(ctx$file, where, "expected a tensor or a list of tensors")
    out <- lapply(seq_along(x), function(k) resolve_tensors(x[[k]], paste0(where, "[", k, "]")))
    if (any(vapply(out, is.null, TRUE))) NULL else out
  }
  no_mask_records <- function(x, where) {
    items <- if (inherits(x, "rgru_mask_record") || is_symbolic_tensor(x)) list(x) else x
    if (any(vapply(items, inherits, TRUE, "rgru_mask_record"))) {
      abort_unsupported(ctx$file, where, "a mask is used as a layer's input")
    }
    x
  }
  # A node's call: list(inputs, initial_state, mask), or NULL while some of
  # its inputs aren't computed yet.
  resolve_node <- function(node, where) {
    if (is.list(node) && is.null(names(node))) return(resolve_legacy_node(node, where))
    node <- json_object(node, where, ctx)
    args <- json_array(node$args %||% list(), where_join(where, "args"), ctx)
    kwargs <- json_object(node$kwargs %||% list(), where_join(where, "kwargs"), ctx)
    if (length(args) != 1) {
      abort_unsupported(ctx$file, where, "layer calls with {length(args)} positional arguments are not supported")
    }
    unknown <- setdiff(names(kwargs), c("initial_state", "training", "mask"))
    if (length(unknown) > 0) {
      abort_unsupported(ctx$file, where, "the call argument {.field {unknown[1]}} is not supported")
    }
    inputs <- resolve_tensors(args[[1]], where_join(where, "args"))
    state <- if (!is.null(kwargs$initial_state)) resolve_tensors(kwargs$initial_state, where_join(where, "initial_state"))
    mask <- if (!is.null(kwargs$mask)) resolve_tensors(kwargs$mask, where_join(where, "mask"))
    if (is.null(inputs) || !is.null(kwargs$initial_state) && is.null(state) ||
        !is.null(kwargs$mask) && is.null(mask)) return(NULL)
    no_mask_records(inputs, where)
    if (!is.null(state)) no_mask_records(state, where)
    if (is_symbolic_tensor(state)) state <- list(state)
    list(inputs = inputs, initial_state = state, mask = mask)
  }
  # Keras 2's nodes: [[layer, node, tensor, kwargs], ...], one entry per input.
  resolve_legacy_node <- function(node, where) {
    if (length(node) == 0) abort_damaged(ctx$file, where, "the node has no inputs")
    tensors <- lapply(seq_along(node), function(k) {
      ref <- json_array(node[[k]], paste0(where, "[", k, "]"), ctx)
      if (length(ref) == 4) {
        kwargs <- json_object(ref[[4]], paste0(where, "[", k, "]"), ctx)
        kwargs <- kwargs[!vapply(kwargs, is.null, TRUE)]
        unknown <- setdiff(names(kwargs), "training")
        if (length(unknown) > 0) {
          abort_unsupported(ctx$file, where, "the call argument {.field {unknown[1]}} is not supported")
        }
      }
      tensor_for(ref[1:3], paste0(where, "[", k, "]"))
    })
    if (any(vapply(tensors, is.null, TRUE))) return(NULL)
    list(inputs = no_mask_records(if (length(tensors) == 1) tensors[[1]] else tensors, where))
  }
  check_mask <- function(call, where) {
    if (is.null(call$mask)) return(invisible())
    inputs <- call$inputs
    origin <- if (is_symbolic_tensor(inputs)) origins[[as.character(inputs$id)]]
    mask <- call$mask
    same <- inherits(mask, "rgru_mask_record") && mask$form %in% c("raw", "step") &&
      !is.null(origin) && setequal(origin, mask$terms)
    if (!same) {
      abort_unsupported(ctx$file, where, "the layer is called with a mask other than the one rgru propagates to it",
                        hint = "rgru follows the masks of Masking and Embedding layers, and their OR through Add and Concatenate along the last axis.")
    }
  }
  repeat {
    progress <- FALSE
    for (i in seq_len(n)) {
      while (length(pending[[i]]) > 0) {
        where <- sprintf("%s (\"%s\") > inbound_nodes[%d]", where_of(i), names[i],
                         length(outputs[[names[i]]]) + 1L)
        if (nzchar(ops[i])) {
          result <- read_mask_op(ops[i], specs[[i]], pending[[i]][[1]], where, resolve_tensors, ctx)
          if (is.null(result)) break
        } else {
          call <- resolve_node(pending[[i]][[1]], where)
          if (is.null(call)) break
          check_mask(call, where)
          result <- tryCatch(
            call_layer_symbolic(layers[[i]], call$inputs, initial_state = call$initial_state),
            rgru_error = function(e) {
              abort_damaged(ctx$file, where, "the layer can't be called on its inputs", parent = e)
            })
          for (out in if (is_symbolic_tensor(result)) list(result) else result) {
            origin <- mask_origin_of(layers[[i]], call$inputs, out, origins)
            if (!is.null(origin)) origins[[as.character(out$id)]] <- origin
          }
        }
        outputs[[names[i]]] <- c(outputs[[names[i]]],
                                 list(if (is.list(result) && !inherits(result, "rgru_mask_record")) result else list(result)))
        pending[[i]] <- pending[[i]][-1]
        progress <- TRUE
      }
    }
    if (all(lengths(pending) == 0)) break
    if (!progress) {
      stuck <- names[lengths(pending) > 0]
      abort_damaged(ctx$file, "config > layers", "the graph can't be rebuilt: the inputs of {.val {stuck}} are never computed")
    }
  }
  ends <- function(x, key) {
    x <- json_array(x, sprintf("config > %s", key), ctx)
    single <- length(x) == 3 && is.character(x[[1]])
    refs <- if (single) list(x) else x
    tensors <- lapply(seq_along(refs), function(k) {
      where <- sprintf("config > %s[%d]", key, k)
      t <- tensor_for(refs[[k]], where)
      if (!is_symbolic_tensor(t)) abort_damaged(ctx$file, where, "the tensor is never computed, or it is a mask")
      t
    })
    list(tensors = tensors, single = single)
  }
  ins <- ends(config$input_layers, "input_layers")
  outs <- ends(config$output_layers, "output_layers")
  name <- if (!is.null(config$name)) read_string(config$name, "config > name", ctx)
  trainable <- if (!is.null(config$trainable)) read_bool(config$trainable, "config > trainable", ctx) else TRUE
  model <- tryCatch(
    Functional$new(if (length(ins$tensors) == 1) ins$tensors[[1]] else ins$tensors,
                   if (length(outs$tensors) == 1) outs$tensors[[1]] else outs$tensors,
                   name = name, trainable = trainable),
    rgru_error = function(e) abort_damaged(ctx$file, "config", "the model can't be rebuilt", parent = e)
  )
  list(model = model, layers = layers[!nzchar(ops)])
}
