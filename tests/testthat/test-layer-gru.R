test_that("the seed document's example runs verbatim", {
  inputs <- random_uniform(c(32, 10, 8))
  outputs <- inputs |> layer_gru(4)
  expect_equal(format(shape(outputs)), "shape(32, 4)")

  gru <- layer_gru(, 4, return_sequences = TRUE, return_state = TRUE)
  c(whole_sequence_output, final_state) %<-% gru(inputs)
  expect_equal(format(shape(whole_sequence_output)), "shape(32, 10, 4)")
  expect_equal(format(shape(final_state)), "shape(32, 4)")
  # with return_sequences the last step of the sequence is the final state
  expect_equal(whole_sequence_output[, 10, ], final_state)
})

test_that("layer_gru() has keras3's formals in order", {
  expect_equal(names(formals(layer_gru)), c(
    "object", "units", "activation", "recurrent_activation", "use_bias",
    "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
    "return_sequences", "return_state", "go_backwards", "stateful", "unroll", "reset_after",
    "use_cudnn", "..."
  ))
  f <- formals(layer_gru)
  expect_equal(f$activation, "tanh")
  expect_equal(f$recurrent_activation, "sigmoid")
  expect_equal(f$recurrent_initializer, "orthogonal")
  expect_equal(f$use_cudnn, "auto")
  expect_true(f$reset_after)
})

test_that("every return_sequences/return_state combination has Keras's shapes", {
  x <- random_uniform(c(3, 5, 2))
  inp <- keras_input(shape = c(5, 2))
  for (rs in c(FALSE, TRUE)) for (st in c(FALSE, TRUE)) {
    out_shape <- if (rs) c(3, 5, 4) else c(3, 4)
    eager <- layer_gru(x, 4, return_sequences = rs, return_state = st)
    symbolic <- layer_gru(inp, 4, return_sequences = rs, return_state = st)
    if (st) {
      expect_length(eager, 2)
      expect_equal(dim(eager[[1]]), out_shape)
      expect_equal(dim(eager[[2]]), c(3, 4))
      expect_equal(as.integer(shape(symbolic[[1]])), c(NA, out_shape[-1]))
      expect_equal(as.integer(shape(symbolic[[2]])), c(NA, 4L))
    } else {
      expect_equal(dim(eager), out_shape)
      expect_equal(as.integer(shape(symbolic)), c(NA, out_shape[-1]))
    }
  }
})

test_that("units = 4 and 4L are the same, and the weights have Keras's layout and paths", {
  g1 <- layer_gru(units = 4)
  g2 <- layer_gru(units = 4L)
  expect_identical(g1$units, 4L)
  expect_identical(g2$units, 4L)
  invisible(g1(random_uniform(c(2, 3, 5))))
  w <- g1$weights
  expect_equal(vapply(w, function(v) v$name, ""), c("kernel", "recurrent_kernel", "bias"))
  expect_equal(w[[1]]$path, paste0(g1$name, "/gru_cell/kernel"))
  expect_equal(lapply(get_weights(g1), dim), list(c(5L, 12L), c(4L, 12L), c(2L, 12L)))
  g3 <- layer_gru(units = 4, reset_after = FALSE, use_bias = TRUE)
  invisible(g3(random_uniform(c(2, 3, 5))))
  expect_equal(length(get_weights(g3)[[3]]), 12)
  expect_equal(dim(get_weights(g3)[[3]]), 12L)
  g4 <- layer_gru(units = 4, use_bias = FALSE)
  invisible(g4(random_uniform(c(2, 3, 5))))
  expect_length(g4$weights, 2)
})

test_that("the recurrent kernel is orthogonal and the kernel glorot-uniform bounded", {
  g <- layer_gru(units = 6, dtype = "float64")
  invisible(g(random_uniform(c(1, 2, 3))))
  rk <- get_weights(g)[[2]]
  # Keras's orthogonal initializer on (units, 3 * units) gives orthonormal rows
  expect_equal(tcrossprod(rk), diag(6), tolerance = 1e-8)
  limit <- sqrt(6 / (3 + 18))
  expect_true(all(abs(get_weights(g)[[1]]) <= limit))
})

