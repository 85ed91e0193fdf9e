# Shared by the engine tests: a plain-R GRU written from Keras 3's GRUCell and RNN
# loop step by step (the slow, obvious version), random arguments, and finite
# differences of a scalar loss.

engine_activation <- function(name) {
  sigmoid <- function(x) 1 / (1 + exp(-x))
  softplus <- function(x) pmax(x, 0) + log1p(exp(-abs(x)))
  hard_sigmoid <- function(x) pmin(pmax(x / 6 + 0.5, 0), 1)
  switch(name,
    linear = identity,
    tanh = tanh,
    sigmoid = sigmoid,
    hard_sigmoid = hard_sigmoid,
    relu = function(x) pmax(x, 0),
    relu6 = function(x) pmin(pmax(x, 0), 6),
    leaky_relu = function(x) pmax(x, 0.2 * x),
    elu = function(x) ifelse(x >= 0, x, expm1(x)),
    selu = function(x) 1.0507009873554804934 * ifelse(x >= 0, x, 1.6732632423543772848 * expm1(x)),
    softsign = function(x) x / (1 + abs(x)),
    softplus = softplus,
    silu = , swish = function(x) x * sigmoid(x),
    gelu = function(x) x * stats::pnorm(x),  # 0.5 x (1 + erf(x / sqrt(2)))
    exponential = exp,
    mish = function(x) x * tanh(softplus(x)),
    log_sigmoid = function(x) -softplus(-x),
    hard_silu = , hard_swish = function(x) x * hard_sigmoid(x),
    hard_tanh = function(x) pmin(pmax(x, -1), 1),
    tanh_shrink = function(x) x - tanh(x),
    soft_shrink = function(x) ifelse(x > 0.5, x - 0.5, ifelse(x < -0.5, x + 0.5, 0)),
    hard_shrink = function(x) ifelse(abs(x) > 0.5, x, 0),
    squareplus = function(x) (x + sqrt(x^2 + 4)) / 2,
    celu = function(x) pmax(x, 0) + expm1(pmin(x, 0)),
    sparse_plus = function(x) ifelse(x <= -1, 0, ifelse(x < 1, (x + 1)^2 / 4, x)),
    sparse_sigmoid = function(x) ifelse(x <= -1, 0, ifelse(x >= 1, 1, (x + 1) / 2)),
    stop("no reference for ", name)
  )
}

# Keras's GRUCell.call + the RNN loop, one sample-batch step at a time. A dropout
# mask (batch, dim) is shared by the gates; (batch, dim, 3) gives one per gate.
engine_reference <- function(a) {
  x <- a$x
  B <- dim(x)[1]; TT <- dim(x)[2]; H <- nrow(a$recurrent_kernel)
  act <- engine_activation(a$activation)
  ract <- engine_activation(a$recurrent_activation)
  gate <- function(m, g) if (is.null(m)) 1 else if (length(dim(m)) == 3) m[, , g] else m
  cols <- function(g) ((g - 1) * H + 1):(g * H)
  K <- a$kernel; U <- a$recurrent_kernel
  b_in <- b_rec <- matrix(0, B, 3 * H, byrow = TRUE)
  if (!is.null(a$bias)) {
    if (a$reset_after) {
      b_in <- matrix(a$bias[1, ], B, 3 * H, byrow = TRUE)
      b_rec <- matrix(a$bias[2, ], B, 3 * H, byrow = TRUE)
    } else {
      b_in <- matrix(a$bias, B, 3 * H, byrow = TRUE)
    }
  }
  h <- if (is.null(a$initial_state)) matrix(0, B, H) else a$initial_state
  seq <- array(0, c(B, TT, H))
  steps <- if (a$go_backwards) TT:1 else 1:TT
  for (s in seq_along(steps)) {
    t <- steps[s]
    xt <- matrix(x[, t, ], B)
    xz <- (xt * gate(a$input_dropout, 1)) %*% K[, cols(1), drop = FALSE] + b_in[, cols(1)]
    xr <- (xt * gate(a$input_dropout, 2)) %*% K[, cols(2), drop = FALSE] + b_in[, cols(2)]
    xh <- (xt * gate(a$input_dropout, 3)) %*% K[, cols(3), drop = FALSE] + b_in[, cols(3)]
    hz <- h * gate(a$recurrent_dropout, 1)
    hr <- h * gate(a$recurrent_dropout, 2)
    hh_in <- h * gate(a$recurrent_dropout, 3)
    z <- ract(xz + hz %*% U[, cols(1), drop = FALSE] + b_rec[, cols(1)])
    r <- ract(xr + hr %*% U[, cols(2), drop = FALSE] + b_rec[, cols(2)])
    if (a$reset_after) {
      hh <- act(xh + r * (hh_in %*% U[, cols(3), drop = FALSE] + b_rec[, cols(3)]))
    } else {
      hh <- act(xh + (r * hh_in) %*% U[, cols(3), drop = FALSE])
    }
    hn <- z * h + (1 - z) * hh
    if (!is.null(a$mask)) hn[!a$mask[, t], ] <- h[!a$mask[, t], ]
    h <- hn
    seq[, s, ] <- h
  }
  list(sequence = seq, final_state = h)
}

