test_that("layer_dropout is the identity at inference and drops everything at rate 1, as Keras", {
  case <- read_keras_cases()$dropout_inference
  drop <- layer_dropout(rate = 0.5, noise_shape = c(NA, 1, 4), seed = 3)
  expect_identical(drop(case$x), case$x)
  expect_equal(drop(case$x), case$out, tolerance = keras_tolerance("float32"))  # Keras ran float32
  expect_equal(layer_dropout(rate = 1)(case$x, training = TRUE), case$out_rate1_training)
  expect_identical(layer_dropout(rate = 0)(case$x, training = TRUE), case$x)
  expect_identical(layer_spatial_dropout_1d(rate = 0.5)(case$x), case$x)
})

test_that("training drops a `rate` share of the inputs and scales the rest by 1 / (1 - rate)", {
  x <- array(2, c(50, 40, 10))
  out <- layer_dropout(rate = 0.3, seed = 11)(x, training = TRUE)
  expect_setequal(unique(as.numeric(out)), c(0, 2 / 0.7))
  expect_equal(mean(out == 0), 0.3, tolerance = 0.05)
  # Keras selects: a dropped Inf or NaN is 0
  y <- layer_dropout(rate = 0.5, seed = 1)(c(Inf, NaN, Inf, NaN, Inf, NaN), training = TRUE)
  expect_true(all(y == 0 | is.infinite(y) | is.nan(y)))
  expect_true(any(y == 0, na.rm = TRUE))
})

test_that("dropout draws are reproducible: with a seed on their own, without one from set.seed()", {
  x <- matrix(1, 4, 6)
  a <- layer_dropout(rate = 0.5, seed = 42)
  b <- layer_dropout(rate = 0.5, seed = 42)
  first <- a(x, training = TRUE)
  expect_identical(first, b(x, training = TRUE))
  expect_false(identical(a(x, training = TRUE), first))  # each call draws anew
  # a seeded layer leaves R's random stream alone
  set.seed(5)
  before <- runif(1)
  set.seed(5)
  invisible(layer_dropout(rate = 0.5, seed = 1)(x, training = TRUE))
  expect_identical(runif(1), before)

  c <- layer_dropout(rate = 0.5)
  set.seed(9)
  one <- c(x, training = TRUE)
  set.seed(9)
  expect_identical(c(x, training = TRUE), one)
})

test_that("noise_shape repeats the pattern along its size-1 axes; spatial dropout drops channels", {
  x <- array(1, c(3, 7, 5))
  out <- layer_dropout(rate = 0.5, noise_shape = list(NULL, 1L, 5L), seed = 2)(x, training = TRUE)
  for (t in 2:7) expect_identical(out[, t, ], out[, 1, ])
  expect_true(any(out == 0) && any(out == 2))
  out <- layer_dropout(rate = 0.5, noise_shape = c(1, NA, 1), seed = 2)(x, training = TRUE)
  for (b in 2:3) for (c in 2:5) expect_identical(out[b, , c], out[1, , 1])

  sp <- layer_spatial_dropout_1d(rate = 0.5, seed = 4)(x, training = TRUE)
  for (t in 2:7) expect_identical(sp[, t, ], sp[, 1, ])
  expect_true(any(sp == 0) && any(sp == 2))
})

test_that("dropout backward multiplies by the same mask (finite differences)", {
  x <- fixed_array(c(2, 4, 3))
  for (layer in list(layer_dropout(rate = 0.4, seed = 8, dtype = "float64"),
                     layer_dropout(rate = 0.4, noise_shape = c(NA, 1, 3), seed = 8),
                     layer_spatial_dropout_1d(rate = 0.5, seed = 3))) {
    l <- obj(layer)
    run <- function(x) {
      l$seed_draws <- 0L
      l$forward(x, training = TRUE)
    }
    g <- expect_backward_matches_fd(l, x, run = run)
    expect_true(any(g$d_inputs == 0))
  }
  l <- obj(layer_dropout(rate = 0.4))
  res <- l$forward(x, training = FALSE)
  expect_identical(l$backward(res$tape, x)$d_inputs, x)
})

