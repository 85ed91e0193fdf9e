# The numbers Keras's own GRU tests assert (keras/src/layers/rnn/gru_test.py), recreated
# on the engine: constant initializers kernel 0.01, recurrent 0.02, bias 0.03, and
# np.arange inputs (row-major, hence the aperm).

keras_arange <- function(batch, timesteps, features) {
  aperm(array(seq_len(batch * timesteps * features) - 1, c(features, timesteps, batch)), 3:1)
}

keras_constant_gru <- function(x, units, reset_after = TRUE, use_bias = TRUE,
                               go_backwards = FALSE, initial_state = NULL, mask = NULL,
                               return_sequences = FALSE, dtype = "float32") {
  input_dim <- dim(x)[3]
  bias <- if (!use_bias) NULL else if (reset_after) matrix(0.03, 2, 3 * units) else rep(0.03, 3 * units)
  out <- engine_call(x, matrix(0.01, input_dim, 3 * units), matrix(0.02, units, 3 * units),
    bias, initial_state, mask, reset_after = reset_after, go_backwards = go_backwards,
    return_sequences = return_sequences, dtype = dtype)
  if (return_sequences) out$sequence else out$final_state
}

three_by_three <- function(values) matrix(rep(values, 3), 3)

for (dtype in c("float32", "float64")) {
  test_that(paste("test_correctness values,", dtype), {
    x <- keras_arange(3, 6, 4)
    expect_equal(keras_constant_gru(x, 3, dtype = dtype),
      three_by_three(c(0.5217289, 0.6371659, 0.39384964)), tolerance = 1e-6)
    expect_equal(keras_constant_gru(x, 3, go_backwards = TRUE, dtype = dtype),
      three_by_three(c(0.24406259, 0.611516, 0.3928808)), tolerance = 1e-6)
    expect_equal(keras_constant_gru(x, 3, reset_after = FALSE, dtype = dtype),
      three_by_three(c(0.51447755, 0.6426879, 0.40208298)), tolerance = 1e-6)
    expect_equal(keras_constant_gru(x, 3, use_bias = FALSE, dtype = dtype),
      three_by_three(c(0.49988455, 0.64701194, 0.4103359)), tolerance = 1e-6)
  })
}

test_that("test_statefulness values: the second call starts from the first call's state", {
  x <- keras_arange(2, 3, 4)
  first <- keras_constant_gru(x, 4)
  second <- keras_constant_gru(x, 4, initial_state = first)
  expect_equal(second, matrix(rep(c(0.29542392, 0.5885018), 4), 2), tolerance = 1e-6)
})

test_that("test_pass_initial_state and test_pass_return_state values", {
  x <- keras_arange(2, 4, 3)
  h0 <- matrix(c(0, 2, 1, 3), 2)  # np.arange(4).reshape((2, 2))
  expect_equal(keras_constant_gru(x, 2, initial_state = h0),
    rbind(c(0.23774096, 0.33508456), c(0.83659905, 1.0227708)), tolerance = 1e-6)
  expect_equal(keras_constant_gru(x, 2, initial_state = h0, go_backwards = TRUE),
    rbind(c(0.13486053, 0.23261218), c(0.78257304, 0.9691353)), tolerance = 1e-6)
  sequence <- keras_constant_gru(x, 2, initial_state = h0, return_sequences = TRUE)
  expect_equal(sequence[, 4, ], keras_constant_gru(x, 2, initial_state = h0))
})

test_that("test_masking values", {
  x <- keras_arange(2, 4, 3)
  mask <- rbind(c(TRUE, TRUE, FALSE, TRUE), c(TRUE, FALSE, FALSE, TRUE))
  pair <- function(v) cbind(v, v, deparse.level = 0)
  expect_equal(keras_constant_gru(x, 2, mask = mask), pair(c(0.19393763, 0.30818558)),
    tolerance = 1e-6)
  sequence <- keras_constant_gru(x, 2, mask = mask, return_sequences = TRUE)
  expect_equal(sequence[1, , ], pair(c(0.03606692, 0.09497581, 0.09497581, 0.19393763)),
    tolerance = 1e-6)
  expect_equal(sequence[2, , ], pair(c(0.16051409, 0.16051409, 0.16051409, 0.30818558)),
    tolerance = 1e-6)
  # zero_output_for_mask = TRUE is the RNN layer zeroing masked outputs afterwards.
  zeroed <- sequence
  zeroed[array(!mask, dim(sequence))] <- 0
  expect_equal(zeroed[1, , ], pair(c(0.03606692, 0.09497581, 0, 0.19393763)), tolerance = 1e-6)
  expect_equal(zeroed[2, , ], pair(c(0.16051409, 0, 0, 0.30818558)), tolerance = 1e-6)
  expect_equal(keras_constant_gru(x, 2, mask = mask, go_backwards = TRUE),
    pair(c(0.11669192, 0.28380975)), tolerance = 1e-6)
})
