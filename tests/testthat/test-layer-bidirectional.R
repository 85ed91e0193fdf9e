# layer_bidirectional() against real Keras (fixtures from
# tools/keras-fixtures/bidirectional.py), and its wiring: names, weights, masks,
# states, training, configuration and errors.

bidirectional_fixture <- read_keras_fixture("keras-bidirectional")

keras_bidirectional <- function(case, a, units = 2) {
  gru <- function(...) {
    layer_gru(units = units, return_sequences = case$return_sequences,
              return_state = case$return_state, dtype = case$dtype, ...)
  }
  backward <- switch(case$backward,
    copy = NULL,
    given = gru(go_backwards = !case$inner_go_backwards),
    relu = gru(go_backwards = TRUE, activation = "relu", reset_after = FALSE)
  )
  prefix <- if (case$backward == "relu") "backward_relu" else "backward"
  weights <- c(lapply(c("kernel", "recurrent_kernel", "bias"), function(w) a[[paste0("forward.", w)]]),
               lapply(c("kernel", "recurrent_kernel", "bias"), function(w) a[[paste0(prefix, ".", w)]]))
  merge_mode <- if (case$merge_mode == "none") NULL else case$merge_mode
  # Weights go in through `weights =` for Keras's own backward copy, and through
  # set_weights() on a built layer when a backward layer is given.
  given_weights <- if (case$backward == "copy") weights
  layer <- layer_bidirectional(layer = gru(go_backwards = case$inner_go_backwards),
                               merge_mode = merge_mode, weights = given_weights,
                               backward_layer = backward)
  if (is.null(given_weights)) {
    invisible(layer(a$x))
    set_weights(layer, weights)
  }
  layer
}

run_keras_bidirectional_case <- function(case, a) {
  layer <- keras_bidirectional(case, a)
  mask <- if (case$mask != "none") a[[paste0("mask.", case$mask)]] == 1
  initial_state <- if (case$initial_state) list(a$h0.forward, a$h0.backward)
  layer(a$x, mask = mask, initial_state = initial_state)
}

test_that("layer_bidirectional() matches Keras 3.15.1 in every merge mode, mask and direction setting", {
  errors <- expect_keras_cases(bidirectional_fixture, run_keras_bidirectional_case)
  expect_length(bidirectional_fixture$cases, 384L)
})

test_that("keras3's layer_bidirectional() example runs, with layer_gru() for the absent layer_lstm()", {
  model <- keras_model_sequential(input_shape = c(5, 10)) %>%
    layer_bidirectional(layer_gru(units = 10, return_sequences = TRUE)) %>%
    layer_bidirectional(layer_gru(units = 10)) %>%
    layer_dense(5, activation = "softmax")

  model %>% compile(loss = "categorical_crossentropy",
                    optimizer = "rmsprop")

  # With custom backward layer
  forward_layer <- layer_gru(units = 10, return_sequences = TRUE)
  backward_layer <- layer_gru(units = 10, activation = "relu",
                              return_sequences = TRUE, go_backwards = TRUE)

  model2 <- keras_model_sequential(input_shape = c(5, 10)) %>%
    bidirectional(forward_layer, backward_layer = backward_layer) %>%
    layer_dense(5, activation = "softmax")

  model2 %>% compile(loss = "categorical_crossentropy",
                     optimizer = "rmsprop")

  x <- fixed_array(c(4, 5, 10))
  expect_equal(dim(predict(model, x)), c(4L, 5L))
  expect_equal(dim(predict(model2, x)), c(4L, 5L, 5L))
  # Keras's parameter counts: 2 x 3 x 10 x (10 + 10 + 2), then inputs of 20.
  expect_equal(model$layers[[1]]$count_params(), 1320)
  expect_equal(model$layers[[2]]$count_params(), 1920)
  # The given backward layer is used as is; its activation stays relu.
  expect_identical(obj(model2$layers[[1]])$backward_layer, obj(backward_layer))
  expect_identical(obj(backward_layer)$cell$activation$name, "relu")
})

