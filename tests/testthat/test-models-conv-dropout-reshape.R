# Whole models built as real scripts build them, from the convolution, pooling,
# dropout and reshaping layers: forward passes against Keras with given weights,
# training and save/load round trips.

expect_model_matches_keras <- function(model, case) {
  set_weights(model, case[grep("^w[0-9]+$", names(case))])
  expect_equal(predict(model, case$x, verbose = 0), case$out, tolerance = keras_tolerance("float32"))
}

keras_model_cases <- function() keras_cases("model_")

test_that("a text classifier (embedding, dropout, conv_1d, pooling, GRU) matches Keras", {
  case <- keras_model_cases()$model_text_cnn_gru
  inputs <- keras_input(shape = 12)
  outputs <- inputs |>
    layer_embedding(20, 6) |>
    layer_dropout(0.3) |>
    layer_conv_1d(8, 3, padding = "causal", activation = "relu") |>
    layer_max_pooling_1d(2) |>
    layer_spatial_dropout_1d(0.2) |>
    layer_gru(5) |>
    layer_dense(1, activation = "sigmoid")
  expect_model_matches_keras(keras_model(inputs, outputs), case)
})

test_that("a masked average of embeddings matches Keras", {
  case <- keras_model_cases()$model_masked_average
  model <- keras_model_sequential(input_shape = 5) |>
    layer_embedding(10, 4, mask_zero = TRUE) |>
    layer_dropout(0.5) |>
    layer_global_average_pooling_1d() |>
    layer_dense(2, activation = "softmax")
  expect_model_matches_keras(model, case)
})

test_that("a strided, dilated, grouped conv model with global max pooling matches Keras", {
  case <- keras_model_cases()$model_conv_global_max
  model <- keras_model_sequential(input_shape = c(10, 3)) |>
    layer_conv_1d(6, 4, strides = 2, padding = "same", activation = "tanh") |>
    layer_conv_1d(4, 2, dilation_rate = 2, groups = 2) |>
    layer_global_max_pooling_1d() |>
    layer_activation("relu") |>
    layer_dense(2)
  expect_model_matches_keras(model, case)
})

test_that("a GRU encoder-decoder with repeat_vector, reshape and flatten matches Keras", {
  case <- keras_model_cases()$model_seq2seq_reshape
  model <- keras_model_sequential(input_shape = c(6, 3)) |>
    layer_gru(4) |>
    layer_repeat_vector(5) |>
    layer_gru(4, return_sequences = TRUE) |>
    layer_reshape(c(10, 2)) |>
    layer_flatten() |>
    layer_dense(3)
  expect_model_matches_keras(model, case)
})

test_that("the models train with exact gradients through every layer (finite differences)", {
  model <- keras_model_sequential(input_shape = c(8, 3)) |>
    layer_conv_1d(4, 3, padding = "same", activation = "tanh", dtype = "float64") |>
    layer_max_pooling_1d(2, padding = "same") |>
    layer_spatial_dropout_1d(0.3, seed = 1) |>
    layer_conv_1d(4, 2, groups = 2, padding = "causal", dilation_rate = 2, dtype = "float64") |>
    layer_global_average_pooling_1d(keepdims = TRUE) |>
    layer_flatten() |>
    layer_repeat_vector(2) |>
    layer_reshape(c(4, 2)) |>
    layer_activation("softplus") |>
    layer_dropout(0.2, seed = 2) |>
    layer_dense(2, dtype = "float64")
  m <- obj(model)
  dropouts <- Filter(function(l) inherits(l, "RgruDropoutLayer"), m$layer_objects)
  run <- function(x) {
    for (d in dropouts) d$seed_draws <- 0L
    m$forward(x, training = TRUE)
  }
  expect_backward_matches_fd(m, fixed_array(c(2, 8, 3)), run = run)
})

test_that("scripts' CNN + GRU models train two epochs, lose loss, and save/load exactly", {
  set.seed(1)
  tokens <- matrix(sample(1:49, 64 * 20, replace = TRUE), 64, 20)
  tokens[1:32, 15:20] <- 0
  labels <- matrix(as.numeric(rowMeans(tokens) > 20), ncol = 1)
  # IMDB-style (Deep Learning with R, chapter 11): embedding, conv, pooling, GRU
  inputs <- keras_input(shape = 20)
  outputs <- inputs |>
    layer_embedding(input_dim = 50, output_dim = 8) |>
    layer_conv_1d(filters = 16, kernel_size = 5, activation = "relu") |>
    layer_max_pooling_1d(pool_size = 2) |>
    layer_dropout(0.2) |>
    layer_gru(units = 8, dropout = 0.1) |>
    layer_dense(1, activation = "sigmoid")
  text_model <- keras_model(inputs, outputs)

  # weather-style (chapter 10): stacked GRU with dropout, then a dense head
  series <- array(stats::rnorm(64 * 12 * 3), c(64, 12, 3))
  target <- matrix(series[, 12, 1] + series[, 11, 2], ncol = 1)
  series_model <- keras_model_sequential(input_shape = c(12, 3)) |>
    layer_conv_1d(8, 3, padding = "causal", activation = "relu") |>
    layer_spatial_dropout_1d(0.1) |>
    layer_gru(16, return_sequences = TRUE) |>
    layer_dropout(0.2) |>
    layer_gru(8) |>
    layer_dense(1)

  for (setup in list(list(text_model, tokens, labels, "binary_crossentropy"),
                     list(series_model, series, target, "mse"))) {
    model <- setup[[1]]
    model |> compile(optimizer = optimizer_adam(0.01), loss = setup[[4]])
    history <- fit(model, setup[[2]], setup[[3]], epochs = 2, batch_size = 16, verbose = 0)
    expect_lt(history$metrics$loss[2], history$metrics$loss[1])
    path <- withr::local_tempfile(fileext = ".rds")
    save_model(model, path)
    restored <- load_model(path)
    expect_identical(predict(restored, setup[[2]], verbose = 0),
                     predict(model, setup[[2]], verbose = 0))
  }
})
