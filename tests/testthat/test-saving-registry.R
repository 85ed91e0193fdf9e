# The layer classes of the registry (R/saving-registry.R) beyond GRU, Dense,
# Embedding and Masking: models written by real Keras 3.15.1 with every one of
# them (tools/keras-fixtures/saving_layers.py) load and predict Keras's
# numbers, and their weights files load into the same models built in rgru.

registry_models <- c("bidirectional_masked", "bidirectional_functional", "conv_pool_sequential",
                     "pool_options", "reshaping_sequential", "stacked_cells_masked",
                     "merging_functional", "merging_masked")

test_that("Keras models of every layer class load and predict Keras's outputs (float32: 1e-5)", {
  for (name in registry_models) {
    io <- keras_io(name)
    model <- load_model(keras_fixture(paste0(name, ".keras")))
    expect_lt(max_abs_diff(predict(model, io$inputs, verbose = 0), io$outputs), 1e-5)
  }
})

test_that("every layer class rgru exports has a Keras format", {
  classes <- c("Activation", "Add", "Bidirectional", "Concatenate", "Conv1D", "Dense", "Dropout",
               "Embedding", "Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GRU",
               "GRUCell", "Masking", "MaxPooling1D", "RepeatVector", "Reshape", "RNN",
               "SpatialDropout1D", "StackedRNNCells", "TimeDistributed")
  expect_setequal(ls(rgru:::keras_layer_registry), classes)
  covered <- character()
  for (name in registry_models) {
    config <- jsonlite::fromJSON(rawToChar(rgru:::zip_read(
      keras_fixture(paste0(name, ".keras")))[["config.json"]]), simplifyVector = FALSE)
    covered <- c(covered, unlist(lapply(config$config$layers, function(l) {
      c(l$class_name, l$config$layer$class_name, l$config$cell$class_name,
        vapply(l$config$cell$config$cells %||% list(), function(c) c$class_name, ""))
    })))
  }
  expect_setequal(setdiff(classes, c("Dense", "Embedding", "GRU", "GRUCell", "Masking", "RNN")),
                  intersect(covered, classes) |> setdiff(c("Dense", "GRU", "GRUCell", "Masking", "RNN")))
})

test_that("loaded wrappers keep Keras's names, options and nested layers", {
  model <- rgru:::layer_object(load_model(keras_fixture("bidirectional_masked.keras")))
  bidi <- model$layer_objects[[3]]
  expect_s3_class(bidi, "RgruBidirectionalLayer")
  expect_equal(bidi$merge_mode, "ave")
  expect_false(bidi$backward_layer$cell$reset_after)
  expect_true(bidi$backward_layer$go_backwards)
  expect_equal(model$layer_objects[[2]]$forward_layer$name, "forward_gru")
  stacked <- rgru:::layer_object(load_model(keras_fixture("stacked_cells_masked.keras")))
  cells <- stacked$layer_objects[[2]]$cell
  expect_s3_class(cells, "RgruStackedCells")
  expect_equal(vapply(cells$cells, function(c) c$units, 1L), c(4L, 3L))
  conv <- rgru:::layer_object(load_model(keras_fixture("conv_pool_sequential.keras")))
  first <- conv$layer_objects[[1]]
  expect_equal(list(first$kernel_size, first$dilation_rate, first$padding), list(3L, 2L, "causal"))
  expect_equal(conv$layer_objects[[2]]$seed, 1L)
  reshape <- rgru:::layer_object(load_model(keras_fixture("reshaping_sequential.keras")))
  expect_equal(reshape$layer_objects[[6]]$target_shape, c(2L, -1L))
})

# The fixture models, built in rgru (Keras's names for weights are by class and
# order, so the layers' own names don't matter).
rgru_built <- list(
  bidirectional_functional = function() {
    padded <- keras_input(c(6, 5))
    hidden <- padded |> layer_masking(0) |>
      layer_bidirectional(layer_gru(units = 4, return_sequences = TRUE), merge_mode = "mul") |>
      layer_time_distributed(layer_dense(units = 3, activation = "tanh")) |>
      layer_bidirectional(layer_rnn(cell = rnn_cell_gru(2)), merge_mode = "sum")
    keras_model(padded, layer_dense(hidden, 2))
  },
  stacked_cells_masked = function() {
    keras_model_sequential(input_shape = c(6, 5)) |> layer_masking(0) |>
      layer_rnn(rnn_cells_stack(list(rnn_cell_gru(4), rnn_cell_gru(3, reset_after = FALSE))),
                return_sequences = TRUE) |>
      layer_time_distributed(layer_dense(units = 2))
  },
  conv_pool_sequential = function() {
    keras_model_sequential(input_shape = c(6, 5)) |>
      layer_conv_1d(6, 3, padding = "causal", dilation_rate = 2, activation = "relu") |>
      layer_dropout(0.3, seed = 1) |> layer_spatial_dropout_1d(0.2) |> layer_max_pooling_1d(2) |>
      layer_time_distributed(layer_dense(units = 4, activation = "tanh")) |>
      layer_activation("sigmoid") |> layer_conv_1d(4, 2, groups = 2, use_bias = FALSE) |>
      layer_global_average_pooling_1d() |> layer_dense(2)
  }
)

