merging_fixture <- function() read_engine_fixture("keras-merging")
as_mask <- function(x) array(x != 0, dim(x))

test_that("keras3's layer_concatenate() reference examples run verbatim", {
  x <- op_arange(20) |> op_reshape(c(2, 2, 5))
  y <- op_arange(21, 40) |> op_reshape(c(2, 2, 5))
  out <- layer_concatenate(x, y, axis = 2)
  expect_equal(dim(out), c(2, 4, 5))
  expect_equal(out[1, , ], rbind(1:5, 6:10, 21:25, 26:30))

  x1 <- op_arange(10)     |> op_reshape(c(5, 2)) |> layer_dense(8)
  x2 <- op_arange(11, 20) |> op_reshape(c(5, 2)) |> layer_dense(8)
  y <- layer_concatenate(x1, x2)
  expect_equal(dim(y), c(5, 16))
  expect_equal(y[, 9:16], x2)
})

test_that("keras3's layer_add() reference examples run verbatim", {
  input_shape <- c(1, 2, 3)
  x1 <- op_ones(input_shape)
  x2 <- op_ones(input_shape)
  expect_equal(layer_add(x1, x2), array(2, input_shape))

  input1 <- layer_input(shape = c(16))
  x1 <- input1 |> layer_dense(8, activation = 'relu')
  input2 <- layer_input(shape = c(32))
  x2 <- input2 |> layer_dense(8, activation = 'relu')
  # equivalent to `added = layer_add([x1, x2))`
  added <- layer_add(x1, x2)
  output <- added |> layer_dense(4)
  model <- keras_model(inputs = c(input1, input2), outputs = output)
  expect_equal(dim(model(list(array(1, c(3, 16)), array(1, c(3, 32))))), c(3, 4))
})

test_that("concatenate and add match Keras in float64", {
  f <- merging_fixture()
  expect_equal(layer_concatenate(f$a, f$b, dtype = "float64"), f$concat_last, tolerance = 1e-14)
  expect_equal(layer_concatenate(list(f$a, f$c), axis = 2), f$concat_time, tolerance = 1e-14)
  expect_equal(layer_concatenate(list(f$a, f$b), f$d, axis = -1), f$concat_three, tolerance = 1e-14)
  expect_equal(layer_add(f$a, f$d), f$add_two, tolerance = 1e-14)
  expect_equal(layer_add(list(f$a, f$d, f$a)), f$add_three, tolerance = 1e-14)
  expect_equal(layer_add(f$a, f$e), f$add_broadcast, tolerance = 1e-14)
  expect_equal(layer_add(f$a, f$f), f$add_rank, tolerance = 1e-14)
})

test_that("masks combine as Keras's Concatenate and Add do", {
  f <- merging_fixture()
  m1 <- as_mask(f$m1)
  m2 <- as_mask(f$m2)
  m3 <- as_mask(f$m3)
  mask_of <- function(layer, inputs, masks) obj(layer)$forward(inputs, mask = masks)$mask
  concat <- layer_concatenate()
  expect_equal(mask_of(concat, list(f$a, f$b), list(m1, m2)), as_mask(f$mask_concat_last_both))
  expect_equal(mask_of(concat, list(f$a, f$b), list(m1, NULL)), as_mask(f$mask_concat_last_one))
  concat_time <- layer_concatenate(axis = 2)
  expect_equal(mask_of(concat_time, list(f$a, f$c), list(m1, m3)), as_mask(f$mask_concat_time_both))
  expect_equal(mask_of(concat_time, list(f$a, f$c), list(NULL, m3)), as_mask(f$mask_concat_time_one))
  expect_null(mask_of(concat, list(f$a, f$b), list(NULL, NULL)))
  add <- layer_add()
  expect_equal(mask_of(add, list(f$a, f$d), list(m1, m2)), as_mask(f$mask_add_both))
  expect_null(mask_of(add, list(f$a, f$d), list(m1, NULL)))

  # symbolic: whether a mask travels on
  tokens <- keras_input(shape = 5)
  masked <- layer_embedding(tokens, 6, 2, mask_zero = TRUE)
  plain <- layer_embedding(tokens, 6, 2)
  expect_true(layer_concatenate(masked, plain)$has_mask)
  expect_false(layer_concatenate(plain, plain)$has_mask)
  expect_true(layer_add(masked, masked)$has_mask)
  expect_false(layer_add(masked, plain)$has_mask)
})

test_that("a concatenated mask reaches the GRU after it", {
  tokens <- rbind(c(0, 0, 3, 1), c(2, 4, 4, 1))
  inp <- keras_input(shape = 4)
  a <- layer_embedding(inp, 5, 2, mask_zero = TRUE)
  b <- layer_embedding(inp, 5, 3, mask_zero = TRUE)
  out <- layer_concatenate(a, b) |> layer_gru(2, dtype = "float64")
  model <- keras_model(inp, out)
  c(., ea, eb, cat, gru) %<-% model$layers
  joined <- cat(list(ea(tokens), eb(tokens)))
  expect_equal(model(tokens), gru(joined, mask = tokens != 0))
  expect_false(isTRUE(all.equal(model(tokens), gru(joined))))
})

