# The R side of the boundary to the GRU engines (src/rcpp_glue.hpp): the configuration a
# layer makes once, the run options R reads and passes in (C++ never reads options), and
# the CPU engine's self-description. Calls go through gru_forward_cpp(config, options,
# arrays...) and gru_backward_cpp(tape, ...) (src/rcpp_gru.cpp), for both backends.
#
# Options, read on every engine call:
#   rgru.num_threads  threads for the engine's GEMM slabs and elementwise passes (and
#                     layer_conv_1d()'s, which runs on the same GEMM and threads);
#                     default (and at most) the machine's cores. Results are identical for
#                     any value. On a busy machine set 1, or OMP_WAIT_POLICY=passive
#                     before starting R: spinning OpenMP threads cost more than they give.
#   rgru.gemm         "auto" (default: R's BLAS, unless it is a slow reference BLAS or
#                     OpenBLAS running kernels older than the CPU, then Eigen's GEMM),
#                     "blas" or "eigen".
#   rgru.cudnn_allow_tf32, rgru.cudnn_algorithm, rgru.cuda_device: the cuDNN backend's
#                     (see ?rgru-cudnn).

#' An engine configuration: everything about a GRU call that depends only on the layer
#'
#' Made once per layer (and again when a setting changes), so that a call checks only its
#' arrays. `activation` and `recurrent_activation` are the engine's names (elementwise
#' Keras activations); `backend` is `"cpu"` or `"cudnn"`.
#' @return An external pointer of class `rgru_engine_config`.
#' @noRd
engine_config <- function(units, input_dim, activation = "tanh",
                          recurrent_activation = "sigmoid", use_bias = TRUE,
                          reset_after = TRUE, go_backwards = FALSE, return_sequences = TRUE,
                          dtype = "float32", backend = "cpu") {
  gru_config_cpp(list(
    units = units, input_dim = input_dim, activation = activation,
    recurrent_activation = recurrent_activation, use_bias = use_bias,
    reset_after = reset_after, go_backwards = go_backwards,
    return_sequences = return_sequences, dtype = dtype, backend = backend
  ))
}

#' The run options of an engine call
#'
#' Read from `options()` on every call, with one `options()` call (this is on every
#' layer call's path; the fast path of a CPU layer reads the first two itself, see
#' R/layer-gru.R); C++ checks the values (src/rcpp_glue.hpp) and never reads options.
#' @noRd
engine_run_options <- function() {
  # In the order src/rcpp_glue.hpp reads them.
  options("rgru.num_threads", "rgru.gemm", "rgru.cudnn_allow_tf32", "rgru.cudnn_algorithm",
          "rgru.cuda_device")
}

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
