# The native CPU engine (gru_forward_cpp / gru_backward_cpp) against the plain-R
# reference written from Keras's GRUCell, and its gradients against finite differences.

holes <- matrix(c(TRUE, FALSE, TRUE, TRUE, FALSE, TRUE, FALSE, TRUE, TRUE, TRUE, FALSE, FALSE),
  nrow = 3)

cases <- list(
  plain = list(),
  reset_before = list(reset_after = FALSE),
  no_bias = list(use_bias = FALSE),
  no_bias_reset_before = list(use_bias = FALSE, reset_after = FALSE),
  initial_state = list(initial_state = TRUE),
  backwards = list(go_backwards = TRUE, initial_state = TRUE),
  mask_holes = list(mask = holes),
  mask_holes_backwards = list(mask = holes, go_backwards = TRUE, reset_after = FALSE),
  dropout_shared = list(input_dropout = TRUE, recurrent_dropout = TRUE),
  dropout_per_gate = list(input_dropout = TRUE, recurrent_dropout = TRUE, dropout_gates = 3),
  dropout_per_gate_reset_before = list(input_dropout = TRUE, recurrent_dropout = TRUE,
    dropout_gates = 3, reset_after = FALSE, mask = holes, initial_state = TRUE),
  input_dropout_only = list(input_dropout = TRUE, reset_after = FALSE)
)

for (case in names(cases)) {
  test_that(paste("forward matches the Keras-step reference and gradients match finite differences:", case), {
    a <- do.call(engine_args, c(list(B = 3, TT = 4, F = 2, H = 3), cases[[case]]))
    out <- engine_forward(a)
    ref <- engine_reference(a)
    expect_equal(out$sequence, ref$sequence, tolerance = 1e-12)
    expect_equal(out$final_state, ref$final_state, tolerance = 1e-12)
    expect_engine_gradients(a)
  })
}

smooth <- c("linear", "tanh", "sigmoid", "elu", "selu", "softsign", "softplus", "silu", "swish",
  "gelu", "exponential", "mish", "log_sigmoid", "squareplus", "celu", "tanh_shrink")
kinked <- c("hard_sigmoid", "relu", "relu6", "leaky_relu", "hard_silu", "hard_swish", "hard_tanh",
  "soft_shrink", "hard_shrink", "sparse_plus", "sparse_sigmoid")

test_that("every built-in activation follows Keras's formula in both roles", {
  for (name in c(smooth, kinked)) {
    for (role in c("activation", "recurrent_activation")) {
      args <- list(B = 2, TT = 3, F = 2, H = 2, reset_after = role == "activation")
      args[[role]] <- name
      a <- do.call(engine_args, args)
      a$x <- a$x * 4  # reach the saturated and kinked regions too
      expect_equal(engine_forward(a)$sequence, engine_reference(a)$sequence, tolerance = 1e-12,
        label = paste(role, name))
    }
  }
})

test_that("gradients through smooth activations match finite differences", {
  for (name in smooth) {
    a <- engine_args(B = 2, TT = 3, F = 2, H = 2, activation = name,
      recurrent_activation = if (name %in% c("exponential", "linear")) "sigmoid" else name)
    expect_engine_gradients(a, tolerance = 1e-5)
  }
})

test_that("gradients through piecewise activations match finite differences away from kinks", {
  for (name in kinked) {
    a <- engine_args(B = 2, TT = 3, F = 2, H = 2, activation = name, recurrent_activation = name,
      seed = 3)
    expect_engine_gradients(a, tolerance = 1e-5)
  }
})

test_that("go_backwards returns the sequence in processing order", {
  a <- engine_args(B = 2, TT = 5, F = 3, H = 2)
  fwd <- engine_forward(a)
  b <- a
  b$go_backwards <- TRUE
  b$x <- a$x[, 5:1, , drop = FALSE]
  expect_equal(engine_forward(b)$sequence, fwd$sequence, tolerance = 1e-15)
})

test_that("masked steps carry the state and repeat it as output", {
  a <- engine_args(B = 3, TT = 4, F = 2, H = 3, mask = holes, initial_state = TRUE)
  out <- engine_forward(a)
  prev <- a$initial_state
  for (t in 1:4) {
    off <- !holes[, t]
    expect_equal(out$sequence[off, t, , drop = FALSE],
      array(prev[off, , drop = FALSE], c(sum(off), 1, 3)))
    prev <- out$sequence[, t, ]
  }
  all_masked <- a
  all_masked$mask <- matrix(FALSE, 3, 4)
  expect_equal(engine_forward(all_masked)$final_state, a$initial_state)
})

