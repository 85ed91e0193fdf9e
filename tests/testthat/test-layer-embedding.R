test_that("layer_embedding looks up 0-based indices", {
  e <- layer_embedding(input_dim = 5, output_dim = 2)
  tokens <- rbind(c(0, 4, 1), c(2, 2, 3))
  out <- e(tokens)
  w <- get_weights(e)[[1]]
  expect_equal(dim(out), c(2, 3, 2))
  expect_equal(out[1, 2, ], w[5, ])
  expect_equal(out[2, 1, ], w[3, ])
  expect_true(all(abs(w) <= 0.05))
})

test_that("mask_zero = TRUE masks flow into the GRU", {
  tokens <- rbind(c(3, 1, 0, 0), c(2, 2, 4, 1))
  model <- keras_model_sequential() |>
    layer_embedding(input_dim = 5, output_dim = 3, mask_zero = TRUE) |>
    layer_gru(2, dtype = "float64")
  out <- predict(model, tokens)
  emb <- model$layers[[1]](tokens)
  gru <- model$layers[[2]]
  expect_equal(out, gru(emb, mask = tokens != 0))
  expect_equal(out[1, ], gru(emb[1, 1:2, , drop = FALSE])[1, ])
})

test_that("embedding backward sums the gradients of each index", {
  e <- layer_embedding(input_dim = 4, output_dim = 2, dtype = "float64")
  l <- obj(e)
  tokens <- rbind(c(0, 3, 3), c(1, 0, 3))
  invisible(e(tokens))
  expect_backward_matches_fd(l, tokens, check_input = FALSE)
  res <- l$forward(tokens)
  g <- l$backward(res$tape, array(1, c(2, 3, 2)))
  expect_equal(g$grads[[1]][4, ], c(3, 3))
  expect_equal(g$grads[[1]][3, ], c(0, 0))
  expect_null(g$d_inputs)
})

test_that("layer_embedding validates indices and arguments", {
  e <- layer_embedding(input_dim = 3, output_dim = 2)
  expect_error(e(matrix(3, 1, 2)), class = "rgru_error_input")
  expect_error(e(matrix(-1, 1, 2)), class = "rgru_error_input")
  expect_error(e(matrix(0.5, 1, 2)), class = "rgru_error_input")
  expect_error(e(matrix(NA, 1, 2)), class = "rgru_error_input")
  expect_error(layer_embedding(input_dim = 0, output_dim = 2), class = "rgru_error_argument")
  expect_error(layer_embedding(input_dim = 2), class = "rgru_error_argument")
  e2 <- layer_embedding(input_dim = 2, output_dim = 2, weights = list(matrix(1:4, 2)))
  expect_equal(e2(matrix(1, 1, 1))[1, 1, ], c(2, 4))
  expect_error(layer_embedding(input_dim = 2, output_dim = 2, weights = matrix(1, 3, 3)),
               class = "rgru_error_argument")
})

test_that("mask_zero masks also flow through functional models", {
  tokens <- rbind(c(3, 1, 0, 0), c(2, 2, 4, 1))
  inp <- keras_input(shape = 4)
  emb <- layer_embedding(inp, input_dim = 5, output_dim = 3, mask_zero = TRUE)
  out <- layer_gru(emb, 2, dtype = "float64")
  model <- keras_model(inp, out)
  e <- model$layers[[2]]
  g <- model$layers[[3]]
  expect_equal(model(tokens), g(e(tokens), mask = tokens != 0))
  expect_false(isTRUE(all.equal(model(tokens), g(e(tokens)))))
})

test_that("input_length (keras 2) is accepted with Keras 3's deprecation warning and checked", {
  expect_warning(
    model <- keras_model_sequential(input_shape = 6) |>
      layer_embedding(input_dim = 10, output_dim = 3, input_length = 6) |>
      layer_gru(2),
    class = "rgru_warning_deprecated"
  )
  expect_equal(dim(predict(model, matrix(1, 2, 6), verbose = 0)), c(2, 2))
  expect_warning(e <- layer_embedding(input_dim = 10, output_dim = 3, input_length = 6),
                 class = "rgru_warning_deprecated")
  expect_error(e(matrix(1, 2, 5)), class = "rgru_error_shape")
  expect_equal(get_config(e)$input_length, 6L)
  expect_no_warning(e2 <- from_config(get_config(e)))
  expect_error(e2(matrix(1, 2, 5)), class = "rgru_error_shape")
  expect_warning(expect_error(layer_embedding(input_dim = 10, output_dim = 3, input_length = 0),
                              class = "rgru_error_argument"))
  expect_error(layer_embedding(input_dim = 10, output_dim = 3, lora_alpha = 2),
               class = "rgru_error_argument")
})

test_that("without mask_zero an incoming mask is dropped with a warning; with it, replaced (as Keras)", {
  tokens <- rbind(c(3, 1, 0, 2), c(2, 2, 4, 1))
  incoming <- rbind(c(TRUE, TRUE, FALSE, FALSE), c(TRUE, TRUE, TRUE, TRUE))
  plain <- obj(layer_embedding(input_dim = 5, output_dim = 3))
  expect_false(plain$supports_masking)
  expect_warning(res <- plain$forward(tokens, mask = incoming), class = "rgru_warning_mask")
  expect_null(res$mask)
  expect_no_warning(res <- plain$forward(tokens, mask = incoming))
  expect_null(plain$forward(tokens)$mask)

  zero <- obj(layer_embedding(input_dim = 5, output_dim = 3, mask_zero = TRUE))
  expect_true(zero$supports_masking)
  expect_no_warning(res <- zero$forward(tokens, mask = incoming))
  expect_identical(res$mask, tokens != 0)

  model <- keras_model_sequential(input_shape = 4) |>
    layer_masking(mask_value = 2) |>
    layer_embedding(input_dim = 5, output_dim = 3) |>
    layer_gru(units = 2, dtype = "float64")
  expect_warning(out <- predict(model, tokens, verbose = 0), class = "rgru_warning_mask")
  gru <- model$layers[[3]]
  expect_equal(out, gru(model$layers[[2]](tokens)))
  expect_false(isTRUE(all.equal(out, gru(model$layers[[2]](tokens), mask = tokens != 2))))
})
