# The fuzz table for the public API (see helper-fuzz.R): one fuzz_target() per
# function or call. Each `run` gets the good arguments with one replaced, calls
# the function and then uses what it made, so a bad value accepted at
# construction is caught when it is used.

fuzz_x <- function() array(seq(-0.5, 0.5, length.out = 12), c(2, 3, 2))

# Extra values for arguments that are counts: the edges of R's integers.
fuzz_counts <- function() list(2^31, 1e15, -0, 1L, 2.5, -2^31)

# The arguments of `fn` that a target fuzzes: its formals without `object` and
# `...`, and any `extra` ones.
fuzz_formals <- function(fn, extra = character(), drop = character()) {
  c(setdiff(names(formals(fn)), c("object", "...", drop)), extra)
}

fuzz_call <- function(fn, args) do.call(fn, args, quote = TRUE)

# Layers ---------------------------------------------------------------------

fuzz_table_layers <- function() {
  x <- fuzz_x()
  common <- c("name", "dtype", "trainable", "input_shape", "batch_size")
  on_x <- function(fn) function(args) fuzz_call(fn, args)(x)
  list(
    fuzz_target("layer_gru", on_x(layer_gru), good = function() list(units = 2),
                args = fuzz_formals(layer_gru, common),
                values = list(units = fuzz_counts, activation = function() {
                  list("softmax", "log_softmax", "relu", sum)
                }),
                fixed = list(activation = list("softmax", "log_softmax", "sparsemax", "glu"),
                             units = list(715827883, 1e6),
                             batch_size = list("a", -Inf, list()), input_shape = list(NaN))),
    fuzz_target("rnn_cell_gru", function(args) layer_rnn(cell = fuzz_call(rnn_cell_gru, args))(x),
                good = function() list(units = 2),
                args = fuzz_formals(rnn_cell_gru, c("name", "dtype", "trainable")),
                values = list(units = fuzz_counts), names = "cell"),
    fuzz_target("layer_rnn", on_x(layer_rnn), good = function() list(cell = rnn_cell_gru(2)),
                args = fuzz_formals(layer_rnn, common)),
    fuzz_target("layer_dense", function(args) fuzz_call(layer_dense, args)(x[, 1, ]),
                good = function() list(units = 2), args = fuzz_formals(layer_dense, common),
                values = list(units = fuzz_counts)),
    fuzz_target("layer_embedding",
                function(args) fuzz_call(layer_embedding, args)(matrix(c(0, 1, 2, 1), 2)),
                good = function() list(input_dim = 3, output_dim = 2),
                args = fuzz_formals(layer_embedding, common),
                values = list(input_dim = fuzz_counts, output_dim = fuzz_counts),
                names = "inputs"),
    fuzz_target("layer_masking", on_x(layer_masking), good = function() list(mask_value = 0),
                args = fuzz_formals(layer_masking, common)),
    fuzz_target("gru(inputs, ...)", function(args) {
      gru <- layer_gru(units = 2, return_sequences = TRUE)
      fuzz_call(gru, args)
    }, good = function() list(object = fuzz_x(), mask = NULL, initial_state = NULL, training = NULL),
    values = list(object = fuzz_random_arrays, mask = fuzz_random_masks,
                  initial_state = fuzz_random_arrays),
    names = "inputs"),
    fuzz_target("dense(inputs, ...)", function(args) fuzz_call(layer_dense(units = 2), args),
                good = function() list(object = matrix(1, 2, 3), training = NULL),
                values = list(object = fuzz_random_arrays), names = "inputs"),
    fuzz_target("embedding(inputs)", function(args) {
      fuzz_call(layer_embedding(input_dim = 3, output_dim = 2, mask_zero = TRUE), args)
    }, good = function() list(object = matrix(c(0, 1, 2, 1), 2)),
    values = list(object = function() list(matrix(3, 2, 2), matrix(-1, 2, 2), matrix(0.5, 2, 2))),
    names = "inputs"),
    fuzz_target("cell(inputs, states)", function(args) fuzz_call(rnn_cell_gru(units = 2), args),
                good = function() list(object = matrix(1, 2, 3), states = list(matrix(0, 2, 2))),
                values = list(states = function() list(list(matrix(0, 3, 2)), matrix(0, 2, 5))),
                fixed = list(states = list(list(matrix(0, 3, 2)))),
                names = c("inputs", "initial_state"))
  )
}