test_that("dropout passes masks through; fit() trains with it and predict() ignores it", {
  tokens <- rbind(c(3, 1, 0, 0), c(2, 2, 4, 1))
  emb <- layer_embedding(input_dim = 5, output_dim = 3, mask_zero = TRUE)
  gru <- layer_gru(units = 2)
  model <- keras_model_sequential(layers = list(emb)) |>
    layer_dropout(0.5) |>
    layer_spatial_dropout_1d(0.5)
  gru(model)
  expect_equal(predict(model, tokens, verbose = 0), gru(emb(tokens), mask = tokens != 0))

  inputs <- keras_input(shape = 4)
  masked <- inputs |> layer_embedding(5, 3, mask_zero = TRUE) |> layer_dropout(0.2)
  expect_true(masked$has_mask)

  x <- fixed_array(c(32, 6, 2))
  y <- matrix(rowSums(x[, , 1]), ncol = 1)
  model <- keras_model_sequential(input_shape = c(6, 2)) |>
    layer_gru(8, return_sequences = TRUE) |>
    layer_dropout(0.2, seed = 1) |>
    layer_gru(4) |>
    layer_dropout(0.1) |>
    layer_dense(1)
  model |> compile(optimizer = optimizer_adam(0.02), loss = "mse")
  history <- fit(model, x, y, epochs = 6, batch_size = 8, verbose = 0)
  expect_lt(history$metrics$loss[6], history$metrics$loss[1])
  expect_identical(predict(model, x, verbose = 0), predict(model, x, verbose = 0))
})

test_that("dropout layers compose with NULL, models, symbolic tensors and arrays", {
  for (make in list(function(...) layer_dropout(..., rate = 0.2),
                    function(...) layer_spatial_dropout_1d(..., rate = 0.2))) {
    expect_s3_class(make(), "rgru_layer")
    model <- keras_model_sequential(input_shape = c(5, 3)) |> make()
    expect_equal(model$count_params(), 0)
    x <- fixed_array(c(2, 5, 3))
    expect_identical(predict(model, x, verbose = 0), x)
    expect_equal(as.integer(shape(make(keras_input(shape = c(5, 3))))), c(NA, 5L, 3L))
    expect_identical(make(x), x)
  }
})

test_that("dropout layers reject bad arguments and inputs with classed errors", {
  expect_error(layer_dropout(), class = "rgru_error_argument")
  expect_error(layer_dropout(rate = 1.5), class = "rgru_error_argument")
  expect_error(layer_dropout(rate = -0.1), class = "rgru_error_argument")
  expect_error(layer_dropout(rate = "0.5"), class = "rgru_error_argument")
  expect_error(layer_dropout(rate = 0.5, seed = 1.5), class = "rgru_error_argument")
  expect_error(layer_dropout(rate = 0.5, noise_shape = c(2, 0)), class = "rgru_error_shape")
  expect_error(layer_dropout(rate = 0.5, noise_shape = "batch"), class = "rgru_error_shape")
  expect_error(layer_dropout(rate = 0.5, bogus = 1), class = "rgru_error_argument")
  expect_error(layer_spatial_dropout_1d(rate = 2), class = "rgru_error_argument")
  expect_error(layer_spatial_dropout_1d(), class = "rgru_error_argument")
  drop <- layer_dropout(rate = 0.5, noise_shape = c(NA, 2, 3), name = "noisy")
  expect_error(drop(array(1, c(2, 4, 3)), training = TRUE), class = "rgru_error_shape")
  expect_error(drop(matrix(1, 2, 3), training = TRUE), class = "rgru_error_shape")
  expect_snapshot(drop(array(1, c(2, 4, 3)), training = TRUE), error = TRUE)
  expect_error(layer_spatial_dropout_1d(rate = 0.2)(matrix(1, 2, 3)), class = "rgru_error_shape")
})

test_that("dropout configs rebuild the layers and survive save/load", {
  config <- get_config(layer_dropout(rate = 0.25, noise_shape = c(NA, 1, 4), seed = 7))
  expect_equal(config[c("rate", "noise_shape", "seed")],
               list(rate = 0.25, noise_shape = c(NA, 1L, 4L), seed = 7L))
  expect_equal(get_config(from_config(config))[-1], config[-1], ignore_attr = TRUE)
  config <- get_config(layer_spatial_dropout_1d(rate = 0.5, seed = 1, dtype = "float64"))
  expect_equal(config[c("rate", "seed", "dtype")], list(rate = 0.5, seed = 1L, dtype = "float64"))
  expect_equal(get_config(from_config(config))[-1], config[-1], ignore_attr = TRUE)

  model <- keras_model_sequential(input_shape = c(5, 3)) |>
    layer_spatial_dropout_1d(0.3, seed = 2) |>
    layer_gru(2) |>
    layer_dropout(0.5)
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  x <- fixed_array(c(2, 5, 3))
  restored <- load_model(path)
  expect_identical(predict(restored, x, verbose = 0), predict(model, x, verbose = 0))
  expect_equal(restored$layers[[1]]$rate, 0.3)
})

test_that("dropout layers have keras3's signatures", {
  expect_identical(formals(layer_dropout), as.pairlist(alist(
    object = , rate = , noise_shape = NULL, seed = NULL, ... = )))
  expect_identical(formals(layer_spatial_dropout_1d), as.pairlist(alist(
    object = , rate = , seed = NULL, name = NULL, dtype = NULL)))
})
