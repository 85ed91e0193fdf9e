test_that("layer_dense computes activation(x %*% kernel + bias) on the last axis", {
  x <- fixed_array(c(4, 3))
  d <- layer_dense(units = 2, activation = "relu", bias_initializer = "random_normal",
                   dtype = "float64")
  out <- d(x)
  w <- get_weights(d)
  expect_equal(out, pmax(sweep(x %*% w[[1]], 2, w[[2]], "+"), 0))
  seq <- fixed_array(c(2, 5, 3))
  out3 <- d(seq)
  expect_equal(dim(out3), c(2, 5, 2))
  expect_equal(out3[2, 4, ], as.numeric(pmax(seq[2, 4, ] %*% w[[1]] + as.numeric(w[[2]]), 0)))
})

test_that("layer_dense backward matches finite differences", {
  for (act in list(NULL, "tanh", "softmax", function(v) v^2)) {
    d <- layer_dense(units = 3, activation = act, dtype = "float64",
                     bias_initializer = "random_normal")
    l <- obj(d)
    x <- fixed_array(c(2, 4, 2))
    invisible(d(x))
    expect_backward_matches_fd(l, x)
  }
  nb <- layer_dense(units = 2, use_bias = FALSE, dtype = "float64")
  invisible(nb(matrix(1, 1, 2)))
  expect_length(nb$weights, 1)
  expect_backward_matches_fd(obj(nb), fixed_array(c(3, 2)))
})

test_that("layer_dense checks its arguments and inputs", {
  expect_error(layer_dense(units = 0), class = "rgru_error_argument")
  expect_error(layer_dense(units = 2, lora_rank = 4), class = "rgru_error_argument")
  expect_error(layer_dense(units = 2, activation = 3), class = "rgru_error")
  d <- layer_dense(units = 2)
  invisible(d(matrix(0, 1, 3)))
  expect_error(d(matrix(0, 1, 4)), class = "rgru_error_shape")
  expect_error(d(letters), class = "rgru_error_input")
  config <- get_config(d)
  expect_equal(config$units, 2L)
  expect_equal(from_config(config)$units, 2L)
})
