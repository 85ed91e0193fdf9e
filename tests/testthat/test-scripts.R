# Small versions of real keras3 GRU scripts, run with only `library(keras3)`
# changed to `library(rgru)` and downloads replaced by random data of the same
# shape (but fewer samples and steps). Each trains two epochs, checks the loss
# went down, and that save_model()/load_model() round-trips predictions exactly.

expect_trains_and_round_trips <- function(model, history, x) {
  loss <- history$metrics$loss
  expect_length(loss, 2)
  expect_lt(loss[2], loss[1])
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  restored <- load_model(path)
  expect_identical(predict(restored, x, verbose = 0), predict(model, x, verbose = 0))
  expect_identical(get_weights(restored), get_weights(model))
}

test_that("Deep Learning with R 2e, ch. 10: a GRU and stacked GRUs on a weather series", {
  set_random_seed(10)
  sequence_length <- 12
  ncol_input_data <- 14
  n <- 96
  series <- apply(array(rnorm((n + sequence_length) * ncol_input_data),
                        c(n + sequence_length, ncol_input_data)), 2, cumsum) / 10
  x <- array(0, c(n, sequence_length, ncol_input_data))
  for (i in seq_len(n)) x[i, , ] <- series[i:(i + sequence_length - 1), ]
  y <- series[seq_len(n) + sequence_length, 2]

  inputs <- layer_input(shape = c(sequence_length, ncol_input_data))
  outputs <- inputs %>% layer_gru(16) %>% layer_dense(1)
  model <- keras_model(inputs, outputs)
  model %>% compile(optimizer = "rmsprop", loss = "mse", metrics = "mae")
  history <- model %>% fit(x, y, epochs = 2, batch_size = 16, validation_split = 0.25,
                           verbose = 0)
  expect_named(history$metrics, c("loss", "mae", "val_loss", "val_mae"))
  expect_trains_and_round_trips(model, history, x)

  # stacked, with the GRU's own recurrent dropout (layer_dropout() comes with
  # the other layers of issue 16)
  inputs <- layer_input(shape = c(sequence_length, ncol_input_data))
  x_out <- inputs %>%
    layer_gru(32, recurrent_dropout = 0.5, return_sequences = TRUE) %>%
    layer_gru(32, recurrent_dropout = 0.5)
  outputs <- x_out %>% layer_dense(1)
  model <- keras_model(inputs, outputs)
  model %>% compile(optimizer = "rmsprop", loss = "mse", metrics = "mae")
  history <- model %>% fit(x, y, epochs = 2, batch_size = 16, verbose = 0, )
  expect_trains_and_round_trips(model, history, x)
  expect_equal(evaluate(model, x, y, verbose = 0)$loss,
               mean((predict(model, x, verbose = 0) - y)^2), tolerance = 1e-6)
})

test_that("an IMDB-style classifier: pad_sequences(), integer tokens, embedding + GRU", {
  set_random_seed(11)
  max_features <- 200
  maxlen <- 20
  n <- 80
  lengths <- sample(5:40, n, replace = TRUE)
  y_train <- rbinom(n, 1, 0.5)
  # positive reviews use the upper half of the vocabulary more often
  x_train <- lapply(seq_len(n), function(i) {
    sample(if (y_train[i] == 1) 100:199 else 1:120, lengths[i], replace = TRUE)
  })
  x_train <- pad_sequences(x_train, maxlen = maxlen)
  expect_type(x_train, "integer")

  # keras 2's sequential classifier
  model <- keras_model_sequential() %>%
    layer_embedding(input_dim = max_features, output_dim = 16) %>%
    layer_gru(units = 16) %>%
    layer_dense(units = 1, activation = "sigmoid")
  model %>% compile(optimizer = "rmsprop", loss = "binary_crossentropy", metrics = c("acc"))
  history <- model %>% fit(x_train, y_train, epochs = 2, batch_size = 16,
                           validation_split = 0.2, verbose = 0)
  expect_named(history$metrics, c("loss", "acc", "val_loss", "val_acc"))
  expect_trains_and_round_trips(model, history, x_train)

  # Deep Learning with R 2e, ch. 11: variable-length int64 inputs, masked padding
  inputs <- layer_input(shape(NA), dtype = "int64")
  embedded <- inputs %>% layer_embedding(input_dim = max_features, output_dim = 16,
                                         mask_zero = TRUE)
  x <- embedded %>% layer_gru(16)
  outputs <- x %>% layer_dense(1, activation = "sigmoid")
  model <- keras_model(inputs, outputs)
  model %>% compile(optimizer = "rmsprop", loss = "binary_crossentropy",
                    metrics = "accuracy")
  history <- model %>% fit(x_train, y_train, epochs = 2, batch_size = 16, verbose = 0)
  expect_trains_and_round_trips(model, history, x_train)
  # padding is masked: more leading zeros change nothing
  longer <- cbind(matrix(0L, n, 5), x_train)
  expect_equal(predict(model, longer, verbose = 0), predict(model, x_train, verbose = 0),
               tolerance = 1e-6)
})

