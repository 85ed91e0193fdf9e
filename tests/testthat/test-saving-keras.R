# .keras archives and .weights.h5 files written by real Keras 3.15.1
# (fixtures from tools/keras-fixtures/saving.py and ../shared/keras-files).

keras_models <- c("gru_sequential", "gru_reset_before", "gru_no_bias", "gru_go_backwards",
                  "gru_stateful", "gru_options", "rnn_gru_cell", "embedding_mask_zero",
                  "masking_sequential", "functional_multi", "compiled_adam", "compiled_sgd",
                  "compiled_rmsprop")

test_that("every Keras-written model loads and predicts Keras's outputs (float32: 1e-5)", {
  for (name in keras_models) {
    io <- keras_io(name)
    model <- load_model(keras_fixture(paste0(name, ".keras")))
    y <- predict(model, io$inputs, verbose = 0)
    expect_lt(max_abs_diff(y, io$outputs), 1e-5)
  }
})

test_that("a float64 Keras model loads as float64 and predicts to 1e-10", {
  io <- keras_io("float64_model")
  model <- load_model(keras_fixture("float64_model.keras"))
  expect_true(all(vapply(model$weights, function(v) v$dtype, "") == "float64"))
  y <- predict(model, io$inputs, verbose = 0)
  expect_lt(max(abs(y - io$outputs) / pmax(1, abs(io$outputs))), 1e-10)
})

test_that("loaded layers keep Keras's names, options and dtype policies", {
  model <- load_model(keras_fixture("gru_options.keras"))
  gru <- model$layers[[1]]
  expect_equal(gru$activation$name, "relu")
  expect_equal(gru$recurrent_activation$name, "hard_sigmoid")
  expect_equal(gru$dropout, 0.2)
  expect_equal(gru$seed, 7L)
  expect_true(gru$return_sequences)
  expect_equal(gru$cell$kernel_initializer$class_name, "HeNormal")
  expect_equal(gru$kernel_regularizer$class_name, "L2")
  expect_equal(gru$recurrent_regularizer$get_config(), list(l1 = 0.001, l2 = 0.002))
  expect_equal(gru$kernel_constraint$class_name, "MaxNorm")
  expect_equal(gru$kernel_constraint$get_config()$axis, 0)
  expect_equal(gru$activity_regularizer$class_name, "L1")
  expect_equal(model$layers[[2]]$activation$name, "elu")
  expect_equal(model$layers[[3]]$activation$name, "softmax")
  expect_equal(model$layers[[3]]$dtype, "float32")

  # Keras's layer order (which names the weights in the file) is recomputed
  # from the rebuilt graph, as Keras does on loading.
  multi <- load_model(keras_fixture("functional_multi.keras"))
  keras_order <- rgru:::keras_functional_layers(rgru:::layer_object(multi))
  expect_equal(vapply(keras_order, function(l) l$name, ""),
               c("ctx", "seq", "init_state", "encoder", "summary", "shared", "per_step"))
  expect_length(keras_order[[6]]$weights, 2)
})

test_that("a stateful Keras model carries its state across calls as Keras does", {
  io <- keras_io("gru_stateful")
  model <- load_model(keras_fixture("gru_stateful.keras"))
  expect_lt(max_abs_diff(predict(model, io$inputs, batch_size = 3), io$outputs), 1e-5)
  expect_lt(max_abs_diff(predict(model, io$second_inputs, batch_size = 3), io$second_outputs), 1e-5)
})

