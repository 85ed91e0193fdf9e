# cuDNN against the CPU engine, forward and every gradient. Runs only where a GPU is
# visible to a CUDA build of rgru (skipped on CPU-only machines and builds).

gpu_case <- function(batch, steps, input_dim, units, lengths = NULL, h0 = TRUE, seed = 1) {
  set.seed(seed)
  x <- array(stats::rnorm(batch * steps * input_dim), c(batch, steps, input_dim))
  list(
    x = x,
    kernel = matrix(stats::rnorm(input_dim * 3 * units, sd = 0.4), input_dim),
    recurrent = matrix(stats::rnorm(units * 3 * units, sd = 0.4), units),
    bias = matrix(stats::rnorm(6 * units, sd = 0.1), 2),
    h0 = if (h0) matrix(stats::rnorm(batch * units), batch) else NULL,
    mask = if (is.null(lengths)) NULL else outer(lengths, seq_len(steps), ">="),
    d_seq = array(stats::rnorm(batch * steps * units), c(batch, steps, units)),
    d_final = matrix(stats::rnorm(batch * units), batch)
  )
}

run_both <- function(case, go_backwards, return_sequences, dtype) {
  run <- function(backend) {
    engine_call(case$x, case$kernel, case$recurrent, case$bias, case$h0, case$mask,
                go_backwards = go_backwards, return_sequences = return_sequences,
                dtype = dtype, keep_tape = TRUE, backend = backend)
  }
  cpu <- run("cpu")
  gpu <- run("cudnn")
  d_seq <- if (return_sequences) case$d_seq else NULL
  list(cpu = cpu, gpu = gpu,
       cpu_grad = gru_backward_cpp(cpu$tape, d_seq, case$d_final),
       gpu_grad = gru_backward_cpp(gpu$tape, d_seq, case$d_final))
}

expect_close <- function(got, want, tol) {
  expect_equal(dim(got), dim(want))
  scale <- max(1, max(abs(want)))
  expect_lte(max(abs(got - want)) / scale, tol)
}

test_that("cuDNN matches the CPU engine: outputs and all gradients", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  cases <- list(
    list(case = gpu_case(4, 6, 3, 5), go_backwards = FALSE),
    list(case = gpu_case(4, 6, 3, 5, lengths = c(6L, 3L, 1L, 5L)), go_backwards = FALSE),
    list(case = gpu_case(4, 6, 3, 5, lengths = c(6L, 3L, 1L, 5L)), go_backwards = TRUE),
    list(case = gpu_case(3, 5, 2, 4, h0 = FALSE), go_backwards = TRUE)
  )
  for (dtype in c("float64", "float32")) {
    tol <- if (dtype == "float64") 1e-9 else 1e-4
    for (cs in cases) {
      for (return_sequences in c(TRUE, FALSE)) {
        r <- run_both(cs$case, cs$go_backwards, return_sequences, dtype)
        if (return_sequences) expect_close(r$gpu$sequence, r$cpu$sequence, tol)
        if (!return_sequences) expect_null(r$gpu$sequence)
        expect_close(r$gpu$final_state, r$cpu$final_state, tol)
        for (g in c("d_x", "d_initial_state", "d_kernel", "d_recurrent_kernel", "d_bias")) {
          expect_close(r$gpu_grad[[g]], r$cpu_grad[[g]], tol)
        }
      }
    }
  }
})

test_that("changed weights are re-uploaded and a tape can be replayed", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  case <- gpu_case(2, 3, 2, 3)
  fwd <- function(kernel, backend = "cudnn") {
    engine_call(case$x, kernel, case$recurrent, case$bias, keep_tape = TRUE, backend = backend)
  }
  a <- fwd(case$kernel)
  b <- fwd(case$kernel * 2)
  cpu_b <- fwd(case$kernel * 2, "cpu")
  expect_close(b$sequence, cpu_b$sequence, 1e-9)
  expect_false(isTRUE(all.equal(a$sequence, b$sequence)))
  g1 <- gru_backward_cpp(a$tape, case$d_seq, NULL, release = FALSE)
  g2 <- gru_backward_cpp(a$tape, case$d_seq, NULL)
  expect_equal(g1, g2, tolerance = 1e-12)
  expect_error(gru_backward_cpp(a$tape, case$d_seq, NULL), "no longer valid",
               class = "rgru_error_cudnn")
})

test_that("cuDNN refuses what it cannot run, with R errors", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  case <- gpu_case(2, 3, 2, 3)
  call <- function(mask = NULL, activation = "tanh", bias = case$bias) {
    engine_call(case$x, case$kernel, case$recurrent, bias, mask = mask, activation = activation,
                dtype = "float32", backend = "cudnn")
  }
  expect_error(call(mask = rbind(c(FALSE, TRUE, TRUE), c(TRUE, TRUE, TRUE))), "right-padded",
               class = "rgru_error_cudnn")
  expect_error(call(activation = "relu"), "tanh", class = "rgru_error_cudnn")
  expect_error(call(bias = NULL), "use_bias", class = "rgru_error_cudnn")
  expect_true(cudnn_release())
  expect_silent(call())
})

test_that("TF32 is opt-in", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  case <- gpu_case(8, 10, 64, 64)
  run <- function(backend) {
    engine_call(case$x, case$kernel, case$recurrent, case$bias, dtype = "float32",
                backend = backend)
  }
  cpu <- run("cpu")
  gpu <- withr::with_options(list(rgru.cudnn_allow_tf32 = TRUE), run("cudnn"))
  # TF32 may or may not be used by the chosen kernels; it must stay close either way.
  expect_close(gpu$sequence, cpu$sequence, 1e-2)
})
