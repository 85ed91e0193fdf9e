test_that("layer_rnn(rnn_cell_gru()) gives layer_gru()'s numbers with the same weights", {
  x <- fixed_array(c(3, 5, 4))
  mask <- matrix(TRUE, 3, 5)
  mask[1, 4:5] <- FALSE
  mask[2, 2] <- FALSE
  h0 <- fixed_array(c(3, 2), seed = 2)
  for (reset_after in c(TRUE, FALSE)) for (go_backwards in c(FALSE, TRUE)) {
    for (return_sequences in c(FALSE, TRUE)) {
      g <- layer_gru(units = 2, reset_after = reset_after, go_backwards = go_backwards,
                     return_sequences = return_sequences, return_state = TRUE,
                     dtype = "float64", bias_initializer = "random_normal")
      r <- layer_rnn(cell = rnn_cell_gru(2, reset_after = reset_after, dtype = "float64"),
                     go_backwards = go_backwards, return_sequences = return_sequences,
                     return_state = TRUE)
      invisible(g(x)); invisible(r(x))
      set_weights(r, get_weights(g))
      expect_equal(r(x), g(x), tolerance = 1e-12)
      expect_equal(r(x, mask = mask), g(x, mask = mask), tolerance = 1e-12)
      expect_equal(r(x, mask = mask, initial_state = h0), g(x, mask = mask, initial_state = h0),
                   tolerance = 1e-12)
      # and their gradients agree
      lg <- obj(g); lr <- obj(r)
      fg <- lg$forward(x, mask = mask, initial_state = list(h0))
      fr <- lr$forward(x, mask = mask, initial_state = list(h0))
      d <- loss_weights_for(fg$outputs)
      bg <- lg$backward(fg$tape, d)
      br <- lr$backward(fr$tape, d)
      expect_equal(br$d_inputs, bg$d_inputs, tolerance = 1e-10)
      expect_equal(br$grads, bg$grads, tolerance = 1e-10)
    }
  }
})

test_that("dropout masks match between layer_rnn() and layer_gru() with one seed", {
  x <- fixed_array(c(3, 4, 2))
  g <- layer_gru(units = 2, dropout = 0.4, recurrent_dropout = 0.3, seed = 9, dtype = "float64")
  r <- layer_rnn(cell = rnn_cell_gru(2, dropout = 0.4, recurrent_dropout = 0.3, seed = 9,
                                     dtype = "float64"))
  invisible(g(x)); invisible(r(x))
  set_weights(r, get_weights(g))
  expect_equal(r(x, training = TRUE), g(x, training = TRUE), tolerance = 1e-12)
})

test_that("layer_rnn backward matches finite differences", {
  x <- fixed_array(c(2, 3, 2))
  r <- layer_rnn(cell = rnn_cell_gru(2, dtype = "float64", bias_initializer = "random_normal"),
                 return_sequences = TRUE)
  l <- obj(r)
  invisible(r(x))
  mask <- rbind(c(TRUE, FALSE, TRUE), rep(TRUE, 3))
  expect_backward_matches_fd(l, x, function(x) l$forward(x, mask = mask))
})

test_that("zero_output_for_mask zeroes masked outputs", {
  x <- fixed_array(c(1, 3, 2))
  r <- layer_rnn(cell = rnn_cell_gru(2), return_sequences = TRUE, zero_output_for_mask = TRUE)
  out <- r(x, mask = matrix(c(TRUE, FALSE, TRUE), 1))
  expect_equal(out[1, 2, ], c(0, 0))
  expect_false(all(out[1, 3, ] == 0))
})

test_that("layer_rnn checks its cell and composes like every layer", {
  expect_error(layer_rnn(cell = "gru"), class = "rgru_error_argument")
  expect_error(layer_rnn(cell = layer_dense(units = 2)), class = "rgru_error_argument")
  model <- keras_model_sequential(input_shape = c(4, 3)) |> layer_rnn(rnn_cell_gru(5))
  expect_equal(dim(model(array(0, c(2, 4, 3)))), c(2, 5))
  inp <- keras_input(c(4, 3))
  expect_equal(as.integer(shape(layer_rnn(inp, rnn_cell_gru(5), return_sequences = TRUE))),
               c(NA, 4L, 5L))
  r <- layer_rnn(cell = rnn_cell_gru(2, name = "cell_b"), name = "my_rnn")
  invisible(r(array(0, c(1, 2, 3))))
  expect_equal(r$weights[[1]]$path, "my_rnn/cell_b/kernel")
  r2 <- from_config(get_config(r))
  expect_s3_class(r2, "rgru_layer_rnn")
  expect_equal(r2$cell$units, 2L)
})
