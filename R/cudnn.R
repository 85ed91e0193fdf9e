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

#' The cuDNN backend and its options
#'
#' When rgru was installed with CUDA and cuDNN (see [rgru_backend()]), a GPU is
#' visible and a GRU layer's arguments meet cuDNN's requirements (`activation =
#' "tanh"`, `recurrent_activation = "sigmoid"`, `dropout = 0`, `recurrent_dropout = 0`,
#' `unroll = FALSE`, `use_bias = TRUE`, `reset_after = TRUE`, and a mask, if any,
#' strictly right-padded with at least one unmasked step per sample), `layer_gru()`
#' runs on NVIDIA cuDNN; otherwise it runs on the CPU engine. Both give the same
#' numbers to within the precision of `dtype`.
#'
#' Weights are copied to the GPU once and kept there while they are unchanged (a
#' digest of their contents is checked on every call); cuDNN descriptors and
#' workspaces are cached too.
#'
#' @section Options:
#' \describe{
#'   \item{`rgru.cudnn_allow_tf32`}{`FALSE` (default) keeps float32 matrix products on
#'     full-precision FMA units so results match the CPU engine; `TRUE` lets Ampere and
#'     later GPUs use TF32 tensor cores: faster, with about 1e-3 relative error.}
#'   \item{`rgru.cudnn_algorithm`}{cuDNN's recurrence algorithm: `"standard"`
#'     (default), `"persist_static"` or `"persist_dynamic"` (persistent kernels: faster
#'     for small batches where the GPU supports them; an error otherwise).}
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
    cudnn_state$runtime <- cuda_runtime_info_cpp()
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
#' @param dropout,recurrent_dropout Dropout rates.
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
  if (!isTRUE(all(dropout == 0))) {
    return(sprintf("dropout must be 0 for cuDNN, not %s.", format(dropout)))
  }
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

#' Frees the cuDNN backend's cached device memory
#'
#' Packed weights, descriptors and workspace are kept between calls for speed; this
#' hands them back. Returns `FALSE` when there is no GPU backend to release.
#' @noRd
cudnn_release <- function() {
  invisible(cudnn_release_cpp())
}