test_that("return_sequences = FALSE gives only the final state", {
  a <- engine_args()
  out <- engine_forward(a, return_sequences = FALSE)
  expect_null(out$sequence)
  expect_null(out$tape)
  expect_equal(out$final_state, engine_forward(a)$final_state)
})

test_that("only the given upstream gradients contribute", {
  a <- engine_args(B = 2, TT = 3, F = 2, H = 2, initial_state = TRUE)
  w <- engine_loss_weights(a)
  tape <- engine_forward(a, keep_tape = TRUE)$tape
  both <- gru_backward_cpp(tape, w$seq, w$fin, release = FALSE)
  only_seq <- gru_backward_cpp(tape, w$seq, NULL, release = FALSE)
  only_fin <- gru_backward_cpp(tape, NULL, w$fin, release = FALSE)
  none <- gru_backward_cpp(tape, NULL, NULL)
  expect_error(gru_backward_cpp(tape, NULL, NULL), "already used")
  expect_equal(only_seq$d_kernel + only_fin$d_kernel, both$d_kernel, tolerance = 1e-12)
  expect_equal(only_seq$d_x + only_fin$d_x, both$d_x, tolerance = 1e-12)
  expect_true(all(none$d_recurrent_kernel == 0))
  expect_equal(dim(both$d_bias), c(2L, 6L))
  a$reset_after <- FALSE
  a$bias <- as.numeric(a$bias[1, ])
  g <- gru_backward_cpp(engine_forward(a, keep_tape = TRUE)$tape, w$seq, w$fin)
  expect_null(dim(g$d_bias))
  expect_length(g$d_bias, 6)
})

test_that("float32 agrees with float64 to single precision", {
  a <- engine_args(B = 4, TT = 6, F = 5, H = 7, mask = matrix(c(rep(TRUE, 20), rep(FALSE, 4)), 4),
    initial_state = TRUE, recurrent_dropout = TRUE)
  w <- engine_loss_weights(a)
  o64 <- engine_forward(a, "float64", keep_tape = TRUE)
  o32 <- engine_forward(a, "float32", keep_tape = TRUE)
  expect_equal(o32$sequence, o64$sequence, tolerance = 1e-5)
  g64 <- gru_backward_cpp(o64$tape, w$seq, w$fin)
  g32 <- gru_backward_cpp(o32$tape, w$seq, w$fin)
  for (n in names(g64)) expect_equal(g32[[n]], g64[[n]], tolerance = 1e-5, label = n)
})

test_that("bad shapes, types and names reaching C++ are R errors", {
  a <- engine_args()
  call_with <- function(...) {
    b <- utils::modifyList(a, list(...), keep.null = TRUE)
    engine_forward(b)
  }
  expect_error(call_with(x = matrix(1, 2, 2)), "3-d array")
  expect_error(call_with(x = array("a", c(2, 3, 2))), "double")
  expect_error(call_with(kernel = matrix(0, 3, 9)), "kernel")
  expect_error(call_with(kernel = NULL), "kernel")
  expect_error(call_with(recurrent_kernel = matrix(0, 3, 8)), "recurrent_kernel")
  expect_error(call_with(bias = matrix(0, 2, 8)), "bias")
  expect_error(call_with(bias = rep(0, 9)), "bias")
  expect_error(call_with(initial_state = matrix(0, 3, 3)), "initial_state")
  expect_error(call_with(mask = matrix(TRUE, 2, 2)), "mask")
  expect_error(call_with(mask = matrix(1, 2, 3)), "logical")
  expect_error(call_with(mask = matrix(NA, 2, 3)), "NA")
  expect_error(call_with(input_dropout = matrix(1, 2, 3)), "input_dropout")
  expect_error(call_with(recurrent_dropout = array(1, c(2, 3, 2))), "recurrent_dropout")
  expect_error(call_with(activation = "softmax"), "softmax")
  expect_error(call_with(activation = NA_character_), "activation")
  expect_error(call_with(reset_after = NA), "reset_after")
  expect_error(call_with(x = array(0, c(0, 3, 2))), "positive")
  expect_error(engine_forward(a, dtype = "float16"), "dtype")
  expect_error(gru_backward_cpp(NULL, NULL, NULL), "tape")
  tape <- engine_forward(a, keep_tape = TRUE)$tape
  expect_error(gru_backward_cpp(tape, array(0, c(2, 3, 4)), NULL), "d_sequence")
  expect_error(gru_backward_cpp(tape, NULL, matrix(0, 3, 3)), "d_final_state")
})

