# What bench/bench.R and bench/bench-api.R share: rgru's engine entry points, the clock,
# the timing of one turn, and the long-lived PyTorch process (bench/bench_torch.py) they
# alternate with, case by case. Sourced from the package root after `threads` is set.
#
# With one thread both sides measure process CPU seconds, which a shared, busy machine
# disturbs far less than wall-clock time; with more threads wall-clock seconds.

rgru_internal <- function(name) utils::getFromNamespace(name, "rgru")
engine_config <- rgru_internal("engine_config")
engine_run_options <- rgru_internal("engine_run_options")
forward <- rgru_internal("gru_forward_cpp")
backward <- rgru_internal("gru_backward_cpp")
info <- rgru_internal("engine_info")()

clock <- function() {
  t <- proc.time()
  if (threads == 1L) t[["user.self"]] + t[["sys.self"]] else t[["elapsed"]]
}

# Warms up by calling fn for ~seconds (at least twice), then times as many calls as fill
# ~seconds. The warm-up reaches steady state on both sides: PyTorch frees its tensors at
# once, R its arrays only at the next garbage collection, so R's heap needs a few dozen
# calls to settle (float32 inference B=256 T=10 F=8 H=64: 4.9 ms per call over the first
# ~60 calls of a fresh R, 2.2 ms after).
seconds_per_call <- function(fn, seconds) {
  calls <- 0
  start <- Sys.time()
  repeat {
    fn()
    calls <- calls + 1
    elapsed <- as.numeric(Sys.time() - start, units = "secs")
    if (calls >= 2 && elapsed >= seconds) break
  }
  reps <- as.integer(min(100000, max(2, seconds / (elapsed / calls))))
  start <- clock()
  for (i in seq_len(reps)) fn()
  (clock() - start) / reps
}

# PyTorch runs in one long-lived process (`script`) that answers one case per line.
start_torch <- function(script = "bench/bench_torch.py") {
  dir <- tempfile("rgru-bench-")
  dir.create(dir)
  requests <- file.path(dir, "requests")
  replies <- file.path(dir, "replies")
  stopifnot(system2("mkfifo", c(requests, replies)) == 0)
  system(sprintf("OPENBLAS_NUM_THREADS=%d /usr/bin/python3 %s %d < %s > %s",
    threads, script, threads, shQuote(requests), shQuote(replies)), wait = FALSE)
  list(to = fifo(requests, "w", blocking = TRUE), from = fifo(replies, "r", blocking = TRUE))
}

# Seconds per call of PyTorch's side of `case` (see bench_torch.py for the modes).
time_torch <- function(torch, case, seconds) {
  ask_torch(torch, c(case$dtype, case$mode, case$batch, case$timesteps, case$features,
    case$units, seconds))
}

# Sends one request line (its fields) and returns the reply's last field, the seconds.
ask_torch <- function(torch, fields) {
  writeLines(paste(fields, collapse = " "), torch$to)
  flush(torch$to)
  reply <- readLines(torch$from, n = 1)
  if (length(reply) != 1) stop("the PyTorch process stopped answering")
  as.numeric(utils::tail(strsplit(reply, " ")[[1]], 1))
}

# The median turn of each side over `rounds` alternating turns, ours then theirs.
time_both <- function(ours, torch, case, seconds, rounds = 3L) {
  turns <- vapply(seq_len(rounds), function(r)
    c(ours = ours(case, seconds), torch = time_torch(torch, case, seconds)), numeric(2))
  apply(turns, 1, stats::median)
}

# A markdown table of a data frame.
print_table <- function(table) {
  cat("\n| ", paste(names(table), collapse = " | "), " |\n|", strrep("---|", ncol(table)),
    "\n", sep = "")
  for (i in seq_len(nrow(table))) {
    cat("| ", paste(unlist(table[i, ]), collapse = " | "), " |\n", sep = "")
  }
}
