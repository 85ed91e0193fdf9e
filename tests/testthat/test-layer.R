# What every layer has: `$losses` (Keras's layer.losses, the penalties of the
# regularized trainable weights) and `$compute_mask(inputs, mask)`.

test_that("$losses lists the penalty of each regularized trainable weight, at its current value", {
  gru <- layer_gru(units = 2, kernel_regularizer = regularizer_l2(0.1),
                   bias_regularizer = regularizer_l1(0.01))
  expect_identical(gru$losses, list())
  invisible(gru(fixed_array(c(2, 3, 4))))
  w <- get_weights(gru)
  expect_equal(gru$losses, list(0.1 * sum(w[[1]]^2), 0.01 * sum(abs(w[[3]]))))
  w[[1]][] <- 1
  set_weights(gru, w)
  expect_equal(gru$losses[[1]], 0.1 * length(w[[1]]))
  dense <- layer_dense(units = 3, kernel_regularizer = regularizer_l1_l2(0.1, 0.2))
  invisible(dense(fixed_array(c(2, 2))))
  k <- get_weights(dense)[[1]]
  expect_equal(dense$losses, list(0.1 * sum(abs(k)) + 0.2 * sum(k^2)))
  # a model collects its layers'; frozen weights add none, as in Keras
  model <- keras_model_sequential(input_shape = c(3, 4)) |> gru() |> dense()
  expect_length(model$losses, 3L)
  dense$trainable <- FALSE
  expect_length(model$losses, 2L)
  expect_identical(layer_gru(units = 2)$losses, list())
})

test_that("$compute_mask() gives the mask each layer hands on", {
  x <- fixed_array(c(3, 4, 2))
  x[2, 3:4, ] <- 0
  kept <- rbind(rep(TRUE, 4), c(TRUE, TRUE, FALSE, FALSE), rep(TRUE, 4))
  expect_identical(layer_masking(mask_value = 0)$compute_mask(x), kept)
  mask <- matrix(c(TRUE, FALSE), 3, 4)
  expect_identical(layer_gru(units = 2, return_sequences = TRUE)$compute_mask(x, mask), mask)
  expect_null(layer_gru(units = 2)$compute_mask(x, mask))
  expect_identical(layer_gru(units = 2, return_state = TRUE, return_sequences = TRUE)$compute_mask(x, mask),
                   list(mask, NULL))
  expect_identical(layer_dense(units = 2)$compute_mask(x, mask), mask)
  expect_null(layer_dense(units = 2)$compute_mask(x))
  tokens <- matrix(c(1, 2, 0, 3, 0, 0), 2)
  embedding <- layer_embedding(input_dim = 4, output_dim = 2, mask_zero = TRUE)
  expect_identical(embedding$compute_mask(tokens), tokens != 0)
  # models: their last layer's mask, stateful layers left as they were
  model <- keras_model_sequential(input_shape = c(4, 2), input_batch_size = 3) |>
    layer_masking() |>
    layer_gru(units = 2, return_sequences = TRUE, stateful = TRUE)
  before <- model(x)
  expect_identical(model$compute_mask(x), kept)
  gru <- obj(model$layers[[2]])
  kept_states <- gru$states
  expect_identical(model$compute_mask(x), kept)
  expect_identical(gru$states, kept_states)
  expect_error(layer_gru(units = 2)$compute_mask(x, matrix(TRUE, 2, 2)), class = "rgru_error_mask")
})
