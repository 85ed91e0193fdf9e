# Whole models mixing the RNN wrappers (layer_bidirectional(), layer_time_distributed(),
# rnn_cells_stack()) with the script layers, against real Keras 3.15.1 with the same
# weights (tools/keras-fixtures/combined_models.py): outputs, every layer's output
# shape, parameter count and whether its output carries a mask.

combined_fixture <- function(dtype, model_name) {
  arrays <- read_engine_fixture(paste0("keras-combined-models-", dtype))
  prefix <- paste0(model_name, ".")
  part <- arrays[startsWith(names(arrays), prefix)]
  names(part) <- substring(names(part), nchar(prefix) + 1L)
  part
}

keras_layer_names <- function(case) sub("^params\\.", "", grep("^params\\.", names(case), value = TRUE))

set_keras_weights <- function(model, case) {
  for (layer in model$layers) {
    weights <- case[grep(paste0("^w\\.", layer$name, "\\.[0-9]+$"), names(case))]
    if (length(weights) == 0) next
    weights <- weights[order(as.integer(sub(".*\\.", "", names(weights))))]
    set_weights(layer, unname(weights))
  }
}

# Checks shapes, masks and parameter counts layer by layer; `tensors` are the
# symbolic outputs of the model's layers, named as the layers.
expect_layers_match_keras <- function(model, tensors, case) {
  layer_names <- vapply(model$layers, function(layer) layer$name, "")
  expect_setequal(c(layer_names, "model"), keras_layer_names(case))
  for (layer in model$layers) {
    name <- layer$name
    expect_equal(layer$count_params(), case[[paste0("params.", name)]], label = paste("params of", name))
    shape <- tensors[[name]]$shape
    expect_equal(ifelse(is.na(shape), -1, shape), case[[paste0("shape.", name)]],
                 label = paste("output shape of", name))
    expect_identical(tensors[[name]]$has_mask, case[[paste0("masked.", name)]] == 1,
                     label = paste("whether the output of", name, "carries a mask"))
  }
  expect_equal(model$count_params(), case$params.model)
}

# The symbolic output of each layer of a sequential model, from `input` on.
sequential_tensors <- function(model, input) {
  tensors <- list()
  for (layer in model$layers) {
    input <- layer(input)
    tensors[[layer$name]] <- input
  }
  tensors
}

expect_outputs_match_keras <- function(outputs, case, dtype) {
  outputs <- if (is.list(outputs)) outputs else list(outputs)
  want <- case[grep("^out\\.[0-9]+$", names(case))]
  expect_length(outputs, length(want))
  for (i in seq_along(want)) {
    expect_equal(dim(outputs[[i]]), dim(want[[i]]))
    expect_lte(max_relative_error(outputs[[i]], want[[i]]), keras_tolerance(dtype),
               label = sprintf("relative error of output %d (%s)", i, dtype))
  }
}

test_that("an imdb-style conv + bidirectional GRU classifier matches Keras", {
  for (dtype in c("float32", "float64")) {
    case <- combined_fixture(dtype, "imdb")
    model <- keras_model_sequential(input_shape = 12, name = "imdb") |>
      layer_embedding(20, 6, dtype = dtype, name = "embedding") |>
      layer_dropout(0.25, dtype = dtype, name = "dropout") |>
      layer_conv_1d(5, 3, padding = "valid", activation = "relu", strides = 1, dtype = dtype,
                    name = "conv1d") |>
      layer_max_pooling_1d(2, dtype = dtype, name = "max_pooling1d") |>
      layer_bidirectional(layer_gru(units = 4, dtype = dtype), dtype = dtype,
                          name = "bidirectional") |>
      layer_dense(1, dtype = dtype, name = "dense") |>
      layer_activation("sigmoid", dtype = dtype, name = "activation")
    set_keras_weights(model, case)
    tensors <- sequential_tensors(model, keras_input(shape = 12, dtype = "int32"))
    expect_layers_match_keras(model, tensors, case)
    expect_outputs_match_keras(predict(model, case$x, verbose = 0), case, dtype)
  }
})

