# A small pure-R model following the layer/model protocol (forward/backward,
# variables as environments), so training code can be tested on its own and
# against finite differences.

fake_variable <- function(value, name, path, regularizer = NULL, constraint = NULL) {
  v <- new.env(parent = emptyenv())
  v$value <- value
  v$name <- name
  v$path <- path
  v$trainable <- TRUE
  v$regularizer <- regularizer
  v$constraint <- constraint
  class(v) <- "rgru_variable"
  v
}

# x (batch, in) -> tanh(x W1 + b1) W2 + b2 -> (batch, out)
FakeMlp <- R6::R6Class("FakeMlp",
  public = list(
    vars = NULL, layer_trainable = c(TRUE, TRUE), name = "fake_mlp",
    initialize = function(n_in, n_hidden, n_out, seed = 1, kernel_regularizer = NULL,
                          kernel_constraint = NULL) {
      set.seed(seed)
      self$vars <- list(
        fake_variable(matrix(rnorm(n_in * n_hidden, sd = 0.5), n_in, n_hidden), "kernel", "d1/kernel",
                      kernel_regularizer, kernel_constraint),
        fake_variable(rnorm(n_hidden, sd = 0.1), "bias", "d1/bias"),
        fake_variable(matrix(rnorm(n_hidden * n_out, sd = 0.5), n_hidden, n_out), "kernel", "d2/kernel"),
        fake_variable(rnorm(n_out, sd = 0.1), "bias", "d2/bias")
      )
      self$config <- list(n_in = n_in, n_hidden = n_hidden, n_out = n_out)
    },
    config = NULL,
    get_config = function() self$config,
    forward = function(inputs, mask = NULL, training = FALSE, initial_state = NULL,
                       keep_tape = TRUE) {
      w <- lapply(self$vars, function(v) v$value)
      a <- inputs %*% w[[1]] + rep(w[[2]], each = nrow(inputs))
      h <- tanh(a)
      out <- h %*% w[[3]] + rep(w[[4]], each = nrow(inputs))
      list(outputs = out, mask = NULL, tape = list(x = inputs, h = h, w = w),
           activity_loss = 0)
    },
    backward = function(tape, d_outputs) {
      d_h <- d_outputs %*% t(tape$w[[3]])
      d_a <- d_h * (1 - tape$h^2)
      list(d_inputs = d_a %*% t(tape$w[[1]]),
           grads = list(t(tape$x) %*% d_a, colSums(d_a),
                        t(tape$h) %*% d_outputs, colSums(d_outputs)))
    }
  ),
  active = list(
    weights = function() self$vars,
    trainable_weights = function() {
      keep <- rep(self$layer_trainable, each = 2)
      Filter(function(v) isTRUE(v$trainable), self$vars[keep])
    },
    layers = function() list(),
    trainable = function(value) {
      if (missing(value)) return(any(self$layer_trainable))
      self$layer_trainable[] <- value
    }
  )
)

fake_mlp <- function(...) {
  m <- FakeMlp$new(...)
  class(m) <- c("rgru_model", class(m))
  m
}

# Central finite differences of f() with respect to each element of each
# variable's value (numeric_gradient() from helper-finite-differences.R, with
# the variable set in place).
finite_difference_grads <- function(f, vars, h = 1e-6) {
  lapply(vars, function(v) {
    original <- v$value
    on.exit(v$value <- original)
    numeric_gradient(function(value) {
      v$value <- value
      f()
    }, original, h = h)
  })
}
