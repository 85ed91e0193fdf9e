test_that("layers pipe into a sequential model in place, in reading order", {
  model <- keras_model_sequential(input_shape = c(10, 8), name = "seq_model")
  res <- withVisible(model |> layer_gru(16, name = "g1"))
  expect_false(res$visible)
  expect_identical(res$value, model)
  model |> layer_dense(1, name = "d1")
  expect_equal(vapply(model$layers, function(l) l$name, ""), c("g1", "d1"))
  expect_true(model$built)
  x <- random_uniform(c(3, 10, 8))
  expect_equal(dim(model(x)), c(3, 1))
  expect_equal(predict(model, x), model(x))
})

test_that("a sequential model equals its layers applied in turn", {
  x <- fixed_array(c(4, 5, 3))
  model <- keras_model_sequential() |>
    layer_gru(6, return_sequences = TRUE) |>
    layer_gru(4) |>
    layer_dense(2, activation = "softmax")
  expect_false(model$built)
  out <- model(x)
  expect_true(model$built)
  layers <- model$layers
  expect_equal(out, layers[[3]](layers[[2]](layers[[1]](x))))
  expect_equal(rowSums(out), rep(1, 4))
})

test_that("input_shape given to the first layer builds the model", {
  model <- keras_model_sequential() |> layer_dense(3, input_shape = 4) |> layer_dense(1)
  expect_true(model$built)
  expect_equal(model$count_params(), 4 * 3 + 3 + 3 + 1)
})

test_that("sequential models reject multi-output layers and mismatched inputs", {
  model <- keras_model_sequential(input_shape = c(5, 3))
  expect_error(model |> layer_gru(2, return_state = TRUE), class = "rgru_error_model")
  expect_length(model$layers, 0)
  model |> layer_gru(2)
  expect_error(model(array(0, c(1, 5, 4))), class = "rgru_error_shape")
  expect_error(keras_model_sequential()(array(0, c(1, 2))), class = "rgru_error_model")
  expect_error(keras_model_sequential(foo = 1), class = "rgru_error_argument")
})

test_that("sequential backward matches finite differences, activity penalty included", {
  x <- fixed_array(c(2, 3, 2))
  model <- keras_model_sequential(input_shape = c(3, 2), input_dtype = "float64") |>
    layer_gru(3, return_sequences = TRUE, dtype = "float64", bias_initializer = "random_normal") |>
    layer_dense(2, activation = "tanh", dtype = "float64",
                activity_regularizer = regularizer_l2(0.1))
  l <- obj(model)
  res <- l$forward(x)
  dense_out <- res$outputs
  # Keras 3 divides the activity penalty by the output's batch size (here 2)
  expect_equal(res$activity_loss, 0.1 * sum(dense_out^2) / dim(x)[1])
  expect_backward_matches_fd(l, x)
  # the activity gradient is added in backward: zero upstream gradient still moves weights
  g <- l$backward(res$tape, array(0, dim(dense_out)))
  expect_gt(sum(abs(g$grads[[1]])), 0)
})

test_that("pop() and the layers argument", {
  d1 <- layer_dense(units = 2)
  d2 <- layer_dense(units = 1)
  model <- keras_model_sequential(input_shape = 3, layers = list(d1, d2))
  expect_length(model$layers, 2)
  model$pop()
  expect_length(model$layers, 1)
  expect_error(model |> layer_dense(1) |> (\(m) m$add(d1))(), class = "rgru_error_model")
})

test_that("model$reset_state() resets every stateful layer inside", {
  x <- fixed_array(c(2, 3, 2))
  model <- keras_model_sequential(input_shape = c(3, 2)) |>
    layer_gru(2, stateful = TRUE) |>
    layer_dense(1)
  first <- model(x)
  expect_false(isTRUE(all.equal(model(x), first)))
  model$reset_state()
  expect_equal(model(x), first)
})

test_that("keras_model_sequential() has keras3's arguments and takes keras 2's input keywords", {
  expect_identical(names(formals(keras_model_sequential)),
                   c("input_shape", "name", "...", "input_dtype", "input_batch_size",
                     "input_sparse", "input_ragged", "input_batch_shape", "input_name",
                     "input_tensor", "input_optional", "trainable", "layers"))
  m1 <- keras_model_sequential(input_shape = c(4, 3), batch_size = 8) |> layer_gru(2, stateful = TRUE)
  expect_equal(obj(m1)$built_input_shape, c(8L, 4L, 3L))
  m2 <- keras_model_sequential(input_batch_shape = c(8, 4, 3)) |> layer_gru(2)
  expect_equal(obj(m2)$built_input_shape, c(8L, 4L, 3L))
  m3 <- keras_model_sequential(batch_input_shape = c(NA, 4, 3)) |> layer_gru(2)
  expect_equal(obj(m3)$built_input_shape, c(NA, 4L, 3L))
  m4 <- keras_model_sequential(input_shape = 5, input_dtype = "int32") |>
    layer_embedding(10, 3) |> layer_gru(2)
  expect_equal(dim(predict(m4, matrix(0:9, 2), verbose = 0)), c(2, 2))
  m5 <- keras_model_sequential(input_shape = 3, input_name = "x", trainable = FALSE,
                               layers = list(layer_dense(units = 2)))
  expect_length(m5$layers, 1)
  expect_false(m5$trainable)
  expect_error(keras_model_sequential(input_shape = 3, units = 2), class = "rgru_error_argument")
  expect_error(keras_model_sequential(input_shape = 3, input_sparse = TRUE), class = "rgru_error_argument")
  expect_error(keras_model_sequential(input_shape = 3, input_optional = TRUE), class = "rgru_error_argument")
  expect_error(keras_model_sequential(input_shape = 3, input_dtype = "text"), class = "rgru_error_argument")
})

test_that("a sequential model built by its first call rebuilds from its config", {
  model <- keras_model_sequential() |> layer_embedding(10, 3) |> layer_gru(2)
  x <- matrix(c(1, 4, 0, 9, 2, 2), 2)
  out <- predict(model, x, verbose = 0)
  config <- get_config(model)
  expect_equal(config$build_input_shape, c(NA, 3L))
  again <- from_config(config)
  expect_true(obj(again)$built)
  set_weights(again, get_weights(model))
  expect_identical(predict(again, x, verbose = 0), out)
  expect_null(get_config(keras_model_sequential(input_shape = 3) |> layer_dense(1))$build_input_shape)
})
