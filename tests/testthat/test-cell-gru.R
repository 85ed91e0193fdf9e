test_that("rnn_cell_gru() has keras3's formals", {
  expect_equal(names(formals(rnn_cell_gru)), c(
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
    "reset_after", "seed", "..."
  ))
})

test_that("a cell called on one step returns the output and the new states", {
  cell <- rnn_cell_gru(3, dtype = "float64")
  x_t <- fixed_array(c(2, 4))
  h <- matrix(0.2, 2, 3)
  c(output, new_states) %<-% cell(x_t, list(h))
  expect_equal(dim(output), c(2, 3))
  expect_length(new_states, 1)
  expect_equal(new_states[[1]], output)
  # the same step as the first step of a GRU layer with this state
  gru <- layer_gru(units = 3, dtype = "float64")
  invisible(gru(array(x_t, c(2, 1, 4))))
  set_weights(gru, get_weights(cell))
  expect_equal(gru(array(x_t, c(2, 1, 4)), initial_state = h), output, tolerance = 1e-12)
  # states default to zeros
  expect_equal(cell(x_t)[[1]], cell(x_t, list(matrix(0, 2, 3)))[[1]])
})

test_that("cell weights are named and shaped as Keras's", {
  cell <- rnn_cell_gru(2, reset_after = FALSE, name = "cell_a")
  invisible(cell(matrix(0, 1, 5)))
  expect_equal(vapply(cell$weights, function(v) v$path, ""),
               c("cell_a/kernel", "cell_a/recurrent_kernel", "cell_a/bias"))
  expect_equal(lapply(get_weights(cell), dim), list(c(5L, 6L), c(2L, 6L), 6L))
})

test_that("cell backward matches finite differences", {
  cell <- rnn_cell_gru(2, dtype = "float64", bias_initializer = "random_normal")
  l <- obj(cell)
  x_t <- fixed_array(c(3, 2))
  h <- matrix(c(0.1, 0.5, -0.3, 0.2, 0, 0.4), 3)
  invisible(cell(x_t))
  expect_backward_matches_fd(l, x_t, function(x) {
    res <- l$forward(x, initial_state = list(h))
    res$outputs <- res$outputs[[1]]
    res
  })
})

test_that("cells reject bad arguments and inputs", {
  expect_error(rnn_cell_gru(0), class = "rgru_error_argument")
  expect_error(rnn_cell_gru(2, dropout = 2), class = "rgru_error_argument")
  expect_error(rnn_cell_gru(2, seed = "a"), class = "rgru_error_argument")
  cell <- rnn_cell_gru(2)
  expect_error(cell(array(0, c(1, 2, 3))), class = "rgru_error_shape")
  invisible(cell(matrix(0, 1, 3)))
  expect_error(cell(matrix(0, 1, 3), list(matrix(0, 1, 5))), class = "rgru_error_shape")
  expect_error(cell(matrix(0, 1, 3), list(matrix(0, 1, 2)), foo = 1), class = "rgru_error_argument")
})

test_that("a cell called with a state of the wrong batch size is a classed error", {
  cell <- rnn_cell_gru(2)
  x <- matrix(0, 3, 4)
  for (state in list(matrix(0, 2, 2), matrix(0, 1, 2), 0, c(0, 0))) {
    expect_error(cell(x, list(state)), class = "rgru_error_shape")
  }
  expect_error(cell(x, list(matrix(0, 3, 2), matrix(0, 3, 2))), class = "rgru_error_shape")
  expect_identical(dim(cell(x, list(matrix(0, 3, 2)))[[1]]), c(3L, 2L))
})

test_that("units are bounded so the weights fit, with classed errors naming units", {
  for (units in list(715827883, 1e6, .Machine$integer.max, 26755)) {
    err <- expect_error(rnn_cell_gru(units), class = "rgru_error_argument")
    expect_match(conditionMessage(err), "units")
    expect_error(layer_gru(units = units), class = "rgru_error_argument")
  }
  expect_error(rnn_cell_gru(2^31), class = "rgru_error_argument")
  expect_identical(rnn_cell_gru(26754)$units, 26754L)
  # the kernel (features, 3 * units) is bounded too, once the features are known
  cell <- obj(rnn_cell_gru(20000))
  err <- expect_error(cell$maybe_build(c(NA, 40000L)), class = "rgru_error_shape")
  expect_match(conditionMessage(err), "units")
})
