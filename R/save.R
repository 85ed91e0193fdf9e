# Saving and loading, keras3's functions: the file name says the format.
# - "NAME.keras": Keras 3's archive (saving-keras.R), read and written by
#   Python Keras as well. save_model() without a file name returns its bytes.
# - "NAME.weights.h5": Keras 3's weights file (saving-h5.R).
# - "NAME.h5" / "NAME.hdf5": Keras's legacy HDF5 (Keras 2, or Keras 3's
#   model.save("x.h5")), read by load_model() and load_model_weights()
#   (saving-legacy.R).
# - "NAME.rds": rgru's own R serialization (this file), for models Keras's
#   formats can't describe (R function activations, losses, ...).
# Any other name is an error. Files are written to a temporary file in the
# target directory and renamed into place, so an interrupted save never
# leaves a truncated file where a good one was.

#' Save and load a whole model
#'
#' `save_model()` writes a model, with its weights and, when it was compiled,
#' its compile settings and optimizer state; `load_model()` rebuilds it. The
#' file name decides the format:
#'
#' * `.keras`: Keras 3's format (a zip archive of `config.json`,
#'   `metadata.json` and `model.weights.h5`), which Python Keras 3 loads with
#'   `keras.saving.load_model()`; and `load_model()` reads `.keras` files
#'   written by Keras 3 (sequential and functional models of the layers rgru
#'   has: GRU, GRUCell, RNN, StackedRNNCells, Bidirectional, TimeDistributed,
#'   Dense, Embedding, Masking, Conv1D, MaxPooling1D, GlobalAveragePooling1D,
#'   GlobalMaxPooling1D, Dropout, SpatialDropout1D, Flatten, Reshape,
#'   RepeatVector, Activation, Concatenate and Add, with the masks Keras
#'   propagates through them; float32 and float64 dtype policies; compile
#'   settings and optimizer state of the SGD, Adam, AdamW and RMSprop
#'   optimizers).
#' * `.h5` / `.hdf5`: Keras's legacy HDF5 format (Keras 2, or Keras 3's
#'   `model.save("x.h5")`); `load_model()` reads it, `save_model()` does not
#'   write it.
#' * `.rds`: an R serialization, read by rgru only, for models Keras's format
#'   can't describe (an R function as activation, loss or initializer).
#'
#' A file naming a layer class or option rgru does not have is refused with
#' an error of class `rgru_error_unsupported` naming them; a damaged file
#' with one of class `rgru_error_file` naming the file and the damaged part.
#' As in Keras, compile settings rgru can't apply load the model uncompiled,
#' with a warning.
#'
#' @param model For `save_model()`, the model; for `load_model()`, the path of
#'   the file, a directory written with `zipped = FALSE`, or the raw bytes of
#'   a `.keras` file (keras3's argument name).
#' @param filepath Path of the file. For `save_model()`, `NULL` returns the
#'   `.keras` file's bytes (a raw vector) instead of writing a file.
#' @param overwrite Whether an existing file may be replaced.
#' @param zipped `NULL` or `TRUE` write the `.keras` zip archive; `FALSE`
#'   writes its three members into the directory `filepath` instead.
#' @param ... Unused; must be empty.
#' @param custom_objects,safe_mode Accepted for keras3 compatibility; rgru
#'   has no custom objects or lambdas to load.
#' @param compile Whether to restore the compile settings and optimizer
#'   state.
#' @returns `save_model()`: `model`, invisibly (the raw bytes when `filepath`
#'   is `NULL`). `load_model()`: the model.
#' @family saving
#' @export
#' @examples
#' # A model written by Python Keras 3 (see inst/extdata/README.md)
#' from_python <- load_model(system.file("extdata", "keras3_gru.keras", package = "rgru"))
#' from_python
#'
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "adam", loss = "mse")
#' path <- tempfile(fileext = ".keras")
#' save_model(model, path)
#' restored <- load_model(path)
#' x <- random_uniform(c(4, 5, 2))
#' all.equal(predict(model, x, verbose = 0), predict(restored, x, verbose = 0),
#'           tolerance = 1e-6)
save_model <- function(model, filepath = NULL, overwrite = FALSE, zipped = NULL, ...) {
  check_empty_dots(...)
  obj <- saveable_model(model)
  check_bool(overwrite, "overwrite")
  if (!is.null(zipped)) check_bool(zipped, "zipped")
  if (is.null(filepath)) {
    path <- tempfile(fileext = ".keras")
    on.exit(unlink(path))
    write_keras_archive(obj, path)
    return(readBin(path, "raw", n = file.size(path)))
  }
  check_string(filepath, "filepath")
  format <- file_format(filepath)
  if (isFALSE(zipped)) {
    if (identical(format, "keras")) {
      abort_argument("filepath", filepath, "a directory name not ending in \".keras\" when `zipped = FALSE`")
    }
    write_atomically(filepath, overwrite, function(tmp) write_keras_directory(obj, tmp))
    return(invisible(model))
  }
  switch(format %|NA|% "unknown",
    keras = write_atomically(filepath, overwrite, function(tmp) write_keras_archive(obj, tmp)),
    rds = write_atomically(filepath, overwrite, function(tmp) write_rds_model(obj, tmp)),
    h5 = , weights_h5 = rgru_abort(
      c("rgru reads Keras's legacy {.file .h5} format but does not write it.",
        i = "Save the model as {.file .keras}, the format of Keras 3."),
      class = c("unsupported", "file")),
    abort_file_name(filepath, "a path ending in \".keras\" or \".rds\"")
  )
  invisible(model)
}

