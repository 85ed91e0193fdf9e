# The final state of a GRU (Keras 3 semantics, tanh/sigmoid, reset_after = TRUE)
#
# @param x Array (batch, timesteps, features).
# @param kernel,recurrent_kernel,bias As `get_weights()` returns them for an rgru
#   `layer_gru()`: (features, 3 * units), (units, 3 * units) and (2, 3 * units).
# @returns Matrix (batch, units), computed in double precision.
gru_final_state <- function(x, kernel, recurrent_kernel, bias) {
  storage.mode(x) <- storage.mode(kernel) <- storage.mode(recurrent_kernel) <- "double"
  storage.mode(bias) <- "double"
  stopifnot(length(dim(x)) == 3, dim(kernel)[1] == dim(x)[3],
            dim(kernel)[2] == 3 * nrow(recurrent_kernel), dim(bias)[1] == 2)
  .Call(gru_final_state_c, x, kernel, recurrent_kernel, t(bias))
}
