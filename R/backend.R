#' Which compute backends rgru can use here
#'
#' Reports how this installation of rgru was built and what it finds at run
#' time: whether it was compiled with CUDA, the CUDA runtime and cuDNN versions
#' it was compiled against and the ones loaded now, the GPUs visible, the matrix
#' multiplication (GEMM) the CPU engine uses, and which backend a default
#' `layer_gru()` call would use right now.
#'
#' A package built with CUDA still loads and runs on a machine without a GPU or
#' an NVIDIA driver: it then reports no GPUs and uses the CPU engine.
#'
#' @section Threads and forked processes:
#' The CPU engine splits large problems over OpenMP threads. In a process forked from
#' the R session after rgru was loaded, as [parallel::mclapply()],
#' [parallel::mcparallel()] and fork clusters create them, the engine runs on one
#' thread: GNU OpenMP's threads do not survive `fork()`, and a child that used them
#' would wait for them forever. The forked processes themselves are the parallelism
#' there; results are the same as in the parent.
#'
#' @section Memory:
#' The CPU engine keeps blocks of memory it has used (workspaces, and large results once
#' R has freed them) to reuse them in later calls without paying for fresh pages. It
#' keeps at most what its last 16 calls took (never more than 512 MiB) and returns the
#' rest to the system. Results that you kept through two or more garbage collections go
#' back to the system when R frees them, rather than to the engine. `cache_bytes` says how
#' much it holds now; [rgru_empty_cache()] returns all of it.
#'
#' @section Options:
#' * `rgru.num_threads`: threads for the CPU engine (default and at most the
#'   machine's cores; only large problems are split). Results are identical for
#'   any value. On a machine busy with other work, 1 can be faster.
#' * `rgru.gemm`: the CPU engine's matrix multiply: `"auto"` (default: R's BLAS,
#'   unless it is the slow reference BLAS, or OpenBLAS running kernels older than
#'   the CPU, then Eigen's), `"blas"` or `"eigen"`. Eigen's is built for AVX2 and FMA
#'   as well as for R's compiler flags, and the CPU's best is used.
#' * `rgru.cudnn_allow_tf32`, `rgru.cudnn_algorithm`, `rgru.cuda_device`,
#'   `rgru.cuda_library`: see [rgru-cudnn].
#'
#' @return An object of class `rgru_backend`: a list with elements
#'   `built_with_cuda`, `cuda_runtime_compiled`, `cuda_runtime_loaded`,
#'   `cudnn_compiled`, `cudnn_loaded`, `gpu_count`, `gpu_names`, `gpu_error` (why
#'   no GPU is usable: no driver, no device, or the GPU backend library or a CUDA
#'   library it needs is missing), `cuda_backend_library` and `cuda_backend_loaded`
#'   (a CUDA build's GPU backend, `rgru_cuda.so`, loaded on first use; see
#'   [rgru-cudnn]),
#'   `cpu_gemm`, `cpu_activations` (the sigmoid and tanh kernels the CPU engine runs:
#'   `"avx512"`, `"avx2"` or `"Eigen"`, chosen for the CPU when rgru loads),
#'   `slow_reference_blas`, `blas` (what R's BLAS is, in words),
#'   `blas_kernels_older_than_cpu` (OpenBLAS does not know
#'   this CPU and runs kernels without AVX2 on it, as Debian 12's OpenBLAS does on
#'   Intel's Emerald Rapids), `threads`, `cache_bytes` (memory the CPU engine keeps
#'   for reuse, in bytes; see Memory), `default_backend` and `last_backend`. It prints
#'   as a short report.
#' @family backend
#' @export
#' @examples
#' rgru_backend()
#' rgru_backend()$default_backend
rgru_backend <- function() {
  cuda <- cuda_runtime_info_cpp(getOption("rgru.cuda_library"))
  engine <- engine_info()
  gpu_count <- as.integer(cuda$gpu_count %||% 0L)
  default_backend <- if (isTRUE(cuda$built_with_cuda) && gpu_count > 0L) "cudnn" else "cpu"
  default_reason <- if (!isTRUE(cuda$built_with_cuda)) {
    "built without CUDA"
  } else if (!isTRUE(cuda$backend_loaded)) {
    "the GPU backend library could not be loaded (see gpu_error)"
  } else if (gpu_count == 0L) {
    "no GPU visible"
  } else {
    "GPU visible; used when the layer's arguments allow cuDNN"
  }
  structure(
    list(
      built_with_cuda = isTRUE(cuda$built_with_cuda),
      cuda_runtime_compiled = cuda$cuda_runtime_compiled,
      cuda_runtime_loaded = cuda$cuda_runtime_loaded,
      cudnn_compiled = cuda$cudnn_compiled,
      cudnn_loaded = cuda$cudnn_loaded,
      gpu_count = gpu_count,
      gpu_names = as.character(cuda$gpu_names %||% character()),
      gpu_error = cuda$error,
      cuda_backend_library = cuda$backend_library,
      cuda_backend_loaded = isTRUE(cuda$backend_loaded),
      cpu_gemm = engine$gemm,
      cpu_activations = engine$activations,
      slow_reference_blas = isTRUE(engine$slow_reference_blas),
      blas_kernels_older_than_cpu = isTRUE(engine$blas_kernels_older_than_cpu),
      blas = engine$blas,
      threads = engine$threads,
      cache_bytes = engine_cached_bytes_cpp(),
      default_backend = default_backend,
      default_reason = default_reason,
      last_backend = last_gru_backend()
    ),
    class = "rgru_backend"
  )
}

