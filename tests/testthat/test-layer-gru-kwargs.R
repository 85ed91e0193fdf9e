# The keywords Keras's GRU forwards to its base classes: zero_output_for_mask
# (to RNN; numbers from tools/keras-fixtures/gru_zero_output.py) and the
# legacy `implementation` (to GRUCell, where Keras 3 no longer uses it).

zero_output_fixture <- read_keras_fixture("keras-gru-zero-output")

test_that("layer_gru(zero_output_for_mask =) matches Keras 3.15.1 for every mask, direction and state", {
  errors <- expect_keras_cases(zero_output_fixture, function(case, a) {
    gru <- layer_gru(units = 2, zero_output_for_mask = case$zero_output_for_mask,
                     return_sequences = case$return_sequences, return_state = TRUE,
                     go_backwards = case$go_backwards, dtype = case$dtype)
    invisible(gru(a$x))
    set_weights(gru, list(a$kernel, a$recurrent_kernel, a$bias))
    gru(a$x, mask = a[[paste0("mask.", case$mask)]] == 1,
        initial_state = if (case$initial_state) a$h0)
  })
  expect_length(zero_output_fixture$cases, 96L)
})

test_that("zero_output_for_mask zeroes exactly the masked steps, on the engine and on the R loop", {
  x <- fixed_array(c(3, 5, 2))
  mask <- rbind(c(TRUE, FALSE, TRUE, TRUE, FALSE), c(FALSE, FALSE, TRUE, TRUE, TRUE),
                c(TRUE, TRUE, TRUE, TRUE, TRUE))
  h0 <- fixed_array(c(3, 4), seed = 2)
  for (go_backwards in c(FALSE, TRUE)) {
    plain <- layer_gru(units = 4, return_sequences = TRUE, go_backwards = go_backwards,
                       dtype = "float64")
    zeroed <- layer_gru(units = 4, return_sequences = TRUE, go_backwards = go_backwards,
                        zero_output_for_mask = TRUE, dtype = "float64")
    rnn <- layer_rnn(cell = rnn_cell_gru(4, dtype = "float64"), return_sequences = TRUE,
                     go_backwards = go_backwards, zero_output_for_mask = TRUE)
    invisible(plain(x))
    invisible(zeroed(x))
    invisible(rnn(x))
    set_weights(zeroed, get_weights(plain))
    set_weights(rnn, get_weights(plain))
    steps <- if (go_backwards) mask[, 5:1] else mask
    want <- plain(x, mask = mask, initial_state = h0) * as.vector(steps)
    expect_equal(zeroed(x, mask = mask, initial_state = h0), want, tolerance = 1e-14)
    expect_equal(rnn(x, mask = mask, initial_state = h0), want, tolerance = 1e-14)
    expect_identical(obj(zeroed)$last_backend, "cpu")
    expect_backward_matches_fd(obj(zeroed), x, function(x) {
      obj(zeroed)$forward(x, mask = mask, initial_state = list(h0))
    })
  }
})

test_that("zero_output_for_mask is in the configuration and survives from_config()", {
  gru <- layer_gru(units = 3, zero_output_for_mask = TRUE)
  expect_true(gru$zero_output_for_mask)
  config <- get_config(gru)
  expect_true(config$zero_output_for_mask)
  expect_true(from_config(config)$zero_output_for_mask)
  expect_false(get_config(layer_gru(units = 3))$zero_output_for_mask)
  expect_error(layer_gru(units = 3, zero_output_for_mask = "yes"), class = "rgru_error_argument")
})

test_that("the legacy `implementation` is accepted and changes nothing, as in Keras 3", {
  x <- fixed_array(c(2, 4, 3))
  ref <- layer_gru(units = 2, return_sequences = TRUE, dtype = "float64")
  invisible(ref(x))
  for (implementation in c(1, 2L)) {
    gru <- layer_gru(units = 2, return_sequences = TRUE, dtype = "float64",
                     implementation = implementation)
    invisible(gru(x))
    set_weights(gru, get_weights(ref))
    expect_equal(gru(x), ref(x))
    expect_null(get_config(gru)$implementation)
  }
  expect_error(layer_gru(units = 2, implementation = 3), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2, implementation = "2"), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2, zero_output = TRUE), class = "rgru_error_argument")
})
