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

test_that("layer_input() is keras_input(), with keras3's arguments", {
  expect_identical(layer_input, keras_input)
  expect_identical(names(formals(keras_input)),
                   c("shape", "batch_size", "dtype", "sparse", "ragged", "batch_shape",
                     "name", "tensor", "optional"))
  x <- layer_input(shape = c(10, 3), name = "series")
  expect_equal(shape(x), shape(NA, 10, 3))
  expect_equal(x$name, "series")
  expect_error(keras_input(shape = 3, ragged = TRUE), class = "rgru_error_argument")
  expect_error(keras_input(shape = 3, tensor = array(1, 3)), class = "rgru_error_argument")
  expect_error(keras_input(shape = 3, optional = TRUE), class = "rgru_error_argument")
  expect_error(keras_input(shape = 3, foo = 1))
})

test_that("integer and boolean input dtypes feed layer_embedding()", {
  for (dtype in c("int32", "int64", "int", "int8", "uint8", "bool")) {
    tokens <- keras_input(shape = 4, dtype = dtype)
    expect_equal(tokens$dtype, if (dtype == "int") "int64" else dtype)
    out <- tokens |> layer_embedding(5, 2) |> layer_gru(3)
    model <- keras_model(tokens, out)
    expect_equal(model$dtype, "float32")
    x <- rbind(c(0L, 1L, 1L, 0L), c(1L, 1L, 0L, 0L))
    expect_equal(predict(model, x, verbose = 0), predict(model, x * 1.0, verbose = 0))
    expect_equal(predict(model, x == 1L, verbose = 0), predict(model, x * 1.0, verbose = 0))
  }
  expect_error(keras_input(shape = 3, dtype = "string"), class = "rgru_error_argument")
  expect_error(keras_input(shape = 3, dtype = "float16"), class = "rgru_error_argument")
  # a float input sets the model's dtype; integer inputs leave Keras's float32
  inputs <- list(keras_input(shape = 4, dtype = "int32"), keras_input(shape = c(4, 2), dtype = "float64"))
  out <- layer_concatenate(layer_embedding(inputs[[1]], 5, 2, dtype = "float64"), inputs[[2]])
  expect_equal(keras_model(inputs, out)$dtype, "float64")
})

test_that("integer and logical R arrays train a token model", {
  set.seed(5)
  tokens <- matrix(sample(0:9, 40 * 6, replace = TRUE), 40)
  y <- matrix(as.integer(tokens[, 6] > 4), 40)
  inp <- keras_input(shape = 6, dtype = "int32")
  out <- inp |> layer_embedding(10, 4, mask_zero = TRUE) |> layer_gru(4) |>
    layer_dense(1, activation = "sigmoid")
  model <- keras_model(inp, out)
  model |> compile(optimizer = optimizer_adam(0.02), loss = "binary_crossentropy",
                   metrics = "accuracy")
  history <- model |> fit(tokens, y, epochs = 3, batch_size = 8, verbose = 0)
  expect_true(is.integer(tokens))
  expect_lt(history$metrics$loss[3], history$metrics$loss[1])
  expect_equal(evaluate(model, tokens, y == 1L, verbose = 0),
               evaluate(model, tokens * 1.0, y * 1.0, verbose = 0))
})

test_that("keras3's keras_input() reference example (written with layer_input()) runs verbatim", {
  # This is a logistic regression in Keras
  input <- layer_input(shape=c(32))
  output <- input |> layer_dense(16, activation='softmax')
  model <- keras_model(input, output)
  expect_equal(rowSums(predict(model, matrix(0.1, 3, 32), verbose = 0)), rep(1, 3))
})