#' @rdname save_model
#' @export
load_model <- function(model, custom_objects = NULL, compile = TRUE, safe_mode = TRUE) {
  check_bool(compile, "compile")
  if (is.raw(model)) {
    path <- tempfile(fileext = ".keras")
    on.exit(unlink(path))
    writeBin(model, path)
    return(with_file_errors("the raw bytes", read_keras_archive(path, compile, label = "the raw bytes")))
  }
  check_string(model, "model")
  if (dir.exists(model)) {
    return(with_file_errors(model, read_keras_directory(model, compile)))
  }
  format <- file_format(model)
  if (is.na(format)) abort_file_name(model, "a path ending in \".keras\", \".h5\" or \".rds\"", arg = "model")
  check_readable(model)
  with_file_errors(model, switch(format,
    keras = read_keras_archive(model, compile),
    h5 = , weights_h5 = read_legacy_h5_model(model, compile),
    rds = read_rds_model(model, compile)
  ))
}

#' Load a model from Keras's legacy HDF5 format
#'
#' Keras 2's `save_model_hdf5()` format (also Keras 3's `model.save("x.h5")`):
#' the model's configuration in an attribute, its weights under
#' `model_weights/<layer>/`, and the optimizer's under `optimizer_weights/`.
#' `load_model()` reads these files too, by their `.h5` or `.hdf5` name.
#'
#' @param filepath Path of the `.h5` file.
#' @param custom_objects Accepted for compatibility with the keras package;
#'   rgru has no custom objects to load.
#' @inheritParams save_model
#' @returns The model.
#' @family saving
#' @export
#' @examples
#' # A GRU model in tf-keras 2's layout (see inst/extdata/README.md)
#' model <- load_model_hdf5(system.file("extdata", "keras2_gru.h5", package = "rgru"))
#' model
load_model_hdf5 <- function(filepath, custom_objects = NULL, compile = TRUE) {
  check_bool(compile, "compile")
  check_string(filepath, "filepath")
  check_readable(filepath)
  with_file_errors(filepath, read_legacy_h5_model(filepath, compile))
}

#' Save and load model weights
#'
#' `save_model_weights()` writes the values of every weight of a model;
#' `load_model_weights()` reads them into a model of the same architecture.
#' The file name decides the format: `.weights.h5` is Keras 3's weights file
#' (each layer's variables under `layers/<layer>/vars/`, read and written by
#' Python Keras's `save_weights()`/`load_weights()`); `load_model_weights()`
#' also reads the weights of a `.keras` archive and of Keras's legacy `.h5`
#' files (matched layer by layer, in order, as Keras does); `.rds` is an R
#' serialization of the weights in `model$weights` order.
#'
#' A compiled model's optimizer state is saved with the weights and restored
#' when the model is compiled with the same optimizer.
#'
#' @param model A model (or layer) whose weights are saved or replaced.
#' @param filepath Path of the file.
#' @param overwrite Whether an existing file may be replaced.
#' @param max_shard_size Must be `NULL`: sharded weights are not supported.
#' @param skip_mismatch Skip (with a warning) the layers whose weights don't
#'   fit instead of failing.
#' @param ... Unused; must be empty.
#' @returns `model`, invisibly.
#' @family saving
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' path <- tempfile(fileext = ".weights.h5")
#' save_model_weights(model, path)
#' model2 <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' load_model_weights(model2, path)
#' all.equal(get_weights(model), get_weights(model2), tolerance = 1e-6)
save_model_weights <- function(model, filepath, overwrite = FALSE, max_shard_size = NULL) {
  obj <- saveable_model(model, any_layer = TRUE)
  check_string(filepath, "filepath")
  check_bool(overwrite, "overwrite")
  if (!is.null(max_shard_size)) {
    rgru_abort("{.arg max_shard_size} must be {.code NULL}: rgru does not write sharded weights.",
               class = c("unsupported", "argument"))
  }
  switch(file_format(filepath) %|NA|% "unknown",
    weights_h5 = write_atomically(filepath, overwrite, function(tmp) write_weights_file(obj, tmp)),
    rds = write_atomically(filepath, overwrite, function(tmp) write_rds_weights(obj, tmp)),
    abort_file_name(filepath, "a path ending in \".weights.h5\" (Keras's format) or \".rds\"")
  )
  invisible(model)
}

