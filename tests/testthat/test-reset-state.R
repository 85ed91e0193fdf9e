test_that("reset_state() zeroes stateful layers and every stateful layer of a model", {
  x <- random_uniform(c(2, 3, 4), seed = 1)
  gru <- layer_gru(units = 3, stateful = TRUE)
  first <- gru(x)
  second <- gru(x)
  expect_false(isTRUE(all.equal(first, second)))
  expect_identical(reset_state(gru), gru)
  expect_equal(gru(x), first)

  model <- keras_model_sequential(input_shape = c(3, 4), input_batch_size = 2) |>
    layer_gru(3, stateful = TRUE, return_sequences = TRUE) |>
    layer_rnn(cell = rnn_cell_gru(2), stateful = TRUE)
  a <- predict(model, x, verbose = 0)
  expect_false(isTRUE(all.equal(predict(model, x, verbose = 0), a)))
  model |> reset_state()
  expect_equal(predict(model, x, verbose = 0), a)
})

test_that("reset_state() has keras3's signature; a layer without state is an error", {
  expect_identical(names(formals(reset_state)), "object")
  expect_error(reset_state(layer_dense(units = 2)), class = "rgru_error_stateful")
  expect_error(reset_state("gru"), class = "rgru_error_argument")
})