test_that("summary() shows one Bidirectional row with both directions' parameters", {
  model <- keras_model_sequential(input_shape = c(7, 3), name = "bidi_summary") |>
    layer_bidirectional(layer_gru(units = 4, return_sequences = TRUE), name = "bidi") |>
    layer_time_distributed(layer_dense(units = 2), name = "per_step")
  expect_snapshot(summary(model))
  expect_equal(model$count_params(), 2 * (3 * 4 * (3 + 4) + 2 * 12) + (8 * 2 + 2))
})

test_that("both directions are fresh copies named as Keras names them", {
  gru <- layer_gru(units = 3, name = "encoder", return_sequences = TRUE)
  bidi <- layer_bidirectional(layer = gru)
  expect_identical(bidi$forward_layer$name, "forward_encoder")
  expect_identical(bidi$backward_layer$name, "backward_encoder")
  expect_false(bidi$forward_layer$go_backwards)
  expect_true(bidi$backward_layer$go_backwards)
  expect_false(identical(bidi$forward_layer, obj(gru)))
  # Keras forces zero_output_for_mask = return_sequences on both directions.
  expect_true(bidi$forward_layer$zero_output_for_mask)
  expect_true(bidi$backward_layer$zero_output_for_mask)
  expect_false(layer_bidirectional(layer = layer_gru(units = 2))$forward_layer$zero_output_for_mask)
  # A "forward_" prefix is not doubled.
  named <- layer_bidirectional(layer = layer_gru(units = 2, name = "forward_x"))
  expect_identical(named$forward_layer$name, "forward_x")
  expect_identical(named$backward_layer$name, "backward_forward_x")
  # Unbuilt copies: the wrapped layer's own weights are not reused.
  invisible(gru(fixed_array(c(2, 4, 5))))
  invisible(bidi(fixed_array(c(2, 4, 5))))
  expect_false(isTRUE(all.equal(get_weights(bidi)[[1]], get_weights(gru)[[1]])))
})

test_that("get_weights() lists the forward layer's weights, then the backward layer's", {
  bidi <- layer_bidirectional(layer = layer_gru(units = 2, name = "gru"), name = "twoway")
  invisible(bidi(fixed_array(c(2, 3, 4))))
  expect_identical(vapply(bidi$weights, function(v) v$path, ""), c(
    "twoway/forward_gru/gru_cell/kernel", "twoway/forward_gru/gru_cell/recurrent_kernel",
    "twoway/forward_gru/gru_cell/bias", "twoway/backward_gru/gru_cell/kernel",
    "twoway/backward_gru/gru_cell/recurrent_kernel", "twoway/backward_gru/gru_cell/bias"))
  w <- get_weights(bidi)
  expect_equal(w[1:3], get_weights(bidi$forward_layer))
  expect_equal(w[4:6], get_weights(bidi$backward_layer))
})

test_that("each direction equals its own GRU, the backward one flipped back", {
  x <- fixed_array(c(3, 6, 2))
  mask <- matrix(TRUE, 3, 6)
  mask[2, 5:6] <- FALSE
  mask[3, 1:2] <- FALSE
  bidi <- layer_bidirectional(layer = layer_gru(units = 3, return_sequences = TRUE,
                                                dtype = "float64"), merge_mode = NULL)
  c(y, y_rev) %<-% bidi(x, mask = mask)
  fwd <- layer_gru(units = 3, return_sequences = TRUE, zero_output_for_mask = TRUE, dtype = "float64")
  bwd <- layer_gru(units = 3, return_sequences = TRUE, zero_output_for_mask = TRUE,
                   go_backwards = TRUE, dtype = "float64")
  invisible(fwd(x))
  invisible(bwd(x))
  set_weights(fwd, get_weights(bidi$forward_layer))
  set_weights(bwd, get_weights(bidi$backward_layer))
  expect_equal(y, fwd(x, mask = mask), tolerance = 1e-14)
  expect_equal(y_rev, bwd(x, mask = mask)[, 6:1, ], tolerance = 1e-14)
  # masked steps output zeros in both directions
  expect_true(all(y[2, 5:6, ] == 0) && all(y_rev[3, 1:2, ] == 0))
  # The mask travels on with the sequences.
  expect_identical(bidi$compute_mask(x, mask), list(mask, mask))
})

