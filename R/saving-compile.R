# A compiled model in Keras's files: compile_config (optimizer, loss,
# metrics) in config.json, and the optimizer's variables under
# "optimizer/vars" of the weights file: the iteration count, the learning
# rate, then the optimizer's slots for the model's trainable variables in
# Keras's order (keras/src/optimizers/*.py build()).
#
# As Keras does, a compile configuration rgru can't apply loads the model
# uncompiled, with a warning, and a saved optimizer state that doesn't fit
# the rebuilt optimizer is skipped with a warning.

# Keras's optimizer classes rgru has. `slots(opt)`: the groups of rgru slot
# names Keras creates variables for, a group's slots interleaved per variable
# (Adam's add_optimizer_variables(vars, ["momentum", "velocity"])).
keras_optimizers <- list(
  SGD = list(rgru_class = "RgruSgdOptimizer", constructor = function(...) optimizer_sgd(...),
             hyper = c("momentum", "nesterov"),
             slots = function(opt) if (opt$momentum != 0) list("m") else list()),
  Adam = list(rgru_class = "RgruAdamOptimizer", constructor = function(...) optimizer_adam(...),
              hyper = c("beta_1", "beta_2", "epsilon", "amsgrad"),
              slots = function(opt) c(list(c("m", "v")), if (isTRUE(opt$amsgrad)) list("v_hat"))),
  AdamW = list(rgru_class = "RgruAdamOptimizer", constructor = function(...) optimizer_adamw(...),
               hyper = c("beta_1", "beta_2", "epsilon", "amsgrad"),
               slots = function(opt) c(list(c("m", "v")), if (isTRUE(opt$amsgrad)) list("v_hat"))),
  RMSprop = list(rgru_class = "RgruRmspropOptimizer", constructor = function(...) optimizer_rmsprop(...),
                 hyper = c("rho", "momentum", "epsilon", "centered"),
                 slots = function(opt) c(list("velocity"), if (opt$momentum > 0) list("momentum"),
                                         if (isTRUE(opt$centered)) list("average")))
)

keras_optimizer_class <- function(opt) {
  if (inherits(opt, "RgruAdamOptimizer")) {
    return(if (identical(tolower(opt$name), "adamw")) "AdamW" else "Adam")
  }
  for (name in names(keras_optimizers)) {
    if (inherits(opt, keras_optimizers[[name]]$rgru_class)) return(name)
  }
  NULL
}

# Keras's loss and metric classes with rgru's constructors (keras.losses.*).
keras_losses <- list(
  MeanSquaredError = list(rgru = "mean_squared_error",
                          constructor = function(...) loss_mean_squared_error(...)),
  MeanAbsoluteError = list(rgru = "mean_absolute_error",
                           constructor = function(...) loss_mean_absolute_error(...)),
  Huber = list(rgru = "huber_loss", constructor = function(...) loss_huber(...)),
  BinaryCrossentropy = list(rgru = "binary_crossentropy",
                            constructor = function(...) loss_binary_crossentropy(...)),
  CategoricalCrossentropy = list(rgru = "categorical_crossentropy",
                                 constructor = function(...) loss_categorical_crossentropy(...)),
  SparseCategoricalCrossentropy = list(rgru = "sparse_categorical_crossentropy",
                                       constructor = function(...) loss_sparse_categorical_crossentropy(...))
)

keras_metrics <- list(
  MeanSquaredError = list(rgru = "mean_squared_error",
                          constructor = function(...) metric_mean_squared_error(...)),
  MeanAbsoluteError = list(rgru = "mean_absolute_error",
                           constructor = function(...) metric_mean_absolute_error(...)),
  BinaryAccuracy = list(rgru = "binary_accuracy",
                        constructor = function(...) metric_binary_accuracy(...)),
  Accuracy = list(rgru = "accuracy", constructor = function(...) metric_accuracy(...)),
  CategoricalAccuracy = list(rgru = "categorical_accuracy",
                             constructor = function(...) metric_categorical_accuracy(...)),
  SparseCategoricalAccuracy = list(rgru = "sparse_categorical_accuracy",
                                   constructor = function(...) metric_sparse_categorical_accuracy(...))
)

