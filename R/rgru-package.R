#' rgru: Keras-compatible GRU layers on native C++ and cuDNN kernels
#'
#' `layer_gru()` and `rnn_cell_gru()` with keras3's signatures, running on the
#' package's own Eigen/BLAS CPU engine, or on cuDNN when a GPU is present.
#'
#' @useDynLib rgru, .registration = TRUE
#' @importFrom Rcpp sourceCpp
#' @keywords internal
"_PACKAGE"
