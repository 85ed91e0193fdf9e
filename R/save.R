# Saving and loading: weights alone, or a whole model (its config, weights
# and compile state, optimizer moments included), in .rds files.

weights_format <- "rgru_weights"
model_format <- "rgru_model"
save_format_version <- 1L

#' Save and load model weights
#'
#' `save_model_weights()` writes the values of every weight of a model (in
#' `model$weights` order, Keras's layout) to an `.rds` file;
#' `load_model_weights()` reads them back into a model of the same
#' architecture, checking that count and shapes match.
#'
#' @param model A model (or layer) whose weights are saved or replaced.
#' @param filepath Path of the file.
#' @param overwrite Whether an existing file may be replaced.
#' @param skip_mismatch Skip weights whose shape differs instead of failing.
#' @param ... Unused; must be empty.
#' @returns `model`, invisibly.
#' @family saving
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' path <- tempfile(fileext = ".rds")
#' save_model_weights(model, path)
#' model2 <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' load_model_weights(model2, path)
#' identical(get_weights(model), get_weights(model2))
save_model_weights <- function(model, filepath, overwrite = FALSE) {
  check_string_arg(filepath, "filepath")
  check_flag(overwrite, "overwrite")
  check_can_write(filepath, overwrite)
  vars <- model_object(model)$weights
  saveRDS(list(format = weights_format, version = save_format_version,
               paths = vapply(vars, function(v) v$path, ""),
               weights = lapply(vars, function(v) v$value)),
          filepath)
  invisible(model)
}

#' @rdname save_model_weights
#' @export
load_model_weights <- function(model, filepath, skip_mismatch = FALSE, ...) {
  check_empty_dots(...)
  check_flag(skip_mismatch, "skip_mismatch")
  saved <- read_saved(filepath, weights_format)
  assign_saved_weights(model, saved$weights, skip_mismatch)
  invisible(model)
}

#' Save and load a whole model
#'
#' `save_model()` writes the model's configuration, weights and, when it was
#' compiled, its compile settings and optimizer state to an `.rds` file.
#' `load_model()` rebuilds the model from that file; a loaded compiled model
#' resumes training where the saved one stopped.
#'
#' @param model For `save_model()`, the model; for `load_model()`, the path
#'   of the file (keras3's argument name).
#' @param filepath Path of the file.
#' @param overwrite Whether an existing file may be replaced.
#' @param ... Unused; must be empty.
#' @param custom_objects Unused; accepted for keras3 compatibility.
#' @param compile Whether to restore the compile state.
#' @returns `save_model()`: `model`, invisibly. `load_model()`: the model.
#' @family saving
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_gru(3) |>
#'   layer_dense(1)
#' model |> compile(optimizer = "adam", loss = "mse")
#' path <- tempfile(fileext = ".rds")
#' save_model(model, path)
#' restored <- load_model(path)
#' x <- random_uniform(c(4, 5, 2))
#' all.equal(predict(model, x, verbose = 0), predict(restored, x, verbose = 0))
save_model <- function(model, filepath = NULL, overwrite = FALSE, ...) {
  check_empty_dots(...)
  check_string_arg(filepath, "filepath")
  check_flag(overwrite, "overwrite")
  check_can_write(filepath, overwrite)
  obj <- model_object(model)
  vars <- obj$weights
  state <- compile_state(model)
  saveRDS(list(format = model_format, version = save_format_version,
               config = obj$get_config(),
               weights = lapply(vars, function(v) v$value),
               trainable = vapply(vars, function(v) isTRUE(v$trainable), TRUE),
               compile = if (!is.null(state)) export_compile_state(state, vars)),
          filepath)
  invisible(model)
}

#' @rdname save_model
#' @export
load_model <- function(model, custom_objects = NULL, compile = TRUE, ...) {
  check_empty_dots(...)
  check_flag(compile, "compile")
  saved <- read_saved(model, model_format)
  restored <- from_config(saved$config)
  assign_saved_weights(restored, saved$weights, FALSE)
  if (compile && !is.null(saved$compile)) {
    state <- import_compile_state(saved$compile, model_object(restored)$weights)
    set_compile_state(restored, state)
  }
  restored
}

check_can_write <- function(filepath, overwrite) {
  if (file.exists(filepath) && !overwrite) {
    cli::cli_abort(
      c("{.file {filepath}} already exists.",
        "i" = "Use {.code overwrite = TRUE} to replace it."),
      class = c("rgru_error_file", "rgru_error")
    )
  }
}

read_saved <- function(filepath, format) {
  check_string_arg(filepath, "filepath")
  if (!file.exists(filepath)) {
    cli::cli_abort("{.file {filepath}} does not exist.",
                   class = c("rgru_error_file", "rgru_error"))
  }
  saved <- tryCatch(readRDS(filepath), error = function(e) NULL)
  if (!is.list(saved) || !identical(saved$format, format)) {
    what <- if (format == weights_format) "save_model_weights" else "save_model"
    cli::cli_abort(
      c("{.file {filepath}} is not a file written by {.fn {what}}.",
        "i" = if (is.list(saved) && identical(saved$format, model_format))
          "It holds a whole model: use {.fn load_model}."
        else if (is.list(saved) && identical(saved$format, weights_format))
          "It holds weights only: use {.fn load_model_weights}."),
      class = c("rgru_error_file", "rgru_error")
    )
  }
  saved
}

assign_saved_weights <- function(model, weights, skip_mismatch) {
  vars <- model_object(model)$weights
  if (length(vars) != length(weights)) {
    cli::cli_abort(
      c("The saved weights don't fit this model.",
        "x" = "The file has {length(weights)} weight{?s}; the model has {length(vars)}.",
        "i" = "Build the model (call it on data, or give {.arg input_shape}) before loading weights."),
      class = c("rgru_error_weights", "rgru_error")
    )
  }
  for (i in seq_along(vars)) {
    want <- dim(vars[[i]]$value) %||% length(vars[[i]]$value)
    got <- dim(weights[[i]]) %||% length(weights[[i]])
    if (!identical(as.integer(want), as.integer(got))) {
      if (skip_mismatch) next
      cli::cli_abort(
        c("Saved weight {i} doesn't fit {.field {vars[[i]]$path}}.",
          "x" = "It has shape ({paste(got, collapse = ', ')}); the model expects ({paste(want, collapse = ', ')})."),
        class = c("rgru_error_weights", "rgru_error")
      )
    }
    vars[[i]]$value <- weights[[i]]
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
  ctor <- switch(spec$class,
    rgru_optimizer_sgd = optimizer_sgd,
    rgru_optimizer_adam = optimizer_adam,
    rgru_optimizer_rmsprop = optimizer_rmsprop,
    cli::cli_abort("Unknown optimizer class {.cls {spec$class}} in the saved model.",
                   class = c("rgru_error_file", "rgru_error")))
  config <- spec$config[!vapply(spec$config, is.null, TRUE)]
  opt <- do.call(ctor, config)
  opt$iterations <- spec$iterations
  for (i in seq_along(vars)) {
    if (!is.null(spec$slots[[i]])) {
      slot <- opt$slot_for(vars[[i]])
      opt$slots[[slot]] <- spec$slots[[i]]
    }
  }
  list(optimizer = opt, loss = saved$loss, loss_weights = saved$loss_weights,
       metrics = saved$metrics, weighted_metrics = saved$weighted_metrics,
       resolved = NULL)
}