# Writing --------------------------------------------------------------------------

# compile_config for a compile state, or NULL (with a warning) when part of
# it has no Keras form: Keras then loads the model uncompiled.
write_compile_config <- function(state) {
  problem <- NULL
  opt <- state$optimizer
  class_name <- keras_optimizer_class(opt)
  if (is.null(class_name)) problem <- "its optimizer has no Keras form"
  loss <- tryCatch(write_loss_spec(state$loss), rgru_error = function(e) {
    problem <<- problem %||% "its loss is an R function, which Keras can't load"
    NULL
  })
  metrics <- lapply(list(state$metrics, state$weighted_metrics), function(m) {
    tryCatch(write_metric_spec(m), rgru_error = function(e) {
      problem <<- problem %||% "a metric is an R function, which Keras can't load"
      NULL
    })
  })
  if (!is.null(problem)) {
    rgru_warn(c("The model is saved without its compile settings: {problem}.",
                i = "It loads uncompiled; compile it again after loading."),
              class = "unsupported")
    return(NULL)
  }
  spec <- keras_optimizers[[class_name]]
  config <- list(name = opt$name, learning_rate = opt$learning_rate,
                 weight_decay = opt$weight_decay, clipnorm = opt$clipnorm,
                 global_clipnorm = opt$global_clipnorm, clipvalue = opt$clipvalue,
                 use_ema = FALSE, ema_momentum = 0.99, ema_overwrite_frequency = NULL,
                 loss_scale_factor = NULL, gradient_accumulation_steps = NULL)
  for (h in spec$hyper) config[h] <- list(opt[[h]])
  list(optimizer = list(module = "keras.optimizers", class_name = class_name, config = config,
                        registered_name = NULL),
       loss = loss, loss_weights = if (!is.null(state$loss_weights)) as.list(state$loss_weights),
       metrics = metrics[[1]], weighted_metrics = metrics[[2]], run_eagerly = FALSE,
       steps_per_execution = 1L, jit_compile = TRUE)
}

write_loss_spec <- function(loss) {
  if (is.null(loss) || is.character(loss) && length(loss) == 1) return(loss)
  if (inherits(loss, "rgru_loss")) return(write_loss_object(loss, keras_losses, "keras.losses"))
  if (is.list(loss)) return(lapply(loss, write_loss_spec))
  rgru_abort("An R function loss has no Keras form.", class = "unsupported")
}

write_metric_spec <- function(metrics) {
  if (is.null(metrics)) return(NULL)
  if (is.character(metrics)) return(as.list(metrics))
  if (inherits(metrics, "rgru_metric")) return(list(write_loss_object(metrics, keras_metrics, "keras.metrics")))
  if (is.list(metrics)) {
    return(lapply(metrics, function(m) {
      if (is.character(m) && length(m) == 1) m else if (inherits(m, "rgru_metric"))
        write_loss_object(m, keras_metrics, "keras.metrics") else write_metric_spec(m)
    }))
  }
  rgru_abort("An R function metric has no Keras form.", class = "unsupported")
}

# A loss or metric object made by a loss_*()/metric_*() constructor: its class
# names the constructor ("rgru_loss_mean_squared_error").
write_loss_object <- function(x, table, module) {
  prefix <- if (module == "keras.metrics") "rgru_metric_" else "rgru_loss_"
  for (class_name in names(table)) {
    if (inherits(x, paste0(prefix, table[[class_name]]$rgru))) {
      config <- c(list(name = x$name), if (!is.null(x$reduction)) list(reduction = x$reduction),
                  x$config)
      return(list(module = module, class_name = class_name, config = config,
                  registered_name = NULL))
    }
  }
  rgru_abort("This loss or metric has no Keras form.", class = "unsupported")
}