# Random arrays of rank 0 to 4 with sizes 0 to 3, sometimes holding NA.
fuzz_random_arrays <- function() {
  dims <- sample(0:3, sample(1:4, 1), replace = TRUE)
  x <- array(stats::rnorm(prod(dims)), dims)
  if (length(x) > 0 && stats::runif(1) < 0.2) x[1] <- NA
  list(x, as.vector(x), list(x, x))
}

fuzz_random_masks <- function() {
  list(matrix(TRUE, 2, 3), matrix(TRUE, 3, 2), array(TRUE, c(2, 3, 2)),
       matrix(1, 2, 3), matrix(NA, 2, 3))
}

# Models -----------------------------------------------------------------------

fuzz_sequential <- function() {
  keras_model_sequential(input_shape = c(3, 2)) |> layer_gru(2) |> layer_dense(1)
}

fuzz_compiled <- function() {
  model <- fuzz_sequential()
  compile(model, optimizer = "sgd", loss = "mse", metrics = "mae")
  model
}

fuzz_table_models <- function() {
  x <- fuzz_x()
  list(
    # Both go on to add a dense layer, whose `inputs` a rank-1 shape does not fit.
    fuzz_target("keras_input", function(args) {
      inp <- fuzz_call(keras_input, args)
      keras_model(inp, layer_dense(inp, units = 1))
    }, good = function() list(shape = 3), args = fuzz_formals(keras_input),
    values = list(shape = function() list(c(NA, 2), shape(2, NULL), 2^31), batch_size = fuzz_counts),
    names = "inputs"),
    fuzz_target("keras_model", function(args) {
      model <- fuzz_call(keras_model, args)
      predict(model, matrix(1, 2, 3), verbose = 0)
    }, good = function() {
      inp <- keras_input(shape = 3)
      list(inputs = inp, outputs = layer_dense(inp, units = 1), name = "m")
    }, args = c("inputs", "outputs", "name", "trainable")),
    fuzz_target("keras_model_sequential", function(args) {
      model <- fuzz_call(keras_model_sequential, args)
      model <- model |> layer_dense(units = 1)
      model(matrix(1, 2, 3))
    }, good = function() list(input_shape = 3),
    args = c(fuzz_formals(keras_model_sequential), "input_batch_size", "input_dtype",
             "input_name", "trainable", "layers", "input_batch_shape"),
    names = "inputs"),
    fuzz_target("model(inputs)", function(args) fuzz_call(fuzz_sequential(), args),
                good = function() list(object = fuzz_x(), training = NULL),
                values = list(object = fuzz_random_arrays), names = "inputs"),
    fuzz_target("predict", function(args) fuzz_call(predict, c(list(fuzz_sequential()), args)),
                good = function() list(x = fuzz_x(), batch_size = NULL, verbose = 0, steps = NULL),
                values = list(x = fuzz_random_arrays, batch_size = fuzz_counts, steps = fuzz_counts),
                names = "inputs"),
    fuzz_target("get_weights", function(args) fuzz_call(get_weights, args),
                good = function() list(object = fuzz_sequential(), trainable = NA)),
    fuzz_target("set_weights", function(args) fuzz_call(set_weights, args), good = function() {
      model <- fuzz_sequential()
      list(object = model, weights = get_weights(model))
    }, values = list(weights = function() {
      w <- get_weights(fuzz_sequential())
      list(w[-1], lapply(w, function(a) a * NA), lapply(w, as.character), rev(w))
    })),
    fuzz_target("get_config/from_config", function(args) {
      from_config(fuzz_call(get_config, args))
    }, good = function() list(object = fuzz_sequential())),
    fuzz_target("from_config", function(args) fuzz_call(from_config, args),
                good = function() list(config = get_config(fuzz_sequential()), custom_objects = NULL),
                values = list(config = function() {
                  config <- get_config(fuzz_sequential())
                  list(unclass(config), config[-1], structure(list(), rgru_class = "Sequential"))
                })),
    fuzz_target("freeze_weights", function(args) fuzz_call(freeze_weights, args),
                good = function() list(object = fuzz_sequential(), from = NULL, to = NULL, which = NULL)),
    fuzz_target("unfreeze_weights", function(args) fuzz_call(unfreeze_weights, args),
                good = function() list(object = fuzz_sequential(), from = 1, to = NULL, which = NULL)),
    fuzz_target("%<-%", function(args) {
      c(a, b) %<-% args$value
    }, good = function() list(value = list(1, 2)), names_argument = FALSE),
    fuzz_target("shape", function(args) fuzz_call(shape, args),
                good = function() list(a = 2, b = NA), names_argument = FALSE,
                values = list(a = function() list(-2, 2.5, 2^31)))
  )
}