test_that("the GRU computes Keras's equations (float64, reset_after both ways)", {
  x <- fixed_array(c(2, 4, 3))
  for (reset_after in c(TRUE, FALSE)) {
    g <- layer_gru(units = 2, reset_after = reset_after, return_sequences = TRUE,
                   dtype = "float64", bias_initializer = "random_normal")
    out <- g(x)
    w <- get_weights(g)
    sig <- function(v) 1 / (1 + exp(-v))
    K <- w[[1]]; U <- w[[2]]; b <- w[[3]]
    bi <- if (reset_after) b[1, ] else b
    br <- if (reset_after) b[2, ] else rep(0, 6)
    h <- matrix(0, 2, 2)
    z_ <- 1:2; r_ <- 3:4; h_ <- 5:6
    for (t in 1:4) {
      xt <- x[, t, ]
      mx <- sweep(xt %*% K, 2, bi, "+")
      mi <- sweep(h %*% U, 2, br, "+")
      z <- sig(mx[, z_] + mi[, z_])
      r <- sig(mx[, r_] + mi[, r_])
      hh <- if (reset_after) tanh(mx[, h_] + r * mi[, h_]) else tanh(mx[, h_] + (r * h) %*% U[, h_])
      h <- z * h + (1 - z) * hh
      expect_equal(out[, t, ], h, tolerance = 1e-10)
    }
  }
})

test_that("float32 and float64 agree to single precision", {
  x <- fixed_array(c(3, 6, 4))
  g32 <- layer_gru(units = 5)
  g64 <- layer_gru(units = 5, dtype = "float64")
  invisible(g32(x)); invisible(g64(x))
  set_weights(g64, get_weights(g32))
  expect_equal(g32(x), g64(x), tolerance = 1e-5)
})

test_that("activations given as R functions match the built-in names exactly", {
  x <- fixed_array(c(2, 5, 3))
  g_name <- layer_gru(units = 3, return_sequences = TRUE, dtype = "float64")
  g_fun <- layer_gru(units = 3, return_sequences = TRUE, dtype = "float64",
                     activation = function(v) tanh(v),
                     recurrent_activation = function(v) 1 / (1 + exp(-v)))
  invisible(g_name(x)); invisible(g_fun(x))
  set_weights(g_fun, get_weights(g_name))
  expect_equal(g_fun(x), g_name(x), tolerance = 1e-10)
  expect_equal(g_fun$last_backend, "r")
  expect_equal(g_name$last_backend, "cpu")
})

test_that("activations along an axis run on the R step, as in layer_rnn(rnn_cell_gru())", {
  x <- fixed_array(c(2, 4, 3))
  for (act in c("softmax", "log_softmax", "sparsemax")) {
    for (args in list(list(activation = act), list(recurrent_activation = act))) {
      gru <- do.call(layer_gru, c(list(units = 3, return_sequences = TRUE,
                                       dtype = "float64"), args))
      out <- gru(x)
      expect_equal(gru$last_backend, "r", label = act)
      rnn <- layer_rnn(cell = do.call(rnn_cell_gru, c(list(3, dtype = "float64"), args)),
                       return_sequences = TRUE)
      invisible(rnn(x))
      set_weights(rnn, get_weights(gru))
      expect_equal(out, rnn(x), tolerance = 1e-12, label = act)
    }
  }
  # glu halves the units, so no GRU state can pass through it: the same classed error
  for (units in c(3, 4)) {
    gru_error <- expect_error(layer_gru(x, units, activation = "glu"), class = "rgru_error")
    rnn_error <- expect_error(layer_rnn(x, rnn_cell_gru(units, activation = "glu")),
                              class = "rgru_error")
    expect_identical(class(gru_error), class(rnn_error))
  }
})

test_that("the engine plan follows the layer's settings and weights", {
  x <- fixed_array(c(2, 4, 3))
  gru <- layer_gru(units = 2, dtype = "float64")
  first <- gru(x)
  expect_false(is.null(gru$fast_call))
  w <- get_weights(gru)
  w[[1]][] <- 0.5
  set_weights(gru, w)
  changed <- gru(x)
  expect_false(isTRUE(all.equal(changed, first)))
  ref <- layer_rnn(cell = rnn_cell_gru(2, dtype = "float64"))
  invisible(ref(x))
  set_weights(ref, w)
  expect_equal(changed, ref(x), tolerance = 1e-12)
  gru$go_backwards <- TRUE
  ref_back <- layer_rnn(cell = rnn_cell_gru(2, dtype = "float64"), go_backwards = TRUE)
  invisible(ref_back(x))
  set_weights(ref_back, w)
  expect_equal(gru(x), ref_back(x), tolerance = 1e-12)
  expect_equal(gru(x), ref_back(x), tolerance = 1e-12)
  # what the fast path does not take goes the general way, with its errors
  expect_error(gru(x[, , 1:2]), class = "rgru_error_shape")
  expect_error(gru(array(0, c(0, 4, 3))), class = "rgru_error_shape")
  integers <- array(1:24, c(2, 4, 3))
  expect_equal(gru(integers), gru(integers + 0))
})

