# Central finite-difference gradient of a scalar function `f` at `x` (an array
# of any shape), for checking analytic gradients.
numeric_gradient <- function(f, x, h = 1e-6) {
  gradient <- x
  for (i in seq_along(x)) {
    up <- x
    up[i] <- up[i] + h
    down <- x
    down[i] <- down[i] - h
    gradient[i] <- (f(up) - f(down)) / (2 * h)
  }
  gradient
}