test_that("masks reach both directions in models, from layer_masking() and embeddings", {
  tokens <- matrix(c(3, 1, 2, 0, 0, 1, 2, 0, 4, 4, 1, 2), 3, byrow = TRUE)
  model <- keras_model_sequential(input_shape = 4) |>
    layer_embedding(5, 3, mask_zero = TRUE, dtype = "float64") |>
    layer_bidirectional(layer_gru(units = 2, return_sequences = TRUE, dtype = "float64"),
                        merge_mode = "sum")
  out <- model(tokens)
  embed <- obj(model$layers[[1]])
  bidi <- obj(model$layers[[2]])
  expect_equal(out, bidi$forward(embed$forward(tokens)$outputs, mask = tokens != 0)$outputs)
  expect_true(all(out[array(tokens == 0, dim(out))] == 0))
  expect_true(all(out[array(tokens != 0, dim(out))] != 0))
  expect_identical(model$compute_mask(tokens), tokens != 0)

  x <- fixed_array(c(3, 4, 2))
  x[1, 3:4, ] <- 0
  masked <- keras_model_sequential(input_shape = c(4, 2)) |>
    layer_masking(0, dtype = "float64") |>
    layer_bidirectional(layer_gru(units = 2, dtype = "float64"))
  manual <- obj(masked$layers[[2]])$forward(x, mask = rowSums(x != 0, dims = 2) > 0)$outputs
  expect_equal(masked(x), manual)
  expect_false(isTRUE(all.equal(masked(x), obj(masked$layers[[2]])$forward(x)$outputs)))
})

test_that("return_state and initial_state: forward states, then backward states", {
  x <- fixed_array(c(2, 4, 3))
  bidi <- layer_bidirectional(layer = layer_gru(units = 2, return_state = TRUE, dtype = "float64"),
                              merge_mode = "ave")
  h0 <- list(matrix(0.5, 2, 2), matrix(-0.25, 2, 2))
  c(out, h_fwd, h_bwd) %<-% bidi(x, initial_state = h0)
  expect_equal(h_fwd, bidi$forward_layer$call_handle(x, initial_state = h0[1])[[2]])
  expect_equal(h_bwd, bidi$backward_layer$call_handle(x, initial_state = h0[2])[[2]])
  expect_equal(out, (h_fwd + h_bwd) / 2)
  expect_error(bidi(x, initial_state = h0[1]), class = "rgru_error_shape")
  expect_error(bidi(x, initial_state = c(h0, h0[1])), class = "rgru_error_shape")

  # Symbolic: states fed from other tensors, four outputs with merge_mode = NULL.
  inputs <- keras_input(c(4, 3), dtype = "float64")
  s1 <- keras_input(2, dtype = "float64")
  s2 <- keras_input(2, dtype = "float64")
  both <- layer_bidirectional(layer = layer_gru(units = 2, return_state = TRUE, return_sequences = TRUE,
                                                dtype = "float64"), merge_mode = NULL)
  outs <- both(inputs, initial_state = list(s1, s2))
  expect_length(outs, 4L)
  expect_identical(lapply(outs, shape), list(shape(NA, 4, 2), shape(NA, 4, 2), shape(NA, 2), shape(NA, 2)))
  model <- keras_model(list(inputs, s1, s2), outs)
  got <- model(list(x, h0[[1]], h0[[2]]))
  expect_equal(got, obj(both)$forward(x, initial_state = h0)$outputs)
})