test_that("concatenate and add backward match finite differences", {
  a <- fixed_array(c(2, 3, 4), 1)
  b <- fixed_array(c(2, 3, 2), 2)
  d <- fixed_array(c(2, 1, 4), 3)
  e <- fixed_array(c(2, 4), 4)
  check <- function(layer, inputs) {
    l <- obj(layer)
    res <- l$forward(inputs)
    w <- loss_weights_for(res$outputs)[[1]]
    g <- l$backward(res$tape, w)
    expect_length(g$d_inputs, length(inputs))
    for (i in seq_along(inputs)) {
      f <- function(x) {
        xs <- inputs
        xs[[i]] <- x
        sum(l$forward(xs)$outputs * w)
      }
      expect_equal(g$d_inputs[[i]], numeric_gradient(f, inputs[[i]]), tolerance = 1e-8)
    }
  }
  check(layer_concatenate(), list(a, b))
  check(layer_concatenate(axis = 2), list(a, fixed_array(c(2, 5, 4), 5)))
  check(layer_concatenate(axis = 1), list(a, fixed_array(c(3, 3, 4), 6)))
  check(layer_add(), list(a, a * 2, fixed_array(c(2, 3, 4), 7)))
  check(layer_add(), list(a, d))
  check(layer_add(), list(a, e))
})

test_that("a multi-input model with concatenate and add trains with exact gradients", {
  x1 <- keras_input(shape = c(4, 2), dtype = "float64")
  x2 <- keras_input(shape = 3, dtype = "float64")
  seq_out <- layer_gru(x1, 3, return_sequences = TRUE, dtype = "float64")
  branch <- layer_dense(x2, 3, dtype = "float64")
  summed <- layer_add(layer_gru(seq_out, 3, dtype = "float64"), branch, dtype = "float64")
  out <- layer_concatenate(summed, branch, dtype = "float64") |> layer_dense(1, dtype = "float64")
  model <- keras_model(list(x1, x2), out)
  inputs <- list(fixed_array(c(3, 4, 2), 8), fixed_array(c(3, 3), 9))
  m <- obj(model)
  res <- m$forward(inputs)
  w <- loss_weights_for(res$outputs)[[1]]
  g <- m$backward(res$tape, w)
  loss <- function() sum(m$forward(inputs)$outputs * w)
  for (k in seq_along(m$weights)) {
    v <- m$weights[[k]]
    num <- numeric_gradient(function(value) {
      old <- v$value
      v$value <- value
      on.exit(v$value <- old)
      loss()
    }, v$value)
    expect_equal(as.numeric(g$grads[[k]]), as.numeric(num), tolerance = 1e-7, label = v$path)
  }
  for (i in 1:2) {
    f <- function(x) {
      xs <- inputs
      xs[[i]] <- x
      sum(m$forward(xs)$outputs * w)
    }
    expect_equal(g$d_inputs[[i]], numeric_gradient(f, inputs[[i]]), tolerance = 1e-7)
  }
})

test_that("merge layers compose as keras3's: NULL, tensors, arrays, not sequential models", {
  concat <- layer_concatenate(axis = 2, name = "joined")
  expect_s3_class(concat, "rgru_layer_concatenate")
  expect_equal(concat$name, "joined")
  expect_s3_class(layer_add(NULL), "rgru_layer_add")
  a <- keras_input(shape = c(4, 3))
  b <- keras_input(shape = c(6, 3))
  out <- concat(list(a, b))
  expect_equal(shape(out), shape(NA, 10, 3))
  expect_equal(dim(concat(list(array(1, c(2, 4, 3)), array(2, c(2, 6, 3))))), c(2, 10, 3))
  expect_equal(shape(layer_add(list(a, a))), shape(NA, 4, 3))
  expect_equal(shape(layer_add(a, keras_input(shape = c(1, 3)))), shape(NA, 4, 3))
  expect_error(keras_model_sequential(input_shape = 3) |> layer_add(),
               class = "rgru_error_input")
  expect_error(keras_model_sequential(input_shape = 3) |> layer_concatenate(),
               class = "rgru_error_input")
})

test_that("merge layers reject bad inputs with classed errors", {
  a <- array(1, c(2, 3, 4))
  expect_error(layer_concatenate(a, array(1, c(2, 4, 4))), class = "rgru_error_shape")
  expect_error(layer_concatenate(a, array(1, c(2, 3))), class = "rgru_error_shape")
  expect_error(layer_concatenate(a, a, axis = 4), class = "rgru_error_shape")
  expect_error(layer_concatenate(a, a, axis = 0), class = "rgru_error_argument")
  expect_error(layer_concatenate(a, a, axis = 1.5), class = "rgru_error_argument")
  expect_error(layer_concatenate(a, array(1, c(3, 3, 4))), class = "rgru_error_shape")
  expect_error(layer_add(a, array(1, c(2, 3, 5))), class = "rgru_error_shape")
  expect_error(layer_add(a, array(1, c(3, 3, 4))), class = "rgru_error_shape")
  expect_error(layer_add(a, "x"), class = "rgru_error_input")
  expect_error(layer_add()(a), class = "rgru_error_input")
  expect_error(layer_add(a, a, units = 3), class = "rgru_error_argument")
  expect_error(layer_concatenate(keras_input(shape = 3), keras_input(shape = c(2, 3))),
               class = "rgru_error_shape")
  expect_error(layer_concatenate(a, a, mask = NULL), class = "rgru_error_argument")
})

