# The R side of the cuDNN backend: whether it can run here, whether a layer's
# configuration lets it run (checked when a layer makes its engine plan, R/layer-gru.R),
# and which backend the last GRU call used. Its calls go through the engines' one
# boundary (R/engine.R): gru_forward_cpp() with a configuration whose backend is "cudnn";
# its options reach C++ through engine_run_options().
#
# State kept in `cudnn_state` (package-private; the only mutable state of this file):
#   runtime       the cached result of cuda_runtime_info_cpp(). The CUDA runtime fixes
#                 the list of visible devices when it initialises, so one probe per R
#                 session is exact; cudnn_usable(refresh = TRUE) probes again anyway.
#   last_backend  "cudnn", "cpu" or "r": the path the most recent GRU forward took.
#   warned        the cuDNN statuses already warned about (one warning per status).

#' The cuDNN backend and its options
#'
#' When rgru was installed with CUDA and cuDNN (see [rgru_backend()]), a GPU is
#' visible and a GRU layer's arguments meet cuDNN's requirements (`activation =
#' "tanh"`, `recurrent_activation = "sigmoid"`, `recurrent_dropout = 0`,
#' `unroll = FALSE`, `use_bias = TRUE`, `reset_after = TRUE`, and a mask, if any,
#' strictly right-padded with at least one unmasked step per sample), `layer_gru()`
#' runs on NVIDIA cuDNN; otherwise it runs on the CPU engine. Both give the same
#' numbers to within the precision of `dtype`. As in Keras, `dropout > 0` keeps cuDNN:
#' in training the (batch, features) input dropout mask multiplies the inputs before
#' the cuDNN call, and the gradient flows back through it; only `recurrent_dropout > 0`
#' needs the CPU engine.
#'
#' Weights are copied to the GPU once per change (every write to a weight bumps its
#' version) and kept there; cuDNN descriptors are cached, and device memory is taken
#' from a cache of blocks (freed by [rgru_cuda_empty_cache()]). Inference
#' (`predict()`, `evaluate()`, validation in `fit()`) runs cuDNN's inference mode and
#' keeps nothing on the GPU; a training pass keeps cuDNN's reserve space until its
#' backward pass has run.
#'
#' With `use_cudnn = "auto"`, a configuration cuDNN refuses at run time (its status
#' `CUDNN_STATUS_NOT_SUPPORTED...`, no kernel image for this GPU, a cuDNN sub-library
#' that fails to load) makes the layer fall back to the CPU engine, with one warning
#' naming the status; with `use_cudnn = TRUE` it is an error. Running out of GPU memory
#' is an error (of class `rgru_error_memory`) saying how much was asked for, raised
#' after the cache of blocks was freed and the allocation retried. In a child process
#' made by `fork()` (`parallel::mclapply()`) after the parent used CUDA, GRU layers run
#' on the CPU engine: CUDA cannot be used across `fork()`. Pressing Ctrl-C during a long
#' GPU call interrupts it once the work already queued on the GPU has finished (it cannot
#' be withdrawn, and it uses memory that must not be freed before then).
#'
#' @section Options:
#' \describe{
#'   \item{`rgru.cudnn_allow_tf32`}{`FALSE` (default) keeps float32 matrix products on
#'     full-precision FMA units so results match the CPU engine; `TRUE` lets Ampere and
#'     later GPUs use TF32 tensor cores: faster, with about 1e-3 relative error.}
#'   \item{`rgru.cudnn_algorithm`}{cuDNN's recurrence algorithm. `"auto"` (default)
#'     chooses as PyTorch does: the persistent small-hidden-size kernel
#'     (`"persist_static_small_h"`) for float32 without a mask when `units` is at most
#'     192 (inference) or 128 (training), `"standard"` otherwise. `"standard"`,
#'     `"persist_static"`, `"persist_dynamic"` and `"persist_static_small_h"` ask for
#'     one; a call with a mask that shortens a sequence always runs `"standard"`. When
#'     cuDNN refuses `"auto"`'s persistent choice on this GPU, the call runs
#'     `"standard"` instead (same numbers), and so do later calls of that shape; an
#'     algorithm asked for by name is not replaced (its refusal falls back to the CPU
#'     engine or errors, as `use_cudnn` says).}
#'   \item{`rgru.cuda_library`}{Where a CUDA build of rgru loads its GPU backend from
#'     (`rgru_cuda.so`, the only part linked to the CUDA and cuDNN libraries); `NULL`
#'     (default) is beside rgru's own library. Read once, when the backend is first
#'     needed. Where it cannot be loaded (libcudnn or libcudart missing), rgru runs on
#'     the CPU engine and [rgru_backend()] says why.}
#'   \item{`rgru.cuda_device`}{The CUDA device (0, 1, ...) GRU layers run on;
#'     `NULL` (default) is the device current when the call is made. The caller's
#'     current device is restored after every call.}
#' }
#' @name rgru-cudnn
#' @seealso [rgru_backend()]
#' @examples
#' # Which backend a default layer_gru() would use here:
#' rgru_backend()$default_backend
#' # Allow TF32 for one block of code:
#' old <- options(rgru.cudnn_allow_tf32 = TRUE)
#' options(old)
NULL