# The optimizer's variables as Keras lays them out, for "optimizer/vars".
optimizer_variables <- function(state, trainable) {
  opt <- state$optimizer
  class_name <- keras_optimizer_class(opt)
  groups <- keras_optimizers[[class_name]]$slots(opt)
  values <- list(list(value = as.integer(opt$iterations), dtype = "int32"),
                 list(value = opt$learning_rate, dtype = "float32"))
  for (group in groups) {
    for (v in trainable) {
      i <- variable_index(opt$variables, list(v))
      slots <- if (!is.na(i)) opt$slots[[i]]
      for (slot in group) {
        value <- slots[[slot]]
        if (is.null(value)) value <- v$value * 0
        values[[length(values) + 1L]] <- list(value = value, dtype = v$dtype)
      }
    }
  }
  values
}

# Reading ---------------------------------------------------------------------------

# A compile state from Keras's compile_config (or a legacy training_config
# with its optimizer_config), or NULL with a warning when rgru can't apply it.
read_compile_config <- function(config, ctx) {
  if (is.null(config) || length(config) == 0) return(NULL)
  result <- tryCatch(list(
    optimizer = read_optimizer_spec(config$optimizer %||% config$optimizer_config, ctx),
    loss = read_loss_spec(config$loss, keras_losses, resolve_loss),
    loss_weights = read_loss_weights(config$loss_weights),
    metrics = read_metric_list(config$metrics),
    weighted_metrics = read_metric_list(config$weighted_metrics),
    resolved = NULL
  ), rgru_error_compile_config = function(e) e)
  if (inherits(result, "condition")) {
    rgru_warn(c("The model in {.file {ctx$file}} is loaded uncompiled.",
                x = conditionMessage(result),
                i = "Compile it with {.fn compile} before training."),
              class = "unsupported")
    return(NULL)
  }
  if (is.null(result$loss)) return(NULL)
  result
}

abort_compile_config <- function(message, .envir = parent.frame()) {
  rgru_abort(message, class = "compile_config", call = NULL, .envir = .envir)
}

read_optimizer_spec <- function(spec, ctx) {
  if (is.null(spec)) abort_compile_config("it names no optimizer")
  if (is.character(spec) && length(spec) == 1) {
    opt <- tryCatch(resolve_optimizer(spec), rgru_error = function(e) NULL)
    if (is.null(opt)) abort_compile_config("its optimizer {.val {spec}} is not one rgru has")
    return(opt)
  }
  if (!is_json_object(spec) || !is.character(spec$class_name)) {
    abort_compile_config("its optimizer is malformed")
  }
  class_name <- spec$class_name
  entry <- keras_optimizers[[class_name]]
  if (is.null(entry)) abort_compile_config("its optimizer {.cls {class_name}} is not one rgru has")
  config <- spec$config %||% list()
  if (!is_json_object(config)) abort_compile_config("its optimizer is malformed")
  if (isTRUE(config$use_ema)) abort_compile_config("its optimizer uses an exponential moving average (use_ema)")
  if (is_json_object(config$learning_rate)) abort_compile_config("its learning rate is a schedule")
  if (!is.null(config$decay) && !identical(as.numeric(config$decay), 0)) {
    abort_compile_config("its optimizer uses Keras 2's learning rate decay")
  }
  known <- c("name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue",
             entry$hyper)
  inert <- c("use_ema", "ema_momentum", "ema_overwrite_frequency", "jit_compile",
             "is_legacy_optimizer", "decay")
  extra <- setdiff(names(config), c(known, inert))
  extra <- extra[!vapply(config[extra], is.null, TRUE)]
  if (length(extra) > 0) abort_compile_config("its optimizer option {.field {extra[1]}} is not one rgru has")
  args <- config[intersect(names(config), known)]
  args <- args[!vapply(args, is.null, TRUE)]
  if (!is.null(args$name) && class_name %in% c("Adam", "AdamW", "SGD", "RMSprop")) {
    # Keras 2 names the optimizer by its class ("Adam"); rgru keeps it.
    args$name <- as.character(args$name)
  }
  tryCatch(do.call(entry$constructor, args), rgru_error = function(e) {
    abort_compile_config("its optimizer settings are invalid: {conditionMessage(e)}")
  })
}

