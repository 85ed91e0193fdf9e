# The native CPU engine's run settings and self-description. The engine itself is
# reached through gru_forward_cpp() / gru_backward_cpp() (src/rcpp-gru.cpp).
#
# Options read on every engine call:
#   rgru.num_threads  threads for the engine's GEMM slabs and elementwise passes;
#                     default (and at most) the machine's cores. Results are identical for
#                     any value. On a busy machine set 1, or OMP_WAIT_POLICY=passive
#                     before starting R: spinning OpenMP threads cost more than they give.
#   rgru.gemm         "auto" (default: R's BLAS, unless it is a slow reference BLAS or
#                     OpenBLAS running kernels older than the CPU, then Eigen's GEMM),
#                     "blas" or "eigen".

#' Describe the CPU engine's matrix-multiply backend
#'
#' @return A list: `gemm` (the GEMM the engine runs on, in words), `blas` (what R's
#'   BLAS is), `blas_dgemm_gflops` (measured once per session), `slow_reference_blas`
#'   (`TRUE` when R links a slow reference BLAS; install OpenBLAS for speed),
#'   `blas_kernels_older_than_cpu` (`TRUE` when R's OpenBLAS runs kernels without AVX2
#'   on a CPU with AVX2 and FMA, as it does on CPUs newer than it knows),
#'   `threads` (from `options(rgru.num_threads)`), `openmp`, `simd` (the
#'   instruction sets Eigen was compiled for) and `activations` (the sigmoid and tanh
#'   kernels in use: "avx512", "avx2" or "Eigen", chosen for the CPU when rgru loads).
#' @noRd
engine_info <- function() {
  engine_info_cpp()
}
