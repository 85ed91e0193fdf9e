# Forked children (parallel::mclapply, mcparallel) after a multithreaded engine call: GNU
# OpenMP's threads do not survive fork(), so the engine must run on one thread there
# (inst/include/rgru/schedule.hpp). Without that, the child waits for the parent's threads
# forever; each scenario has a timeout, so a regression fails instead of hanging.

skip_if_fork_unavailable <- function() {
  skip_on_os("windows")
  skip_if(withr::with_options(list(rgru.num_threads = 2), engine_info()$threads) < 2,
    "one core: the engine starts no threads to fork away")
}

test_that("an mcparallel() child runs the engine after the parent ran it on threads", {
  skip_if_fork_unavailable()
  withr::local_options(rgru.num_threads = 2)
  # batch * units and the products large enough for the engine to use its threads
  a <- engine_args(B = 128, TT = 4, F = 8, H = 256)
  parent <- engine_forward(a)
  job <- parallel::mcparallel(engine_forward(a)$final_state, silent = TRUE)
  child <- parallel::mccollect(job, wait = FALSE, timeout = 60)
  if (is.null(child)) {
    tools::pskill(job$pid, tools::SIGKILL)
    parallel::mccollect(job, wait = FALSE, timeout = 5)
  }
  expect_false(is.null(child), label = "a result from the forked child within 60 s")
  expect_identical(child[[1]], parent$final_state)
})

test_that("mclapply() runs layer_gru() in its children after a multithreaded call", {
  skip_if_fork_unavailable()
  # The issue's scenario in a fresh R session, so that a hang is cut off by the timeout.
  script <- withr::local_tempfile(fileext = ".R")
  writeLines(c(
    "library(rgru)",
    "options(rgru.num_threads = 2)",
    "set.seed(1)",
    "x <- array(runif(128 * 4 * 8), c(128, 4, 8))",
    "g <- layer_gru(units = 256)",
    "y <- g(x)",
    "ys <- parallel::mclapply(1:2, function(i) g(x), mc.cores = 2)",
    "stopifnot(identical(ys[[1]], y), identical(ys[[2]], y))",
    "cat('children done\\n')"
  ), script)
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", script),
    stdout = TRUE, stderr = TRUE, timeout = 120))
  expect_null(attr(out, "status"))
  expect_true("children done" %in% out)
})
