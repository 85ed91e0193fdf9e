# Keras 3's model archive (keras/src/saving/saving_lib.py): a zip of
# metadata.json, config.json (the serialized model with its compile_config)
# and model.weights.h5 (saving-h5.R); or, with `zipped = FALSE`, the same
# three files in a directory.

keras_format_version <- "3.15.1"

keras_member <- list(config = "config.json", metadata = "metadata.json",
                     weights = "model.weights.h5")

# The three members' contents (raw vectors) for a model.
keras_archive_members <- function(obj) {
  spec <- write_model_spec(obj)
  layers <- keras_model_layers(obj)
  state <- compile_state(obj)
  compile_config <- if (!is.null(state)) write_compile_config(state)
  if (!is.null(compile_config)) spec$compile_config <- compile_config
  optimizer <- if (!is.null(compile_config)) keras_optimizer_record(state, layers)
  weights <- tempfile(fileext = ".h5")
  on.exit(unlink(weights))
  write_weights_h5(weights, keras_weight_groups(obj, layers), optimizer)
  metadata <- list(keras_version = keras_format_version,
                   date_saved = format(Sys.time(), "%Y-%m-%d@%H:%M:%S"),
                   saved_by = paste("rgru", utils::packageVersion("rgru")))
  members <- list(charToRaw(write_json_text(metadata)), charToRaw(write_json_text(spec)),
                  readBin(weights, "raw", n = file.size(weights)))
  names(members) <- c(keras_member$metadata, keras_member$config, keras_member$weights)
  members
}

keras_optimizer_record <- function(state, layers) {
  list(name = state$optimizer$name,
       values = optimizer_variables(state, keras_trainable_variables(layers)))
}

# A model's layers in Keras's order (Sequential: its layers; Functional:
# Keras's graph order, input layers included).
keras_model_layers <- function(obj) {
  if (inherits(obj, "RgruFunctional")) return(keras_functional_layers(obj))
  if (inherits(obj, "RgruSequential")) return(obj$layer_objects)
  list(obj)
}

write_keras_archive <- function(obj, path) {
  zip_write(path, keras_archive_members(obj))
}

write_keras_directory <- function(obj, path) {
  members <- keras_archive_members(obj)
  dir.create(path)
  for (name in names(members)) writeBin(members[[name]], file.path(path, name))
  invisible(path)
}

read_keras_archive <- function(path, compile, label = path) {
  members <- zip_read(path, c(keras_member$config, keras_member$weights))
  weights <- tempfile(fileext = ".h5")
  on.exit(unlink(weights))
  writeBin(members[[keras_member$weights]], weights)
  read_keras_parts(members[[keras_member$config]], weights, compile, label,
                   paste0(label, ":", keras_member$weights))
}

read_keras_directory <- function(path, compile) {
  config <- file.path(path, keras_member$config)
  weights <- file.path(path, keras_member$weights)
  for (f in c(config, weights)) check_readable(f)
  read_keras_parts(readBin(config, "raw", n = file.size(config)), weights, compile, path, weights)
}

# The model from config.json's bytes and the weights file at `weights_path`.
read_keras_parts <- function(config_bytes, weights_path, compile, label, weights_label) {
  if (any(config_bytes == as.raw(0))) abort_damaged(label, keras_member$config, "it is not text")
  config <- read_json_text(rawToChar(config_bytes), label, keras_member$config)
  ctx <- list(file = label)
  built <- read_model_spec(config, ctx)
  h5 <- h5_open(weights_path, weights_label)
  on.exit(h5_close_file(h5))
  groups <- keras_weight_groups(built$model, built$layers)
  assign_weight_groups(groups, read_weight_groups(h5, groups, weights_label))
  if (compile && is_json_object(config) && length(config$compile_config) > 0) {
    state <- read_compile_config(config$compile_config, ctx)
    if (!is.null(state)) {
      set_compile_state(built$model, state)
      values <- read_optimizer_h5(h5, weights_label)
      if (!is.null(values)) {
        restore_optimizer_variables(state, values, keras_trainable_variables(built$layers), label)
      }
    }
  }
  built$model$handle
}

# Weights files ------------------------------------------------------------------

write_weights_file <- function(obj, path) {
  layers <- keras_model_layers(obj)
  state <- compile_state(obj)
  optimizer <- if (!is.null(state) && !is.null(keras_optimizer_class(state$optimizer))) {
    keras_optimizer_record(state, layers)
  }
  groups <- if (is_keras_model_object(obj)) keras_weight_groups(obj, layers) else keras_weight_groups(obj)
  write_weights_h5(path, groups, optimizer)
}

# Keras 3's layout ("layers/...", "vars"), else Keras's legacy one.
read_weights_file <- function(obj, path, skip_mismatch, label = path) {
  h5 <- h5_open(path, label)
  on.exit(h5_close_file(h5))
  top <- h5_names(h5)
  if (!any(c("layers", "vars") %in% top) &&
      ("model_weights" %in% top || "layer_names" %in% h5_attribute_names(h5))) {
    return(read_legacy_weights(obj, h5, label, skip_mismatch))
  }
  layers <- keras_model_layers(obj)
  groups <- if (is_keras_model_object(obj)) keras_weight_groups(obj, layers) else keras_weight_groups(obj)
  assign_weight_groups(groups, read_weight_groups(h5, groups, label, skip_mismatch))
  state <- compile_state(obj)
  if (!is.null(state) && !is.null(keras_optimizer_class(state$optimizer))) {
    values <- read_optimizer_h5(h5, label)
    if (!is.null(values)) {
      restore_optimizer_variables(state, values, keras_trainable_variables(layers), label)
    }
  }
  invisible(obj)
}

read_weights_from_archive <- function(obj, path, skip_mismatch) {
  members <- zip_read(path, keras_member$weights)
  weights <- tempfile(fileext = ".h5")
  on.exit(unlink(weights))
  writeBin(members[[1]], weights)
  read_weights_file(obj, weights, skip_mismatch, label = paste0(path, ":", keras_member$weights))
}
