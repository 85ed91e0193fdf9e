test_that("a functional model with several outputs computes each of them", {
  inp <- keras_input(shape = c(6, 3))
  c(seq, state) %<-% layer_gru(inp, 4, return_sequences = TRUE, return_state = TRUE)
  head <- layer_dense(state, 1)
  model <- keras_model(inp, list(seq, head))
  x <- fixed_array(c(2, 6, 3))
  out <- model(x)
  expect_length(out, 2)
  expect_equal(dim(out[[1]]), c(2, 6, 4))
  expect_equal(dim(out[[2]]), c(2, 1))
  gru <- model$layers[[2]]
  dense <- model$layers[[3]]
  expect_equal(out[[2]], dense(gru(x)[[2]]))
  p <- predict(model, x, batch_size = 1)
  # float32: a batch of one runs matrix-vector products, a larger batch matrix-matrix
  # products, which may round differently
  expect_equal(p, out, tolerance = 1e-6)
})

test_that("shared layers are called twice but their weights counted once", {
  a <- keras_input(shape = c(4, 2))
  b <- keras_input(shape = c(4, 2))
  shared <- layer_gru(units = 3, dtype = "float64")
  out_a <- shared(a)
  out_b <- shared(b)
  model <- keras_model(list(a, b), list(out_a, out_b))
  expect_length(model$weights, 3)
  expect_equal(model$count_params(), shared$count_params())
  xa <- fixed_array(c(2, 4, 2))
  xb <- fixed_array(c(2, 4, 2), seed = 3)
  out <- model(list(xa, xb))
  expect_equal(out[[2]], shared(xb))
  # gradients of both calls add up on the one set of weights
  l <- obj(model)
  res <- l$forward(list(xa, xb))
  d <- loss_weights_for(res$outputs)
  g <- l$backward(res$tape, d)
  ls <- obj(shared)
  ga <- ls$backward(ls$forward(xa)$tape, d[[1]])
  gb <- ls$backward(ls$forward(xb)$tape, d[[2]])
  expect_equal(g$grads, Map(`+`, ga$grads, gb$grads), tolerance = 1e-12)
  expect_length(g$d_inputs, 2)
})

test_that("functional backward matches finite differences", {
  inp <- keras_input(shape = c(3, 2), dtype = "float64")
  h <- layer_gru(inp, 2, return_sequences = TRUE, dtype = "float64",
                 activity_regularizer = regularizer_l1(0.05))
  out <- layer_dense(h, 1, dtype = "float64", bias_initializer = "random_normal")
  model <- keras_model(inp, out)
  expect_backward_matches_fd(obj(model), fixed_array(c(2, 3, 2)))
})

test_that("disconnected graphs and bad arguments are errors", {
  a <- keras_input(shape = 3)
  b <- keras_input(shape = 3)
  out <- layer_dense(b, 2)
  expect_error(keras_model(a, out), class = "rgru_error_model")
  expect_error(keras_model(out, out), class = "rgru_error_model")
  expect_error(keras_model(array(1, c(1, 3)), out), class = "rgru_error_argument")
  expect_error(keras_model(b, "x"), class = "rgru_error_argument")
  model <- keras_model(b, out)
  expect_error(model(matrix(0, 1, 4)), class = "rgru_error_shape")
  expect_error(model(list(matrix(0, 1, 3), matrix(0, 1, 3))), class = "rgru_error")
})

test_that("functional models nest inside sequential models and graphs", {
  inner_in <- keras_input(shape = c(5, 2))
  inner <- keras_model(inner_in, layer_gru(inner_in, 3))
  outer <- keras_model_sequential(input_shape = c(5, 2)) |> inner() |> layer_dense(1)
  x <- fixed_array(c(2, 5, 2))
  expect_equal(outer(x), outer$layers[[2]](inner(x)))
  expect_length(outer$weights, 5)
  inp <- keras_input(shape = c(5, 2))
  expect_equal(format(shape(inner(inp))), "shape(NA, 3)")
})
