# The public API under the seeded fuzzer (helper-fuzz.R, table in
# helper-fuzz*.R): every (function, argument) pair once, in child processes,
# each call ending in a result or an rgru error naming an argument. The
# training functions run in test-training-fuzz.R.

outcome <- function(expr) {
  tryCatch({
    force(expr)
    "ok"
  }, rgru_error = function(e) "rgru_error", error = function(e) e, warning = function(w) w)
}

test_that("every public function outside training gives results or named rgru errors", {
  results <- expect_fuzz_clean(function(targets) !fuzz_training_targets(targets))
  skip_known_fuzz_failures(results)
})

test_that("random shapes either compute correctly or fail with rgru errors", {
  withr::local_seed(20261124)
  for (i in 1:100) {
    units <- sample(1:4, 1)
    rank <- sample(1:4, 1)
    dims <- sample(0:4, rank, replace = TRUE)
    x <- array(stats::rnorm(prod(dims)), dims)
    if (runif(1) < 0.1) x[sample(length(x), min(1, length(x)))] <- NA
    rs <- runif(1) < 0.5
    st <- runif(1) < 0.5
    gru <- layer_gru(units = units, return_sequences = rs, return_state = st)
    mask <- if (runif(1) < 0.3 && rank >= 2) matrix(runif(prod(dims[1:2])) < 0.7, dims[1], dims[2])
    res <- outcome(gru(x, mask = mask))
    if (identical(res, "ok")) {
      out <- gru(x, mask = mask)
      first <- if (st) out[[1]] else out
      want <- if (rs) c(dims[1:2], units) else c(dims[1], units)
      expect_equal(dim(first), want)
      expect_equal(rank, 3L)
    } else {
      expect_identical(res, "rgru_error", info = paste("dims", paste(dims, collapse = "x")))
    }
  }
})