# Right-padded, left-padded, with holes and full rows of tokens feed three heads:
# a masked encoder-decoder, a stacked bidirectional RNN over a concatenation with
# an unmasked embedding (any() of the masks keeps every step) and a masked average.
masked_combined_model <- function(dtype) {
  tokens <- keras_input(shape = list(NULL), dtype = "int32", name = "tokens")
  embedded <- tokens |> layer_embedding(10, 4, mask_zero = TRUE, dtype = dtype, name = "emb")
  dropped <- embedded |> layer_dropout(0.5, dtype = dtype, name = "drop")
  both <- dropped |>
    layer_bidirectional(layer_gru(units = 3, return_sequences = TRUE, dtype = dtype),
                        dtype = dtype, name = "bi")
  per_step <- both |>
    layer_time_distributed(layer_dense(units = 4, activation = "tanh", dtype = dtype),
                           dtype = dtype, name = "td")
  tags <- tokens |> layer_embedding(10, 2, mask_zero = TRUE, dtype = dtype, name = "emb_b")
  joined <- layer_concatenate(list(per_step, tags), dtype = dtype, name = "cat")
  encoded <- joined |> layer_gru(5, dtype = dtype, name = "encoder")
  repeated <- encoded |> layer_repeat_vector(3, dtype = dtype, name = "repeat")
  decoded <- repeated |> layer_gru(5, return_sequences = TRUE, dtype = dtype, name = "decoder")
  decoder_out <- decoded |>
    layer_time_distributed(layer_dense(units = 6, activation = "softmax", dtype = dtype),
                           dtype = dtype, name = "out")
  plain <- tokens |> layer_embedding(10, 3, dtype = dtype, name = "emb_c")
  unmasked <- layer_concatenate(list(both, plain), dtype = dtype, name = "cat_all")
  stack <- layer_rnn(cell = rnn_cells_stack(list(rnn_cell_gru(3, dtype = dtype),
                                                 rnn_cell_gru(2, dtype = dtype))),
                     dtype = dtype)
  stacked_out <- unmasked |>
    layer_bidirectional(stack, merge_mode = "sum", dtype = dtype, name = "bi_stack")
  pooled <- both |> layer_global_average_pooling_1d(dtype = dtype, name = "pool")
  list(
    model = keras_model(tokens, list(decoder_out, stacked_out, pooled), name = "masked"),
    tensors = list(tokens = tokens, emb = embedded, drop = dropped, bi = both, td = per_step,
                   emb_b = tags, cat = joined, encoder = encoded, `repeat` = repeated,
                   decoder = decoded, out = decoder_out, emb_c = plain, cat_all = unmasked,
                   bi_stack = stacked_out, pool = pooled)
  )
}

test_that("masks flow through embedding, dropout, bidirectional, time_distributed, concatenate and pooling as in Keras", {
  for (dtype in c("float32", "float64")) {
    case <- combined_fixture(dtype, "masked")
    built <- masked_combined_model(dtype)
    set_keras_weights(built$model, case)
    expect_layers_match_keras(built$model, built$tensors, case)
    tokens <- case$x
    storage.mode(tokens) <- "integer"
    expect_outputs_match_keras(predict(built$model, tokens, verbose = 0), case, dtype)
  }
})

test_that("the masked heads of the combined model skip padding, the unmasked head doesn't", {
  case <- combined_fixture("float64", "masked")
  model <- masked_combined_model("float64")$model
  set_keras_weights(model, case)
  padded <- matrix(c(3L, 1L, 4L, 1L, 5L, 0L, 0L), 1)
  out <- predict(model, padded, verbose = 0)
  trimmed <- predict(model, padded[, 1:5, drop = FALSE], verbose = 0)
  expect_equal(out[[1]], trimmed[[1]], tolerance = 1e-12)
  expect_equal(out[[3]], trimmed[[3]], tolerance = 1e-12)
  expect_gt(max(abs(out[[2]] - trimmed[[2]])), 1e-6)
  expect_equal(out[[3]], case$out.3[1, , drop = FALSE], tolerance = 1e-10)
})

test_that("Masking then an embedding without mask_zero drops the mask, with Keras's warning", {
  for (dtype in c("float32", "float64")) {
    case <- combined_fixture(dtype, "masking_embedding")
    model <- keras_model_sequential(input_shape = list(NULL), name = "masking_embedding") |>
      layer_masking(0, dtype = dtype, name = "masking") |>
      layer_embedding(10, 3, dtype = dtype, name = "embedding") |>
      layer_gru(2, dtype = dtype, name = "gru")
    set_keras_weights(model, case)
    # Keras warns when the sequential model is built from its input; rgru's
    # sequential models propagate masks only when called, so the warning comes
    # with the first call.
    expect_warning(
      tensors <- sequential_tensors(model, keras_input(shape = list(NULL), dtype = dtype)),
      class = "rgru_warning_mask"
    )
    expect_layers_match_keras(model, tensors, case)
    expect_no_warning(out <- predict(model, case$x, verbose = 0))
    expect_outputs_match_keras(out, case, dtype)
  }

  inputs <- keras_input(shape = 7)
  masked <- inputs |> layer_masking()
  expect_true(masked$has_mask)
  expect_warning(embedded <- masked |> layer_embedding(10, 3), class = "rgru_warning_mask")
  expect_false(embedded$has_mask)
  expect_false((embedded |> layer_gru(2))$has_mask)
})
