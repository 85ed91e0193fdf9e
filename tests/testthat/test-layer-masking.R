test_that("layer_masking masks all-mask_value steps and the GRU skips them", {
  x <- fixed_array(c(2, 4, 3))
  x[1, 3:4, ] <- 0
  model <- keras_model_sequential(input_shape = c(4, 3)) |>
    layer_masking(mask_value = 0) |>
    layer_gru(2, return_sequences = TRUE, dtype = "float64")
  out <- predict(model, x)
  gru <- model$layers[[2]]
  mask <- rbind(c(TRUE, TRUE, FALSE, FALSE), rep(TRUE, 4))
  expect_equal(out, gru(x, mask = mask))
  expect_equal(out[1, 4, ], out[1, 2, ])
})

test_that("masking zeroes masked steps, keeps NaN steps, and backpropagates", {
  m <- layer_masking(mask_value = -1)
  x <- array(c(-1, 2, -1, 3, -1, NaN), c(2, 3, 1))
  l <- obj(m)
  res <- l$forward(x)
  expect_equal(res$mask, rbind(c(FALSE, FALSE, FALSE), c(TRUE, TRUE, TRUE)))
  expect_equal(res$outputs[1, , 1], c(0, 0, 0))
  expect_true(is.nan(res$outputs[2, 3, 1]))
  g <- l$backward(res$tape, array(1, c(2, 3, 1)))
  expect_equal(g$d_inputs[1, , 1], c(0, 0, 0))
  expect_equal(g$d_inputs[2, , 1], c(1, 1, 1))
  expect_error(layer_masking(mask_value = "a"), class = "rgru_error_argument")
})

test_that("masks flow through symbolic graphs", {
  inp <- keras_input(c(4, 3))
  masked <- layer_masking(inp)
  seq <- layer_gru(masked, 2, return_sequences = TRUE)
  expect_true(masked$has_mask)
  expect_true(seq$has_mask)
  expect_false(layer_gru(masked, 2)$has_mask)
})
