# Times one training epoch of a small GRU model in rgru and in PyTorch: the same
# data, model (GRU -> dense, float32), batch size, optimizer (Adam, mse, no
# shuffling) and thread count. Prints the fastest epoch of each (wall and CPU
# time: the minimum is least disturbed by other load on a shared machine) and the
# ratio (goal <= 1.2).
#
# Run from the package root, with rgru installed:
#   Rscript bench/bench-training.R [threads]
# Set OPENBLAS_NUM_THREADS to the same thread count for a fair comparison.

library(rgru)

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args) >= 1) as.integer(args[1]) else 1L
n <- 1024L
timesteps <- 50L
features <- 16L
units <- 64L
batch_size <- 32L
epochs <- 7L
options(rgru.num_threads = threads)

set.seed(1)
x <- array(runif(n * timesteps * features, -1, 1), c(n, timesteps, features))
y <- matrix(rowMeans(x[, , 1]) + rnorm(n, sd = 0.1), n)

model <- keras_model_sequential(input_shape = c(timesteps, features)) |>
  layer_gru(units) |>
  layer_dense(1)
model |> compile(optimizer = optimizer_adam(1e-3), loss = "mse")
one_epoch <- function() {
  t <- system.time(fit(model, x, y, batch_size = batch_size, epochs = 1, shuffle = FALSE,
                       verbose = 0))
  c(wall = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]])
}
one_epoch()  # warm-up
runs <- replicate(epochs, one_epoch())
rgru_time <- runs[, which.min(runs["wall", ])]

data_dir <- tempfile("rgru-bench-")
dir.create(data_dir)
writeBin(as.double(x), file.path(data_dir, "x.bin"))
writeBin(as.double(y), file.path(data_dir, "y.bin"))
script <- file.path("bench", "bench-training.py")
torch_out <- system2("/usr/bin/python3",
                     c(script, data_dir, n, timesteps, features, units, batch_size, epochs,
                       threads),
                     stdout = TRUE)
torch_time <- stats::setNames(as.numeric(strsplit(utils::tail(torch_out, 1), " ")[[1]]),
                              c("wall", "cpu"))

cat(sprintf("One training epoch: %d samples, batch %d, T = %d, input %d, GRU(%d) -> dense(1), Adam, float32, %d thread(s)\n",
            n, batch_size, timesteps, features, units, threads))
cat(sprintf("  rgru:    %8.1f ms wall, %8.1f ms CPU (fastest of %d epochs)\n",
            rgru_time[["wall"]] * 1e3, rgru_time[["cpu"]] * 1e3, epochs))
cat(sprintf("  PyTorch: %8.1f ms wall, %8.1f ms CPU (fastest of %d epochs)\n",
            torch_time[["wall"]] * 1e3, torch_time[["cpu"]] * 1e3, epochs))
cat(sprintf("  ratio rgru / PyTorch: %.2f wall, %.2f CPU (goal <= 1.2)\n",
            rgru_time[["wall"]] / torch_time[["wall"]], rgru_time[["cpu"]] / torch_time[["cpu"]]))
