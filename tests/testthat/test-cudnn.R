# The cuDNN backend's R side and its CPU-testable pieces: runtime probing, the
# dispatch conditions, and the Keras <-> cuDNN weight and sequence layouts.
# GPU parity tests live in test-cudnn-gpu.R and run only where a GPU is visible.

test_that("cuda_runtime_info_cpp() answers without a GPU or a driver", {
  info <- cuda_runtime_info_cpp()
  expect_named(info, c("built_with_cuda", "cuda_runtime_compiled", "cuda_runtime_loaded",
                       "cudnn_compiled", "cudnn_loaded", "driver_version", "gpu_count",
                       "gpu_names", "error", "backend_library", "backend_loaded"))
  expect_type(info$built_with_cuda, "logical")
  expect_type(info$gpu_count, "integer")
  expect_gte(info$gpu_count, 0L)
  expect_length(info$gpu_names, info$gpu_count)
  if (info$built_with_cuda) {
    expect_true(info$backend_loaded)
    expect_match(info$backend_library, "rgru_cuda\\.so$")
    expect_match(info$cuda_runtime_compiled, "^[0-9]+\\.[0-9]+$")
    expect_match(info$cudnn_compiled, "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    expect_match(info$cudnn_loaded, "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    if (info$gpu_count == 0L) expect_type(info$error, "character")
  } else {
    expect_null(info$cuda_runtime_compiled)
    expect_null(info$cudnn_loaded)
    expect_false(info$backend_loaded)
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
  expect_identical(rgru_cuda_empty_cache(), NA_real_)
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
  # Keras's rule: input dropout keeps cuDNN (its mask is applied to the inputs first).
  expect_null(cudnn_unmet_condition(dropout = 0.2))
  expect_match(cudnn_unmet_condition(recurrent_dropout = 0.5), "^recurrent_dropout must be 0")
  expect_match(cudnn_unmet_condition(unroll = TRUE), "^unroll must be FALSE")
  expect_match(cudnn_unmet_condition(use_bias = FALSE), "^use_bias must be TRUE")
  expect_match(cudnn_unmet_condition(reset_after = FALSE), "^reset_after must be TRUE")
  # The first failure wins.
  expect_match(cudnn_unmet_condition(activation = "relu", recurrent_dropout = 0.5), "^activation")
  expect_match(cudnn_unmet_condition(recurrent_dropout = 0.5, reset_after = FALSE),
               "^recurrent_dropout")
  expect_match(cudnn_unmet_condition(dropout = 0.5, reset_after = FALSE), "^reset_after")
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

# --- run-time policies (testable without a GPU) ---------------------------------------

test_that("cudnn_failure_action(): refusals fall back under \"auto\", a fork always, the rest errs", {
  refusals <- c("CUDNN_STATUS_NOT_SUPPORTED", "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH",
                "CUDNN_STATUS_NOT_SUPPORTED_SHAPE", "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED",
                "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH", "cudaErrorNoKernelImageForDevice",
                "cudaErrorUnsupportedPtxVersion")
  for (status in refusals) {
    expect_identical(cudnn_failure_action(status, "auto"), "warn_cpu", info = status)
    expect_identical(cudnn_failure_action(status, TRUE), "error", info = status)
  }
  for (use in list("auto", TRUE, FALSE)) {
    expect_identical(cudnn_failure_action("forked_process", use), "cpu")
  }
  others <- list("cudaErrorMemoryAllocation", "CUDNN_STATUS_ALLOC_FAILED",
                 "CUDNN_STATUS_BAD_PARAM", "CUDNN_STATUS_EXECUTION_FAILED",
                 "cudaErrorIllegalAddress", NULL, NA_character_, "")
  for (status in others) {
    expect_identical(cudnn_failure_action(status, "auto"), "error", info = format(status))
  }
})

# A call failing as the C++ glue fails it, and a built GRU layer (on the CPU engine
# here) whose settings may be changed.
refused_call <- function(status) {
  abort_from_cpp("cudnn", "cuDNN error in cudnnRNNForward: refused", status)
}

built_gru <- function(use_cudnn = "auto") {
  gru <- layer_gru(units = 2)
  gru(array(0, c(1, 2, 3)))
  layer <- layer_object(gru)
  layer$settings_changed()
  layer$use_cudnn <- use_cudnn
  layer
}

test_that("a refusal under use_cudnn = \"auto\" warns once per status and drops the layer's plan", {
  old <- cudnn_state$warned
  on.exit(cudnn_state$warned <- old)
  cudnn_state$warned <- NULL
  gru <- layer_gru(units = 2)
  gru(array(0, c(1, 2, 3)))
  layer <- layer_object(gru)
  expect_false(is.null(layer$engine_plan()))
  expect_warning(res <- cudnn_guarded(refused_call("CUDNN_STATUS_NOT_SUPPORTED"), layer),
                 "CUDNN_STATUS_NOT_SUPPORTED", class = "rgru_warning_cudnn")
  expect_null(res)
  expect_identical(layer$cudnn_refused, "CUDNN_STATUS_NOT_SUPPORTED")
  expect_null(layer$fast_call)
  # The same status again: no second warning; the layer still computes (on the CPU).
  expect_no_warning(cudnn_guarded(refused_call("CUDNN_STATUS_NOT_SUPPORTED"), layer))
  expect_equal(dim(gru(array(1, c(2, 2, 3)))), c(2, 2))
  # A successful call passes its value through.
  expect_identical(cudnn_guarded(list(a = 1), layer), list(a = 1))
})

test_that("a refusal under use_cudnn = TRUE, and any other cuDNN failure, stays an error", {
  layer <- built_gru(TRUE)
  expect_error(cudnn_guarded(refused_call("CUDNN_STATUS_NOT_SUPPORTED"), layer),
               class = "rgru_error_cudnn")
  layer$use_cudnn <- "auto"
  err <- expect_error(cudnn_guarded(refused_call("CUDNN_STATUS_EXECUTION_FAILED"), layer),
                      class = "rgru_error_cudnn")
  expect_identical(err$status, "CUDNN_STATUS_EXECUTION_FAILED")
  expect_null(layer$cudnn_refused)
  # Out of memory is its own class, never a fallback.
  expect_error(cudnn_guarded(abort_from_cpp("memory", "Out of GPU memory", "cudaErrorMemoryAllocation"),
                             layer), class = "rgru_error_memory")
})

test_that("a forked child falls back quietly, whatever use_cudnn says", {
  layer <- built_gru(TRUE)
  expect_no_warning(res <- cudnn_guarded(refused_call("forked_process"), layer))
  expect_null(res)
  expect_identical(layer$cudnn_refused, "forked_process")
})

test_that("a forked child never touches CUDA, in every build", {
  skip_on_os("windows")
  cuda_runtime_info_cpp()  # the parent touches CUDA (a CUDA build records its pid)
  expect_false(cuda_forked_cpp())
  job <- parallel::mcparallel(list(
    forked = cuda_forked_cpp(), usable = cudnn_usable(),
    info = cuda_runtime_info_cpp(), empty = rgru_cuda_empty_cache(),
    out = dim(layer_gru(array(1, c(2, 3, 4)), units = 2, use_cudnn = "auto"))
  ))
  child <- parallel::mccollect(job)[[1]]
  built <- isTRUE(cuda_runtime_info_cpp()$built_with_cuda)
  expect_identical(child$forked, built)
  expect_false(child$usable)
  expect_identical(child$info$gpu_count, 0L)
  if (built) expect_match(child$info$error, "forked")
  expect_identical(child$empty, NA_real_)
  expect_identical(child$out, c(2L, 2L))
})

test_that("the algorithm choice follows PyTorch's rule", {
  choose <- function(request = "auto", float32 = TRUE, variable = FALSE, units = 64,
                     training = FALSE) {
    cudnn_algorithm_choice_cpp(request, float32, variable, units, training)
  }
  expect_identical(choose(), "persist_static_small_h")
  expect_identical(choose(units = 192), "persist_static_small_h")
  expect_identical(choose(units = 193), "standard")
  expect_identical(choose(units = 128, training = TRUE), "persist_static_small_h")
  expect_identical(choose(units = 129, training = TRUE), "standard")
  expect_identical(choose(units = 160, training = FALSE), "persist_static_small_h")
  expect_identical(choose(float32 = FALSE), "standard")
  expect_identical(choose(variable = TRUE), "standard")
  # Explicit requests are honoured, except that a mask always runs the standard one.
  for (algo in c("standard", "persist_static", "persist_dynamic", "persist_static_small_h")) {
    expect_identical(choose(algo, units = 1024, float32 = FALSE), algo)
    expect_identical(choose(algo, variable = TRUE), "standard")
  }
  expect_error(choose("fastest"), class = "rgru_error_argument")
})

test_that("the cuDNN options are checked where a cuDNN call reads them", {
  x <- array(0, c(1, 2, 3))
  config <- engine_config(units = 2, input_dim = 3, backend = "cudnn")
  call <- function(options) {
    gru_forward_cpp(config, options, x, matrix(0, 3, 6), matrix(0, 2, 6), matrix(0, 2, 6),
                    NULL, NULL, NULL, NULL, FALSE)
  }
  expect_error(call(list(NULL, NULL, NULL, "fastest", NULL)), "rgru.cudnn_algorithm",
               class = "rgru_error_argument")
  expect_error(call(list(NULL, NULL, NULL, NULL, -1)), "rgru.cuda_device",
               class = "rgru_error_argument")
  expect_error(call(list(NULL, NULL, NULL, NULL, 1.5)), "rgru.cuda_device",
               class = "rgru_error_argument")
  expect_error(call(list(NULL, NULL, NULL, NULL, "0")), "rgru.cuda_device",
               class = "rgru_error_argument")
  # Valid options get as far as the backend (no GPU here: a cuDNN error).
  skip_if(cudnn_usable(), "a GPU is visible")
  expect_error(call(list(NULL, NULL, NULL, "auto", 0L)), class = "rgru_error_cudnn")
  expect_identical(names(engine_run_options())[5], "rgru.cuda_device")
})

test_that("device memory statistics are reported in every build", {
  stats <- cudnn_memory_stats_cpp()
  expect_named(stats, c("bytes_in_use", "bytes_cached", "device_allocations", "reuses",
                        "weight_uploads"))
  expect_true(all(vapply(stats, function(v) is.double(v) && v >= 0, logical(1))))
})

# --- Keras's dropout rule -------------------------------------------------------------

test_that("input dropout as a masked input equals the engine's own input dropout", {
  set.seed(7)
  B <- 3; TT <- 4; F <- 5; H <- 2
  x <- array(stats::rnorm(B * TT * F), c(B, TT, F))
  gru <- layer_gru(units = H, return_sequences = TRUE, dtype = "float64", dropout = 0.4,
                   use_cudnn = FALSE)
  gru(x)
  layer <- layer_object(gru)
  plan <- layer$engine_plan()
  masks <- list(input = matrix(sample(c(0, 1 / 0.6), B * F, TRUE), B, F), recurrent = NULL)
  own <- gru_engine_forward(plan$config, plan, x, NULL, NULL, masks, TRUE, premask = FALSE)
  pre <- gru_engine_forward(plan$config, plan, x, NULL, NULL, masks, TRUE, premask = TRUE)
  expect_null(own$input_keep)
  expect_equal(pre$sequence, own$sequence, tolerance = 1e-12)
  expect_equal(pre$final_state, own$final_state, tolerance = 1e-12)
  # The gradient flows back through the mask: d_x times the mask, the weights' alike.
  d_seq <- array(stats::rnorm(B * TT * H), c(B, TT, H))
  g_own <- gru_backward_cpp(own$tape, d_seq, NULL)
  g_pre <- gru_backward_cpp(pre$tape, d_seq, NULL)
  expect_equal(g_pre$d_x * pre$input_keep, g_own$d_x, tolerance = 1e-12)
  expect_equal(g_pre$d_kernel, g_own$d_kernel, tolerance = 1e-12)
  expect_equal(g_pre$d_recurrent_kernel, g_own$d_recurrent_kernel, tolerance = 1e-12)
  expect_equal(g_pre$d_bias, g_own$d_bias, tolerance = 1e-12)
  # Dropped features get no gradient.
  expect_true(any(masks$input == 0))
  expect_true(all((g_pre$d_x * pre$input_keep)[pre$input_keep == 0] == 0))
})

test_that("dropout keeps a layer on cuDNN's side of the plan; recurrent dropout does not", {
  cell_args <- function(dropout, recurrent_dropout) {
    gru <- layer_gru(units = 2, dropout = dropout, recurrent_dropout = recurrent_dropout)
    gru(array(0, c(1, 2, 3)))
    layer <- layer_object(gru)
    cudnn_unmet_condition(dropout = layer$dropout, recurrent_dropout = layer$recurrent_dropout)
  }
  expect_null(cell_args(0.5, 0))
  expect_match(cell_args(0, 0.5), "recurrent_dropout")
  expect_match(cell_args(0.5, 0.5), "recurrent_dropout")
})

# --- loading the GPU backend ----------------------------------------------------------

# rgru_backend() and a GRU layer in a fresh R process whose options() are `opts`.
backend_in_child <- function(opts) {
  script <- tempfile(fileext = ".R")
  out <- tempfile(fileext = ".rds")
  writeLines(c(
    sprintf("options(%s)", opts),
    "library(rgru)",
    "b <- rgru_backend()",
    "y <- layer_gru(array(1, c(2, 3, 4)), units = 2)",
    sprintf("saveRDS(list(backend = unclass(b), dim = dim(y), last = b$last_backend), %s)",
            deparse(out))
  ), script)
  status <- system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", script),
                    env = paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)),
                    stdout = FALSE, stderr = FALSE)
  expect_identical(status, 0L)
  readRDS(out)
}

test_that("a CUDA build whose GPU backend cannot load still loads, runs on the CPU and says why", {
  skip_on_cran()
  skip_if_not(isTRUE(cuda_runtime_info_cpp()$built_with_cuda), "a build without CUDA")
  missing <- backend_in_child('rgru.cuda_library = "/nonexistent/rgru_cuda.so"')
  expect_false(missing$backend$cuda_backend_loaded)
  expect_identical(missing$backend$cuda_backend_library, "/nonexistent/rgru_cuda.so")
  expect_match(missing$backend$gpu_error, "could not be loaded.*No such file")
  expect_match(missing$backend$default_reason, "could not be loaded")
  expect_identical(missing$backend$default_backend, "cpu")
  expect_identical(missing$dim, c(2L, 2L))
  # A file that is no shared object (a damaged install) is reported the same way.
  broken <- tempfile(fileext = ".so")
  writeLines("not a library", broken)
  damaged <- backend_in_child(sprintf("rgru.cuda_library = %s", deparse(broken)))
  expect_false(damaged$backend$cuda_backend_loaded)
  expect_match(damaged$backend$gpu_error, "could not be loaded")
  expect_identical(damaged$dim, c(2L, 2L))
})

test_that("rgru.so links no CUDA library; the GPU backend alone does", {
  skip_on_os(c("windows", "mac"))
  skip_if(Sys.which("ldd") == "", "no ldd")
  libs <- system.file("libs", package = "rgru")
  main <- system2("ldd", file.path(libs, "rgru.so"), stdout = TRUE)
  expect_false(any(grepl("libcudart|libcudnn", main)))
  backend <- file.path(libs, "rgru_cuda.so")
  if (isTRUE(cuda_runtime_info_cpp()$built_with_cuda)) {
    expect_true(file.exists(backend))
    expect_true(any(grepl("libcudnn", system2("ldd", backend, stdout = TRUE))))
  } else {
    expect_false(file.exists(backend))
  }
})

test_that("Ctrl-C during a long wait for the GPU waits for the stream, then reaches R", {
  skip_on_os("windows")
  skip_on_cran()
  # cuda_wait_check_cpp() waits as Stream::synchronize() does, on a stand-in stream that
  # is busy for the given seconds, with R's own interrupt check.
  expect_gte(cuda_wait_check_cpp(0.05), 0.05)
  # The subshell puts the whole command in the background: system() ignores SIGINT in R
  # for as long as a foreground command runs, as POSIX system() does.
  send_sigint <- function() {
    system(sprintf("(sleep 0.3; kill -INT %d)", Sys.getpid()), wait = FALSE)
  }
  send_sigint()
  reaches_r <- tryCatch({
    Sys.sleep(4)
    FALSE
  }, interrupt = function(cnd) TRUE)
  if (!reaches_r) skip("SIGINT does not reach R in this process")
  send_sigint()
  start <- Sys.time()
  got <- tryCatch({
    cuda_wait_check_cpp(3)
    "finished"
  }, interrupt = function(cnd) "interrupt")
  waited <- as.numeric(difftime(Sys.time(), start, units = "secs"))
  # A signal that came too late must not interrupt the rest of the suite.
  if (got == "finished") tryCatch(Sys.sleep(5), interrupt = function(cnd) NULL)
  expect_identical(got, "interrupt")
  expect_gte(waited, 3)  # the stream's work ran to its end first
})
