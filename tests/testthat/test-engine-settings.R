# The engine's run settings (R/engine.R): threads and GEMM backend change how it runs,
# never what it computes.

test_that("results are identical for any thread count", {
  # batch * units above the engine's threshold for threading its elementwise passes
  a <- engine_args(B = 128, TT = 3, F = 5, H = 256, mask = matrix(c(TRUE, FALSE), 128, 3),
    initial_state = TRUE)
  w <- engine_loss_weights(a)
  run <- function(threads) {
    withr::local_options(rgru.num_threads = threads)
    out <- engine_forward(a, "float32", keep_tape = TRUE)
    c(out[c("sequence", "final_state")], gru_backward_cpp(out$tape, w$seq, w$fin))
  }
  one <- run(1)
  expect_identical(run(2), one)
  expect_identical(run(3), one)
})

test_that("Eigen's GEMM and the BLAS give the same results", {
  # Batch 1 and units 1 make single-column products, which the BLAS path hands to gemv
  # (with a strided vector for the recurrent-kernel gradient of units 1).
  cases <- list(
    engine_args(B = 5, TT = 4, F = 6, H = 7, reset_after = FALSE, recurrent_dropout = TRUE,
      dropout_gates = 3),
    engine_args(B = 1, TT = 4, F = 3, H = 5, initial_state = TRUE),
    engine_args(B = 1, TT = 1, F = 2, H = 3, reset_after = FALSE, go_backwards = TRUE),
    engine_args(B = 3, TT = 4, F = 1, H = 1),
    engine_args(B = 3, TT = 2, F = 2, H = 1, reset_after = FALSE))
  for (a in cases) {
    w <- engine_loss_weights(a)
    run <- function(gemm) {
      withr::local_options(rgru.gemm = gemm)
      out <- engine_forward(a, keep_tape = TRUE)
      c(out[c("sequence", "final_state")], gru_backward_cpp(out$tape, w$seq, w$fin))
    }
    blas <- run("blas")
    eigen <- run("eigen")
    label <- paste(dim(a$x), collapse = "x")
    for (n in names(blas))
      expect_equal(eigen[[n]], blas[[n]], tolerance = 1e-12, label = paste(label, n))
  }
  withr::local_options(rgru.gemm = "fast")
  expect_error(engine_forward(cases[[1]]), "rgru.gemm")
})

test_that("engine_info() describes the GEMM in use", {
  info <- engine_info()
  expect_named(info, c("gemm", "blas", "blas_dgemm_gflops", "slow_reference_blas",
    "blas_kernels_older_than_cpu", "threads", "openmp", "simd", "activations"))
  expect_type(info$gemm, "character")
  expect_true(info$blas_dgemm_gflops > 0)
  expect_type(info$slow_reference_blas, "logical")
  cores <- withr::with_options(list(rgru.num_threads = 1000), engine_info()$threads)
  expect_true(cores >= 1L)
  # unset: every core, as PyTorch
  withr::with_options(list(rgru.num_threads = NULL), expect_identical(engine_info()$threads, cores))
  withr::with_options(list(rgru.num_threads = 1), expect_identical(engine_info()$threads, 1L))
  withr::with_options(list(rgru.num_threads = cores),
    expect_identical(engine_info()$threads, cores))
  demoted <- info$slow_reference_blas || info$blas_kernels_older_than_cpu
  if (demoted) expect_match(info$gemm, "Eigen") else expect_match(info$gemm, "BLAS")
  # OpenBLAS's kernels count as older only where the engine has a faster GEMM to run
  if (info$blas_kernels_older_than_cpu) {
    expect_match(info$blas, "OpenBLAS")
    expect_match(info$gemm, "AVX2")
  }
})

test_that("every GEMM build computes the product R computes", {
  # Every transpose combination, blocks starting past column 1 (leading dimensions
  # larger than the block), sizes off the kernels' register tiles, and one column.
  set.seed(3)
  for (shape in list(c(37, 29, 41), c(130, 70, 9), c(8, 1, 300), c(7, 1, 301))) {
    m <- shape[[1]]; n <- shape[[2]]; k <- shape[[3]]
    for (trans_a in c(FALSE, TRUE)) for (trans_b in c(FALSE, TRUE)) {
      a <- matrix(stats::rnorm((if (trans_a) k else m) * ((if (trans_a) m else k) + 2)),
        if (trans_a) k else m)
      b <- matrix(stats::rnorm((if (trans_b) n else k) * ((if (trans_b) k else n) + 2)),
        if (trans_b) n else k)
      op <- function(x, t) { x <- x[, -(1:2), drop = FALSE]; if (t) t(x) else x }
      want <- op(a, trans_a) %*% op(b, trans_b)
      for (build in c("blas", "eigen", "eigen_r_flags")) {
        label <- sprintf("%s %d x %d x %d, trans %d%d", build, m, n, k, trans_a, trans_b)
        expect_equal(engine_gemm_cpp(a, b, trans_a, trans_b, 2L, "float64", build), want,
          tolerance = 1e-13, label = label)
        expect_equal(engine_gemm_cpp(a, b, trans_a, trans_b, 2L, "float32", build), want,
          tolerance = 1e-5, label = paste(label, "float32"))
      }
    }
  }
  expect_error(engine_gemm_cpp(diag(2), diag(3), FALSE, FALSE, 0L, "float64", "eigen"), "conform")
  expect_error(engine_gemm_cpp(diag(2), diag(2), FALSE, FALSE, 0L, "float64", "mkl"), "build")
})
