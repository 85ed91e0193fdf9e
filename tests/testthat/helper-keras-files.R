# Model files written by real Keras (tools/keras-fixtures/saving.py, and the
# project's shared ../shared/keras-files copied to fixtures/keras-shared),
# with the inputs and Keras's outputs they were saved with.

keras_fixture <- function(name, dir = "keras") {
  test_path("fixtures", dir, name)
}

# A JSON array of arrays (row-major, as NumPy writes them) as an R array.
json_to_array <- function(x) {
  dims <- integer()
  y <- x
  while (is.list(y)) {
    dims <- c(dims, length(y))
    y <- y[[1]]
  }
  values <- as.numeric(unlist(x))
  if (length(dims) <= 1) return(values)
  aperm(array(values, rev(dims)))
}

# list(inputs, outputs, ...) of a fixture model: arrays, or lists of arrays
# for several inputs/outputs.
keras_io <- function(name) {
  io <- jsonlite::fromJSON(keras_fixture(paste0(name, ".json")), simplifyVector = FALSE)
  as_arrays <- function(x, multi) if (isTRUE(multi)) lapply(x, json_to_array) else json_to_array(x)
  io$inputs <- as_arrays(io$inputs, io$multi_input)
  io$outputs <- as_arrays(io$outputs, io$multi_output)
  if (!is.null(io$second_inputs)) {
    io$second_inputs <- json_to_array(io$second_inputs)
    io$second_outputs <- json_to_array(io$second_outputs)
  }
  io
}

# A copy of the fixture archive NAME.keras with its config.json edited by
# `edit`, members replaced or dropped.
edited_archive <- function(name = "gru_sequential", edit = identity, members = list(), drop = NULL) {
  parts <- rgru:::zip_read(keras_fixture(paste0(name, ".keras")))
  config <- jsonlite::fromJSON(rawToChar(parts[["config.json"]]), simplifyVector = FALSE)
  parts[["config.json"]] <- charToRaw(rgru:::write_json_text(edit(config)))
  for (m in names(members)) parts[[m]] <- members[[m]]
  parts[drop] <- NULL
  path <- withr::local_tempfile(fileext = ".keras", .local_envir = parent.frame())
  rgru:::zip_write(path, parts)
  path
}

edit_layer <- function(index, key, value) {
  function(config) {
    config$config$layers[[index]]$config[key] <- list(value)
    config
  }
}

# The groups of an HDF5 weights file that hold variables ("vars"), as paths
# without "/vars" ("" for the model's own).
h5_vars_groups <- function(path) {
  h5 <- hdf5r::H5File$new(path, "r")
  withr::defer(h5$close_all())
  listing <- h5$ls(recursive = TRUE)
  groups <- listing$name[listing$obj_type == "H5I_GROUP" & grepl("(^|/)vars$", listing$name)]
  sub("/?vars$", "", groups)
}

# The model.weights.h5 of the fixture archive NAME.keras, as a file.
archive_weights <- function(name, dir = "keras", .local_envir = parent.frame()) {
  path <- withr::local_tempfile(fileext = ".h5", .local_envir = .local_envir)
  bytes <- rgru:::zip_read(keras_fixture(paste0(name, ".keras"), dir), "model.weights.h5")[[1]]
  writeBin(bytes, path)
  path
}

shared_io <- function(name) {
  io <- jsonlite::fromJSON(keras_fixture(paste0(name, ".io.json"), "keras-shared"),
                           simplifyVector = FALSE)
  list(inputs = json_to_array(io$inputs), outputs = json_to_array(io$outputs))
}

# Largest absolute difference between two arrays or two lists of arrays.
max_abs_diff <- function(a, b) {
  if (is.list(a)) return(max(mapply(max_abs_diff, a, b)))
  stopifnot(identical(as.integer(dim(a) %||% length(a)), as.integer(dim(b) %||% length(b))))
  max(abs(a - b))
}