# Keras's .weights.h5 where the fixture has one, else its archive's
# model.weights.h5 (the same layout).
weights_file <- function(name, .local_envir = parent.frame()) {
  path <- keras_fixture(paste0(name, ".weights.h5"))
  if (file.exists(path)) path else archive_weights(name, .local_envir = .local_envir)
}

test_that("Keras's weights files load into the same models built in rgru", {
  for (name in names(rgru_built)) {
    io <- keras_io(name)
    model <- rgru_built[[name]]()
    before <- predict(model, io$inputs, verbose = 0)
    expect_gt(max_abs_diff(before, io$outputs), 1e-3)
    load_model_weights(model, weights_file(name))
    expect_lt(max_abs_diff(predict(model, io$inputs, verbose = 0), io$outputs), 1e-5)
    # ... and from the .keras archive
    model <- rgru_built[[name]]()
    load_model_weights(model, keras_fixture(paste0(name, ".keras")))
    expect_lt(max_abs_diff(predict(model, io$inputs, verbose = 0), io$outputs), 1e-5)
  }
})

test_that("rgru writes Keras's weight paths for nested layers", {
  paths <- function(model) {
    vapply(rgru:::keras_weight_groups(rgru:::layer_object(model)), function(g) g$path, "")
  }
  for (name in names(rgru_built)) {
    expect_setequal(paths(rgru_built[[name]]()), h5_vars_groups(weights_file(name)))
  }
  expect_true("layers/bidirectional/forward_layer/cell" %in% paths(rgru_built$bidirectional_functional()))
  expect_true("layers/rnn/cell/cells/gru_cell_1" %in% paths(rgru_built$stacked_cells_masked()))
})

test_that("options and nested classes rgru lacks are refused, naming the class and option", {
  refused <- list(
    list("conv_pool_sequential", edit_layer(2, "lora_rank", 4), c("Conv1D", "lora_rank")),
    list("bidirectional_masked", function(config) {
      config$config$layers[[3]]$config$layer$config$time_major <- TRUE
      config
    }, c("GRU", "time_major")),
    list("conv_pool_sequential", function(config) {
      config$config$layers[[6]]$config$layer$class_name <- "LSTM"
      config
    }, "LSTM"),
    # Masks concatenated along the steps: no OR of masks, which rgru follows.
    list("merging_masked", function(config) {
      for (i in seq_along(config$config$layers)) {
        layer <- config$config$layers[[i]]
        if (identical(layer$module, "keras.src.ops.numpy") && layer$class_name == "Concatenate") {
          config$config$layers[[i]]$config$axis <- 1
        }
      }
      config
    }, c("g3", "mask")),
    list("merging_masked", function(config) {
      ops <- vapply(config$config$layers, function(l) l$class_name == "ZerosLike", TRUE)
      config$config$layers[[which(ops)[1]]]$class_name <- "Sqrt"
      config
    }, "Sqrt"),
    list("stacked_cells_masked", function(config) {
      config$config$layers[[3]]$config$cell$config$cells[[2]]$class_name <- "LSTMCell"
      config
    }, "LSTMCell")
  )
  for (case in refused) {
    err <- tryCatch(load_model(edited_archive(case[[1]], edit = case[[2]])), error = identity)
    expect_s3_class(err, "rgru_error_unsupported")
    for (word in case[[3]]) expect_match(conditionMessage(err), word, fixed = TRUE)
  }
})

test_that("Keras's legacy .h5 files of wrappers and merged masks load", {
  for (name in c("bidirectional_functional", "merging_masked")) {
    io <- keras_io(name)
    model <- load_model(keras_fixture(paste0(name, ".h5")))
    expect_lt(max_abs_diff(predict(model, io$inputs, verbose = 0), io$outputs), 1e-5)
  }
})