#' @export
format.rgru_backend <- function(x, ...) {
  versions <- function(runtime, cudnn) {
    paste0("CUDA runtime ", runtime %||% "none", ", cuDNN ", cudnn %||% "none")
  }
  gpus <- if (x$gpu_count > 0L) {
    paste0(x$gpu_count, " (", paste(x$gpu_names, collapse = ", "), ")")
  } else if (!is.null(x$gpu_error)) {
    paste0("0 (", x$gpu_error, ")")
  } else {
    "0"
  }
  gemm <- x$cpu_gemm
  if (x$slow_reference_blas) {
    gemm <- paste0(gemm, " -- R uses the slow reference BLAS; install OpenBLAS ",
                   "(e.g. apt-get install libopenblas0-pthread) for full speed")
  }
  if (x$blas_kernels_older_than_cpu) {
    gemm <- paste0(gemm, " -- R's BLAS (", x$blas, ") runs kernels older than this CPU")
  }
  lines <- c(
    "<rgru backend>",
    paste0("  built with CUDA:    ", if (x$built_with_cuda) {
      paste0("yes (", versions(x$cuda_runtime_compiled, x$cudnn_compiled), ")")
    } else "no"),
    if (x$built_with_cuda) {
      paste0("  loaded now:         ", versions(x$cuda_runtime_loaded, x$cudnn_loaded))
    },
    paste0("  GPUs visible:       ", gpus),
    paste0("  CPU GEMM:           ", gemm),
    paste0("  CPU sigmoid/tanh:   ", x$cpu_activations),
    paste0("  CPU threads:        ", x$threads),
    paste0("  CPU memory kept:    ", format_bytes(x$cache_bytes)),
    paste0("  default layer_gru:  ", x$default_backend, " (", x$default_reason, ")"),
    paste0("  last layer_gru ran: ", x$last_backend %||% "none yet")
  )
  lines
}

#' @export
print.rgru_backend <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}

#' Return the CPU engine's kept memory to the system
#'
#' The CPU engine keeps memory it has used, to reuse it in later calls without paying
#' for fresh pages, and bounds it by what recent calls needed (see the Memory section
#' of [rgru_backend()]). `rgru_empty_cache()` returns all of it to the system now, for
#' instance after large calls that will not be repeated. Later calls work as before;
#' the first ones pay for fresh memory again.
#'
#' Memory that results still hold is not touched: it is kept once R frees those
#' results (after `rm()` and garbage collection) only up to the same bound.
#'
#' @returns The number of bytes returned to the system, invisibly.
#' @family backend
#' @export
#' @examples
#' x <- array(runif(64 * 20 * 8), c(64, 20, 8))
#' y <- layer_gru(x, units = 32, return_sequences = TRUE)
#' rgru_backend()$cache_bytes
#' rm(y); invisible(gc())
#' rgru_empty_cache()
#' rgru_backend()$cache_bytes
rgru_empty_cache <- function() {
  invisible(engine_empty_cache_cpp())
}

`%||%` <- function(x, y) if (is.null(x)) y else x