#' @rdname save_model_weights
#' @export
load_model_weights <- function(model, filepath, skip_mismatch = FALSE, ...) {
  check_empty_dots(...)
  obj <- saveable_model(model, any_layer = TRUE)
  check_string(filepath, "filepath")
  check_bool(skip_mismatch, "skip_mismatch")
  format <- file_format(filepath)
  if (is.na(format)) {
    abort_file_name(filepath, "a path ending in \".weights.h5\", \".keras\", \".h5\" or \".rds\"")
  }
  check_readable(filepath)
  with_file_errors(filepath, switch(format,
    keras = read_weights_from_archive(obj, filepath, skip_mismatch),
    weights_h5 = , h5 = read_weights_file(obj, filepath, skip_mismatch),
    rds = read_rds_weights(obj, filepath, skip_mismatch)
  ))
  invisible(model)
}

#' Save and load a model's configuration
#'
#' The model's Keras configuration (what `config.json` of a `.keras` file
#' holds) as a JSON file, without weights: `load_model_config()` makes a new
#' model with freshly initialized weights.
#'
#' @inheritParams save_model
#' @inheritParams load_model_hdf5
#' @param model The model.
#' @param filepath Path of the JSON file.
#' @returns `save_model_config()`: `model`, invisibly. `load_model_config()`:
#'   the model.
#' @family saving
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' path <- tempfile(fileext = ".json")
#' save_model_config(model, path)
#' fresh <- load_model_config(path)
#' fresh
save_model_config <- function(model, filepath = NULL, overwrite = FALSE) {
  obj <- saveable_model(model)
  check_string(filepath, "filepath")
  check_bool(overwrite, "overwrite")
  json <- write_json_text(write_model_spec(obj))
  write_atomically(filepath, overwrite, function(tmp) writeLines(json, tmp, useBytes = TRUE))
  invisible(model)
}

#' @rdname save_model_config
#' @export
load_model_config <- function(filepath, custom_objects = NULL) {
  check_string(filepath, "filepath")
  check_readable(filepath)
  with_file_errors(filepath, {
    text <- paste(readLines(filepath, warn = FALSE, encoding = "UTF-8"), collapse = "\n")
    ctx <- list(file = filepath)
    read_model_spec(read_json_text(text, filepath, NULL), ctx)$model$handle
  })
}

# File names and writing ---------------------------------------------------------

file_format <- function(path) {
  p <- tolower(path)
  if (endsWith(p, ".keras")) return("keras")
  if (endsWith(p, ".weights.h5")) return("weights_h5")
  if (endsWith(p, ".h5") || endsWith(p, ".hdf5")) return("h5")
  if (endsWith(p, ".rds")) return("rds")
  NA_character_
}

`%|NA|%` <- function(x, y) if (is.na(x)) y else x

abort_file_name <- function(path, expected, arg = "filepath") {
  abort_argument(arg, path, expected)
}

check_readable <- function(path) {
  if (!file.exists(path)) rgru_abort("{.file {path}} does not exist.", class = "file")
  if (dir.exists(path)) rgru_abort("{.file {path}} is a directory, not a file.", class = "file")
  invisible(path)
}

check_can_write <- function(filepath, overwrite) {
  if (file.exists(filepath) && !overwrite) {
    rgru_abort(c("{.file {filepath}} already exists.",
                 "i" = "Use {.code overwrite = TRUE} to replace it."),
               class = "file")
  }
  dir <- dirname(filepath)
  if (!dir.exists(dir)) rgru_abort("The directory {.file {dir}} does not exist.", class = "file")
  invisible(filepath)
}

