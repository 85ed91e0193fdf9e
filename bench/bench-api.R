# Benchmark: what users call, against what PyTorch users call, side by side in one run.
#
#   OPENBLAS_NUM_THREADS=1 R_LIBS=<library with rgru> Rscript bench/bench-api.R 1 [quick|overhead]
#
# Three calls of rgru's public API, on the grid of bench/bench.R (batch {1, 32, 256} x
# timesteps {10, 100} x features {8, 64} x units {4, 64, 256}, float32 and float64):
#   layer       `gru(x)`, a built layer_gru(units) (its final state out)
#                 vs nn.GRU's forward without autograd
#   predict     `predict(model, x, batch_size = B, verbose = 0)`, a sequential model with that one layer
#                 vs the same model (nn.GRU, final state out) in eval mode without autograd
#   train_step  `train_on_batch(model, x, y)`, compiled with Adam and mse
#                 vs zero_grad, forward, MSELoss, backward, Adam step
# Each case is timed in three alternating turns (rgru's API, rgru's engine doing the same
# arithmetic, PyTorch) as bench/bench.R does, and each reports its median turn; `engine_ms`
# is the engine calls alone (the configuration made once: forward, and for a training step
# forward with a tape and backward), so `r_side_us` = api - engine is what the R side costs
# (for a training step, the optimizer included; shown where the engine takes under 1 ms).
#
# Then (and with `overhead` only this) a table of where the microseconds of one small call
# go, each line the median of 7 rounds of many calls.

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args) >= 1) as.integer(args[[1]]) else 1L
what <- if (length(args) >= 2) args[[2]] else "all"
suppressPackageStartupMessages(library(rgru))
options(rgru.num_threads = threads)
source("bench/common.R")
layer_object <- rgru_internal("layer_object")
compile_state <- rgru_internal("compile_state")

turn_seconds <- 0.15
torch <- start_torch()

# One case's data and calls: `api` what a user writes, `engine` the engine calls it makes.
make_case <- function(case) {
  set.seed(1)
  B <- case$batch; TT <- case$timesteps; F <- case$features; H <- case$units
  x <- array(stats::rnorm(B * TT * F), c(B, TT, F))
  y <- matrix(stats::rnorm(B * H), B, H)
  gru <- layer_gru(units = H, dtype = case$dtype)
  model <- keras_model_sequential(input_shape = c(TT, F)) |> layer_gru(H, dtype = case$dtype)
  model |> compile(optimizer = optimizer_adam(1e-3), loss = "mse")
  invisible(gru(x))
  w <- get_weights(gru)
  training <- case$mode == "train_step"
  config <- engine_config(units = H, input_dim = F, return_sequences = FALSE, dtype = case$dtype)
  d_final <- matrix(1, B, H)
  list(
    api = switch(case$mode,
      layer = function() gru(x),
      predict = function() predict(model, x, batch_size = B, verbose = 0),
      train_step = function() train_on_batch(model, x, y)),
    engine = function() {
      out <- forward(config, engine_run_options(), x, w[[1]], w[[2]], w[[3]], NULL, NULL,
        NULL, NULL, training)
      if (training) backward(out$tape, NULL, d_final)
    }
  )
}

time_case <- function(case, seconds = turn_seconds, rounds = 3L) {
  calls <- make_case(case)
  torch_case <- case
  if (case$mode == "layer") torch_case$mode <- "inference"
  turns <- vapply(seq_len(rounds), function(r) c(
    api = seconds_per_call(calls$api, seconds),
    engine = seconds_per_call(calls$engine, seconds),
    torch = time_torch(torch, torch_case, seconds)), numeric(3))
  apply(turns, 1, stats::median)
}

# Median microseconds per call of fn over `rounds` rounds of `n` calls (after a warm-up).
micros <- function(fn, n, rounds = 7L) {
  for (i in seq_len(max(50, n %/% 10))) fn()
  stats::median(vapply(seq_len(rounds), function(r) {
    start <- clock()
    for (i in seq_len(n)) fn()
    (clock() - start) / n * 1e6
  }, numeric(1)))
}