cudnn_state <- new.env(parent = emptyenv())

#' What the CUDA runtime reports, probed once per session
#'
#' @param refresh Probe again instead of using the cached answer.
#' @return The list from `cuda_runtime_info_cpp()`: `built_with_cuda`,
#'   `cuda_runtime_compiled`, `cuda_runtime_loaded`, `cudnn_compiled`,
#'   `cudnn_loaded`, `driver_version`, `gpu_count`, `gpu_names`, `error`.
#' @noRd
cudnn_runtime_info <- function(refresh = FALSE) {
  if (refresh || is.null(cudnn_state$runtime)) {
    cudnn_state$runtime <- cuda_runtime_info_cpp(getOption("rgru.cuda_library"))
  }
  cudnn_state$runtime
}

#' Can the cuDNN backend run now?
#'
#' TRUE when this build of rgru has the cuDNN backend and at least one GPU is
#' visible. Never errors, with or without a GPU or NVIDIA driver.
#' @inheritParams cudnn_runtime_info
#' @noRd
cudnn_usable <- function(refresh = FALSE) {
  # A forked child must not touch the CUDA state it inherited (see cuda_forked_cpp()).
  if (cuda_forked_cpp()) return(FALSE)
  info <- cudnn_runtime_info(refresh)
  isTRUE(info$built_with_cuda) && isTRUE(info$gpu_count > 0L)
}

#' The first reason a GRU configuration cannot use cuDNN
#'
#' Checks the conditions keras3 lists for its cuDNN GRU, in that order. Only the
#' configuration is checked; whether a GPU is present is [cudnn_usable()]'s job.
#'
#' @param activation,recurrent_activation Activation names (character), a resolved
#'   activation (a list with `name`), or an R function (never cuDNN's).
#' @param dropout,recurrent_dropout Dropout rates (`dropout` never stops cuDNN: Keras
#'   masks the inputs before the cuDNN call).
#' @param unroll,use_bias,reset_after The layer's logical settings.
#' @param mask `NULL` or a logical matrix (batch, timesteps), `TRUE` = use the step.
#' @return `NULL` when cuDNN can run the call, otherwise one sentence naming the
#'   first condition that fails.
#' @noRd
cudnn_unmet_condition <- function(activation = "tanh", recurrent_activation = "sigmoid",
                                  dropout = 0, recurrent_dropout = 0, unroll = FALSE,
                                  use_bias = TRUE, reset_after = TRUE, mask = NULL) {
  act <- activation_label(activation)
  if (!identical(act, "tanh")) {
    return(sprintf("activation must be \"tanh\" for cuDNN, not %s.", act))
  }
  rec <- activation_label(recurrent_activation)
  if (!identical(rec, "sigmoid")) {
    return(sprintf("recurrent_activation must be \"sigmoid\" for cuDNN, not %s.", rec))
  }
  # Keras keeps cuDNN with input dropout: its mask is applied to the inputs first.
  if (!isTRUE(all(recurrent_dropout == 0))) {
    return(sprintf("recurrent_dropout must be 0 for cuDNN, not %s.", format(recurrent_dropout)))
  }
  if (!isFALSE(as.logical(unroll))) return("unroll must be FALSE for cuDNN.")
  if (!isTRUE(as.logical(use_bias))) return("use_bias must be TRUE for cuDNN.")
  if (!isTRUE(as.logical(reset_after))) return("reset_after must be TRUE for cuDNN.")
  mask_unmet_condition(mask)
}

# A name for messages: quoted activation names, or a description of what was given.
activation_label <- function(x) {
  if (is.list(x) && !is.function(x)) x <- x$name
  if (is.null(x)) return("a linear (NULL) activation")
  if (is.function(x)) return("an R function")
  if (is.character(x) && length(x) == 1L && !is.na(x)) {
    if (x %in% c("tanh", "sigmoid")) return(x)
    return(sprintf("\"%s\"", x))
  }
  sprintf("a %s", class(x)[1])
}

