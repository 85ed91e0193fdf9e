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

test_that("results held through garbage collections go back to the system when freed", {
  # Twenty results of 160 KiB, each held through the collections after it, then freed: the
  # engine keeps at most the youngest few (and its workspace), not all twenty.
  result_bytes <- 8 * 64 * 20 * 16
  a <- engine_args(B = 64, TT = 20, F = 3, H = 16)
  rgru_empty_cache()
  expect_identical(rgru_backend()$cache_bytes, 0)
  held <- list()
  for (i in 1:20) {
    held[[i]] <- engine_forward(a)$sequence
    invisible(gc())
  }
  rm(held)
  invisible(gc())
  expect_lt(rgru_backend()$cache_bytes, 8 * result_bytes)

  before <- rgru_backend()$cache_bytes
  expect_invisible(released <- rgru_empty_cache())
  expect_identical(released, before)
  expect_identical(rgru_backend()$cache_bytes, 0)
})

test_that("results freed soon after their call are kept for the next calls", {
  # (sanitizer builds hand every block straight back: tools/sanitize/)
  skip_if(nzchar(Sys.getenv("RGRU_SANITIZE")), "blocks are not kept under the sanitizers")
  result_bytes <- 8 * 64 * 20 * 16
  a <- engine_args(B = 64, TT = 20, F = 3, H = 16)
  rgru_empty_cache()
  out <- lapply(1:10, function(i) engine_forward(a)$sequence)
  first <- out[[1]] + 0
  rm(out)
  invisible(gc())
  kept <- rgru_backend()$cache_bytes
  expect_gte(kept, 10 * result_bytes)
  # the next calls take those blocks instead of growing the cache
  for (i in 1:10) out <- engine_forward(a)$sequence
  expect_lte(rgru_backend()$cache_bytes, kept)
  expect_identical(out, first)
})