# The models rgru can write in Keras's format, one per layer type and option
# that changes the config or the weights (used by the round-trip tests).
roundtrip_builders <- list(
  gru_default = function() {
    keras_model_sequential(input_shape = c(6, 5)) |>
      layer_gru(4, return_sequences = TRUE) |> layer_gru(3) |> layer_dense(2)
  },
  gru_reset_before = function() {
    keras_model_sequential(input_shape = c(6, 5)) |>
      layer_gru(4, reset_after = FALSE, return_sequences = TRUE) |>
      layer_gru(3, reset_after = FALSE) |> layer_dense(2)
  },
  gru_no_bias = function() {
    keras_model_sequential(input_shape = c(6, 5)) |>
      layer_gru(4, use_bias = FALSE, return_sequences = TRUE) |>
      layer_gru(3, use_bias = FALSE, reset_after = FALSE) |> layer_dense(2, use_bias = FALSE)
  },
  gru_backwards = function() {
    keras_model_sequential(input_shape = c(6, 5)) |>
      layer_gru(4, go_backwards = TRUE, return_sequences = TRUE) |>
      layer_gru(3, go_backwards = TRUE) |> layer_dense(2, activation = "softmax")
  },
  gru_stateful = function() {
    keras_model_sequential(input_shape = c(6, 5), input_batch_size = 3) |>
      layer_gru(4, stateful = TRUE, return_sequences = TRUE) |> layer_gru(3, stateful = TRUE) |>
      layer_dense(2)
  },
  gru_options = function() {
    keras_model_sequential(input_shape = c(6, 5)) |>
      layer_gru(4, activation = "relu", recurrent_activation = "hard_sigmoid", dropout = 0.2,
                recurrent_dropout = 0.1, seed = 3, return_sequences = TRUE,
                kernel_initializer = initializer_he_normal(seed = 1),
                bias_initializer = "ones", kernel_regularizer = regularizer_l2(0.01),
                recurrent_regularizer = regularizer_l1_l2(0.001, 0.002),
                kernel_constraint = constraint_maxnorm(2, axis = 1),
                bias_constraint = constraint_nonneg()) |>
      layer_gru(3, activation = "elu", unroll = TRUE, trainable = FALSE) |>
      layer_dense(2, activation = "tanh", kernel_constraint = constraint_unitnorm(axis = 1))
  },
  rnn_gru_cell = function() {
    inputs <- keras_input(c(6, 5), name = "sequence")
    hidden <- inputs |>
      layer_rnn(cell = rnn_cell_gru(4), return_sequences = TRUE) |>
      layer_rnn(cell = rnn_cell_gru(3, reset_after = FALSE), go_backwards = TRUE)
    keras_model(inputs, layer_dense(hidden, 2), name = "rnn_cells")
  },
  embedding = function() {
    keras_model_sequential(input_shape = 6) |>
      layer_embedding(10, 5, mask_zero = TRUE) |> layer_gru(4) |> layer_dense(2)
  },
  embedding_functional = function() {
    tokens <- keras_input(6, name = "tokens")
    embedded <- layer_embedding(tokens, 10, 5, mask_zero = TRUE)
    keras_model(
      tokens, embedded |> layer_gru(4, return_sequences = TRUE) |> layer_gru(3) |> layer_dense(2)
    )
  },
  masking_functional = function() {
    masked <- keras_input(c(6, 5), name = "padded")
    keras_model(
      masked, masked |> layer_masking(0) |> layer_gru(4, return_sequences = TRUE) |>
        layer_gru(3) |> layer_dense(2)
    )
  },
  functional_multi = function() {
    sequence <- keras_input(c(6, 5), name = "seq")
    context <- keras_input(2, name = "ctx")
    h0 <- layer_dense(context, 4, activation = "tanh", name = "init_state")
    encoder <- layer_gru(units = 4, return_sequences = TRUE, return_state = TRUE, name = "encoder")
    c(whole, state) %<-% encoder(sequence, initial_state = h0)
    shared <- layer_dense(units = 3, name = "shared")
    keras_model(
      list(sequence, context),
      list(shared(state), shared(layer_gru(whole, 4, name = "summary")), layer_dense(whole, 2))
    )
  },
  bidirectional = function() {
    keras_model_sequential(input_shape = c(6, 5)) |> layer_masking(0) |>
      layer_bidirectional(layer_gru(units = 4, return_sequences = TRUE)) |>
      layer_bidirectional(layer_gru(units = 3), merge_mode = "ave",
                          backward_layer = layer_gru(units = 3, go_backwards = TRUE,
                                                     reset_after = FALSE)) |>
      layer_dense(2)
  },
  wrappers_masked = function() {
    padded <- keras_input(c(6, 5), name = "padded")
    hidden <- padded |> layer_masking(0) |>
      layer_bidirectional(layer_gru(units = 4, return_sequences = TRUE), merge_mode = "mul") |>
      layer_time_distributed(layer_dense(units = 3, activation = "tanh")) |>
      layer_rnn(rnn_cells_stack(list(rnn_cell_gru(3), rnn_cell_gru(2, reset_after = FALSE))))
    keras_model(padded, layer_dense(hidden, 2))
  },
  conv_pool = function() {
    keras_model_sequential(input_shape = c(6, 5)) |>
      layer_conv_1d(6, 3, padding = "causal", dilation_rate = 2, activation = "relu") |>
      layer_dropout(0.3, noise_shape = c(NA, 1, 6), seed = 2) |> layer_spatial_dropout_1d(0.2) |>
      layer_max_pooling_1d(2, strides = 1, padding = "same") |>
      layer_time_distributed(layer_dense(units = 4)) |> layer_activation("sigmoid") |>
      layer_conv_1d(4, 2, strides = 2, groups = 2, use_bias = FALSE) |>
      layer_global_max_pooling_1d(keepdims = TRUE) |> layer_flatten() |> layer_repeat_vector(2) |>
      layer_reshape(c(4, -1)) |> layer_global_average_pooling_1d() |> layer_dense(2)
  },
  merging = function() {
    sequence <- keras_input(c(6, 5), name = "sequence")
    extra <- keras_input(c(6, 3), name = "extra")
    encoded <- layer_gru(sequence, 4, return_sequences = TRUE)
    joined <- layer_concatenate(list(encoded, extra)) |> layer_gru(4, return_sequences = TRUE)
    # R's axis 2 is Keras's axis 1: the steps.
    steps <- layer_concatenate(list(layer_add(list(encoded, joined)), encoded), axis = 2)
    keras_model(list(sequence, extra), steps |> layer_global_average_pooling_1d() |> layer_dense(2))
  },
  merging_masked = function() {
    padded <- keras_input(c(6, 5), name = "padded")
    extra <- keras_input(c(6, 3), name = "extra")
    masked <- layer_masking(padded, 0)
    forward <- layer_gru(masked, 4, return_sequences = TRUE)
    backward <- layer_gru(masked, 4, return_sequences = TRUE, go_backwards = TRUE)
    merged <- layer_concatenate(list(layer_add(list(forward, backward)), forward, extra))
    keras_model(list(padded, extra), merged |> layer_gru(3) |> layer_dense(2))
  },
  float64 = function() {
    keras_model_sequential(input_shape = c(6, 5), input_dtype = "float64") |>
      layer_gru(4, return_sequences = TRUE, dtype = "float64") |>
      layer_gru(3, reset_after = FALSE, dtype = "float64") |> layer_dense(2, dtype = "float64")
  }
)