test_that("a multi-input forecaster: a series and calendar features joined by concatenate", {
  set_random_seed(12)
  n <- 64
  series_data <- array(rnorm(n * 24 * 3), c(n, 24, 3))
  calendar_data <- matrix(rnorm(n * 5), n)
  target <- rowMeans(series_data[, 20:24, 1]) + calendar_data[, 1] / 2

  series <- layer_input(shape = c(24, 3), name = "series")
  calendar <- layer_input(shape = c(5), name = "calendar")
  encoded <- series %>% layer_gru(16)
  merged <- layer_concatenate(list(encoded, calendar))
  output <- merged %>% layer_dense(8, activation = "relu") %>% layer_dense(1)
  model <- keras_model(list(series, calendar), output)
  model %>% compile(optimizer = optimizer_adam(0.01), loss = "mse", metrics = "mae")
  x <- list(series_data, calendar_data)
  history <- model %>% fit(x, target, epochs = 2, batch_size = 16, verbose = 0)
  expect_trains_and_round_trips(model, history, x)

  # two series summed before the head (a residual-style join)
  weather <- layer_input(shape = c(24, 2), name = "weather")
  joined <- layer_add(series %>% layer_gru(8), weather %>% layer_gru(8))
  output <- joined %>% layer_dense(1)
  model <- keras_model(list(series, weather), output)
  model %>% compile(optimizer = optimizer_adam(0.01), loss = "mse")
  x <- list(series_data, array(rnorm(n * 24 * 2), c(n, 24, 2)))
  history <- model %>% fit(x, target, epochs = 2, batch_size = 16, verbose = 0)
  expect_trains_and_round_trips(model, history, x)
})

test_that("a character-level GRU seq2seq (keras3's lstm_seq2seq example with GRUs)", {
  set_random_seed(13)
  num_samples <- 48
  num_encoder_tokens <- 6
  num_decoder_tokens <- 5
  max_encoder_seq_length <- 7
  max_decoder_seq_length <- 6
  latent_dim <- 16
  one_hot <- function(ids, k) {
    out <- array(0, c(dim(ids), k))
    for (i in seq_len(nrow(ids))) for (t in seq_len(ncol(ids))) out[i, t, ids[i, t]] <- 1
    out
  }
  enc_ids <- matrix(sample.int(num_encoder_tokens, num_samples * max_encoder_seq_length, TRUE),
                    num_samples)
  dec_ids <- (enc_ids[, seq_len(max_decoder_seq_length)] %% num_decoder_tokens) + 1
  encoder_input_data <- one_hot(enc_ids, num_encoder_tokens)
  decoder_target_data <- one_hot(dec_ids, num_decoder_tokens)
  decoder_input_data <- array(0, dim(decoder_target_data))
  decoder_input_data[, -1, ] <- decoder_target_data[, -max_decoder_seq_length, ]

  encoder_inputs <- layer_input(shape = c(NA, num_encoder_tokens))
  encoder <- layer_gru(units = latent_dim, return_state = TRUE)
  c(., state_h) %<-% encoder(encoder_inputs)
  decoder_inputs <- layer_input(shape = c(NA, num_decoder_tokens))
  decoder_gru <- layer_gru(units = latent_dim, return_sequences = TRUE, return_state = TRUE)
  c(decoder_outputs, .) %<-% decoder_gru(decoder_inputs, initial_state = state_h)
  decoder_dense <- layer_dense(units = num_decoder_tokens, activation = "softmax")
  decoder_outputs <- decoder_dense(decoder_outputs)
  model <- keras_model(inputs = list(encoder_inputs, decoder_inputs),
                       outputs = decoder_outputs)
  model %>% compile(optimizer = "rmsprop", loss = "categorical_crossentropy",
                    metrics = "accuracy")
  x <- list(encoder_input_data, decoder_input_data)
  history <- model %>% fit(x, decoder_target_data, batch_size = 16, epochs = 2,
                           validation_split = 0.2, verbose = 0)
  expect_trains_and_round_trips(model, history, x)
})

test_that("scripts' printed output: summary, history and progress lines", {
  local_reproducible_output(unicode = FALSE)
  set_random_seed(14)
  x <- array(runif(32 * 5 * 2), c(32, 5, 2))
  y <- rowSums(x[, , 1])
  model <- keras_model_sequential(input_shape = c(5, 2), name = "script") %>%
    layer_gru(4, name = "gru") %>%
    layer_dense(1, name = "dense")
  model %>% compile(optimizer = "adam", loss = "mse", metrics = "mae")
  expect_snapshot({
    summary(model)
    history <- model %>% fit(x, y, epochs = 2, batch_size = 16, verbose = 2)
    results <- model %>% evaluate(x, y, verbose = 2)
    predictions <- model %>% predict(x[1:2, , , drop = FALSE], verbose = 2)
  }, transform = function(lines) gsub("[0-9]+\\.[0-9]{4}", "<value>", mask_timings(lines)))
})

test_that("old argument names keras3 itself rejects stay classed errors", {
  # keras3's optimizer_rmsprop() passes `lr` on to Keras 3, which rejects it
  expect_error(optimizer_rmsprop(lr = 0.01), class = "rgru_error_argument")
  expect_error(optimizer_adam(lr = 0.01), class = "rgru_error_argument")
  expect_s3_class(optimizer_rmsprop(learning_rate = 0.01), "RgruOptimizer")
})