read_loss_spec <- function(spec, table, resolve) {
  if (is.null(spec)) return(NULL)
  if (is.character(spec) && length(spec) == 1) {
    ok <- tryCatch({
      resolve(spec)
      TRUE
    }, rgru_error = function(e) FALSE)
    if (!ok) abort_compile_config("the loss or metric {.val {spec}} is not one rgru has")
    return(spec)
  }
  if (is_json_object(spec) && is.character(spec$class_name)) {
    if (identical(spec$class_name, "function") && is.character(spec$config)) {
      return(read_loss_spec(spec$config, table, resolve))
    }
    entry <- table[[spec$class_name]]
    if (is.null(entry)) abort_compile_config("the loss or metric {.cls {spec$class_name}} is not one rgru has")
    config <- spec$config %||% list()
    config <- config[!names(config) %in% "dtype" & !vapply(config, is.null, TRUE)]
    return(tryCatch(do.call(entry$constructor, config), rgru_error = function(e) {
      abort_compile_config("the settings of {.cls {spec$class_name}} are invalid: {conditionMessage(e)}")
    }, error = function(e) {
      abort_compile_config("the settings of {.cls {spec$class_name}} are not ones rgru has")
    }))
  }
  if (is.list(spec) && length(spec) > 0) {
    out <- lapply(spec, read_loss_spec, table = table, resolve = resolve)
    return(out)
  }
  abort_compile_config("a loss or metric is malformed")
}

read_metric_list <- function(spec) {
  if (is.null(spec)) return(NULL)
  read_loss_spec(spec, keras_metrics, function(name) {
    if (!tolower(name) %in% c("accuracy", "acc")) resolve_metric(name)
  })
}

read_loss_weights <- function(x) {
  if (is.null(x)) return(NULL)
  values <- unlist(x)
  if (!is.numeric(values) || length(values) != length(x) || anyNA(values)) {
    abort_compile_config("its loss weights are malformed")
  }
  if (!is.null(names(x))) names(values) <- names(x)
  values
}

# Puts the saved optimizer variables (a list of arrays, Keras's order) into
# the compile state's fresh optimizer; a mismatch keeps it fresh, with a
# warning, as Keras does.
restore_optimizer_variables <- function(state, values, trainable, file) {
  opt <- state$optimizer
  groups <- keras_optimizers[[keras_optimizer_class(opt)]]$slots(opt)
  expected <- 2L + length(unlist(groups)) * length(trainable)
  if (length(values) != expected) {
    rgru_warn(c("The optimizer state in {.file {file}} is not used: it has {length(values)} variable{?s}, the optimizer {expected}.",
                i = "Training starts from a fresh optimizer state."),
              class = "unsupported")
    return(invisible(state))
  }
  shapes_ok <- TRUE
  k <- 2L
  slots <- rep(list(list()), length(trainable))
  for (group in groups) {
    for (j in seq_along(trainable)) {
      for (slot in group) {
        k <- k + 1L
        value <- values[[k]]
        want <- value_shape(trainable[[j]]$value)
        if (!identical(as.integer(value_shape(value)), as.integer(want))) shapes_ok <- FALSE
        if (length(want) > 1 || !is.null(dim(trainable[[j]]$value))) dim(value) <- dim(trainable[[j]]$value)
        slots[[j]][[slot]] <- value
      }
    }
  }
  if (!shapes_ok || length(values[[1]]) != 1 || length(values[[2]]) != 1) {
    rgru_warn(c("The optimizer state in {.file {file}} is not used: its shapes don't fit the model.",
                i = "Training starts from a fresh optimizer state."),
              class = "unsupported")
    return(invisible(state))
  }
  opt$iterations <- as.numeric(values[[1]])
  opt$learning_rate <- as.numeric(values[[2]])
  for (j in seq_along(trainable)) {
    if (length(slots[[j]]) > 0) opt$slots[[opt$slot_for(trainable[[j]])]] <- slots[[j]]
  }
  invisible(state)
}

# The model's trainable variables in Keras's order: its layers in file order,
# each layer's trainable weights.
keras_trainable_variables <- function(layers) {
  vars <- list()
  for (layer in layers) {
    for (v in layer$trainable_weights) {
      if (!any(vapply(vars, identical, TRUE, v))) vars[[length(vars) + 1L]] <- v
    }
  }
  vars
}