test_that("compile settings and the optimizer's variables load as Keras saved them", {
  for (name in c("compiled_adam", "compiled_sgd", "compiled_rmsprop")) {
    io <- keras_io(name)
    model <- load_model(keras_fixture(paste0(name, ".keras")))
    state <- rgru:::compile_state(model)
    opt <- state$optimizer
    saved <- io$optimizer
    expect_equal(opt$iterations, 7)
    expect_equal(opt$learning_rate, saved[[2]], tolerance = 1e-7)
    # Keras's variables after iteration and learning rate, in its order.
    values <- lapply(saved[-(1:2)], json_to_array)
    trainable <- model$trainable_weights
    groups <- switch(name, compiled_adam = list(c("m", "v"), "v_hat"),
                     compiled_sgd = list("m"),
                     compiled_rmsprop = list("velocity", "momentum", "average"))
    k <- 0
    for (group in groups) {
      for (v in trainable) {
        for (slot in group) {
          k <- k + 1
          got <- opt$slots[[opt$slot_for(v)]][[slot]]
          expect_equal(as.vector(got), as.vector(values[[k]]), tolerance = 1e-7)
        }
      }
    }
    expect_equal(k, length(values))
  }
  adam <- rgru:::compile_state(load_model(keras_fixture("compiled_adam.keras")))
  expect_true(adam$optimizer$amsgrad)
  expect_equal(adam$loss, "mse")
  expect_equal(adam$metrics, list("mae"))
  sgd <- rgru:::compile_state(load_model(keras_fixture("compiled_sgd.keras")))
  expect_s3_class(sgd$loss, "rgru_loss_mean_absolute_error")
  expect_true(sgd$optimizer$nesterov)
  expect_equal(sgd$optimizer$clipnorm, 1)
  rms <- rgru:::compile_state(load_model(keras_fixture("compiled_rmsprop.keras")))
  expect_equal(rms$loss_weights, 2)
  expect_null(rgru:::compile_state(load_model(keras_fixture("compiled_adam.keras"), compile = FALSE)))
})

test_that("a loaded compiled model trains on from the saved optimizer state", {
  model <- load_model(keras_fixture("compiled_adam.keras"))
  fresh <- load_model(keras_fixture("compiled_adam.keras"), compile = FALSE)
  compile(fresh, optimizer = optimizer_adam(0.01, amsgrad = TRUE), loss = "mse")
  set.seed(3)
  x <- array(rnorm(8 * 6 * 5), c(8, 6, 5))
  y <- matrix(rnorm(8), 8)
  fit(model, x, y, epochs = 1, batch_size = 8, verbose = 0)
  fit(fresh, x, y, epochs = 1, batch_size = 8, verbose = 0)
  expect_equal(rgru:::compile_state(model)$optimizer$iterations, 8)
  # Same start weights, different optimizer state: different steps.
  expect_gt(max_abs_diff(get_weights(model), get_weights(fresh)), 1e-6)
})

test_that("Keras's weights files load into a model of the same architecture", {
  for (name in c("gru_sequential", "functional_multi", "rnn_gru_cell")) {
    io <- keras_io(name)
    model <- load_model(keras_fixture(paste0(name, ".keras")))
    set_weights(model, lapply(get_weights(model), function(w) w * 0 + 0.1))
    load_model_weights(model, keras_fixture(paste0(name, ".weights.h5")))
    expect_lt(max_abs_diff(predict(model, io$inputs), io$outputs), 1e-5)
  }
  # ... and from a .keras archive's weights
  io <- keras_io("gru_sequential")
  model <- keras_model_sequential(input_shape = c(6, 5)) |>
    layer_gru(4, return_sequences = TRUE) |> layer_gru(3) |> layer_dense(2)
  load_model_weights(model, keras_fixture("gru_sequential.keras"))
  expect_lt(max_abs_diff(predict(model, io$inputs), io$outputs), 1e-5)
})

test_that("archives with deflated members load", {
  io <- keras_io("gru_sequential")
  model <- load_model(keras_fixture("gru_sequential_deflated.keras"))
  expect_lt(max_abs_diff(predict(model, io$inputs), io$outputs), 1e-5)
})

test_that("the project's shared Keras files load", {
  for (name in c("gru_model", "gru_reset_before_model", "gru_masking_model", "bigru_model")) {
    path <- keras_fixture(paste0(name, ".keras"), "keras-shared")
    io <- shared_io(name)
    expect_lt(max_abs_diff(predict(load_model(path), io$inputs), io$outputs), 1e-5)
  }
})

test_that("Keras's legacy HDF5 files load (Keras 3's model.save('x.h5') and tf-keras 2)", {
  for (name in c("gru_sequential", "functional_multi", "embedding_mask_zero", "compiled_adam")) {
    io <- keras_io(name)
    model <- load_model(keras_fixture(paste0(name, ".h5")))
    expect_lt(max_abs_diff(predict(model, io$inputs), io$outputs), 1e-5)
  }
  state <- rgru:::compile_state(load_model_hdf5(keras_fixture("compiled_adam.h5")))
  expect_equal(state$optimizer$iterations, 7)
  io <- keras_io("legacy_tf_keras_gru")
  model <- load_model_hdf5(keras_fixture("legacy_tf_keras_gru.h5"))
  expect_lt(max_abs_diff(predict(model, io$inputs), io$outputs), 1e-5)
  # Weights of a legacy file, matched layer by layer in order.
  other <- keras_model_sequential(input_shape = c(6, 5)) |> layer_gru(3) |> layer_dense(2)
  load_model_weights(other, keras_fixture("legacy_tf_keras_gru.h5"))
  expect_lt(max_abs_diff(predict(other, io$inputs), io$outputs), 1e-5)
})