# Training -------------------------------------------------------------------

fuzz_fit_data <- function() {
  list(x = array(seq(0, 1, length.out = 48), c(8, 3, 2)), y = matrix(seq(0, 1, length.out = 8), 8))
}

fuzz_table_training <- function() {
  d <- fuzz_fit_data()
  model_args <- function(model, args) c(list(model), args)
  list(
    fuzz_target("compile", function(args) {
      model <- fuzz_sequential()
      fuzz_call(compile, model_args(model, args))
      train_on_batch(model, d$x, d$y)
    }, good = function() list(optimizer = "sgd", loss = "mse", metrics = NULL),
    args = fuzz_formals(rgru:::compile.rgru_model),
    values = list(loss = function() list(function(y, p) "a", function(y, p) 1:1000, "mse"),
                  metrics = function() list(function(y, p) "a", list("mae", 1)))),
    fuzz_target("fit", function(args) {
      fuzz_call(fit, model_args(fuzz_compiled(), args))
    }, good = function() list(x = d$x, y = d$y, epochs = 1, verbose = 0),
    args = setdiff(fuzz_formals(rgru:::fit.rgru_model), "view_metrics"),
    values = list(batch_size = fuzz_counts, steps_per_epoch = fuzz_counts,
                  initial_epoch = fuzz_counts, validation_freq = fuzz_counts,
                  validation_steps = fuzz_counts, validation_batch_size = fuzz_counts,
                  validation_data = function() list(list(NULL, NULL), list(d$x, NULL),
                                                    list(d$x, d$y[1:3, , drop = FALSE])),
                  x = fuzz_random_arrays, y = fuzz_random_arrays,
                  callbacks = function() list(callback_lambda(), list(callback_lambda(), 1))),
    fixed = list(batch_size = list(Inf, 1e300, 2^31), steps_per_epoch = list(1e15),
                 initial_epoch = list(2^31), validation_data = list(list(NULL, NULL))),
    names = c("inputs", "y_true", "y_pred")),
    fuzz_target("evaluate", function(args) {
      fuzz_call(evaluate, model_args(fuzz_compiled(), args))
    }, good = function() list(x = d$x, y = d$y, verbose = 0),
    args = fuzz_formals(rgru:::evaluate.rgru_model),
    values = list(batch_size = fuzz_counts, steps = fuzz_counts, x = fuzz_random_arrays),
    fixed = list(steps = list(2^31)), names = c("inputs", "y_true", "y_pred")),
    fuzz_target("train_on_batch", function(args) {
      fuzz_call(train_on_batch, model_args(fuzz_compiled(), args))
    }, good = function() list(x = d$x, y = d$y), args = fuzz_formals(train_on_batch),
    names = c("inputs", "y_true", "y_pred")),
    fuzz_target("test_on_batch", function(args) {
      fuzz_call(test_on_batch, model_args(fuzz_compiled(), args))
    }, good = function() list(x = d$x, y = d$y), args = fuzz_formals(test_on_batch),
    names = c("inputs", "y_true", "y_pred")),
    fuzz_target("fit/evaluate object", function(args) {
      fit(args$object, d$x, d$y, verbose = 0)
    }, good = function() list(object = fuzz_compiled()))
  )
}

# Saving ---------------------------------------------------------------------

fuzz_table_saving <- function() {
  path <- function(ext) tempfile(fileext = ext)
  list(
    fuzz_target("save_model", function(args) fuzz_call(save_model, args),
                good = function() list(model = fuzz_compiled(), filepath = path(".rds"),
                                       overwrite = FALSE),
                names = "object"),
    fuzz_target("load_model", function(args) fuzz_call(load_model, args), good = function() {
      file <- path(".rds")
      save_model(fuzz_compiled(), file)
      list(model = file, custom_objects = NULL, compile = TRUE)
    }, names = "filepath"),
    fuzz_target("load_model(damaged file)", function(args) {
      file <- path(".rds")
      if (is.raw(args$contents)) writeBin(args$contents, file) else saveRDS(args$contents, file)
      load_model(file)
    # the damage is in the file, not an argument: a classed file error is the rule
    }, good = function() list(contents = list()), names_argument = FALSE,
    fixed = list(contents = list(1, list(config = "a", weights = list()),
                                 as.raw(c(0x1f, 0x8b, 0:200))))),
    fuzz_target("save_model_weights", function(args) fuzz_call(save_model_weights, args),
                good = function() list(model = fuzz_sequential(), filepath = path(".rds"),
                                       overwrite = FALSE), names = "object"),
    fuzz_target("load_model_weights", function(args) fuzz_call(load_model_weights, args),
                good = function() {
                  model <- fuzz_sequential()
                  file <- path(".rds")
                  save_model_weights(model, file)
                  list(model = model, filepath = file, skip_mismatch = FALSE)
                }, names = "object")
  )
}

