test_that("rgru_backend() reports the build and what runs here", {
  info <- rgru_backend()
  expect_s3_class(info, "rgru_backend")
  expect_identical(info$built_with_cuda, built_with_cuda_cpp())
  expect_true(info$default_backend %in% c("cpu", "cudnn"))
  expect_true(is.character(info$cpu_gemm) && nzchar(info$cpu_gemm))
  expect_true(info$cpu_activations %in% c("avx512", "avx2", "Eigen"))
  expect_gte(info$gpu_count, 0L)
  expect_length(info$gpu_names, info$gpu_count)
  if (info$gpu_count == 0L) expect_identical(info$default_backend, "cpu")
  if (info$built_with_cuda) {
    expect_false(is.null(info$cuda_runtime_compiled))
    expect_false(is.null(info$cudnn_compiled))
  }
  expect_true(is.numeric(info$cache_bytes) && info$cache_bytes >= 0)
  printed <- capture.output(print(info))
  expect_match(printed[1], "rgru backend")
  expect_true(any(grepl("^  CPU memory kept:    [0-9.]+ (B|KB|MB|GB)$", printed)))
  expect_true(any(grepl("^  default layer_gru:  (cpu|cudnn) ", printed)))
  expect_true(any(grepl(paste0("^  CPU sigmoid/tanh:   ", info$cpu_activations, "$"), printed)))
})

test_that("the build configuration asked for by RGRU_CUDA is the one installed", {
  # CI checks the package twice, with RGRU_CUDA=no and =yes; this ties each run to its build.
  requested <- tolower(Sys.getenv("RGRU_CUDA"))
  skip_if_not(requested %in% c("yes", "no"), "RGRU_CUDA not set")
  expect_identical(rgru_backend()$built_with_cuda, requested == "yes")
})

test_that("without a visible GPU, layer_gru runs on the CPU engine, also in a CUDA build", {
  skip_if(rgru_backend()$gpu_count > 0L, "a GPU is visible")
  x <- array(seq(-1, 1, length.out = 2 * 3 * 4), c(2, 3, 4))
  y <- layer_gru(x, 3, use_cudnn = "auto")
  expect_identical(dim(y), c(2L, 3L))
  expect_true(all(is.finite(y)))
  expect_identical(rgru_backend()$last_backend, "cpu")
  expect_error(layer_gru(x, 3, use_cudnn = TRUE), "GPU|cuDNN|CUDA")
})

test_that("the engine keeps at most what recent calls took, and rgru_empty_cache() frees it", {
  # 20 results of 160 KiB held and then freed: the engine keeps about two calls' worth
  # (each call also takes a workspace of about the same size), not all twenty.
  result_bytes <- 8 * 64 * 20 * 16
  rgru_empty_cache()
  expect_identical(rgru_backend()$cache_bytes, 0)
  a <- engine_args(B = 64, TT = 20, F = 3, H = 16)
  held <- lapply(1:20, function(i) engine_forward(a)$sequence)
  rm(held)
  invisible(gc())
  kept <- rgru_backend()$cache_bytes
  expect_lt(kept, 6 * result_bytes)
  # (sanitizer builds hand every block straight back: tools/sanitize/)
  if (!nzchar(Sys.getenv("RGRU_SANITIZE"))) expect_gt(kept, result_bytes)
  # and later calls of the same size reuse it without it growing
  for (i in 1:10) out <- engine_forward(a)$sequence
  expect_lte(rgru_backend()$cache_bytes, max(kept, 6 * result_bytes))

  before <- rgru_backend()$cache_bytes
  expect_invisible(released <- rgru_empty_cache())
  expect_identical(released, before)
  expect_identical(rgru_backend()$cache_bytes, 0)
  expect_identical(engine_forward(a)$sequence, out)
})
