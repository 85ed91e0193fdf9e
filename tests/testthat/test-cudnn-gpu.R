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
  expect_gte(rgru_cuda_empty_cache(), 0)
  expect_identical(cudnn_memory_stats_cpp()$bytes_cached, 0)
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

test_that("a gradient on only the sequence or only the final state matches the CPU (zero dhy / dy)", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  case <- gpu_case(4, 6, 3, 5, lengths = c(6L, 3L, 1L, 5L))
  for (dtype in c("float64", "float32")) {
    tol <- if (dtype == "float64") 1e-9 else 1e-4
    run <- function(backend) {
      engine_call(case$x, case$kernel, case$recurrent, case$bias, case$h0, case$mask,
                  dtype = dtype, keep_tape = TRUE, backend = backend)
    }
    for (upstream in list(list(case$d_seq, NULL), list(NULL, case$d_final))) {
      cpu <- gru_backward_cpp(run("cpu")$tape, upstream[[1]], upstream[[2]])
      gpu <- gru_backward_cpp(run("cudnn")$tape, upstream[[1]], upstream[[2]])
      for (g in names(cpu)) expect_close(gpu[[g]], cpu[[g]], tol)
    }
  }
})

test_that("inference keeps nothing and matches training mode as shapes and masks change", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  rgru_cuda_empty_cache()
  in_use <- cudnn_memory_stats_cpp()$bytes_in_use
  for (shape in list(c(4, 6), c(7, 3), c(4, 6), c(1, 9))) {
    lengths <- pmax(1L, shape[2] - seq_len(shape[1]) + 1L)
    for (mask in list(NULL, lengths)) {
      case <- gpu_case(shape[1], shape[2], 3, 5, lengths = mask)
      run <- function(backend, keep_tape) {
        engine_call(case$x, case$kernel, case$recurrent, case$bias, case$h0, case$mask,
                    dtype = "float32", keep_tape = keep_tape, backend = backend)
      }
      inference <- run("cudnn", FALSE)
      expect_null(inference$tape)
      expect_close(inference$sequence, run("cpu", FALSE)$sequence, 1e-4)
      expect_close(inference$sequence, run("cudnn", TRUE)$sequence, 1e-5)
    }
  }
  gc()
  # Weights and descriptors stay cached; no call's buffers are held.
  expect_lte(cudnn_memory_stats_cpp()$bytes_in_use - in_use, 2^20)
})

test_that("an unchanged model is uploaded once; a weight write uploads it again", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  model <- keras_model_sequential(input_shape = c(5, 3)) |> layer_gru(4) |> layer_dense(1)
  x <- array(stats::rnorm(30), c(2, 5, 3))
  predict(model, x, verbose = 0)
  uploads <- cudnn_memory_stats_cpp()$weight_uploads
  for (i in 1:3) predict(model, x, verbose = 0)
  expect_identical(cudnn_memory_stats_cpp()$weight_uploads, uploads)
  set_weights(model, get_weights(model))
  predict(model, x, verbose = 0)
  expect_identical(cudnn_memory_stats_cpp()$weight_uploads, uploads + 1)
})

test_that("every algorithm, with and without a mask, matches the CPU engine", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  for (algo in c("auto", "standard", "persist_static", "persist_dynamic",
                 "persist_static_small_h")) {
    for (lengths in list(NULL, c(6L, 3L, 1L, 5L))) {
      case <- gpu_case(4, 6, 3, 5, lengths = lengths)
      r <- tryCatch(
        withr::with_options(list(rgru.cudnn_algorithm = algo),
                            run_both(case, FALSE, TRUE, "float32")),
        rgru_error_cudnn = function(e) e
      )
      # A persistent kernel this GPU lacks is refused by cuDNN, never computed wrong.
      if (inherits(r, "rgru_error_cudnn")) {
        expect_match(r$status, "NOT_SUPPORTED", info = algo)
        next
      }
      expect_close(r$gpu$sequence, r$cpu$sequence, 1e-4)
      for (g in c("d_x", "d_kernel", "d_recurrent_kernel", "d_bias")) {
        expect_close(r$gpu_grad[[g]], r$cpu_grad[[g]], 1e-4)
      }
    }
  }
})

test_that("input dropout on cuDNN equals the CPU engine's", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  x <- array(stats::rnorm(2 * 4 * 3), c(2, 4, 3))
  gpu <- layer_gru(units = 3, return_sequences = TRUE, dropout = 0.4, seed = 2, dtype = "float64")
  cpu <- layer_gru(units = 3, return_sequences = TRUE, dropout = 0.4, seed = 2, dtype = "float64",
                   use_cudnn = FALSE)
  invisible(gpu(x))
  invisible(cpu(x))
  set_weights(cpu, get_weights(gpu))
  a <- obj(gpu)$forward(x, training = TRUE)
  expect_identical(gpu$last_backend, "cudnn")
  b <- obj(cpu)$forward(x, training = TRUE)
  expect_close(a$outputs, b$outputs, 1e-9)
  d <- array(1, dim(a$outputs))
  ga <- obj(gpu)$backward(a$tape, d)
  gb <- obj(cpu)$backward(b$tape, d)
  expect_close(ga$d_inputs, gb$d_inputs, 1e-9)
  for (k in seq_along(gb$grads)) expect_close(ga$grads[[k]], gb$grads[[k]], 1e-9)
})

test_that("options(rgru.cuda_device) picks the device; a missing one is a cuDNN error", {
  skip_if_not(cudnn_usable(), "no GPU visible to a CUDA build")
  case <- gpu_case(2, 3, 2, 3)
  call <- function() {
    engine_call(case$x, case$kernel, case$recurrent, case$bias, dtype = "float32",
                backend = "cudnn")
  }
  expect_silent(withr::with_options(list(rgru.cuda_device = 0L), call()))
  expect_error(withr::with_options(list(rgru.cuda_device = 999L), call()),
               class = "rgru_error_cudnn")
})