# Initializers, regularizers, constraints, optimizers, losses, metrics,
# callbacks, activations and random draws: every exported constructor, each
# argument fuzzed, the result then used.

fuzz_exports <- function(pattern) {
  grep(pattern, getNamespaceExports("rgru"), value = TRUE)
}

fuzz_family <- function(pattern, use, good = function(name) list(), names = character()) {
  lapply(sort(fuzz_exports(pattern)), function(name) {
    fn <- getExportedValue("rgru", name)
    args <- fuzz_formals(fn)
    if (length(args) == 0) return(NULL)
    fuzz_target(name, function(a) use(fuzz_call(fn, a)), good = function() good(name),
                args = args, names = names)
  })
}

fuzz_table_objects <- function() {
  d <- fuzz_fit_data()
  w <- matrix(c(0.5, -1, 2, 0.25), 2)
  y_true <- matrix(c(0, 1, 1, 0), 2)
  y_pred <- matrix(c(0.2, 0.7, 0.6, 0.4), 2)
  # Sparse losses and metrics take class indices.
  targets_for <- function(name) {
    list(y_true = if (grepl("sparse", name)) c(1, 0) else y_true, y_pred = y_pred)
  }
  fit_with <- function(callback) {
    fit(fuzz_compiled(), d$x, d$y, epochs = 2, verbose = 0, validation_split = 0.25,
        callbacks = list(callback))
  }
  targets <- c(
    fuzz_family("^initializer_", function(init) {
      init(if (identical(init$class_name, "STFT")) c(4, 1, 3) else c(2, 3))
    }),
    fuzz_family("^regularizer_", function(reg) reg(w)),
    fuzz_family("^constraint_", function(con) con(w)),
    fuzz_family("^optimizer_", function(opt) {
      model <- fuzz_sequential()
      compile(model, optimizer = opt, loss = "mse")
      train_on_batch(model, d$x, d$y)
    }),
    fuzz_family("^loss_", identity, good = targets_for),
    fuzz_family("^metric_", identity, good = targets_for),
    fuzz_family("^activation_", identity, good = function(name) {
      if (name == "activation_threshold") {
        list(x = c(-1, 0, 2), threshold = 0.5, default_value = 0)
      } else {
        list(x = c(-1, 0, 2))
      }
    }),
    fuzz_family("^random_", identity, good = function(name) {
      # random_integer()'s bounds have no defaults, as in keras3
      c(list(shape = c(2, 2)), if (name == "random_integer") list(minval = 0, maxval = 5))
    }),
    fuzz_family("^callback_", fit_with, good = function(name) {
      if (name == "callback_model_checkpoint") list(filepath = tempfile(fileext = ".rds")) else list()
    }),
    list(
      fuzz_target("resolve_activation", function(a) fuzz_call(resolve_activation, a)$fn(c(-1, 1)),
                  good = function() list(x = "tanh"), args = "x"),
      # NULL resolves to NULL (no initializer, regularizer or constraint).
      fuzz_target("resolve_initializer", function(a) {
        init <- fuzz_call(resolve_initializer, a)
        if (!is.null(init)) init(c(2, 2))
      }, good = function() list(x = "zeros"), args = "x"),
      fuzz_target("resolve_regularizer", function(a) {
        reg <- fuzz_call(resolve_regularizer, a)
        if (!is.null(reg)) reg(w)
      }, good = function() list(x = "l2"), args = "x"),
      fuzz_target("resolve_constraint", function(a) {
        con <- fuzz_call(resolve_constraint, a)
        if (!is.null(con)) con(w)
      }, good = function() list(x = "non_neg"), args = "x"),
      fuzz_target("serialize_keras_object", function(a) fuzz_call(serialize_keras_object, a),
                  good = function() list(x = initializer_zeros()))
    )
  )
  Filter(Negate(is.null), targets)
}