test_that("a stateful layer carries its state on the fast path too", {
  x <- fixed_array(c(2, 3, 3))
  stateful <- layer_gru(units = 2, stateful = TRUE, dtype = "float64")
  plain <- layer_gru(units = 2, return_state = TRUE, dtype = "float64")
  invisible(stateful(x)); invisible(plain(x))
  set_weights(plain, get_weights(stateful))
  stateful$reset_state()
  state <- NULL
  for (i in 1:3) {
    out <- stateful(x)
    ref <- if (is.null(state)) plain(x) else plain(x, initial_state = state)
    expect_equal(out, ref[[1]], tolerance = 1e-12)
    state <- ref[[2]]
  }
  expect_error(stateful(x[1, , , drop = FALSE]), class = "rgru_error_stateful")
})

test_that("dropout applies only with training = TRUE and is reproducible from seed", {
  x <- fixed_array(c(4, 5, 3))
  g <- layer_gru(units = 3, dropout = 0.5, recurrent_dropout = 0.3, seed = 11, dtype = "float64")
  inference <- g(x)
  expect_equal(g(x), inference)
  expect_equal(g(x, training = FALSE), inference)
  trained <- g(x, training = TRUE)
  expect_false(isTRUE(all.equal(trained, inference)))
  g2 <- layer_gru(units = 3, dropout = 0.5, recurrent_dropout = 0.3, seed = 11, dtype = "float64")
  invisible(g2(x))
  set_weights(g2, get_weights(g))
  expect_equal(g2(x, training = TRUE), trained)
  # the seed doesn't disturb the user's random stream
  set.seed(3); a <- runif(1)
  set.seed(3); invisible(g(x, training = TRUE)); b <- runif(1)
  expect_equal(a, b)
})

test_that("unroll is accepted and gives the same numbers", {
  x <- fixed_array(c(2, 3, 2))
  g <- layer_gru(units = 2)
  gu <- layer_gru(units = 2, unroll = TRUE)
  invisible(g(x)); invisible(gu(x))
  set_weights(gu, get_weights(g))
  expect_equal(gu(x), g(x))
})

test_that("masks skip steps and carry the state, as Keras does", {
  x <- fixed_array(c(2, 4, 3))
  g <- layer_gru(units = 2, return_sequences = TRUE, dtype = "float64")
  mask <- rbind(c(TRUE, TRUE, FALSE, FALSE), rep(TRUE, 4))
  out <- g(x, mask = mask)
  short <- g(x[1, 1:2, , drop = FALSE])
  expect_equal(out[1, 1:2, ], short[1, , ])
  expect_equal(out[1, 3, ], out[1, 2, ])
  expect_equal(out[1, 4, ], out[1, 2, ])
  expect_equal(out[2, , ], g(x)[2, , ])
  last <- layer_gru(units = 2, dtype = "float64")
  invisible(last(x)); set_weights(last, get_weights(g))
  expect_equal(last(x, mask = mask)[1, ], out[1, 2, ])
})

test_that("leading masked steps output zeros even with an initial state (Keras's rule)", {
  x <- fixed_array(c(2, 3, 2))
  h0 <- matrix(0.5, 2, 2)
  mask <- rbind(c(FALSE, TRUE, TRUE), rep(TRUE, 3))
  g <- layer_gru(units = 2, return_sequences = TRUE, dtype = "float64")
  out <- g(x, mask = mask, initial_state = h0)
  expect_equal(out[1, 1, ], c(0, 0))
  r <- layer_rnn(cell = rnn_cell_gru(2, dtype = "float64"), return_sequences = TRUE)
  invisible(r(x)); set_weights(r, get_weights(g))
  expect_equal(r(x, mask = mask, initial_state = h0), out, tolerance = 1e-12)
})