test_that("gradients through both directions and every merge mode match finite differences", {
  x <- fixed_array(c(3, 4, 2))
  mask <- matrix(TRUE, 3, 4)
  mask[1, 4] <- FALSE
  mask[2, 1] <- FALSE
  mask[3, c(2, 4)] <- FALSE
  h0 <- list(fixed_array(c(3, 2), seed = 5), fixed_array(c(3, 2), seed = 6))
  for (merge_mode in list("concat", "sum", "mul", "ave", NULL)) {
    for (return_sequences in c(FALSE, TRUE)) {
      bidi <- obj(layer_bidirectional(
        layer = layer_gru(units = 2, return_sequences = return_sequences, return_state = TRUE,
                          dtype = "float64", bias_initializer = "random_normal"),
        merge_mode = merge_mode))
      expect_backward_matches_fd(bidi, x, function(x) {
        bidi$forward(x, mask = mask, initial_state = h0)
      })
    }
  }
  # The directions' own activity regularizers add to the loss, as their calls do in Keras.
  active <- obj(layer_bidirectional(layer = layer_gru(units = 2, dtype = "float64",
                                                     activity_regularizer = regularizer_l2(0.3))))
  res <- active$forward(x)
  expect_equal(res$activity_loss, 0.3 * sum(res$tape$y[[1]]^2 + res$tape$y[[2]]^2) / 3)
  expect_backward_matches_fd(active, x, function(x) active$forward(x, mask = mask))
  # The inner layers' own dropout-free R path (an R activation) as well.
  r_path <- obj(layer_bidirectional(layer = layer_gru(units = 2, activation = function(z) z / sqrt(1 + z^2),
                                                      dtype = "float64", return_sequences = TRUE)))
  expect_backward_matches_fd(r_path, x, function(x) r_path$forward(x, mask = mask))
  expect_identical(r_path$forward_layer$last_backend, "r")
})

# The gradient of fit()'s whole loss (compiled loss + weight penalties) against
# central differences.
expect_training_gradients_match_fd <- function(model, x, y) {
  step <- batch_loss(obj(model), compile_state(model), x, y, NULL, training = TRUE)
  analytic <- batch_gradients(obj(model), step)
  loss <- function() batch_loss(obj(model), compile_state(model), x, y, NULL, training = FALSE)$loss
  numeric <- finite_difference_grads(loss, step$trainable, h = 1e-5)
  for (i in seq_along(numeric)) {
    expect_equal(as.vector(analytic[[i]]), as.vector(numeric[[i]]), tolerance = 1e-6,
                 label = step$trainable[[i]]$path)
  }
}

test_that("training: fit() updates both directions, with regularizers and constraints", {
  set.seed(3)
  x <- array(rnorm(16 * 5 * 2), c(16, 5, 2))
  y <- matrix(rowSums(x[, , 1]), 16)
  model <- keras_model_sequential(input_shape = c(5, 2)) |>
    layer_bidirectional(layer_gru(units = 3, dtype = "float64",
                                  kernel_regularizer = regularizer_l2(0.01),
                                  recurrent_constraint = constraint_maxnorm(0.5)),
                        merge_mode = "mul") |>
    layer_dense(1, dtype = "float64")
  model |> compile(optimizer = optimizer_adam(0.05), loss = "mse")
  bidi <- obj(model$layers[[1]])
  before <- get_weights(bidi)
  expect_length(bidi$losses, 2L)
  expect_equal(bidi$losses[[1]], 0.01 * sum(before[[1]]^2))
  expect_equal(bidi$losses[[2]], 0.01 * sum(before[[4]]^2))
  history <- fit(model, x, y, epochs = 8, batch_size = 8, verbose = 0)
  expect_lt(history$metrics$loss[8], history$metrics$loss[1])
  after <- get_weights(bidi)
  for (i in seq_along(after)) expect_false(isTRUE(all.equal(after[[i]], before[[i]])))
  # maxnorm(0.5) on every column of both recurrent kernels
  for (rk in after[c(2, 5)]) expect_true(all(sqrt(colSums(rk^2)) <= 0.5 + 1e-7))
  # the whole training loss, penalties included, against finite differences
  expect_training_gradients_match_fd(model, x[1:4, , , drop = FALSE], y[1:4, , drop = FALSE])
})