engine_args <- function(B = 2, TT = 3, F = 2, H = 3, reset_after = TRUE, use_bias = TRUE,
                        initial_state = FALSE, mask = NULL, input_dropout = FALSE,
                        recurrent_dropout = FALSE, dropout_gates = 1, go_backwards = FALSE,
                        activation = "tanh", recurrent_activation = "sigmoid", seed = 1) {
  set.seed(seed)
  rn <- function(...) array(stats::rnorm(prod(c(...))) * 0.5, c(...))
  keep <- function(dims) {
    m <- array(stats::rbinom(prod(dims), 1, 0.7) / 0.7, dims)
    m
  }
  list(
    x = rn(B, TT, F),
    kernel = rn(F, 3 * H),
    recurrent_kernel = rn(H, 3 * H),
    bias = if (!use_bias) NULL else if (reset_after) rn(2, 3 * H) else as.numeric(rn(3 * H)),
    initial_state = if (initial_state) rn(B, H) else NULL,
    mask = mask,
    input_dropout = if (input_dropout) keep(if (dropout_gates == 3) c(B, F, 3) else c(B, F)),
    recurrent_dropout = if (recurrent_dropout) keep(if (dropout_gates == 3) c(B, H, 3) else c(B, H)),
    activation = activation, recurrent_activation = recurrent_activation,
    reset_after = reset_after, go_backwards = go_backwards
  )
}

# An engine configuration for engine_args()-style arguments: the sizes come from x and
# the recurrent kernel (when they are malformed, from the kernel, so that a call reaches
# the checks of the arrays).
engine_args_config <- function(a, dtype = "float64", return_sequences = TRUE, backend = "cpu") {
  input_dim <- if (length(dim(a$x)) == 3) dim(a$x)[3] else NROW(a$kernel)
  units <- if (length(dim(a$recurrent_kernel)) == 2) nrow(a$recurrent_kernel) else
    NCOL(a$kernel) %/% 3
  engine_config(units = units, input_dim = input_dim, activation = a$activation,
    recurrent_activation = a$recurrent_activation, use_bias = !is.null(a$bias),
    reset_after = a$reset_after, go_backwards = a$go_backwards,
    return_sequences = return_sequences, dtype = dtype, backend = backend)
}

engine_forward <- function(a, dtype = "float64", keep_tape = FALSE, return_sequences = TRUE,
                           backend = "cpu") {
  config <- engine_args_config(a, dtype, return_sequences, backend)
  gru_forward_cpp(config, engine_run_options(), a$x, a$kernel, a$recurrent_kernel, a$bias,
    a$initial_state, a$mask, a$input_dropout, a$recurrent_dropout, keep_tape)
}

# One engine call with arrays and settings given one by one.
engine_call <- function(x, kernel, recurrent_kernel, bias = NULL, initial_state = NULL,
                        mask = NULL, activation = "tanh", recurrent_activation = "sigmoid",
                        reset_after = TRUE, go_backwards = FALSE, return_sequences = TRUE,
                        dtype = "float64", keep_tape = FALSE, backend = "cpu") {
  a <- list(x = x, kernel = kernel, recurrent_kernel = recurrent_kernel, bias = bias,
    initial_state = initial_state, mask = mask, activation = activation,
    recurrent_activation = recurrent_activation, reset_after = reset_after,
    go_backwards = go_backwards)
  engine_forward(a, dtype, keep_tape, return_sequences, backend)
}

# A scalar loss with random weights on every output, so every gradient path is used.
engine_loss_weights <- function(a, seed = 99) {
  set.seed(seed)
  B <- dim(a$x)[1]; TT <- dim(a$x)[2]; H <- nrow(a$recurrent_kernel)
  list(seq = array(stats::rnorm(B * TT * H), c(B, TT, H)), fin = matrix(stats::rnorm(B * H), B))
}

engine_loss <- function(a, w) {
  out <- engine_forward(a)
  sum(out$sequence * w$seq) + sum(out$final_state * w$fin)
}

# Central differences of engine_loss with respect to a[[name]], every element.
engine_numeric_gradient <- function(a, w, name, eps = 1e-6) {
  v <- a[[name]]
  g <- v
  for (i in seq_along(v)) {
    up <- a; up[[name]][i] <- v[i] + eps
    dn <- a; dn[[name]][i] <- v[i] - eps
    g[i] <- (engine_loss(up, w) - engine_loss(dn, w)) / (2 * eps)
  }
  g
}

# Checks every analytic gradient against finite differences; returns them invisibly.
expect_engine_gradients <- function(a, tolerance = 1e-6) {
  w <- engine_loss_weights(a)
  out <- engine_forward(a, keep_tape = TRUE)
  g <- gru_backward_cpp(out$tape, w$seq, w$fin)
  wrt <- c(x = "d_x", kernel = "d_kernel", recurrent_kernel = "d_recurrent_kernel")
  if (!is.null(a$bias)) wrt <- c(wrt, bias = "d_bias")
  if (!is.null(a$initial_state)) wrt <- c(wrt, initial_state = "d_initial_state")
  for (name in names(wrt)) {
    numeric <- engine_numeric_gradient(a, w, name)
    expect_equal(dim(g[[wrt[[name]]]]), dim(a[[name]]))
    expect_equal(as.numeric(g[[wrt[[name]]]]), as.numeric(numeric), tolerance = tolerance,
      label = paste("gradient for", name))
  }
  invisible(g)
}