test_that("initial_state is used and checked", {
  x <- fixed_array(c(2, 3, 2))
  g <- layer_gru(units = 3)
  h0 <- matrix(0.3, 2, 3)
  expect_false(isTRUE(all.equal(g(x, initial_state = h0), g(x))))
  expect_equal(g(x, initial_state = list(h0)), g(x, initial_state = h0))
  expect_error(g(x, initial_state = matrix(0, 2, 4)), class = "rgru_error_shape")
  expect_error(g(x, initial_state = matrix(0, 3, 3)), class = "rgru_error_shape")
  expect_error(g(x, initial_state = list(h0, h0)), class = "rgru_error_shape")
})

test_that("go_backwards returns the sequence in processing order", {
  x <- fixed_array(c(2, 4, 3))
  g <- layer_gru(units = 2, return_sequences = TRUE, dtype = "float64")
  gb <- layer_gru(units = 2, return_sequences = TRUE, go_backwards = TRUE, dtype = "float64")
  invisible(g(x)); invisible(gb(x)); set_weights(gb, get_weights(g))
  expect_equal(gb(x), g(x[, 4:1, , drop = FALSE]), tolerance = 1e-12)
})

test_that("stateful layers carry the state per sample and reset it", {
  x <- fixed_array(c(2, 6, 3))
  g <- layer_gru(units = 2, stateful = TRUE, dtype = "float64")
  full <- layer_gru(units = 2, dtype = "float64")
  invisible(full(x)); invisible(g(x[, 1:3, , drop = FALSE]))
  set_weights(g, get_weights(full))
  g$reset_state()
  invisible(g(x[, 1:3, , drop = FALSE]))
  second <- g(x[, 4:6, , drop = FALSE])
  expect_equal(second, full(x), tolerance = 1e-12)
  expect_error(g(x[1, 1:3, , drop = FALSE]), class = "rgru_error_stateful")
  g$reset_state()
  expect_equal(g(x[, 1:3, , drop = FALSE]), full(x[, 1:3, , drop = FALSE]), tolerance = 1e-12)
})

test_that("use_cudnn = FALSE never uses cuDNN and TRUE says why it can't", {
  x <- fixed_array(c(2, 3, 2))
  g <- layer_gru(units = 2, use_cudnn = FALSE)
  invisible(g(x))
  expect_equal(g$last_backend, "cpu")
  gt <- layer_gru(units = 2, use_cudnn = TRUE, activation = "relu", name = "gru_cudnn")
  expect_error(gt(x), class = "rgru_error_cudnn")
  expect_snapshot(gt(x), error = TRUE,
                  variant = if (rgru:::cudnn_usable()) "gpu" else "no-gpu")
  if (!rgru:::cudnn_usable()) {
    ga <- layer_gru(units = 2)
    invisible(ga(x))
    expect_equal(ga$last_backend, "cpu")
  }
  expect_error(layer_gru(units = 2, use_cudnn = "yes"), class = "rgru_error")
})

test_that("backward matches finite differences (engine path and R path)", {
  x <- fixed_array(c(2, 3, 2))
  h0 <- matrix(c(0.1, -0.2, 0.3, 0.4), 2)
  mask <- rbind(c(TRUE, TRUE, FALSE), rep(TRUE, 3))
  for (act in list("tanh", function(v) tanh(v))) {
    g <- layer_gru(units = 2, return_sequences = TRUE, return_state = TRUE, dtype = "float64",
                   bias_initializer = "random_normal", activation = act)
    l <- obj(g)
    invisible(g(x))
    expect_backward_matches_fd(l, x, function(x) l$forward(x, mask = mask, initial_state = list(h0)))
  }
})

test_that("NA, NaN and Inf in inputs propagate as in Keras; masked steps don't", {
  x <- fixed_array(c(2, 3, 2))
  x[1, 2, 1] <- NaN
  g <- layer_gru(units = 2, return_sequences = TRUE)
  out <- g(x)
  expect_true(all(is.nan(out[1, 2:3, ])))
  expect_false(anyNA(out[2, , ]))
  expect_false(anyNA(out[1, 1, ]))
  mask <- rbind(c(TRUE, FALSE, TRUE), rep(TRUE, 3))
  expect_false(anyNA(g(x, mask = mask)[1, c(1, 3), ]))
})

