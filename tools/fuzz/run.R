# The public-API fuzzer on demand (the test suite runs one sweep of the table):
#
#   R_LIBS=<library with rgru installed> Rscript tools/fuzz/run.R [--from 1] [--to 10000]
#       [--batch 250] [--jobs 2] [--timeout 600] [--out fuzz.csv]
#
# Run from the package root. Cases, seeds and the table are those of
# tests/testthat/helper-fuzz*.R, so a case reported here reruns alone with
# `--from k --to k`. Each child runs `--batch` cases, `--jobs` children at a
# time; a child running past `--timeout` seconds is killed and its current case
# reported as a hang. Prints the outcomes, the errors by class, the known
# failures and every case that broke the rules (crashes and hangs with their
# seeds); exits with status 1 if any did.

args <- commandArgs(TRUE)
option <- function(name, default) {
  at <- match(paste0("--", name), args)
  if (is.na(at)) default else args[[at + 1L]]
}
from <- as.integer(option("from", 1))
to <- as.integer(option("to", 10000))
batch <- as.integer(option("batch", 250))
jobs <- as.integer(option("jobs", 2))
timeout <- as.numeric(option("timeout", 600))
out <- option("out", NULL)

helper_dir <- normalizePath(file.path("tests", "testthat"))
suppressPackageStartupMessages(library(rgru))
env <- new.env(parent = asNamespace("rgru"))
for (f in c(file.path(helper_dir, "helper-malformed-values.R"),
            sort(Sys.glob(file.path(helper_dir, "helper-fuzz*.R"))))) {
  sys.source(f, envir = env)
}

started <- Sys.time()
results <- env$fuzz_run(seq.int(from, to), helper_dir, batch_size = batch, jobs = jobs,
                        timeout = timeout)
minutes <- as.numeric(difftime(Sys.time(), started, units = "mins"))

cat(sprintf("%d cases (%d to %d) in %.1f minutes, %d (function, argument) rows in the table\n\n",
            nrow(results), from, to, minutes, nrow(env$fuzz_pairs(env$fuzz_targets()))))
cat("Outcomes:\n")
print(table(results$status, useNA = "ifany"))
cat("\nErrors by class:\n")
print(sort(table(results$class[results$status == "rgru_error"]), decreasing = TRUE))
known <- results[!is.na(results$known), ]
cat(sprintf("\nKnown failures, tracked elsewhere: %d cases\n", sum(known$status != "rgru_error")))
for (reason in unique(known$known)) {
  rows <- known[known$known == reason, ]
  cat(sprintf("  %s: %d cases, %d not yet rgru errors\n", reason, nrow(rows),
              sum(rows$status != "rgru_error")))
}
failures <- env$fuzz_failures(results)
cat(sprintf("\nCases that broke the rules: %d\n", nrow(failures)))
if (nrow(failures) > 0) cat(env$fuzz_format(failures), sep = "\n")
if (!is.null(out)) utils::write.csv(results, out, row.names = FALSE)
quit(status = if (nrow(failures) > 0) 1L else 0L)