roundtrip_models <- function(seed = 42, only = names(roundtrip_builders)) {
  set.seed(seed)
  lapply(roundtrip_builders[only], function(build) build())
}

roundtrip_inputs <- function(name) {
  set.seed(7)
  if (startsWith(name, "embedding")) {
    tokens <- matrix(sample(1:9, 18, TRUE), 3)
    tokens[2, 5:6] <- 0
    tokens[3, 3:6] <- 0
    return(tokens)
  }
  x <- array(rnorm(3 * 6 * 5), c(3, 6, 5))
  if (name %in% c("masking_functional", "bidirectional", "wrappers_masked", "merging_masked")) {
    x[2, 5:6, ] <- 0
    x[3, 3, ] <- 0
  }
  if (name == "functional_multi") return(list(x, matrix(rnorm(6), 3)))
  if (startsWith(name, "merging")) return(list(x, array(rnorm(3 * 6 * 3), c(3, 6, 3))))
  x
}

# Where real Keras runs here (../shared/keras-oracle): the folder holding
# env.sh, or NULL when Keras is not set up on this machine.
keras_oracle_dir <- function() {
  dir <- Sys.getenv("RGRU_KERAS_ORACLE", "")
  if (!nzchar(dir)) dir <- file.path(dirname(normalizePath(test_path("..", ".."), mustWork = FALSE)),
                                     "..", "shared", "keras-oracle")
  candidates <- unique(c(dir, "/work/shared/keras-oracle"))
  home <- Sys.getenv("KERAS_ORACLE_HOME", "/tmp/keras-oracle")
  for (d in candidates) {
    if (file.exists(file.path(d, "env.sh")) && dir.exists(file.path(home, "keras-src"))) {
      return(normalizePath(d))
    }
  }
  NULL
}
