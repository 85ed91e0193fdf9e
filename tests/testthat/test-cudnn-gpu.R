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
  args <- list(case$x, case$kernel, case$recurrent, case$bias, case$h0, case$mask, NULL, NULL,
               "tanh", "sigmoid", TRUE, go_backwards, return_sequences, dtype, TRUE)
  cpu <- do.call(gru_forward_cpp, args)
  gpu <- do.call(cudnn_gru_forward_cpp, args)
  d_seq <- if (return_sequences) case$d_seq else NULL
  list(cpu = cpu, gpu = gpu,
       cpu_grad = gru_backward_cpp(cpu$tape, d_seq, case$d_final),
       gpu_grad = cudnn_gru_backward_cpp(gpu$tape, d_seq, case$d_final))
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
  fwd <- function(kernel) {
    cudnn_gru_forward_cpp(case$x, kernel, case$recurrent, case$bias, NULL, NULL, NULL, NULL,
                          "tanh", "sigmoid", TRUE, FALSE, TRUE, "float64", TRUE)
  }
  a <- fwd(case$kernel)
  b <- fwd(case$kernel * 2)
  cpu_b <- gru_forward_cpp(case$x, case$kernel * 2, case$recurrent, case$bias, NULL, NULL, NULL,
                           NULL, "tanh", "sigmoid", TRUE, FALSE, TRUE, "float64", FALSE)
  expect_close(b$sequence, cpu_b$sequence, 1e-9)
  expect_false(isTRUE(all.equal(a$sequence, b$sequence)))
  g1 <- cudnn_gru_backward_cpp(a$tape, case$d_seq, NULL)
  g2 <- cudnn_gru_backward_cpp(a$tape, case$d_seq, NULL)
  expect_equal(g1, g2, tolerance = 1e-12)
})

test_that("cuDNN refuses what it cannot run, with R errors", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  case <- gpu_case(2, 3, 2, 3)
  call <- function(mask = NULL, activation = "tanh", bias = case$bias) {
    cudnn_gru_forward_cpp(case$x, case$kernel, case$recurrent, bias, NULL, mask, NULL, NULL,
                          activation, "sigmoid", TRUE, FALSE, TRUE, "float32", FALSE)
  }
  expect_error(call(mask = rbind(c(FALSE, TRUE, TRUE), c(TRUE, TRUE, TRUE))), "right-padded")
  expect_error(call(activation = "relu"), "tanh")
  expect_error(call(bias = NULL), "use_bias")
  expect_true(cudnn_release())
  expect_silent(call())
})

test_that("TF32 is opt-in", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  case <- gpu_case(8, 10, 64, 64)
  cpu <- gru_forward_cpp(case$x, case$kernel, case$recurrent, case$bias, NULL, NULL, NULL, NULL,
                         "tanh", "sigmoid", TRUE, FALSE, TRUE, "float32", FALSE)
  gpu <- withr::with_options(list(rgru.cudnn_allow_tf32 = TRUE), cudnn_gru_forward_cpp(
    case$x, case$kernel, case$recurrent, case$bias, NULL, NULL, NULL, NULL, "tanh", "sigmoid",
    TRUE, FALSE, TRUE, "float32", FALSE))
  # TF32 may or may not be used by the chosen kernels; it must stay close either way.
  expect_close(gpu$sequence, cpu$sequence, 1e-2)
})