mask_unmet_condition <- function(mask) {
  if (is.null(mask)) return(NULL)
  if (is.null(dim(mask))) mask <- matrix(mask, nrow = 1L)
  if (anyNA(mask)) return("the mask must not contain NA for cuDNN.")
  mask <- mask != 0
  steps <- ncol(mask)
  # Right-padded: within each sample no kept step follows a masked one.
  if (steps > 1L && any(mask[, -1L, drop = FALSE] & !mask[, -steps, drop = FALSE])) {
    return("the mask must be strictly right-padded for cuDNN (a kept step follows a masked one).")
  }
  empty <- which(!mask[, 1L])
  if (length(empty) > 0L) {
    return(sprintf("every sample needs at least one unmasked step for cuDNN (sample %d has none).",
                   empty[1L]))
  }
  NULL
}

#' Remember which path a GRU forward took
#'
#' Called by the GRU layer after dispatching; read by [last_gru_backend()] and
#' `rgru_backend()`.
#' @param backend `"cudnn"`, `"cpu"` or `"r"`.
#' @noRd
record_gru_backend <- function(backend) {
  stopifnot(is.character(backend), length(backend) == 1L)
  cudnn_state$last_backend <- backend
  invisible(backend)
}

#' Which path the last GRU forward took
#' @return `"cudnn"`, `"cpu"`, `"r"`, or `NULL` before any GRU has run.
#' @noRd
last_gru_backend <- function() {
  cudnn_state$last_backend
}

#' Free the GPU memory rgru keeps cached
#'
#' The cuDNN backend keeps packed weights, descriptors and a cache of device memory
#' blocks between calls, so that a training loop does not allocate and free GPU
#' memory at every step (as PyTorch's caching allocator does). This hands all of it
#' back to the driver; memory held by live training tapes stays until their backward
#' pass has run. rgru also frees the cache when it is unloaded, and once before
#' reporting that the GPU is out of memory.
#'
#' @returns The number of bytes of cached device memory freed (invisibly), or `NA`
#'   when there is no GPU backend here (rgru built without CUDA, no visible GPU, or a
#'   forked child process).
#' @family backend
#' @seealso [rgru-cudnn]
#' @export
#' @examples
#' rgru_cuda_empty_cache()
rgru_cuda_empty_cache <- function() {
  invisible(cudnn_empty_cache_cpp())
}

#' What to do when the cuDNN backend fails
#'
#' A pure function of the failure's status and the layer's `use_cudnn`, so the policy
#' is tested without a GPU.
#' @param status The library status the C++ error carries (`NULL` when none), e.g.
#'   `"CUDNN_STATUS_NOT_SUPPORTED"`, `"cudaErrorNoKernelImageForDevice"`,
#'   `"forked_process"`.
#' @param use_cudnn The layer's `use_cudnn`: `"auto"`, `TRUE` or `FALSE`.
#' @return `"cpu"`: run on the CPU engine quietly (a forked child, whatever
#'   `use_cudnn`); `"warn_cpu"`: fall back with one warning (cuDNN refused the
#'   configuration, and `use_cudnn = "auto"`); `"error"`: re-signal the error.
#' @noRd
cudnn_failure_action <- function(status, use_cudnn) {
  if (!is.character(status) || length(status) != 1L || is.na(status)) return("error")
  if (status == "forked_process") return("cpu")
  refused <- startsWith(status, "CUDNN_STATUS_NOT_SUPPORTED") ||
    startsWith(status, "CUDNN_STATUS_SUBLIBRARY") ||
    status %in% c("CUDNN_STATUS_ARCH_MISMATCH", "cudaErrorNoKernelImageForDevice",
                  "cudaErrorUnsupportedPtxVersion", "cudaErrorInvalidKernelImage")
  if (refused && identical(use_cudnn, "auto")) "warn_cpu" else "error"
}

#' Run a cuDNN engine call, falling back as cudnn_failure_action() says
#'
#' @param call The engine call (a promise, evaluated here).
#' @param layer The GRU layer: on a fallback its plan is remade on the CPU engine.
#' @return The call's value, or `NULL` after a fallback (the caller then runs the CPU
#'   engine).
#' @noRd
cudnn_guarded <- function(call, layer) {
  tryCatch(call, rgru_error_cudnn = function(cnd) {
    action <- cudnn_failure_action(cnd$status, layer$use_cudnn)
    if (action == "error") stop(cnd)
    if (action == "warn_cpu") warn_cudnn_refused(cnd$status, cnd$message)
    layer$cudnn_refused <- cnd$status
    layer$settings_changed()
    NULL
  })
}

# Once per status and session.
warn_cudnn_refused <- function(status, message) {
  if (status %in% cudnn_state$warned) return(invisible())
  cudnn_state$warned <- c(cudnn_state$warned, status)
  rgru_warn(c(
    "cuDNN refused a GRU configuration ({.val {status}}); it runs on the CPU engine instead.",
    i = "{message}",
    i = "Set {.code use_cudnn = TRUE} to make this an error."
  ), class = "cudnn")
}