test_that("bad arguments give classed errors naming the argument and value", {
  expect_error(layer_gru(units = 0), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2.5), class = "rgru_error_argument")
  expect_error(layer_gru(units = "4"), class = "rgru_error_argument")
  expect_error(layer_gru(), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2, dropout = 1), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2, recurrent_dropout = -0.1), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2, activation = "nope"), class = "rgru_error")
  expect_error(layer_gru(units = 2, kernel_initializer = "nope"), class = "rgru_error")
  expect_error(layer_gru(units = 2, return_sequences = NA), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2, foo = 1), class = "rgru_error_argument")
  expect_error(layer_gru(units = 2, dtype = "float16"), class = "rgru_error_argument")
  expect_snapshot(layer_gru(units = -1), error = TRUE)
  expect_snapshot(layer_gru(units = 2, dropout = 1.5), error = TRUE)
  expect_snapshot(layer_gru(units = 2, activation = "tanhh"), error = TRUE)
})

test_that("bad inputs give classed errors", {
  g <- layer_gru(units = 2, name = "gru_inputs")
  expect_error(g(matrix(1, 2, 3)), class = "rgru_error_shape")
  expect_error(g("a"), class = "rgru_error_input")
  expect_error(g(list(1, 2)), class = "rgru_error")
  invisible(g(array(0, c(1, 2, 3))))
  expect_error(g(array(0, c(1, 2, 4))), class = "rgru_error_shape")
  expect_error(g(array(0, c(1, 2, 3)), mask = matrix(TRUE, 1, 3)), class = "rgru_error_mask")
  expect_error(g(array(0, c(1, 2, 3)), mask = matrix(NA, 1, 2)), class = "rgru_error_mask")
  expect_error(g(array(0, c(1, 2, 3)), training = "yes"), class = "rgru_error_argument")
  expect_snapshot(g(array(0, c(1, 2, 4))), error = TRUE)
  expect_snapshot(g(matrix(1, 2, 3)), error = TRUE)
})

test_that("get_config()/from_config() recreate the layer", {
  g <- layer_gru(units = 3, return_sequences = TRUE, dropout = 0.2, reset_after = FALSE,
                 kernel_regularizer = regularizer_l2(0.01), name = "my_gru")
  config <- get_config(g)
  expect_equal(config$name, "my_gru")
  expect_equal(config$units, 3L)
  expect_false(config$reset_after)
  g2 <- from_config(config)
  expect_s3_class(g2, "rgru_layer_gru")
  expect_equal(g2$units, 3L)
  expect_true(g2$return_sequences)
  expect_false(g2$reset_after)
  expect_equal(g2$dropout, 0.2)
  expect_s3_class(g2$kernel_regularizer, "rgru_regularizer")
})

test_that("layers print like keras3 and expose their state with $", {
  g <- layer_gru(units = 3, name = "printed_gru")
  expect_snapshot(print(g))
  expect_false(g$built)
  invisible(g(array(0, c(1, 2, 2))))
  expect_true(g$built)
  expect_output(print(g), "<GRU name=printed_gru, built=True, last_backend=(cpu|cudnn)>", fixed = FALSE)
  expect_length(g$trainable_weights, 3)
  g$trainable <- FALSE
  expect_length(g$trainable_weights, 0)
  expect_length(g$non_trainable_weights, 3)
  expect_false(g$weights[[1]]$trainable)
})

test_that("layer_gru() and layer_rnn(rnn_cell_gru()) equal PyTorch's nn.GRU, values and gradients", {
  # fixtures from tools/torch-fixtures.py (weights already in Keras's layout)
  for (name in c("basic", "wide", "single-unit")) {
    f <- read_engine_fixture(paste0("torch-gru-", name))
    units <- nrow(f$recurrent_kernel)
    gru <- layer_gru(units = units, return_sequences = TRUE, return_state = TRUE,
                     dtype = "float64")
    rnn <- layer_rnn(cell = rnn_cell_gru(units, dtype = "float64"), return_sequences = TRUE,
                     return_state = TRUE)
    for (layer in list(gru, rnn)) {
      invisible(layer(f$x))
      set_weights(layer, list(f$kernel, f$recurrent_kernel, f$bias))
      l <- obj(layer)
      res <- l$forward(f$x, initial_state = list(f$initial_state))
      expect_equal(res$outputs[[1]], f$sequence, tolerance = 1e-10)
      expect_equal(res$outputs[[2]], f$final_state, tolerance = 1e-10)
      g <- l$backward(res$tape, list(f$w_seq, f$w_fin))
      expect_equal(g$d_inputs[[1]], f$d_x, tolerance = 1e-10)
      expect_equal(g$d_inputs[[2]], f$d_initial_state, tolerance = 1e-10)
      expect_equal(g$grads, list(f$d_kernel, f$d_recurrent_kernel, f$d_bias), tolerance = 1e-10)
    }
  }
})