test_that("gelu keeps full relative precision far into the negative tail", {
  # z = linear(0) = 0 and hh = gelu(x), so the one-step state is gelu(x) itself.
  x <- array(c(-8, -6, -3, 0.5, 4), c(5, 1, 1))
  kernel <- matrix(c(0, 0, 1), 1, 3)
  out <- engine_call(x, kernel, matrix(0, 1, 3), activation = "gelu",
    recurrent_activation = "linear", return_sequences = FALSE)
  expected <- as.vector(x) * pnorm(as.vector(x))
  expect_equal(as.vector(out$final_state), expected, tolerance = 1e-13)
})

test_that("the gate pass is exact whether a step's samples form one group or several", {
  # reset_after activates samples in groups of about 4096 gate values: with 3 units, 455
  # samples a group, so 1000 samples span three groups and 1 sample one.
  for (B in c(1, 1000)) {
    mask <- matrix(stats::runif(B * 4) > 0.2, B, 4)
    for (act in c("tanh", "relu")) {
      a <- engine_args(B = B, TT = 4, F = 2, H = 3, mask = mask, initial_state = TRUE,
        activation = act, seed = B)
      out <- engine_forward(a)
      ref <- engine_reference(a)
      expect_equal(out$sequence, ref$sequence, tolerance = 1e-12, label = paste(B, act))
      expect_equal(out$final_state, ref$final_state, tolerance = 1e-12, label = paste(B, act))
      tape <- engine_forward(a, "float32", keep_tape = TRUE)
      expect_equal(tape$sequence, ref$sequence, tolerance = 1e-5, label = paste(B, act, "float32"))
      # what the tape keeps for backward, through the weights' gradients
      w <- engine_loss_weights(a)
      g <- gru_backward_cpp(engine_forward(a, keep_tape = TRUE)$tape, w$seq, w$fin)
      for (name in c("recurrent_kernel", "bias")) {
        expect_equal(as.numeric(g[[paste0("d_", name)]]),
          as.numeric(engine_numeric_gradient(a, w, name)), tolerance = 1e-6,
          label = paste(B, act, "gradient for", name))
      }
    }
  }
})

test_that("a configuration is checked once, when it is made", {
  config <- engine_config(units = 3, input_dim = 2, activation = "relu", reset_after = FALSE,
                          go_backwards = TRUE, return_sequences = FALSE, dtype = "float64")
  expect_s3_class(config, "rgru_engine_config")
  expect_identical(gru_config_info_cpp(config), list(
    units = 3, input_dim = 2, activation = "relu", recurrent_activation = "sigmoid",
    use_bias = TRUE, reset_after = FALSE, go_backwards = TRUE, return_sequences = FALSE,
    dtype = "float64", backend = "cpu"))
  expect_identical(gru_config_info_cpp(gru_config_cpp(gru_config_info_cpp(config))),
                   gru_config_info_cpp(config))
  expect_error(engine_config(units = 0, input_dim = 2), "units", class = "rgru_error_argument")
  expect_error(engine_config(units = 2, input_dim = 1.5), "input_dim",
               class = "rgru_error_argument")
  expect_error(engine_config(units = 2, input_dim = 2, activation = "softmax"), "softmax",
               class = "rgru_error_argument")
  expect_error(engine_config(units = 2, input_dim = 2, dtype = "float16"), "dtype",
               class = "rgru_error_argument")
  expect_error(engine_config(units = 2, input_dim = 2, backend = "tpu"), "backend",
               class = "rgru_error_argument")
  expect_error(engine_config(units = 2, input_dim = 2, go_backwards = NA), "go_backwards",
               class = "rgru_error_argument")
  expect_error(gru_config_cpp(list(units = 2)), "input_dim", class = "rgru_error_argument")
  expect_error(gru_config_cpp(1), "named list", class = "rgru_error_argument")
  a <- engine_args()
  expect_error(gru_forward_cpp(NULL, engine_run_options(), a$x, a$kernel, a$recurrent_kernel,
                               a$bias, NULL, NULL, NULL, NULL, FALSE),
               "config", class = "rgru_error_argument")
  # the arrays are checked against the configuration, not against each other
  wide <- engine_config(units = 3, input_dim = 5)
  expect_error(gru_forward_cpp(wide, engine_run_options(), a$x, a$kernel, a$recurrent_kernel,
                               a$bias, NULL, NULL, NULL, NULL, FALSE),
               "`x`", class = "rgru_error_shape")
  no_bias <- engine_config(units = 3, input_dim = 2, use_bias = FALSE)
  expect_error(gru_forward_cpp(no_bias, engine_run_options(), a$x, a$kernel,
                               a$recurrent_kernel, a$bias, NULL, NULL, NULL, NULL, FALSE),
               "bias", class = "rgru_error_argument")
})