# Where the microseconds of a small call go (B = 1, T = 10, F = 8, H = 4, float32; the
# training step at batch 32, T = 10, F = 8, H = 4, Adam, as issue 13's goals).
overhead_table <- function() {
  set.seed(1)
  x <- array(stats::rnorm(80), c(1, 10, 8))
  gru <- layer_gru(units = 4)
  invisible(gru(x))
  layer <- layer_object(gru)
  w <- get_weights(gru)
  config <- engine_config(units = 4, input_dim = 8, return_sequences = FALSE)
  options <- engine_run_options()
  model <- keras_model_sequential(input_shape = c(10, 8)) |> layer_gru(4)
  xb <- array(stats::rnorm(32 * 80), c(32, 10, 8))
  yb <- matrix(stats::rnorm(32 * 4), 32, 4)
  trained <- keras_model_sequential(input_shape = c(10, 8)) |> layer_gru(4)
  trained |> compile(optimizer = optimizer_adam(1e-3), loss = "mse")
  invisible(train_on_batch(trained, xb, yb))
  tw <- get_weights(trained)
  d_final <- matrix(1, 32, 4)
  optimizer <- compile_state(trained)$optimizer
  variables <- layer_object(trained)$trainable_weights
  grads <- lapply(tw, function(v) v * 0)
  n <- 20000L
  rows <- list(
    c("engine: gru_forward_cpp(config, options, x, weights...)",
      micros(function() forward(config, options, x, w[[1]], w[[2]], w[[3]], NULL, NULL, NULL,
                                NULL, FALSE), n)),
    c("reading the options, as the fast path does: options(rgru.num_threads, rgru.gemm)",
      micros(function() options("rgru.num_threads", "rgru.gemm"), n)),
    c("layer(x): the handle's fast path", micros(function() gru(x), n)),
    c("layer$forward(x): the protocol's fast path",
      micros(function() layer$forward(x, keep_tape = FALSE), n)),
    c("layer(x, training = FALSE): the general path", micros(function() gru(x, training = FALSE), n %/% 4L)),
    c("predict(model, x)", micros(function() predict(model, x, verbose = 0), n %/% 4L)),
    c("torch: nn.GRU(x) without autograd",
      1e6 * time_torch(torch, list(dtype = "float32", mode = "inference", batch = 1,
                                   timesteps = 10, features = 8, units = 4), 1)),
    c("torch: model(x), eval mode, without autograd",
      1e6 * time_torch(torch, list(dtype = "float32", mode = "predict", batch = 1,
                                   timesteps = 10, features = 8, units = 4), 1)),
    c("train_on_batch(model, x, y), batch 32",
      micros(function() train_on_batch(trained, xb, yb), n %/% 20L)),
    c("  of which the engine: forward with tape + backward",
      micros(function() {
        out <- forward(config, options, xb, tw[[1]], tw[[2]], tw[[3]], NULL, NULL, NULL, NULL,
                       TRUE)
        backward(out$tape, NULL, d_final)
      }, n %/% 10L)),
    c("  of which the optimizer: Adam's apply() on the 3 weights",
      micros(function() optimizer$apply(grads, variables), n %/% 10L)),
    c("torch: training step, batch 32 (zero_grad, forward, loss, backward, Adam)",
      1e6 * time_torch(torch, list(dtype = "float32", mode = "train_step", batch = 32,
                                   timesteps = 10, features = 8, units = 4), 1))
  )
  table <- data.frame(call = vapply(rows, `[[`, "", 1),
                      us = sprintf("%.1f", as.numeric(vapply(rows, `[[`, "", 2))))
  us <- as.numeric(table$us)
  step_overhead <- us[9] - us[10] - us[11]
  cat(sprintf("\nPer-call overhead (one thread, %s, medians of 7 rounds):\n",
              if (threads == 1L) "process CPU time" else "wall time"))
  print_table(table)
  cat(sprintf("\nlayer(x) - engine: %.1f us; predict() - engine: %.1f us; training step - engine - optimizer: %.1f us\n",
              us[3] - us[1], us[6] - us[1], step_overhead))
}

cat(sprintf("rgru engine: %s | threads %d | load average %s\n", info$gemm, threads,
  paste(utils::tail(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3], 3), collapse = " ")))

if (what != "overhead") {
  grid <- expand.grid(units = c(4, 64, 256), features = c(8, 64), timesteps = c(10, 100),
    batch = c(1, 32, 256), mode = c("layer", "predict", "train_step"),
    dtype = c("float32", "float64"), stringsAsFactors = FALSE)
  if (what == "quick") grid <- grid[grid$batch != 32 & grid$features == 64, ]
  times <- vapply(seq_len(nrow(grid)), function(i) time_case(grid[i, ]), numeric(3))
  grid$api <- times["api", ]
  grid$engine <- times["engine", ]
  grid$torch <- times["torch", ]
  table <- data.frame(
    dtype = grid$dtype, mode = grid$mode, B = grid$batch, T = grid$timesteps,
    F = grid$features, H = grid$units,
    api_ms = sprintf("%.3f", grid$api * 1e3), engine_ms = sprintf("%.3f", grid$engine * 1e3),
    torch_ms = sprintf("%.3f", grid$torch * 1e3),
    ratio = sprintf("%.2f", grid$api / grid$torch),
    # Beyond a millisecond the difference is within the clock's and the turns' noise.
    r_side_us = ifelse(grid$engine < 1e-3, sprintf("%.1f", (grid$api - grid$engine) * 1e6), "-"))
  print_table(table)
  for (m in unique(grid$mode)) {
    r <- (grid$api / grid$torch)[grid$mode == m]
    cat(sprintf("\n%s: ratio api/torch median %.2f, worst %.2f, cases <= 1: %d of %d", m,
      stats::median(r), max(r), sum(r <= 1), length(r)))
  }
  cat("\n")
}
overhead_table()
close(torch$to)
