# Keras's legacy HDF5 format, read only (Keras 2's tf_keras/saving/legacy/
# hdf5_format.py; Keras 3 still writes it for model.save("x.h5"),
# keras/src/legacy/saving/legacy_h5_format.py):
# - root attributes: model_config (the model's JSON config; Keras 2's layer
#   configs lack Keras 3's "module" keys), training_config (compile settings
#   with an optimizer_config), keras_version, backend;
# - model_weights/: attribute layer_names (every layer, in model order); one
#   group per layer with attribute weight_names, the layer's trainable then
#   non-trainable weights, each a dataset at that (slash-separated) name;
# - optimizer_weights/: attribute weight_names, datasets likewise, in the
#   optimizer's variable order.
# A weights-only file (Keras 2's save_weights("x.h5")) is model_weights/'s
# layout at the root. Long attribute lists may be split into layer_names0,
# layer_names1, ... (save_attributes_to_hdf5_group()).
#
# Keras 2 optimizers keep no learning-rate variable, so their state doesn't
# fit Keras 3's (nor rgru's) and is skipped with a warning, as Keras 3 does.

h5_attribute_names <- function(object) {
  tryCatch(hdf5r::h5attr_names(object), error = function(e) character())
}

h5_attribute <- function(object, name, label, where) {
  present <- h5_attribute_names(object)
  if (name %in% present) {
    value <- tryCatch({
      attribute <- object$attr_open(name)
      on.exit(attribute$close())
      # HDF5 can't read an empty attribute (Keras writes weight_names = [] so).
      if (attribute$get_space()$get_simple_extent_npoints() == 0) NULL else attribute$read()
    }, error = function(e) {
      abort_damaged(label, where, "its attribute {.field {name}} can't be read")
    })
    return(value)
  }
  chunks <- paste0(name, seq_along(present) - 1L)
  chunks <- chunks[chunks %in% present]
  if (length(chunks) == 0) return(NULL)
  unlist(lapply(chunks, function(chunk) hdf5r::h5attr(object, chunk)))
}

h5_string_list <- function(value, label, where) {
  if (is.null(value) || is.numeric(value) && length(value) == 0) return(character())
  if (is.raw(value)) value <- rawToChar(value)
  if (!is.character(value) || anyNA(value)) {
    abort_damaged(label, where, "expected a list of names")
  }
  as.vector(value)
}

read_legacy_h5_model <- function(path, compile) {
  h5 <- h5_open(path)
  on.exit(h5_close_file(h5))
  text <- h5_attribute(h5, "model_config", path, "/")
  if (is.null(text)) {
    abort_damaged(path, "model_config", "the file has no model configuration (a weights-only file?)",
                  hint = "Load weights-only files into a model with {.fn load_model_weights}.")
  }
  config <- read_json_text(h5_string_list(text, path, "model_config"), path, "model_config")
  version <- h5_attribute(h5, "keras_version", path, "/")
  ctx <- list(file = path, keras2 = is.character(version) && length(version) == 1 &&
                grepl("^[12][.]", version))
  # Keras 2.0-2.2 wrote a Sequential's config as the bare list of its layers.
  if (is_json_object(config) && identical(config$class_name, "Sequential") &&
      is.list(config$config) && is.null(names(config$config))) {
    config$config <- list(layers = config$config)
  }
  built <- read_model_spec(config, ctx)
  group <- h5_get(h5, "model_weights", path)
  if (is.null(group)) abort_damaged(path, "model_weights", "the group is missing")
  legacy_assign(group, built$layers, path, by_name = TRUE)
  if (compile) {
    training <- h5_attribute(h5, "training_config", path, "/")
    if (!is.null(training)) {
      training <- read_json_text(h5_string_list(training, path, "training_config"), path,
                                 "training_config")
      state <- read_compile_config(json_object(training, "training_config", ctx), ctx)
      if (!is.null(state)) {
        set_compile_state(built$model, state)
        values <- read_legacy_optimizer(h5, path)
        if (!is.null(values)) {
          restore_optimizer_variables(state, values, keras_trainable_variables(built$layers), path)
        }
      }
    }
  }
  built$model$handle
}

read_legacy_weights <- function(obj, h5, label, skip_mismatch) {
  group <- h5_get(h5, "model_weights", label) %||% h5
  legacy_assign(group, keras_model_layers(obj), label, by_name = FALSE,
                skip_mismatch = skip_mismatch)
}

legacy_weights <- function(layer) c(layer$trainable_weights, layer$non_trainable_weights)

# The file's layers with weights, matched to `layers` by name (a model built
# from the same file) or, as Keras's load_weights() does, in order.
legacy_assign <- function(group, layers, label, by_name, skip_mismatch = FALSE) {
  names <- h5_string_list(h5_attribute(group, "layer_names", label, "model_weights"), label,
                          "layer_names")
  saved <- list()
  for (name in names) {
    layer_group <- h5_get(group, name, label)
    if (is.null(layer_group)) abort_damaged(label, name, "the layer's weight group is missing")
    weight_names <- h5_string_list(h5_attribute(layer_group, "weight_names", label, name), label,
                                   paste0(name, " > weight_names"))
    if (length(weight_names) > 0) {
      saved[[length(saved) + 1L]] <- list(name = name, group = layer_group, weights = weight_names)
    }
  }
  targets <- Filter(function(l) length(legacy_weights(l)) > 0, layers)
  if (by_name) {
    target_names <- vapply(targets, function(l) l$name, "")
    targets <- lapply(saved, function(s) {
      i <- match(s$name, target_names)
      if (is.na(i)) abort_damaged(label, s$name, "the model config has no layer with weights of that name")
      targets[[i]]
    })
  } else if (length(saved) != length(targets)) {
    rgru_abort(c("The weights in {.file {label}} don't fit the model.",
                 x = "The file has weights for {length(saved)} layer{?s}; the model has {length(targets)} layer{?s} with weights."),
               class = c("weights", "file"))
  }
  values <- vector("list", length(saved))
  for (k in seq_along(saved)) {
    s <- saved[[k]]
    vars <- legacy_weights(targets[[k]])
    problem <- if (length(vars) != length(s$weights)) {
      sprintf("layer \"%s\" in the file has %d weights; layer \"%s\" has %d", s$name,
              length(s$weights), targets[[k]]$name, length(vars))
    }
    values[k] <- list(read_layer_values(s$group, s$weights, vars, label, targets[[k]]$name,
                                        skip_mismatch, problem))
  }
  groups <- lapply(seq_along(saved), function(k) list(variables = legacy_weights(targets[[k]])))
  assign_weight_groups(groups, values)
}

read_legacy_optimizer <- function(h5, label) {
  group <- h5_get(h5, "optimizer_weights", label)
  if (is.null(group)) return(NULL)
  names <- h5_string_list(h5_attribute(group, "weight_names", label, "optimizer_weights"), label,
                          "optimizer_weights > weight_names")
  if (length(names) == 0) return(NULL)
  lapply(seq_along(names), function(i) {
    h5_read_value(group, names[i], label, kind = if (i == 1) "number" else "float")
  })
}
