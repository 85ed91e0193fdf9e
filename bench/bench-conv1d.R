# Benchmark: layer_conv_1d() against torch.nn.functional.conv1d, side by side in one run.
#
#   R_LIBS=<library with rgru> Rscript bench/bench-conv1d.R [threads]
#
# Run from the package root. `threads` (default 1) is options(rgru.num_threads) and
# PyTorch's torch.set_num_threads() (and OPENBLAS_NUM_THREADS for both). Two modes:
#   forward   `conv(x)`, a built layer_conv_1d() (linear activation)
#               vs F.conv1d(x, w, b) without autograd
#   training  the layer's forward with a tape and its backward (what fit() runs per
#             layer: gradients of the inputs, kernel and bias)
#               vs F.conv1d with autograd and backward(), the same three gradients
# on an imdb-style large case, a small one and a pointwise (kernel 1) one, float32 and
# float64. Each case runs three alternating turns, each side's median turn reported;
# with one thread process CPU time, else wall-clock time (bench/common.R).

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args) >= 1) as.integer(args[[1]]) else 1L
Sys.setenv(OPENBLAS_NUM_THREADS = threads)
suppressPackageStartupMessages(library(rgru))
options(rgru.num_threads = threads)
source("bench/common.R")
layer_object <- rgru_internal("layer_object")

turn_seconds <- 0.5
torch <- start_torch("bench/bench_conv1d_torch.py")

# Seconds per call of rgru's side of `case`.
time_rgru <- function(case, seconds) {
  set.seed(1)
  x <- array(stats::rnorm(case$batch * case$steps * case$channels),
             c(case$batch, case$steps, case$channels))
  conv <- layer_conv_1d(filters = case$filters, kernel_size = case$kernel_size,
                        padding = case$padding, dtype = case$dtype)
  out <- conv(x)
  layer <- layer_object(conv)
  d_out <- array(1, dim(out))
  fn <- switch(case$mode,
    forward = function() conv(x),
    training = function() {
      step <- layer$forward(x, training = TRUE)
      layer$backward(step$tape, d_out)
    })
  # A few calls first: memory for results of this size is recycled only once R's garbage
  # collector has freed a few (bench/common.R), and the large cases fit two calls in a
  # turn's warm-up.
  for (i in 1:4) fn()
  seconds_per_call(fn, seconds)
}

time_case <- function(case, rounds = 3L) {
  turns <- vapply(seq_len(rounds), function(r) c(
    rgru = time_rgru(case, turn_seconds),
    torch = ask_torch(torch, c(case$dtype, case$mode, case$batch, case$steps, case$channels,
                               case$filters, case$kernel_size, case$padding, turn_seconds))),
    numeric(2))
  apply(turns, 1, stats::median)
}

cat(sprintf("rgru engine: %s | threads %d | %s | load average %s\n", info$gemm, threads,
  sub("^Model name:\\s*", "", grep("^Model name", system("lscpu", intern = TRUE), value = TRUE)),
  paste(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3], collapse = " ")))

shapes <- data.frame(
  batch = c(256, 32, 256), steps = c(400, 100, 400), channels = c(128, 32, 128),
  filters = c(128, 64, 128), kernel_size = c(5, 3, 1), padding = "valid")
grid <- merge(merge(shapes, data.frame(mode = c("forward", "training"))),
              data.frame(dtype = c("float32", "float64")))
times <- vapply(seq_len(nrow(grid)), function(i) time_case(grid[i, ]), numeric(2))
table <- data.frame(
  dtype = grid$dtype, mode = grid$mode, B = grid$batch, T = grid$steps, C = grid$channels,
  F = grid$filters, K = grid$kernel_size,
  rgru_ms = sprintf("%.2f", times["rgru", ] * 1e3),
  torch_ms = sprintf("%.2f", times["torch", ] * 1e3),
  ratio = sprintf("%.2f", times["rgru", ] / times["torch", ]))
print_table(table[order(table$dtype, table$mode, -grid$batch * grid$steps), ])
close(torch$to)