test_that("dropout is drawn per direction, in training only; gradients flow through it", {
  x <- fixed_array(c(4, 5, 3))
  bidi <- layer_bidirectional(layer = layer_gru(units = 3, dropout = 0.5, recurrent_dropout = 0.3,
                                                return_sequences = TRUE, dtype = "float64"),
                              merge_mode = NULL)
  # the same weights in both directions: only their own dropout masks tell them apart
  invisible(bidi(x))
  set_weights(bidi, rep(get_weights(bidi$forward_layer), 2))
  same <- layer_bidirectional(layer = layer_gru(units = 3, return_sequences = TRUE, dtype = "float64"),
                              merge_mode = NULL)
  invisible(same(x))
  set_weights(same, get_weights(bidi))
  c(y, y_rev) %<-% bidi(x)
  expect_equal(list(y, y_rev), same(x))
  c(t1, t1_rev) %<-% bidi(x, training = TRUE)
  c(t2, t2_rev) %<-% bidi(x, training = TRUE)
  expect_false(isTRUE(all.equal(t1, y)))
  expect_false(isTRUE(all.equal(t1_rev, y_rev)))
  expect_false(isTRUE(all.equal(t1, t2)))
  # Each direction's cell keeps its own seeded stream (the copies share the
  # wrapped layer's seed, as in Keras): replaying it fixes the masks, and the
  # gradient through both directions' dropout matches finite differences.
  seeded <- obj(layer_bidirectional(layer = layer_gru(units = 2, dropout = 0.4, recurrent_dropout = 0.2,
                                                      seed = 11, dtype = "float64"),
                                    merge_mode = "mul"))
  replay <- function(x) {
    for (direction in seeded$sublayers()) {
      cell <- direction$cell
      cell$seed_draws <- 0L
    }
    seeded$forward(x, training = TRUE)
  }
  expect_backward_matches_fd(seeded, x, replay)
  expect_false(isTRUE(all.equal(replay(x)$outputs, seeded$forward(x)$outputs)))
})

test_that("stateful: both directions carry their states; reset_state() zeroes them", {
  x <- fixed_array(c(2, 3, 2))
  bidi <- layer_bidirectional(layer = layer_gru(units = 2, stateful = TRUE, return_state = TRUE,
                                                dtype = "float64"))
  first <- bidi(x)
  expect_true(bidi$stateful)
  expect_equal(bidi$states, list(first[[2]], first[[3]]))
  second <- bidi(x)
  expect_equal(second[[2]], bidi$forward_layer$call_handle(x, initial_state = first[2])[[2]])
  expect_false(isTRUE(all.equal(second[[1]], first[[1]])))
  bidi$reset_state()
  expect_equal(bidi(x), first)
  model <- keras_model_sequential(input_shape = c(3, 2), input_batch_size = 2) |>
    layer_bidirectional(layer_gru(units = 2, stateful = TRUE, return_sequences = TRUE)) |>
    layer_bidirectional(layer_gru(units = 2))
  a <- model(x)
  expect_false(isTRUE(all.equal(model(x), a)))
  model$reset_state()
  expect_equal(model(x), a)
  expect_error(obj(model$layers[[2]])$reset_state(), class = "rgru_error_stateful")
})

test_that("backward_layer is checked as Keras checks it", {
  expect_error(layer_bidirectional(layer = layer_gru(units = 2, go_backwards = TRUE)),
               class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = layer_gru(units = 2),
                                   backward_layer = layer_gru(units = 2)),
               class = "rgru_error_argument")
  for (field in c("stateful", "return_sequences", "return_state")) {
    args <- stats::setNames(list(TRUE), field)
    back <- do.call(layer_gru, c(list(units = 2, go_backwards = TRUE), args))
    expect_error(layer_bidirectional(layer = layer_gru(units = 2), backward_layer = back),
                 class = "rgru_error_argument")
  }
  # Different sizes concatenate, but can't be added.
  x <- fixed_array(c(2, 3, 4))
  wide <- layer_bidirectional(layer = layer_gru(units = 2),
                              backward_layer = layer_gru(units = 3, go_backwards = TRUE))
  expect_equal(dim(wide(x)), c(2L, 5L))
  summed <- layer_bidirectional(layer = layer_gru(units = 2), merge_mode = "sum",
                                backward_layer = layer_gru(units = 3, go_backwards = TRUE))
  expect_error(summed(x), class = "rgru_error_shape")
  # The backward layer takes the forward layer's use_cudnn, as in Keras.
  given <- layer_gru(units = 2, go_backwards = TRUE, use_cudnn = "auto")
  invisible(layer_bidirectional(layer = layer_gru(units = 2, use_cudnn = FALSE), backward_layer = given))
  expect_false(given$use_cudnn)
})