test_that("R reads the run options and C++ checks what it is given", {
  expect_identical(names(engine_run_options()), c("rgru.num_threads", "rgru.gemm",
                   "rgru.cudnn_allow_tf32", "rgru.cudnn_algorithm", "rgru.cuda_device"))
  a <- engine_args()
  run <- function(...) withr::with_options(list(...), engine_forward(a))
  reference <- engine_forward(a)
  expect_equal(run(rgru.num_threads = 1, rgru.gemm = "eigen")$final_state,
               run(rgru.num_threads = 2.7, rgru.gemm = "blas")$final_state, tolerance = 1e-12)
  for (bad in list(0, -1, "two", NA, c(1, 2), TRUE)) {
    expect_error(run(rgru.num_threads = bad), "rgru.num_threads", class = "rgru_error_argument")
  }
  for (bad in list("fast", NA_character_, 1, c("blas", "eigen"))) {
    expect_error(run(rgru.gemm = bad), "rgru.gemm", class = "rgru_error_argument")
  }
  # cuDNN's options are cuDNN's: the CPU engine does not read them
  expect_identical(run(rgru.cudnn_allow_tf32 = "yes", rgru.cudnn_algorithm = "fast"), reference)
  if (!cudnn_usable()) {
    cudnn <- function(...) withr::with_options(list(...),
      engine_forward(a, backend = "cudnn"))
    expect_error(cudnn(rgru.cudnn_allow_tf32 = "yes"), "rgru.cudnn_allow_tf32",
                 class = "rgru_error_argument")
    expect_error(cudnn(rgru.cudnn_algorithm = "fast"), "rgru.cudnn_algorithm",
                 class = "rgru_error_argument")
  }
  expect_error(gru_forward_cpp(engine_args_config(a), list(), a$x, a$kernel,
                               a$recurrent_kernel, a$bias, NULL, NULL, NULL, NULL, FALSE),
               "options", class = "rgru_error_argument")
  # a CPU call may pass the CPU's two options only; cuDNN's calls need all four
  two <- options("rgru.num_threads", "rgru.gemm")
  expect_identical(gru_forward_cpp(engine_args_config(a), two, a$x, a$kernel,
                                   a$recurrent_kernel, a$bias, NULL, NULL, NULL, NULL, FALSE),
                   reference)
  expect_error(gru_forward_cpp(engine_args_config(a, backend = "cudnn"), two, a$x, a$kernel,
                               a$recurrent_kernel, a$bias, NULL, NULL, NULL, NULL, FALSE),
               "options", class = "rgru_error_argument")
})

test_that("failures in C++ reach R as classed conditions with the user's call", {
  gru <- layer_gru(units = 2)
  x <- array(0, c(1, 2, 3))
  invisible(gru(x))
  err <- withr::with_options(list(rgru.gemm = "fast"),
                             expect_error(gru(x), class = "rgru_error_argument"))
  expect_match(conditionMessage(err), "rgru.gemm")
  expect_identical(conditionCall(err), quote(gru(x)))
  # the same through a model
  model <- keras_model_sequential(input_shape = c(2, 3)) |> layer_gru(2)
  err <- withr::with_options(list(rgru.num_threads = 0),
                             expect_error(predict(model, x), class = "rgru_error_argument"))
  expect_match(conditionMessage(err), "rgru.num_threads")
  # messages are C++'s text as written, braces included
  expect_error(gru_config_cpp(list(units = 2, input_dim = 2, activation = "{x}",
                                   recurrent_activation = "sigmoid", use_bias = TRUE,
                                   reset_after = TRUE, go_backwards = FALSE,
                                   return_sequences = TRUE, dtype = "float32",
                                   backend = "cpu")),
               "{x}", fixed = TRUE, class = "rgru_error_argument")
})