# `write(tmp)` writes the file (or directory) at a temporary path beside
# `filepath`, which then replaces `filepath` in one rename.
write_atomically <- function(filepath, overwrite, write) {
  check_can_write(filepath, overwrite)
  tmp <- tempfile(pattern = paste0(".", basename(filepath), "-"), tmpdir = dirname(filepath))
  on.exit(unlink(tmp, recursive = TRUE), add = TRUE)
  write(tmp)
  if (dir.exists(filepath)) unlink(filepath, recursive = TRUE)
  if (!file.rename(tmp, filepath)) {
    rgru_abort("Could not move the saved file into place at {.file {filepath}}.", class = "file")
  }
  invisible(filepath)
}

# The model's R6 object: a model, or with `any_layer` any layer.
saveable_model <- function(model, any_layer = FALSE) {
  obj <- if (is.environment(model)) model else layer_object(model)
  is_model <- inherits(obj, "RgruModel") || inherits(model, "rgru_model")
  if (!is.environment(obj) || !any_layer && !is_model) {
    abort_argument("model", model, if (any_layer) "an rgru model or layer" else "an rgru model")
  }
  obj
}

# Runs `expr`, turning any error that is not rgru's own (a malformed file
# tripping up base R or hdf5r) into a classed "file" error naming the file.
with_file_errors <- function(file, expr) {
  withCallingHandlers(expr, error = function(e) {
    if (!inherits(e, "rgru_error")) {
      abort_damaged(file, NULL, "reading it failed: {first_line(conditionMessage(e))}", parent = e)
    }
  })
}

# rds -------------------------------------------------------------------------

rds_weights_format <- "rgru_weights"
rds_model_format <- "rgru_model"
rds_format_version <- 1L

write_rds_weights <- function(obj, path) {
  vars <- obj$weights
  saveRDS(list(format = rds_weights_format, version = rds_format_version,
               paths = vapply(vars, function(v) v$path %||% "", ""),
               weights = lapply(vars, function(v) v$value)), path)
}

write_rds_model <- function(obj, path) {
  vars <- obj$weights
  state <- compile_state(obj)
  saveRDS(list(format = rds_model_format, version = rds_format_version,
               config = obj$get_config(),
               weights = lapply(vars, function(v) v$value),
               trainable = vapply(vars, function(v) isTRUE(v$trainable), TRUE),
               compile = if (!is.null(state)) export_compile_state(state, vars)),
          path)
}

read_rds <- function(path, format) {
  saved <- tryCatch(readRDS(path), error = function(e) {
    abort_damaged(path, NULL, "it is not an R serialization, or it is damaged")
  })
  if (!is.list(saved) || !is.character(saved$format) || length(saved$format) != 1) {
    abort_damaged(path, "format", "it is not a file written by rgru")
  }
  if (!identical(saved$format, format)) {
    if (identical(saved$format, rds_model_format)) {
      abort_damaged(path, NULL, "it holds a whole model", hint = "Use {.fn load_model}.")
    }
    if (identical(saved$format, rds_weights_format)) {
      abort_damaged(path, NULL, "it holds weights only", hint = "Use {.fn load_model_weights}.")
    }
    abort_damaged(path, "format", "it is not a file written by rgru")
  }
  if (!identical(saved$version, rds_format_version)) {
    abort_damaged(path, "version", "expected format version {rds_format_version}")
  }
  if (!is.list(saved$weights) || is.object(saved$weights)) {
    abort_damaged(path, "weights", "expected a list of numeric arrays")
  }
  for (i in seq_along(saved$weights)) {
    w <- saved$weights[[i]]
    if (!is.numeric(w) || is.object(w)) {
      abort_damaged(path, sprintf("weights[[%d]]", i), "expected a numeric array, found {describe_value(w)}")
    }
    if (any(!is.finite(w))) {
      abort_damaged(path, sprintf("weights[[%d]]", i), "it holds NA, NaN or infinite values",
                    class = c("weights", "file"))
    }
  }
  saved
}

read_rds_weights <- function(obj, path, skip_mismatch) {
  saved <- read_rds(path, rds_weights_format)
  assign_saved_weights(obj, saved$weights, skip_mismatch, path)
}