test_that("rgru's .keras files load back with the same predictions and compile state", {
  models <- roundtrip_models()
  for (name in names(models)) {
    model <- models[[name]]
    x <- roundtrip_inputs(name)
    path <- withr::local_tempfile(fileext = ".keras")
    save_model(model, path)
    restored <- load_model(path)
    expect_equal(vapply(restored$weights, function(v) v$dtype, ""),
                 vapply(model$weights, function(v) v$dtype, ""))
    tolerance <- if (name == "float64") 1e-14 else 1e-6
    expect_lt(max_abs_diff(predict(restored, x, batch_size = 3), predict(model, x, batch_size = 3)),
              tolerance)
  }
  model <- models$gru_options
  restored <- load_model({
    path <- withr::local_tempfile(fileext = ".keras")
    save_model(model, path)
    path
  })
  expect_false(restored$layers[[2]]$trainable)
  expect_equal(restored$layers[[1]]$kernel_constraint$arguments$axis, 1)
  expect_equal(restored$layers[[1]]$recurrent_activation$name, "hard_sigmoid")
})

test_that("a compiled model saved as .keras resumes training like the original", {
  set.seed(21)
  x <- array(runif(16 * 5 * 2), c(16, 5, 2))
  y <- matrix(rowMeans(x[, , 1]), 16)
  model <- keras_model_sequential(input_shape = c(5, 2)) |>
    layer_gru(3, dtype = "float64") |> layer_dense(1, dtype = "float64")
  model |> compile(optimizer = optimizer_adam(0.01), loss = "mse", metrics = "mae")
  model |> fit(x, y, epochs = 2, batch_size = 8, shuffle = FALSE, verbose = 0)
  path <- withr::local_tempfile(fileext = ".keras")
  save_model(model, path)
  restored <- load_model(path)
  state <- rgru:::compile_state(restored)
  expect_equal(state$optimizer$iterations, 4)
  expect_equal(state$metrics, list("mae"))
  model |> fit(x, y, epochs = 1, batch_size = 8, shuffle = FALSE, verbose = 0)
  restored |> fit(x, y, epochs = 1, batch_size = 8, shuffle = FALSE, verbose = 0)
  # float64 weights are stored exactly; the learning rate as Keras's float32.
  expect_equal(get_weights(restored), get_weights(model), tolerance = 1e-6)
})

test_that("loss and metric objects keep their class and settings through .keras", {
  model <- keras_model_sequential(input_shape = c(5, 2)) |> layer_gru(3) |> layer_dense(1)
  compile(model, optimizer = optimizer_rmsprop(centered = TRUE), loss = loss_huber(delta = 2),
          metrics = list(metric_mean_absolute_error(), "mse"), loss_weights = 0.5)
  path <- withr::local_tempfile(fileext = ".keras")
  save_model(model, path)
  config <- jsonlite::fromJSON(rawToChar(rgru:::zip_read(path, "config.json")[[1]]),
                               simplifyVector = FALSE)$compile_config
  expect_equal(config$loss$class_name, "Huber")
  expect_equal(config$loss$config$delta, 2)
  expect_equal(config$metrics[[1]]$class_name, "MeanAbsoluteError")
  expect_equal(config$optimizer$class_name, "RMSprop")
  state <- rgru:::compile_state(load_model(path))
  expect_s3_class(state$loss, "rgru_loss_huber_loss")
  expect_equal(state$loss$config$delta, 2)
  expect_s3_class(state$metrics[[1]], "rgru_metric_mean_absolute_error")
  expect_equal(state$metrics[[2]], "mse")
  expect_equal(state$loss_weights, 0.5)
  expect_true(state$optimizer$centered)
})