test_that("bad arguments give classed errors", {
  expect_error(layer_bidirectional(), class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = layer_dense(units = 2)), class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = rnn_cell_gru(2)), class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = layer_gru(units = 2), merge_mode = "max"),
               class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = layer_gru(units = 2), merge_mode = NA),
               class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = layer_gru(units = 2), weights = "w"),
               class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = layer_gru(units = 2), backward_layer = 3),
               class = "rgru_error_argument")
  expect_error(layer_bidirectional(layer = layer_gru(units = 2), units = 3),
               class = "rgru_error_argument")
  bad_weights <- layer_bidirectional(layer = layer_gru(units = 2), weights = list(1, 2))
  expect_error(bad_weights(fixed_array(c(2, 3, 4))), class = "rgru_error_weights")
  bidi <- layer_bidirectional(layer = layer_gru(units = 2))
  expect_error(bidi(fixed_array(c(2, 3))), class = "rgru_error_shape")
  invisible(bidi(fixed_array(c(2, 3, 4))))
  expect_error(bidi(fixed_array(c(2, 3, 5))), class = "rgru_error_shape")
  expect_error(bidi(fixed_array(c(2, 3, 4)), mask = matrix(TRUE, 2, 2)), class = "rgru_error_mask")
})

test_that("use_cudnn dispatch is each direction's own, as layer_gru()'s", {
  x <- fixed_array(c(2, 3, 4))
  bidi <- layer_bidirectional(layer = layer_gru(units = 2))
  invisible(bidi(x))
  expected <- if (cudnn_usable()) "cudnn" else "cpu"
  expect_identical(bidi$forward_layer$last_backend, expected)
  expect_identical(bidi$backward_layer$last_backend, expected)
  strict <- layer_bidirectional(layer = layer_gru(units = 2, use_cudnn = TRUE))
  expect_true(strict$forward_layer$use_cudnn)
  expect_true(strict$backward_layer$use_cudnn)
  if (!cudnn_usable()) expect_error(strict(x), class = "rgru_error_cudnn")
  # a mask that is not right-padded keeps a direction off cuDNN under "auto"
  mask <- matrix(c(FALSE, TRUE, TRUE, TRUE, TRUE, TRUE), 2)
  invisible(bidi(x, mask = mask))
  expect_identical(bidi$forward_layer$last_backend, "cpu")
})

test_that("configuration round-trips; the layer composes like keras3's layers", {
  bidi <- layer_bidirectional(layer = layer_gru(units = 3, return_sequences = TRUE,
                                                reset_after = FALSE, name = "gru"),
                              merge_mode = NULL, name = "both_ways")
  config <- get_config(bidi)
  expect_null(config$merge_mode)
  expect_identical(config$layer$name, "forward_gru")
  expect_identical(config$backward_layer$name, "backward_gru")
  expect_true(config$backward_layer$go_backwards)
  expect_true(config$layer$zero_output_for_mask)
  copy <- from_config(config)
  expect_s3_class(copy, "rgru_layer_bidirectional")
  expect_identical(copy$forward_layer$name, "forward_gru")
  expect_null(copy$merge_mode)
  expect_false(copy$forward_layer$reset_after)
  x <- fixed_array(c(2, 4, 3))
  invisible(bidi(x))
  invisible(copy(x))
  set_weights(copy, get_weights(bidi))
  expect_equal(copy(x), bidi(x))
  # in a saved-and-rebuilt model
  model <- keras_model_sequential(input_shape = c(4, 3)) |>
    layer_bidirectional(layer_gru(units = 2, return_sequences = TRUE)) |>
    layer_bidirectional(layer_rnn(cell = rnn_cell_gru(2)))
  rebuilt <- from_config(get_config(model))
  set_weights(rebuilt, get_weights(model))
  expect_equal(rebuilt(x), model(x))
  # composition: NULL/missing, array, keras_input, sequential model
  expect_s3_class(layer_bidirectional(layer = layer_gru(units = 2)), "rgru_layer")
  expect_equal(dim(layer_bidirectional(x, layer_gru(units = 2))), c(2L, 4L))
  expect_identical(shape(layer_bidirectional(keras_input(c(4, 3)), layer_gru(units = 2))),
                   shape(NA, 4))
  expect_identical(bidirectional, layer_bidirectional)
  # input_shape given to the wrapper, or to the wrapped layer, starts a sequential model
  for (model in list(
    keras_model_sequential() |> layer_bidirectional(layer_gru(units = 2), input_shape = c(4, 3)),
    keras_model_sequential() |> layer_bidirectional(layer_gru(units = 2, input_shape = c(4, 3)))
  )) {
    expect_true(model$built)
    expect_equal(dim(model(x)), c(2L, 4L))
  }
  expect_error(keras_model_sequential(input_shape = c(4, 3)) |>
                 layer_bidirectional(layer_gru(units = 2), merge_mode = NULL),
               class = "rgru_error_model")
  # trainable = FALSE freezes both directions
  frozen <- layer_bidirectional(layer = layer_gru(units = 2), trainable = FALSE)
  invisible(frozen(x))
  expect_length(frozen$trainable_weights, 0L)
  expect_length(frozen$weights, 6L)
})

