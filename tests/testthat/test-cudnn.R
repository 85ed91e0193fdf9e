# The cuDNN backend's R side and its CPU-testable pieces: runtime probing, the
# dispatch conditions, and the Keras <-> cuDNN weight and sequence layouts.
# GPU parity tests live in test-cudnn-gpu.R and run only where a GPU is visible.

test_that("cuda_runtime_info_cpp() answers without a GPU or a driver", {
  info <- cuda_runtime_info_cpp()
  expect_named(info, c("built_with_cuda", "cuda_runtime_compiled", "cuda_runtime_loaded",
                       "cudnn_compiled", "cudnn_loaded", "driver_version", "gpu_count",
                       "gpu_names", "error"))
  expect_type(info$built_with_cuda, "logical")
  expect_type(info$gpu_count, "integer")
  expect_gte(info$gpu_count, 0L)
  expect_length(info$gpu_names, info$gpu_count)
  if (info$built_with_cuda) {
    expect_match(info$cuda_runtime_compiled, "^[0-9]+\\.[0-9]+$")
    expect_match(info$cudnn_compiled, "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    expect_match(info$cudnn_loaded, "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    if (info$gpu_count == 0L) expect_type(info$error, "character")
  } else {
    expect_null(info$cuda_runtime_compiled)
    expect_null(info$cudnn_loaded)
    expect_identical(info$gpu_count, 0L)
    expect_null(info$error)
  }
})

test_that("cudnn_usable() agrees with the runtime probe and is cached", {
  info <- cuda_runtime_info_cpp()
  expect_identical(cudnn_usable(refresh = TRUE), isTRUE(info$built_with_cuda) && info$gpu_count > 0L)
  expect_identical(cudnn_runtime_info(), cudnn_runtime_info(refresh = TRUE))
  expect_identical(cudnn_usable(), cudnn_usable(refresh = TRUE))
})

test_that("without a usable GPU a cuDNN configuration fails with a classed error", {
  skip_if(cudnn_usable(), "a GPU is visible")
  x <- array(stats::rnorm(24), c(2, 3, 4))
  expect_error(
    engine_call(x, matrix(0, 4, 6), matrix(0, 2, 6), matrix(0, 2, 6), dtype = "float32",
                backend = "cudnn"),
    if (cuda_runtime_info_cpp()$built_with_cuda) "needs a GPU" else "built without CUDA",
    class = "rgru_error_cudnn"
  )
  expect_error(gru_backward_cpp(NULL, NULL, NULL), "must be the tape", class = "rgru_error_argument")
  expect_false(cudnn_release())
})

test_that("cudnn_unmet_condition() names the first failing condition in keras3's order", {
  expect_null(cudnn_unmet_condition())
  expect_null(cudnn_unmet_condition("tanh", "sigmoid", 0, 0, FALSE, TRUE, TRUE, NULL))
  expect_match(cudnn_unmet_condition(activation = "relu"), "activation must be \"tanh\".*\"relu\"")
  expect_match(cudnn_unmet_condition(activation = function(x) x), "activation.*an R function")
  expect_match(cudnn_unmet_condition(activation = NULL), "activation.*linear")
  expect_match(cudnn_unmet_condition(activation = list(name = "tanh"),
                                     recurrent_activation = list(name = "hard_sigmoid")),
               "^recurrent_activation must be \"sigmoid\".*hard_sigmoid")
  expect_match(cudnn_unmet_condition(dropout = 0.2), "^dropout must be 0.*0.2")
  expect_match(cudnn_unmet_condition(recurrent_dropout = 0.5), "^recurrent_dropout must be 0")
  expect_match(cudnn_unmet_condition(unroll = TRUE), "^unroll must be FALSE")
  expect_match(cudnn_unmet_condition(use_bias = FALSE), "^use_bias must be TRUE")
  expect_match(cudnn_unmet_condition(reset_after = FALSE), "^reset_after must be TRUE")
  # The first failure wins.
  expect_match(cudnn_unmet_condition(activation = "relu", dropout = 0.5), "^activation")
  expect_match(cudnn_unmet_condition(dropout = 0.5, reset_after = FALSE), "^dropout")
})

test_that("cudnn_unmet_condition() accepts right-padded masks only", {
  right <- rbind(c(TRUE, TRUE, FALSE, FALSE), c(TRUE, TRUE, TRUE, TRUE), c(TRUE, FALSE, FALSE, FALSE))
  expect_null(cudnn_unmet_condition(mask = right))
  expect_null(cudnn_unmet_condition(mask = right * 1))
  left <- right
  left[1, ] <- c(FALSE, TRUE, TRUE, TRUE)
  expect_match(cudnn_unmet_condition(mask = left), "right-padded")
  holes <- right
  holes[2, ] <- c(TRUE, FALSE, TRUE, TRUE)
  expect_match(cudnn_unmet_condition(mask = holes), "right-padded")
  empty <- right
  empty[3, ] <- FALSE
  expect_match(cudnn_unmet_condition(mask = empty), "sample 3 has none")
  expect_match(cudnn_unmet_condition(mask = matrix(c(TRUE, NA), 1)), "NA")
  # The C++ side draws the same line when it turns a mask into lengths.
  expect_identical(cudnn_sequence_lengths_cpp(right), c(2L, 4L, 1L))
  expect_error(cudnn_sequence_lengths_cpp(left), "not right-padded")
  expect_error(cudnn_sequence_lengths_cpp(empty), "sample 3")
})

test_that("the last GRU backend is recorded", {
  old <- cudnn_state$last_backend
  on.exit(cudnn_state$last_backend <- old)
  record_gru_backend("cpu")
  expect_identical(last_gru_backend(), "cpu")
  record_gru_backend("cudnn")
  expect_identical(last_gru_backend(), "cudnn")
  expect_error(record_gru_backend(1))
})

# PyTorch's nn.GRU stores what cuDNN consumes: weight_ih (3*units, input_dim) with row
# blocks r, z, n, i.e. the transposed Keras kernel with Keras column block z -> torch
# row block 1, r -> 0, h -> 2. cuDNN's canonical single-layer weight space is the six
# matrices (input r, z, n; recurrent r, z, n), each row-major, then the six biases.
torch_from_keras <- function(kernel, recurrent_kernel, bias) {
  units <- nrow(recurrent_kernel)
  torch_rows <- c(units + seq_len(units), seq_len(units), 2 * units + seq_len(units))
  list(weight_ih = t(kernel)[torch_rows, , drop = FALSE],
       weight_hh = t(recurrent_kernel)[torch_rows, , drop = FALSE],
       bias_ih = bias[1, torch_rows], bias_hh = bias[2, torch_rows])
}

cudnn_canonical_from_torch <- function(tw, units) {
  gate <- function(g) (g - 1) * units + seq_len(units)
  row_major <- function(m) as.vector(t(m))
  c(unlist(lapply(1:3, function(g) row_major(tw$weight_ih[gate(g), , drop = FALSE]))),
    unlist(lapply(1:3, function(g) row_major(tw$weight_hh[gate(g), , drop = FALSE]))),
    unlist(lapply(1:3, function(g) tw$bias_ih[gate(g)])),
    unlist(lapply(1:3, function(g) tw$bias_hh[gate(g)])))
}

test_that("Keras weights pack into cuDNN's canonical order (gates r, z, h) and back", {
  set.seed(1)
  for (shape in list(c(1, 1), c(3, 2), c(5, 4))) {
    input_dim <- shape[1]
    units <- shape[2]
    kernel <- matrix(stats::rnorm(input_dim * 3 * units), input_dim)
    recurrent <- matrix(stats::rnorm(units * 3 * units), units)
    bias <- matrix(stats::rnorm(6 * units), 2)
    packed <- cudnn_pack_weights_cpp(kernel, recurrent, bias)
    expected <- cudnn_canonical_from_torch(torch_from_keras(kernel, recurrent, bias), units)
    expect_identical(packed, expected)
    back <- cudnn_unpack_weights_cpp(packed, input_dim, units)
    expect_identical(back, list(kernel = kernel, recurrent_kernel = recurrent, bias = bias))
  }
})

test_that("the weight mapping's pieces land where cuDNN documents them", {
  # Tag every Keras entry with its gate so a swap cannot go unnoticed.
  input_dim <- 2
  units <- 3
  gate_tag <- rep(c(100, 200, 300), each = units)  # z, r, h
  kernel <- matrix(rep(gate_tag, each = input_dim), input_dim)
  recurrent <- matrix(rep(gate_tag + 1000, each = units), units)
  bias <- rbind(gate_tag + 10, gate_tag + 20)
  packed <- cudnn_pack_weights_cpp(kernel, recurrent, bias)
  n_in <- units * input_dim
  n_rec <- units * units
  expect_identical(unique(packed[seq_len(n_in)]), 200)                  # W_r
  expect_identical(unique(packed[n_in + seq_len(n_in)]), 100)           # W_z
  expect_identical(unique(packed[2 * n_in + seq_len(n_in)]), 300)       # W_h
  expect_identical(unique(packed[3 * n_in + seq_len(n_rec)]), 1200)     # R_r
  expect_identical(unique(packed[3 * n_in + n_rec + seq_len(n_rec)]), 1100)  # R_z
  biases <- packed[3 * n_in + 3 * n_rec + seq_len(6 * units)]
  expect_identical(biases, rep(c(210, 110, 310, 220, 120, 320), each = units))
  expect_error(cudnn_pack_weights_cpp(kernel, recurrent, bias[1, , drop = FALSE]), "bias")
  expect_error(cudnn_unpack_weights_cpp(packed[-1], input_dim, units), "elements")
})

# Keras's masked RNN loop as the CPU engine (and Keras's JAX and torch backends) runs
# it, written independently of the C++ code: a masked step keeps the state and
# outputs it, so leading padding (go_backwards) outputs the initial state.
gru_step_r <- function(x, h, kernel, recurrent, bias) {
  u <- ncol(recurrent) / 3
  blk <- function(g) (g - 1) * u + seq_len(u)
  sig <- function(v) 1 / (1 + exp(-v))
  xp <- x %*% kernel + rep(bias[1, ], each = nrow(x))
  hp <- h %*% recurrent + rep(bias[2, ], each = nrow(h))
  z <- sig(xp[, blk(1), drop = FALSE] + hp[, blk(1), drop = FALSE])
  r <- sig(xp[, blk(2), drop = FALSE] + hp[, blk(2), drop = FALSE])
  hh <- tanh(xp[, blk(3), drop = FALSE] + r * hp[, blk(3), drop = FALSE])
  z * h + (1 - z) * hh
}

keras_masked_gru <- function(x, h0, kernel, recurrent, bias, mask, go_backwards) {
  steps <- dim(x)[2]
  units <- ncol(h0)
  order <- if (go_backwards) rev(seq_len(steps)) else seq_len(steps)
  h <- h0
  seq <- array(0, c(nrow(h0), steps, units))
  for (p in seq_along(order)) {
    t <- order[p]
    new <- gru_step_r(matrix(x[, t, ], nrow(h0)), h, kernel, recurrent, bias)
    keep <- mask[, t]
    h[keep, ] <- new[keep, ]
    seq[, p, ] <- h
  }
  list(sequence = seq, final_state = h)
}

# What cuDNN computes on its own layout: each sample runs its `len` steps from cuDNN
# time 0, and its final state is the state after its last step.
cudnn_semantics_gru <- function(xc, lengths, h0, kernel, recurrent, bias) {
  units <- ncol(h0)
  yc <- array(0, c(units, dim(xc)[2], dim(xc)[3]))
  hy <- h0
  for (b in seq_along(lengths)) {
    h <- h0[b, , drop = FALSE]
    for (k in seq_len(lengths[b])) {
      h <- gru_step_r(matrix(xc[, b, k], 1), h, kernel, recurrent, bias)
      yc[, b, k] <- h
    }
    hy[b, ] <- h
  }
  list(y = yc, hy = hy)
}

test_that("the sequence layout conversions reproduce Keras's masked and reversed GRU", {
  set.seed(2)
  batch <- 4; steps <- 5; input_dim <- 3; units <- 2
  kernel <- matrix(stats::rnorm(input_dim * 3 * units, sd = 0.5), input_dim)
  recurrent <- matrix(stats::rnorm(units * 3 * units, sd = 0.5), units)
  bias <- matrix(stats::rnorm(6 * units, sd = 0.1), 2)
  x <- array(stats::rnorm(batch * steps * input_dim), c(batch, steps, input_dim))
  h0 <- matrix(stats::rnorm(batch * units), batch)
  lengths <- c(5L, 3L, 1L, 4L)
  mask <- outer(lengths, seq_len(steps), ">=")
  for (go_backwards in c(FALSE, TRUE)) {
    want <- keras_masked_gru(x, h0, kernel, recurrent, bias, mask, go_backwards)
    xc <- cudnn_layout_apply_cpp("to_input", x, lengths, go_backwards)
    expect_equal(dim(xc), c(input_dim, batch, steps))
    got <- cudnn_semantics_gru(xc, lengths, h0, kernel, recurrent, bias)
    seq <- cudnn_layout_apply_cpp("from_output", got$y, lengths, go_backwards, h0)
    expect_equal(seq, want$sequence, tolerance = 1e-12)
    expect_equal(got$hy, want$final_state, tolerance = 1e-12)
  }
})

test_that("the gradient layout conversions are the adjoints of the forward ones", {
  set.seed(3)
  batch <- 3; steps <- 6; features <- 2
  lengths <- c(6L, 2L, 4L)
  inner <- function(a, b) sum(a * b)
  for (go_backwards in c(FALSE, TRUE)) {
    x <- array(stats::rnorm(batch * steps * features), c(batch, steps, features))
    dxc <- array(stats::rnorm(batch * steps * features), c(features, batch, steps))
    expect_equal(inner(cudnn_layout_apply_cpp("to_input", x, lengths, go_backwards), dxc),
                 inner(x, cudnn_layout_apply_cpp("from_input_grad", dxc, lengths, go_backwards)))
    # The returned sequence is linear in (y, h0); its adjoint splits into cuDNN's dy and
    # the part of d_initial_state that flows through leading padding.
    y <- array(stats::rnorm(batch * steps * features), c(features, batch, steps))
    h0 <- matrix(stats::rnorm(batch * features), batch)
    dseq <- array(stats::rnorm(batch * steps * features), c(batch, steps, features))
    expect_equal(
      inner(cudnn_layout_apply_cpp("from_output", y, lengths, go_backwards, h0), dseq),
      inner(y, cudnn_layout_apply_cpp("to_output_grad", dseq, lengths, go_backwards)) +
        inner(h0, cudnn_layout_apply_cpp("padding_state_grad", dseq, lengths, go_backwards))
    )
    pad_grad <- cudnn_layout_apply_cpp("padding_state_grad", dseq, lengths, go_backwards)
    if (!go_backwards) expect_true(all(pad_grad == 0))
  }
  expect_error(cudnn_layout_apply_cpp("to_input", x, c(1L, 7L, 2L), FALSE), "1..timesteps")
  expect_error(cudnn_layout_apply_cpp("sideways", x, lengths, FALSE), "unknown")
})

test_that("cuDNN's semantics through the layout conversions match the CPU engine", {
  set.seed(4)
  batch <- 3; steps <- 4; input_dim <- 2; units <- 3
  kernel <- matrix(stats::rnorm(input_dim * 3 * units, sd = 0.5), input_dim)
  recurrent <- matrix(stats::rnorm(units * 3 * units, sd = 0.5), units)
  bias <- matrix(stats::rnorm(6 * units, sd = 0.1), 2)
  x <- array(stats::rnorm(batch * steps * input_dim), c(batch, steps, input_dim))
  h0 <- matrix(stats::rnorm(batch * units), batch)
  lengths <- c(4L, 2L, 1L)
  mask <- outer(lengths, seq_len(steps), ">=")
  for (go_backwards in c(FALSE, TRUE)) {
    cpu <- engine_call(x, kernel, recurrent, bias, h0, mask, go_backwards = go_backwards)
    xc <- cudnn_layout_apply_cpp("to_input", x, lengths, go_backwards)
    got <- cudnn_semantics_gru(xc, lengths, h0, kernel, recurrent, bias)
    expect_equal(cudnn_layout_apply_cpp("from_output", got$y, lengths, go_backwards, h0),
                 cpu$sequence, tolerance = 1e-12)
    expect_equal(got$hy, cpu$final_state, tolerance = 1e-12)
  }
})

test_that("the GPU kernels' tiled transposes equal the reference conversions", {
  set.seed(5)
  # Shapes straddling the 32 x 32 tiles, with ragged lengths.
  for (shape in list(c(1, 1, 1), c(3, 5, 2), c(5, 9, 37), c(33, 2, 65))) {
    batch <- shape[1]; steps <- shape[2]; features <- shape[3]
    lengths <- as.integer(c(steps, sample.int(steps, batch - 1, replace = TRUE)))
    r_side <- array(stats::rnorm(batch * steps * features), c(batch, steps, features))
    cudnn_side <- array(stats::rnorm(batch * steps * features), c(features, batch, steps))
    h0 <- matrix(stats::rnorm(batch * features), batch)
    for (go_backwards in c(FALSE, TRUE)) {
      for (op in c("to_input", "to_output_grad")) {
        expect_identical(cudnn_layout_apply_cpp(op, r_side, lengths, go_backwards, tiled = TRUE),
                         cudnn_layout_apply_cpp(op, r_side, lengths, go_backwards))
      }
      expect_identical(
        cudnn_layout_apply_cpp("from_output", cudnn_side, lengths, go_backwards, h0, TRUE),
        cudnn_layout_apply_cpp("from_output", cudnn_side, lengths, go_backwards, h0)
      )
      expect_identical(
        cudnn_layout_apply_cpp("from_input_grad", cudnn_side, lengths, go_backwards, tiled = TRUE),
        cudnn_layout_apply_cpp("from_input_grad", cudnn_side, lengths, go_backwards)
      )
    }
  }
})