test_that("weights round-trip through .weights.h5 files with Keras's layout", {
  names <- c("gru_default", "functional_multi", "rnn_gru_cell", "bidirectional",
             "wrappers_masked", "conv_pool", "merging", "merging_masked", "float64")
  models <- roundtrip_models(only = names)
  others <- roundtrip_models(seed = 1, only = names)
  for (name in names) {
    model <- models[[name]]
    path <- withr::local_tempfile(fileext = ".weights.h5")
    save_model_weights(model, path)
    other <- others[[name]]
    expect_gt(max_abs_diff(get_weights(other), get_weights(model)), 0.01)
    load_model_weights(other, path)
    tolerance <- if (name == "float64") 0 else 1e-7
    expect_lt(max_abs_diff(get_weights(other), get_weights(model)), tolerance + 1e-300)
  }
  h5 <- hdf5r::H5File$new(path, "r")
  withr::defer(h5$close_all())
  expect_equal(hdf5r::h5attr(h5[["layers/gru/vars"]], "name"), models$float64$layers[[1]]$name)
  expect_equal(rev(h5[["layers/gru/cell/vars/0"]]$dims), c(5L, 12L))
  expect_equal(rev(h5[["layers/gru_1/cell/vars/2"]]$dims), 9L)
})

test_that("models without a file name save to raw bytes, and zipped = FALSE to a directory", {
  model <- roundtrip_models(only = "gru_default")[[1]]
  x <- roundtrip_inputs("gru_default")
  bytes <- save_model(model)
  expect_type(bytes, "raw")
  expect_equal(predict(load_model(bytes), x), predict(model, x), tolerance = 1e-6)
  dir <- file.path(withr::local_tempdir(), "model")
  save_model(model, dir, zipped = FALSE)
  expect_setequal(list.files(dir), c("config.json", "metadata.json", "model.weights.h5"))
  expect_equal(predict(load_model(dir), x), predict(model, x), tolerance = 1e-6)
  expect_error(save_model(model, dir, zipped = FALSE), class = "rgru_error_file")
  expect_error(save_model(model, file.path(dir, "x.keras"), zipped = FALSE),
               class = "rgru_error_argument")
})

test_that("a model's configuration saves to and loads from JSON", {
  model <- roundtrip_models(only = "functional_multi")[[1]]
  path <- withr::local_tempfile(fileext = ".json")
  save_model_config(model, path)
  fresh <- load_model_config(path)
  expect_equal(vapply(fresh$weights, function(v) paste(dim(v$value), collapse = "x"), ""),
               vapply(model$weights, function(v) paste(dim(v$value), collapse = "x"), ""))
  expect_false(isTRUE(all.equal(get_weights(fresh), get_weights(model))))
})

test_that("models Keras's format can't describe are refused with a hint, not half-saved", {
  model <- keras_model_sequential(input_shape = c(4, 2)) |>
    layer_gru(3, activation = function(x) x / (1 + abs(x))) |> layer_dense(1)
  path <- withr::local_tempfile(fileext = ".keras")
  expect_error(save_model(model, path), class = "rgru_error_unsupported")
  expect_false(file.exists(path))
  expect_silent(save_model(model, withr::local_tempfile(fileext = ".rds")))
  compiled <- keras_model_sequential(input_shape = c(4, 2)) |> layer_gru(3) |> layer_dense(1)
  compile(compiled, optimizer = "sgd", loss = function(y_true, y_pred) rowMeans((y_true - y_pred)^2))
  expect_warning(save_model(compiled, path), class = "rgru_warning_unsupported")
  expect_null(rgru:::compile_state(load_model(path)))
})

test_that("keras3's save_model() example runs (verbatim once rgru has layer_activation_softmax())", {
  withr::local_dir(withr::local_tempdir())
  if (exists("layer_activation_softmax", envir = asNamespace("rgru"))) {
    layer_activation_softmax <- get("layer_activation_softmax", envir = asNamespace("rgru"))
  } else {
    layer_activation_softmax <- function(object) layer_dense(object, 5, activation = "softmax")
  }
  model <- keras_model_sequential(input_shape = c(3)) |>
    layer_dense(5) |>
    layer_activation_softmax()

  model |> save_model("model.keras")
  loaded_model <- load_model("model.keras")
  x <- random_uniform(c(10, 3))
  stopifnot(all.equal(
    model |> predict(x),
    loaded_model |> predict(x)
  ))
  expect_equal(utils::unzip("model.keras", list = TRUE)$Name,
               c("metadata.json", "config.json", "model.weights.h5"))
  unlink("model.keras")
})