read_rds_model <- function(path, compile) {
  saved <- read_rds(path, rds_model_format)
  config <- saved$config
  if (!is.list(config) || !is.character(attr(config, "rgru_class"))) {
    abort_damaged(path, "config", "expected a model configuration")
  }
  restored <- tryCatch(from_config(config), error = function(e) {
    abort_damaged(path, "config", "it does not make a model", parent = e)
  })
  assign_saved_weights(restored, saved$weights, FALSE, path)
  if (compile && !is.null(saved$compile)) {
    state <- tryCatch({
      state <- import_compile_state(saved$compile, layer_object(restored)$weights)
      spec_losses(state$loss)
      for (m in c(flatten_metric_spec(state$metrics), flatten_metric_spec(state$weighted_metrics))) {
        if (!(is.character(m) && tolower(m) %in% c("accuracy", "acc"))) resolve_metric(m)
      }
      state
    }, error = function(e) abort_damaged(path, "compile", "the compile settings are damaged", parent = e))
    set_compile_state(restored, state)
  }
  restored
}

assign_saved_weights <- function(model, weights, skip_mismatch, path) {
  vars <- (if (is.environment(model)) model else layer_object(model))$weights
  if (length(vars) != length(weights)) {
    rgru_abort(
      c("The weights in {.file {path}} don't fit the model.",
        "x" = "The file has {length(weights)} weight{?s}; the model has {length(vars)}.",
        "i" = "Build the model (call it on data, or give {.arg input_shape}) before loading weights."),
      class = c("weights", "file")
    )
  }
  keep <- rep(TRUE, length(vars))
  for (i in seq_along(vars)) {
    want <- value_shape(vars[[i]]$value)
    got <- value_shape(weights[[i]])
    if (!identical(as.integer(want), as.integer(got))) {
      if (skip_mismatch) {
        keep[i] <- FALSE
        rgru_warn("Skipped weight {.field {vars[[i]]$path}}: shape {format_tuple(got)} doesn't fit {format_tuple(want)}.",
                  class = "weights")
        next
      }
      rgru_abort(
        c("The weights in {.file {path}} don't fit the model.",
          "x" = "Weight {i} ({.field {vars[[i]]$path}}) has shape {format_tuple(got)}; the model expects {format_tuple(want)}."),
        class = c("weights", "file")
      )
    }
  }
  for (i in which(keep)) {
    value <- as.double(weights[[i]])
    if (!is.null(dim(vars[[i]]$value))) dim(value) <- dim(vars[[i]]$value)
    vars[[i]]$value <- value
  }
  invisible(model)
}

# The optimizer's moments are saved by weight position, so they reattach to
# the rebuilt model's weights.
export_compile_state <- function(state, vars) {
  opt <- state$optimizer
  slots <- lapply(vars, function(v) {
    i <- variable_index(opt$variables, list(v))
    if (is.na(i)) NULL else opt$slots[[i]]
  })
  list(loss = state$loss, metrics = state$metrics,
       weighted_metrics = state$weighted_metrics,
       loss_weights = state$loss_weights,
       optimizer = list(class = class(opt)[1], config = opt$get_config(),
                        iterations = opt$iterations, slots = slots))
}

import_compile_state <- function(saved, vars) {
  spec <- saved$optimizer
  constructors <- list(RgruSgdOptimizer = optimizer_sgd, RgruAdamOptimizer = optimizer_adam,
                       RgruRmspropOptimizer = optimizer_rmsprop,
                       # class names in .rds files saved by earlier versions
                       rgru_optimizer_sgd = optimizer_sgd, rgru_optimizer_adam = optimizer_adam,
                       rgru_optimizer_rmsprop = optimizer_rmsprop)
  ok <- is.list(spec) && is.character(spec$class) && length(spec$class) == 1 &&
    spec$class %in% names(constructors) && is.list(spec$config) &&
    is.numeric(spec$iterations) && length(spec$iterations) == 1 && is.finite(spec$iterations) &&
    is.list(spec$slots) && length(spec$slots) == length(vars)
  if (!ok) rgru_abort("The saved optimizer is malformed.", class = "file")
  config <- spec$config[!vapply(spec$config, is.null, TRUE)]
  opt <- do.call(constructors[[spec$class]], config)
  opt$iterations <- spec$iterations
  for (i in seq_along(vars)) {
    slots <- spec$slots[[i]]
    if (is.null(slots)) next
    if (!is.list(slots) || !all(vapply(slots, function(s) is.numeric(s) && all(is.finite(s)), TRUE))) {
      rgru_abort("The saved optimizer state of weight {i} is malformed.", class = "file")
    }
    opt$slots[[opt$slot_for(vars[[i]])]] <- slots
  }
  list(optimizer = opt, loss = saved$loss, loss_weights = saved$loss_weights,
       metrics = saved$metrics, weighted_metrics = saved$weighted_metrics,
       resolved = NULL)
}
