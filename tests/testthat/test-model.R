test_that("summary() prints Keras's table with totals", {
  model <- keras_model_sequential(input_shape = c(20, 3), name = "summary_seq") |>
    layer_gru(32, name = "gru_s") |>
    layer_dense(1, name = "dense_s")
  expect_snapshot(summary(model))
  expect_equal(model$count_params(), 3 * (3 * 32 + 32 * 32 + 2 * 32) + 33)
  local_reproducible_output(unicode = TRUE)
  expect_snapshot(print(model))
})

test_that("summary() of unbuilt and functional models", {
  unbuilt <- keras_model_sequential(name = "unbuilt_seq") |> layer_gru(4, name = "gru_u")
  expect_snapshot(summary(unbuilt))
  inp <- keras_input(shape = c(10, 8), name = "in_f")
  c(s, h) %<-% layer_gru(inp, 4, return_sequences = TRUE, return_state = TRUE, name = "gru_f")
  model <- keras_model(inp, list(s, layer_dense(h, 2, name = "dense_f")), name = "func")
  expect_snapshot(summary(model))
  frozen <- keras_model_sequential(input_shape = 3, name = "frozen") |>
    layer_dense(2, name = "dense_frozen", trainable = FALSE)
  expect_snapshot(summary(frozen))
})

test_that("get_weights()/set_weights() use Keras's order and check shapes", {
  model <- keras_model_sequential(input_shape = c(4, 3)) |> layer_gru(2) |> layer_dense(1)
  w <- get_weights(model)
  expect_equal(lapply(w, dim), list(c(3L, 6L), c(2L, 6L), c(2L, 6L), c(2L, 1L), 1L))
  w2 <- lapply(w, function(a) a * 0 + 0.1)
  expect_identical(set_weights(model, w2), model)
  expect_equal(get_weights(model)[[4]], matrix(0.1, 2, 1))
  expect_error(set_weights(model, w2[-1]), class = "rgru_error_weights")
  w2[[2]] <- matrix(0, 3, 6)
  expect_error(set_weights(model, w2), class = "rgru_error_weights")
  expect_error(get_weights("model"), class = "rgru_error_argument")
  model$layers[[2]]$trainable <- FALSE
  expect_length(get_weights(model, trainable = TRUE), 3)
  expect_length(get_weights(model, trainable = FALSE), 2)
})

test_that("variables are shared references: changing $value changes the layer", {
  d <- layer_dense(units = 1, use_bias = FALSE)
  x <- matrix(1, 1, 2)
  invisible(d(x))
  v <- d$weights[[1]]
  v$value[] <- 2
  expect_equal(d(x), matrix(4, 1, 1))
  expect_s3_class(v, "rgru_variable")
  expect_true(v$trainable)
})

test_that("predict() batches, binds and never uses dropout", {
  model <- keras_model_sequential(input_shape = c(3, 2)) |>
    layer_gru(2, dropout = 0.5, recurrent_dropout = 0.5)
  x <- fixed_array(c(7, 3, 2))
  # float32, and the last batch of one runs matrix-vector products: equal to rounding
  expect_equal(predict(model, x, batch_size = 2), model(x), tolerance = 1e-6)
  expect_equal(predict(model, x, batch_size = 100), model(x))
  expect_error(predict(model, x, batch_size = 0), class = "rgru_error_argument")
})

test_that("model configs round-trip through from_config()", {
  seq_model <- keras_model_sequential(input_shape = c(4, 3)) |>
    layer_masking() |> layer_gru(2, return_sequences = TRUE) |> layer_dense(1)
  rebuilt <- from_config(get_config(seq_model))
  expect_s3_class(rebuilt, "rgru_model_sequential")
  expect_equal(vapply(rebuilt$layers, function(l) l$class_name, ""), c("Masking", "GRU", "Dense"))
  set_weights(rebuilt, get_weights(seq_model))
  x <- fixed_array(c(2, 4, 3))
  expect_equal(rebuilt(x), seq_model(x))

  inp <- keras_input(shape = c(4, 3))
  c(s, h) %<-% layer_gru(inp, 2, return_sequences = TRUE, return_state = TRUE)
  func <- keras_model(inp, list(s, layer_dense(h, 1)))
  rebuilt_f <- from_config(get_config(func))
  set_weights(rebuilt_f, get_weights(func))
  expect_equal(rebuilt_f(x), func(x))
  expect_error(from_config(list(a = 1)), class = "rgru_error_argument")
})

test_that("long names and shapes wrap and truncate as in Keras's table", {
  inp <- keras_input(shape = c(160, 160, 3), name = "a_rather_long_input_name")
  h <- layer_dense(inp, 4, name = "dense_w")
  c(s1, s2) %<-% layer_gru(layer_dense(keras_input(shape = c(5, 2), name = "in2"), 3,
                                       name = "projection_of_the_second_input"),
                           2, return_state = TRUE, name = "gru_w")
  model <- keras_model(list(inp, s1$node$inputs$node$inputs), list(h, s2), name = "wide")
  local_reproducible_output(unicode = TRUE)
  expect_snapshot(summary(model))
})

test_that("predict() on the layers' fast paths gives the model's forward() numbers", {
  set.seed(3)
  x <- array(stats::runif(2 * 5 * 3), c(2, 5, 3))
  x[1, 4:5, ] <- 0
  model <- keras_model_sequential(input_shape = c(5, 3)) |>
    layer_gru(4, return_sequences = TRUE, dtype = "float64") |>
    layer_masking(0) |>
    layer_gru(3, return_sequences = TRUE, dtype = "float64") |>
    layer_gru(2, dtype = "float64") |>
    layer_dense(2, dtype = "float64")
  reference <- layer_object(model)$forward(x, training = FALSE)$outputs
  for (i in 1:3) expect_equal(predict(model, x), reference, tolerance = 1e-12)
  expect_false(is.null(layer_object(model$layers[[1]])$fast_call))
  expect_equal(predict(model, x, batch_size = 1), reference, tolerance = 1e-12)
  # inputs that don't match the model's input shape get the model's own error
  expect_error(predict(model, array(0, c(2, 6, 3))), class = "rgru_error_shape")
  expect_error(predict(model, array(0, c(2, 5, 4))), class = "rgru_error_shape")
  # a stateful first layer advances once per batch
  stateful <- keras_model_sequential(input_shape = c(5, 3), input_batch_size = 2) |>
    layer_gru(2, stateful = TRUE, dtype = "float64")
  plain <- layer_gru(units = 2, return_state = TRUE, dtype = "float64")
  invisible(plain(x))
  set_weights(plain, get_weights(stateful))
  first <- plain(x)
  expect_equal(predict(stateful, x), first[[1]], tolerance = 1e-12)
  expect_equal(predict(stateful, x), plain(x, initial_state = first[[2]])[[1]], tolerance = 1e-12)
})