test_that("merge layers round-trip through get_config(), from_config() and save/load", {
  concat <- layer_concatenate(axis = 2, name = "c")
  config <- get_config(concat)
  expect_equal(config$axis, 1L)   # Keras's 0-based axis, as keras3's get_config() shows
  again <- from_config(config)
  expect_equal(again$axis, 1L)
  x <- list(array(1:6, c(1, 2, 3)), array(7:12, c(1, 2, 3)))
  expect_equal(again(x), concat(x))
  add <- from_config(get_config(layer_add(dtype = "float64")))
  expect_s3_class(add, "rgru_layer_add")
  expect_equal(add$dtype, "float64")

  x1 <- keras_input(shape = c(5, 2))
  x2 <- keras_input(shape = c(5, 3))
  joined <- layer_concatenate(x1, x2)
  out <- layer_add(layer_gru(joined, 4), layer_dense(layer_gru(x2, 2), 4)) |> layer_dense(1)
  model <- keras_model(list(x1, x2), out)
  inputs <- list(random_uniform(c(3, 5, 2), seed = 1), random_uniform(c(3, 5, 3), seed = 2))
  path <- withr::local_tempfile(fileext = ".rds")
  save_model(model, path)
  restored <- load_model(path)
  expect_identical(predict(restored, inputs, verbose = 0), predict(model, inputs, verbose = 0))
})

test_that("summary() lists merge layers with Keras's parameter counts and connections", {
  local_reproducible_output(unicode = FALSE)
  withr::local_options(width = 120)
  x1 <- keras_input(shape = c(5, 2), name = "series")
  x2 <- keras_input(shape = c(5, 3), name = "weather")
  joined <- layer_concatenate(x1, x2, name = "joined")
  g <- layer_gru(joined, 4, name = "gru_joined")
  d <- layer_dense(x2, 4, name = "dense_weather") |> layer_gru(4, name = "gru_weather")
  out <- layer_add(g, d, name = "summed") |> layer_dense(1, name = "head")
  model <- keras_model(list(x1, x2), out, name = "multi_input")
  expect_equal(model$count_params(), (5 * 12 + 4 * 12 + 2 * 12) + (3 * 4 + 4) +
                 (4 * 12 + 4 * 12 + 2 * 12) + 5)
  expect_snapshot(summary(model))
})

# tokens (int32) -> two masked embeddings -> concatenate -> GRU -> GRU, plus a
# float series -> GRU; the GRU states added, then a dense head; as in
# tools/keras-fixtures/scripts.py.
keras_multi_input_model <- function(dtype) {
  tokens <- keras_input(shape = 6, dtype = "int32", name = "tokens")
  series <- keras_input(shape = c(6, 3), dtype = dtype, name = "series")
  emb_a <- layer_embedding(tokens, 9, 3, mask_zero = TRUE, dtype = dtype, name = "emb_a")
  emb_b <- layer_embedding(tokens, 9, 2, mask_zero = TRUE, dtype = dtype, name = "emb_b")
  joined <- layer_concatenate(emb_a, emb_b, dtype = dtype, name = "concat")
  gru_tok <- joined |>
    layer_gru(4, return_sequences = TRUE, dtype = dtype, name = "gru_seq") |>
    layer_gru(3, dtype = dtype, name = "gru_tok")
  gru_ser <- layer_gru(series, 3, reset_after = FALSE, dtype = dtype, name = "gru_ser")
  summed <- layer_add(gru_tok, gru_ser, dtype = dtype, name = "add")
  head <- layer_dense(summed, 2, activation = "tanh", dtype = dtype, name = "head")
  keras_model(list(tokens, series), list(head, summed))
}

test_that("a multi-input functional GRU model matches Keras's forward pass", {
  for (dtype in c("float64", "float32")) {
    f <- read_engine_fixture(paste0("keras-functional-", dtype))
    model <- keras_multi_input_model(dtype)
    expect_equal(model$count_params(), f$params)
    for (layer in model$layers) {
      keys <- grep(paste0("^w_", layer$name, "_"), names(f), value = TRUE)
      if (length(keys) > 0) set_weights(layer, unname(f[keys]))
    }
    tokens <- matrix(as.integer(f$tokens), nrow(f$tokens))
    c(head, summed) %<-% predict(model, list(tokens, f$series), verbose = 0)
    tolerance <- if (dtype == "float64") 1e-10 else 1e-5
    expect_equal(head, f$head, tolerance = tolerance)
    expect_equal(summed, f$summed, tolerance = tolerance)
    # token ids stored as integers or as whole doubles give the same numbers
    c(head2, .) %<-% predict(model, list(f$tokens, f$series), verbose = 0)
    expect_identical(head2, head)
  }
})