test_that("layer_rnn() and stacked cells work inside layer_bidirectional()", {
  x <- fixed_array(c(2, 4, 3))
  mask <- matrix(c(TRUE, FALSE, TRUE, TRUE, TRUE, TRUE, FALSE, TRUE), 2)
  loop <- layer_bidirectional(layer = layer_rnn(cell = rnn_cell_gru(2, dtype = "float64"),
                                                return_sequences = TRUE))
  engine <- layer_bidirectional(layer = layer_gru(units = 2, return_sequences = TRUE,
                                                  dtype = "float64"))
  invisible(loop(x))
  invisible(engine(x))
  set_weights(loop, get_weights(engine))
  expect_true(loop$backward_layer$zero_output_for_mask)
  expect_equal(loop(x, mask = mask), engine(x, mask = mask), tolerance = 1e-13)
  rnn <- layer_bidirectional(layer = layer_rnn(cell = rnn_cells_stack(list(rnn_cell_gru(2), rnn_cell_gru(1))),
                                               return_state = TRUE, dtype = "float64"))
  outs <- rnn(x)
  expect_length(outs, 5L)
  expect_identical(lapply(outs, dim), list(c(2L, 2L), c(2L, 2L), c(2L, 1L), c(2L, 2L), c(2L, 1L)))
  paths <- vapply(rnn$weights, function(v) v$path, "")
  expect_true(all(startsWith(paths[1:6], paste0(rnn$name, "/", rnn$forward_layer$name, "/"))))
  expect_true(all(startsWith(paths[7:12], paste0(rnn$name, "/", rnn$backward_layer$name, "/"))))
  expect_match(paths[1], "^[^/]+/forward_rnn[_0-9]*/stacked_rnn_cells[_0-9]*/gru_cell[_0-9]*/kernel$")
  expect_backward_matches_fd(obj(rnn), x, function(x) {
    obj(rnn)$forward(x, mask = matrix(c(TRUE, FALSE, TRUE, TRUE, TRUE, TRUE, FALSE, TRUE), 2))
  })
})

test_that("the Keras-saved Bidirectional GRU model, rebuilt with set_weights(), predicts what Keras predicted", {
  a <- read_engine_fixture("keras-bigru-model")
  inputs <- keras_input(c(10, 8), name = "input")
  outputs <- inputs |>
    layer_bidirectional(layer_gru(units = 4, return_sequences = TRUE, name = "gru"),
                        merge_mode = "concat", name = "bidi") |>
    layer_gru(units = 3, name = "gru_2") |>
    layer_dense(2, name = "dense")
  model <- keras_model(inputs, outputs, name = "bigru_model")
  keras_paths <- sub("^weight\\.", "", grep("^weight\\.", names(a), value = TRUE))
  # our weight paths are Keras's, in Keras's order
  expect_identical(vapply(model$weights, function(v) v$path, ""), keras_paths)
  set_weights(model, a[paste0("weight.", keras_paths)])
  got <- predict(model, a$inputs)
  expect_lte(max(abs(got - a$outputs)), 1e-5)
})
