test_that("keras_input() gives a symbolic tensor that prints like keras3", {
  inp <- keras_input(shape = c(10, 8), name = "seq_in")
  expect_snapshot(print(inp))
  expect_equal(format(shape(inp)), "shape(NA, 10, 8)")
  expect_equal(format(shape(keras_input(c(10, 8), batch_size = 32))), "shape(32, 10, 8)")
  expect_equal(format(shape(keras_input(batch_shape = c(4, NA, 3)))), "shape(4, NA, 3)")
  expect_equal(format(shape(keras_input(shape(NA, 3)))), "shape(NA, NA, 3)")
})

test_that("layers on symbolic tensors infer Keras's shapes", {
  inp <- keras_input(shape = c(NA, 8))
  expect_equal(format(shape(layer_gru(inp, 4))), "shape(NA, 4)")
  expect_equal(format(shape(layer_gru(inp, 4, return_sequences = TRUE))), "shape(NA, NA, 4)")
  c(seq, state) %<-% layer_gru(inp, 4, return_sequences = TRUE, return_state = TRUE)
  expect_equal(format(shape(seq)), "shape(NA, NA, 4)")
  expect_equal(format(shape(state)), "shape(NA, 4)")
  expect_equal(format(shape(layer_dense(seq, 2))), "shape(NA, NA, 2)")
  tokens <- keras_input(shape = 6)
  expect_equal(format(shape(layer_embedding(tokens, 10, 3))), "shape(NA, 6, 3)")
})

test_that("symbolic calls check shapes and arguments", {
  inp <- keras_input(shape = c(5, 3))
  expect_error(layer_dense(keras_input(shape = c(NA)), 2), class = "rgru_error_shape")
  expect_error(layer_gru(keras_input(shape = 3), 2), class = "rgru_error_shape")
  g <- layer_gru(units = 2)
  invisible(g(inp))
  expect_error(g(keras_input(shape = c(5, 4))), class = "rgru_error_shape")
  expect_error(g(inp, mask = matrix(TRUE, 1, 5)), class = "rgru_error_argument")
  expect_error(keras_input(), class = "rgru_error_argument")
  expect_error(keras_input(shape = c(0, 2)), class = "rgru_error_shape")
  expect_error(keras_input(shape = 3, sparse = TRUE), class = "rgru_error_argument")
  expect_error(keras_input(shape = 3, tensor = 1), class = "rgru_error_argument")
})

test_that("initial states can come from other symbolic tensors", {
  inp <- keras_input(shape = c(4, 2))
  h_in <- keras_input(shape = 3)
  out <- layer_gru(units = 3)(inp, initial_state = h_in)
  expect_equal(format(shape(out)), "shape(NA, 3)")
  model <- keras_model(list(inp, h_in), out)
  x <- fixed_array(c(2, 4, 2))
  h0 <- matrix(0.5, 2, 3)
  gru <- model$layers[[3]]
  expect_equal(model(list(x, h0)), gru(x, initial_state = h0))
  expect_error(layer_gru(units = 3)(inp, initial_state = keras_input(shape = 4)),
               class = "rgru_error_shape")
})