test_that("use_cudnn dispatch: auto picks cuDNN exactly when Keras's conditions hold", {
  # Stand-ins for a GPU build: cuDNN is "usable", and configurations made for it (counted)
  # run on the CPU engine, so the dispatch rules are testable anywhere.
  ns <- asNamespace("rgru")
  asked <- new.env()
  asked$cudnn <- 0
  config <- ns$engine_config
  fake <- list(
    cudnn_usable = function(refresh = FALSE) TRUE,
    engine_config = function(..., backend = "cpu") {
      if (backend == "cudnn") asked$cudnn <- asked$cudnn + 1
      config(..., backend = "cpu")
    }
  )
  saved <- mget(names(fake), envir = ns)
  for (nm in names(fake)) utils::assignInNamespace(nm, fake[[nm]], "rgru")
  withr::defer(for (nm in names(saved)) utils::assignInNamespace(nm, saved[[nm]], "rgru"))

  x <- fixed_array(c(2, 4, 3))
  auto <- layer_gru(units = 2, return_sequences = TRUE)
  out <- auto(x)
  expect_equal(auto$last_backend, "cudnn")
  expect_equal(asked$cudnn, 1)
  right_padded <- rbind(c(TRUE, TRUE, FALSE, FALSE), rep(TRUE, 4))
  invisible(auto(x, mask = right_padded))
  expect_equal(auto$last_backend, "cudnn")
  invisible(auto(x, mask = rbind(c(TRUE, FALSE, TRUE, TRUE), rep(TRUE, 4))))
  expect_equal(auto$last_backend, "cpu")
  # gradients flow through the cuDNN tape too
  l <- obj(auto)
  res <- l$forward(x)
  expect_equal(auto$last_backend, "cudnn")
  expect_length(l$backward(res$tape, array(1, dim(res$outputs)))$grads, 3)

  # Keras's dropout rule: input dropout keeps cuDNN, its (batch, features) mask applied
  # to the inputs before the call; the numbers (same seed) are the CPU engine's own
  # input dropout's, forward and backward.
  drop_gpu <- layer_gru(units = 2, return_sequences = TRUE, dropout = 0.3, seed = 4)
  drop_cpu <- layer_gru(units = 2, return_sequences = TRUE, dropout = 0.3, seed = 4,
                        use_cudnn = FALSE)
  invisible(drop_gpu(x))
  invisible(drop_cpu(x))
  set_weights(drop_cpu, get_weights(drop_gpu))
  plain <- drop_gpu(x)
  on_gpu <- obj(drop_gpu)$forward(x, training = TRUE)
  expect_equal(drop_gpu$last_backend, "cudnn")
  on_cpu <- obj(drop_cpu)$forward(x, training = TRUE)
  expect_equal(drop_cpu$last_backend, "cpu")
  expect_false(isTRUE(all.equal(on_gpu$outputs, plain)))  # dropout did drop something
  expect_equal(on_gpu$outputs, on_cpu$outputs, tolerance = 1e-6)
  d_out <- array(seq_along(on_gpu$outputs) / 10, dim(on_gpu$outputs))
  expect_equal(obj(drop_gpu)$backward(on_gpu$tape, d_out),
               obj(drop_cpu)$backward(on_cpu$tape, d_out), tolerance = 1e-6)

  for (args in list(list(activation = "relu"), list(recurrent_activation = "hard_sigmoid"),
                    list(recurrent_dropout = 0.1), list(unroll = TRUE),
                    list(use_bias = FALSE), list(reset_after = FALSE))) {
    fallback <- do.call(layer_gru, c(list(units = 2), args))
    invisible(fallback(x))
    expect_equal(fallback$last_backend, "cpu", info = names(args))
    strict <- do.call(layer_gru, c(list(units = 2, use_cudnn = TRUE), args))
    expect_error(strict(x), names(args), class = "rgru_error_cudnn")
  }
  never <- layer_gru(units = 2, use_cudnn = FALSE)
  invisible(never(x))
  expect_equal(never$last_backend, "cpu")
})
