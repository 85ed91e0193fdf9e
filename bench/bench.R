# Benchmark: rgru's CPU engine against PyTorch's nn.GRU, side by side in one run (the
# public API, layer(x), predict() and a training step, is bench/bench-api.R).
#
#   OPENBLAS_NUM_THREADS=1 Rscript bench/bench.R 1 [quick]
#
# (set OPENBLAS_NUM_THREADS to the thread count for R as the script does for Python:
# otherwise R's OpenBLAS keeps worker threads that the engine must park and wake on
# every call, and their spinning is counted against us).
# Uses the installed rgru (put a development library first with R_LIBS), and
# /usr/bin/python3 with torch for the reference (bench/bench_torch.py, kept running and
# fed one case at a time through two FIFOs), both with the same thread count
# (torch.set_num_threads and OPENBLAS_NUM_THREADS). Each case is timed in `rounds`
# alternating turns, ours then theirs, and each side reports its median turn: a shared
# VM's speed drifts by 10-30 % over minutes, and alternating puts both sides under the
# same drift. A turn is the mean over as many calls as fill ~`turn_seconds`, after
# ~`turn_seconds` of warm-up calls, from R (ours, including the R <-> C++ conversions)
# and from Python (theirs). With one thread they are process CPU seconds, which a shared,
# busy machine disturbs far less than wall-clock time; with more threads wall-clock
# seconds.
# GFLOP/s counts the GRU's matrix products only: 2 T B 3H (F + H) per forward,
# three times that for forward + backward; "peak" is the engine's own GEMM path timed
# in the same run on a 3H x B x H product at the largest B and H.

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args) >= 1) as.integer(args[[1]]) else 1L
quick <- length(args) >= 2 && args[[2]] == "quick"
options(rgru.num_threads = threads)
source("bench/common.R")
gemm_gflops <- rgru_internal("engine_gemm_gflops_cpp")

grid <- expand.grid(units = c(4, 64, 256), features = c(8, 64), timesteps = c(10, 100),
  batch = c(1, 32, 256), mode = c("inference", "training"), dtype = c("float32", "float64"),
  stringsAsFactors = FALSE)
if (quick) grid <- grid[grid$batch != 32 & grid$features == 64, ]
grid$flop <- with(grid, 2 * timesteps * batch * 3 * units * (features + units) *
  ifelse(mode == "training", 3, 1))
turn_seconds <- 0.15

# The engine as a layer calls it: its configuration made once, the options read per call.
time_ours <- function(case, seconds) {
  set.seed(1)
  B <- case$batch; TT <- case$timesteps; F <- case$features; H <- case$units
  x <- array(stats::rnorm(B * TT * F), c(B, TT, F))
  kernel <- matrix(stats::rnorm(F * 3 * H, sd = 0.1), F)
  recurrent <- matrix(stats::rnorm(H * 3 * H, sd = 0.1), H)
  bias <- matrix(0, 2, 3 * H)
  training <- case$mode == "training"
  upstream <- array(1, c(B, TT, H))
  config <- engine_config(units = H, input_dim = F, dtype = case$dtype)
  call <- function() {
    out <- forward(config, engine_run_options(), x, kernel, recurrent, bias, NULL, NULL,
      NULL, NULL, training)
    if (training) backward(out$tape, upstream, NULL)
  }
  seconds_per_call(call, seconds)
}

torch <- start_torch()

cat(sprintf("rgru engine: %s | threads %d | sigmoid/tanh kernels %s | Eigen SIMD %s\n",
  info$gemm, threads, info$activations, info$simd))
peak <- c(
  float32 = gemm_gflops(768, 256, 256, "float32", 20),
  float64 = gemm_gflops(768, 256, 256, "float64", 20))
cat(sprintf("GEMM peak (engine path, 768 x 256 x 256): float32 %.1f, float64 %.1f GFLOP/s\n",
  peak[["float32"]], peak[["float64"]]))

# What fresh memory costs here: every array an engine call returns to R is fresh memory
# (R frees it only at its next garbage collection), while PyTorch reuses its freed
# tensors at once. Timed as R allocating and zero-filling a 64 MiB vector (zeroing memory
# already mapped takes well under 1 us per 4 KiB page).
fresh_page_us <- local({
  n <- 2^23
  1e6 * system.time(numeric(n))[["elapsed"]] / (8 * n / 4096)
})
cat(sprintf("fresh memory: %.1f us per 4 KiB page (new R vector, zero-filled)\n", fresh_page_us))

tiny <- list(batch = 1, timesteps = 10, features = 8, units = 4, dtype = "float32",
  mode = "inference")
tiny_times <- time_both(time_ours, torch, tiny, 1)
cat(sprintf("tiny call (B=1 T=10 F=8 H=4, float32 inference): ours %.1f us, torch %.1f us\n",
  tiny_times[["ours"]] * 1e6, tiny_times[["torch"]] * 1e6))

times <- vapply(seq_len(nrow(grid)), function(i) time_both(time_ours, torch, grid[i, ], turn_seconds),
  numeric(2))
grid$ours <- times["ours", ]
grid$torch <- times["torch", ]
grid$ratio <- grid$ours / grid$torch
grid$gflops <- grid$flop / grid$ours / 1e9
grid$peak_pct <- 100 * grid$gflops / peak[grid$dtype]

table <- data.frame(
  dtype = grid$dtype, mode = grid$mode, B = grid$batch, T = grid$timesteps,
  F = grid$features, H = grid$units,
  ours_ms = sprintf("%.3f", grid$ours * 1e3), torch_ms = sprintf("%.3f", grid$torch * 1e3),
  ratio = sprintf("%.2f", grid$ratio), GFLOPs = sprintf("%.1f", grid$gflops),
  pct_peak = sprintf("%.0f", grid$peak_pct))
print_table(table)
for (m in c("inference", "training")) {
  r <- grid$ratio[grid$mode == m]
  cat(sprintf("\n%s: ratio ours/torch median %.2f, worst %.2f, cases <= %s: %d of %d", m,
    stats::median(r), max(r), if (m == "inference") "1.0" else "1.2",
    sum(r <= if (m == "inference") 1.0 else 1.2), length(r)))
}
cat("\n")
close(torch$to)
