# A seeded fuzzer for the public API. Each case calls one public function with
# good arguments except one, which gets a malformed value; the call must end in
# a result or in an `rgru_error` whose message names an argument. Cases run in
# child R processes (batches of them per `Rscript`), so a crash or a hang is
# reported with its case number and seed instead of ending the run.
#
# The table: every helper-fuzz*.R file may define functions named
# `fuzz_table_<topic>()` returning a list of fuzz_target()s; fuzz_targets()
# collects them all. Add a function to the fuzzer by adding a target in a
# helper-fuzz-<topic>.R file of your own.
#
# The cases: every (target, argument) pair once with a value drawn at random,
# then every value listed in a target's `fixed` (regressions), n rows in all.
# Case k takes row ((k - 1) %% n + 1) with seed `base_seed + k`; cases 1..n
# cover every row once, later cases draw new values (fixed rows too).
# Reproduce case k with `Rscript tools/fuzz/run.R --from k --to k` (from the
# package root, against the installed package).

fuzz_base_seed <- 20261202L

# `run(args)` calls the function (and exercises what it returns, e.g. calls a
# constructed layer); `good()` gives arguments that work; `args` are the ones
# to fuzz (default: every argument `good()` names); `values` maps an argument
# to extra values worth trying (a function returning a list); `names` are the
# other argument names an error may rightly name (a layer's call names its
# input `inputs`), and `names_argument = FALSE` exempts a function that has
# no argument to name (`shape(...)`); `fixed` maps an argument to a list of
# values always tried (regressions); `known` lists cases that fail today for
# reasons tracked elsewhere (fuzz_known()).
fuzz_target <- function(name, run, good = function() list(), args = NULL,
                        values = list(), names = character(), names_argument = TRUE,
                        fixed = list(), known = list()) {
  args <- args %||% names(good())
  stopifnot(is.character(name), is.function(run), length(args) > 0,
            all(names(fixed) %in% args))
  list(name = name, run = run, good = good, args = args, values = values,
       names = names, names_argument = names_argument, fixed = fixed, known = known)
}

# A known failure: `arg` given a value for which `value(v)` is TRUE.
fuzz_known <- function(arg, value, reason) {
  list(arg = arg, value = value, reason = reason)
}

fuzz_targets <- function(env = environment(fuzz_targets)) {
  tables <- grep("^fuzz_table_", ls(env, all.names = TRUE), value = TRUE)
  targets <- unlist(lapply(sort(tables), function(t) get(t, envir = env)()),
                    recursive = FALSE)
  names(targets) <- vapply(targets, `[[`, "", "name")
  stopifnot(!anyDuplicated(names(targets)))
  targets
}

fuzz_pairs <- function(targets) {
  random <- lapply(targets, function(t) {
    data.frame(target = t$name, arg = t$args, fixed = NA_integer_, stringsAsFactors = FALSE)
  })
  fixed <- lapply(targets, function(t) {
    lapply(names(t$fixed), function(arg) {
      data.frame(target = t$name, arg = arg, fixed = seq_along(t$fixed[[arg]]),
                 stringsAsFactors = FALSE)
    })
  })
  do.call(rbind, c(random, unlist(fixed, recursive = FALSE)))
}

# The value case `k` gives its argument (drawn after set.seed(seed)).
fuzz_value <- function(target, arg) {
  extra <- target$values[[arg]]
  pool <- c(if (is.function(extra)) extra(), malformed_values())
  pool[[sample.int(length(pool), 1L)]]
}

fuzz_known_reason <- function(target, arg, value) {
  for (k in target$known) {
    if (identical(k$arg, arg) && isTRUE(k$value(value))) return(k$reason)
  }
  NA_character_
}

# Case k's table row, the target, whether its value is a fixed one, and the
# value (the generator left seeded with the case's seed).
fuzz_case_spec <- function(k, targets, pairs, base_seed = fuzz_base_seed) {
  pair <- pairs[(k - 1L) %% nrow(pairs) + 1L, ]
  target <- targets[[pair$target]]
  set.seed(base_seed + k)
  fixed <- !is.na(pair$fixed) && k <= nrow(pairs)
  value <- if (fixed) target$fixed[[pair$arg]][[pair$fixed]] else fuzz_value(target, pair$arg)
  list(pair = pair, target = target, seed = base_seed + k, fixed = fixed, value = value)
}

# Runs one case in this process; returns a one-row data frame.
fuzz_case <- function(k, targets, pairs, base_seed = fuzz_base_seed) {
  spec <- fuzz_case_spec(k, targets, pairs, base_seed)
  pair <- spec$pair
  target <- spec$target
  seed <- spec$seed
  fixed <- spec$fixed
  value <- spec$value
  args <- target$good()
  args[pair$arg] <- list(value)
  started <- proc.time()[["elapsed"]]
  outcome <- fuzz_outcome(target$run(args))
  seconds <- proc.time()[["elapsed"]] - started
  named <- if (outcome$status == "rgru_error" && target$names_argument) {
    fuzz_names_argument(outcome$message, c(pair$arg, target$names)) ||
      fuzz_names_file(outcome, value)
  } else {
    NA
  }
  data.frame(case = k, seed = seed, target = pair$target, arg = pair$arg, fixed = fixed,
             value = fuzz_describe(value), status = outcome$status,
             class = outcome$class, named = named,
             known = fuzz_known_reason(target, pair$arg, value),
             message = fuzz_one_line(outcome$message), seconds = seconds,
             stringsAsFactors = FALSE)
}

# "ok", "rgru_error" or "error" (anything else), with the condition's first
# class and message; a warning that is not an `rgru_warning` on a call that
# otherwise succeeds is "warning".
fuzz_outcome <- function(expr) {
  warned <- NULL
  result <- withCallingHandlers(
    tryCatch({
      utils::capture.output(force(expr))
      list(status = "ok", class = NA_character_, message = NA_character_)
    }, rgru_error = function(e) {
      list(status = "rgru_error", class = class(e)[[1]], message = conditionMessage(e))
    }, error = function(e) {
      list(status = "error", class = class(e)[[1]], message = conditionMessage(e))
    }),
    warning = function(w) {
      if (!inherits(w, "rgru_warning") && is.null(warned)) warned <<- w
      invokeRestart("muffleWarning")
    },
    message = function(m) invokeRestart("muffleMessage")
  )
  if (result$status == "ok" && !is.null(warned)) {
    result <- list(status = "warning", class = class(warned)[[1]],
                   message = conditionMessage(warned))
  }
  result
}

# Whether the message names one of `args` in backticks (`x`, or a part of
# it such as `x[[2]]`).
fuzz_names_argument <- function(message, args) {
  quoted <- regmatches(message, gregexpr("`[^`]+`", message))[[1]]
  quoted <- sub("\\[\\[.*$", "", gsub("`", "", quoted))
  any(quoted %in% args)
}

# A file error may name the file it was given instead of the argument.
fuzz_names_file <- function(outcome, value) {
  identical(outcome$class, "rgru_error_file") && is.character(value) &&
    length(value) == 1 && !is.na(value) && nzchar(value) &&
    grepl(value, outcome$message, fixed = TRUE)
}

fuzz_describe <- function(value) {
  fuzz_one_line(paste(utils::capture.output(utils::str(value, max.level = 1,
                                                       give.attr = FALSE))[1]))
}

fuzz_one_line <- function(text) {
  text <- gsub("[\t\r\n]+", " ", text)
  ifelse(nchar(text) > 300, paste0(substr(text, 1, 297), "..."), text)
}

# Child processes -----------------------------------------------------------

# The helper files a child sources to rebuild the table.
fuzz_helper_files <- function(dir) {
  c(file.path(dir, "helper-malformed-values.R"),
    sort(Sys.glob(file.path(dir, "helper-fuzz*.R"))))
}

# Runs cases `cases` in child processes of `batch_size` cases each, `jobs` of
# them at a time. A child that dies, or runs past `timeout` seconds and is
# killed, loses the case it had started, which is reported as "crash" or
# "hang"; its remaining cases go to a new child.
fuzz_run <- function(cases, helper_dir, batch_size = 120L, jobs = 2L, timeout = 300,
                     base_seed = fuzz_base_seed, lib = .libPaths()) {
  helpers <- fuzz_helper_files(normalizePath(helper_dir))
  results <- list()
  todo <- split(cases, ceiling(seq_along(cases) / batch_size))
  running <- list()
  while (length(todo) > 0 || length(running) > 0) {
    while (length(running) < jobs && length(todo) > 0) {
      running <- c(running, list(fuzz_start_child(todo[[1]], helpers, base_seed, lib)))
      todo <- todo[-1]
    }
    Sys.sleep(0.05)
    for (i in rev(seq_along(running))) {
      child <- fuzz_poll_child(running[[i]], timeout)
      if (is.null(child)) next
      running <- running[-i]
      finished <- c(child$done$case, child$lost$case)
      if (length(finished) == 0) {
        stop("A fuzz child finished no case:\n", paste(child$log, collapse = "\n"))
      }
      results <- c(results, list(child$done, child$lost))
      rest <- setdiff(child$cases, finished)
      if (length(rest) > 0) todo <- c(list(rest), todo)
    }
  }
  out <- do.call(rbind, results)
  targets <- fuzz_targets()
  pairs <- fuzz_pairs(targets)
  for (i in which(is.na(out$target))) {
    spec <- fuzz_case_spec(out$case[[i]], targets, pairs, base_seed)
    out$target[[i]] <- spec$pair$target
    out$arg[[i]] <- spec$pair$arg
    out$fixed[[i]] <- spec$fixed
    out$value[[i]] <- fuzz_describe(spec$value)
    out$known[[i]] <- fuzz_known_reason(spec$target, spec$pair$arg, spec$value)
  }
  out[order(out$case), , drop = FALSE]
}

fuzz_start_child <- function(cases, helpers, base_seed, lib) {
  dir <- tempfile("rgru-fuzz-")
  dir.create(dir)
  files <- lapply(c(job = "job.rds", progress = "progress.txt", results = "results.rds",
                    log = "log.txt", pid = "pid.txt", finished = "finished.txt",
                    driver = "driver.R"), function(f) file.path(dir, f))
  saveRDS(list(cases = cases, helpers = helpers, base_seed = base_seed, lib = lib,
               progress = files$progress, results = files$results), files$job)
  writeLines(c(
    sprintf("writeLines(as.character(Sys.getpid()), %s)", deparse(files$pid)),
    "job <- readRDS(commandArgs(TRUE)[[1]])",
    ".libPaths(job$lib)",
    "options(cli.num_colors = 1, rgru.num_threads = 1, warn = 1)",
    "setwd(tempdir())",
    "suppressPackageStartupMessages(library(rgru))",
    "env <- new.env(parent = asNamespace('rgru'))",
    "for (f in job$helpers) sys.source(f, envir = env)",
    "env$fuzz_child_main(job)",
    sprintf("writeLines('finished', %s)", deparse(files$finished))
  ), files$driver)
  system2(file.path(R.home("bin"), "Rscript"),
          c("--vanilla", shQuote(files$driver), shQuote(files$job)),
          stdout = files$log, stderr = files$log, wait = FALSE,
          # R CMD check's R_TESTS names a startup file relative to the tests.
          env = c("OMP_NUM_THREADS=1", "R_TESTS="))
  list(cases = cases, dir = dir, files = files, base_seed = base_seed,
       started = proc.time()[["elapsed"]])
}

# NULL while the child runs; then what it finished and what it lost.
fuzz_poll_child <- function(child, timeout) {
  files <- child$files
  pid <- if (file.exists(files$pid)) suppressWarnings(as.integer(readLines(files$pid, warn = FALSE)))
  alive <- length(pid) == 1 && !is.na(pid) && isTRUE(tools::pskill(pid, 0L))
  late <- proc.time()[["elapsed"]] - child$started > timeout
  if (!file.exists(files$finished) && !late && (length(pid) == 0 || alive)) return(NULL)
  if (late && alive) tools::pskill(pid, tools::SIGKILL)
  status <- if (file.exists(files$finished)) "finished" else if (late) "hang" else "crash"
  on.exit(unlink(child$dir, recursive = TRUE))
  done <- if (file.exists(files$results)) readRDS(files$results)
  started <- if (file.exists(files$progress)) {
    as.integer(readLines(files$progress, warn = FALSE))
  } else {
    integer()
  }
  log <- if (file.exists(files$log)) readLines(files$log, warn = FALSE) else character()
  lost <- setdiff(started, done$case)
  lost_rows <- if (status != "finished" && length(lost) > 0) {
    data.frame(case = lost, seed = child$base_seed + lost, target = NA_character_,
               arg = NA_character_, fixed = NA, value = NA_character_, status = status,
               class = NA_character_, named = NA, known = NA_character_,
               message = fuzz_one_line(paste(fuzz_log_summary(log), collapse = " ")),
               seconds = NA_real_, stringsAsFactors = FALSE)
  }
  list(cases = child$cases, done = done, lost = lost_rows, log = log)
}

# What a dead child's log says: R's segfault report if there is one.
fuzz_log_summary <- function(log) {
  caught <- grep("caught|^address", log)
  if (length(caught) > 0) log[unique(c(caught, caught + 1L))] else utils::tail(log, 3)
}

# In the child: each case's number goes to the progress file before it runs,
# and the results so far are saved after it, so the parent knows which case
# a crash or hang interrupted.
fuzz_child_main <- function(job) {
  targets <- fuzz_targets()
  pairs <- fuzz_pairs(targets)
  rows <- list()
  for (k in job$cases) {
    cat(k, "\n", file = job$progress, append = TRUE, sep = "")
    rows[[length(rows) + 1L]] <- fuzz_case(k, targets, pairs, job$base_seed)
    saveRDS(do.call(rbind, rows), job$results)
  }
}

# Reports ---------------------------------------------------------------------

fuzz_training_targets <- function(targets) {
  training <- "^(compile|fit|evaluate|train_on_batch|test_on_batch|optimizer_|loss_|metric_|callback_)"
  grepl(training, names(targets))
}

# Runs every case of the table rows whose target `select` picks, in child
# processes, and checks the rules; the known failures are skipped by name.
expect_fuzz_clean <- function(select) {
  skip_on_cran()
  targets <- fuzz_targets()
  pairs <- fuzz_pairs(targets)
  cases <- which(pairs$target %in% names(targets)[select(targets)])
  results <- fuzz_run(cases, helper_dir = test_path())
  expect_identical(sort(results$case), cases)
  failures <- fuzz_failures(results)
  expect(nrow(failures) == 0,
         paste(c("Public-API calls that broke the rules:", fuzz_format(failures)),
               collapse = "\n"))
  expect_true(any(results$status == "ok"))
  expect_true(any(results$status == "rgru_error"))
  results
}

# Known failures (fuzz_known()) that are not yet rgru errors end the test as
# a skip naming the issue and the cases.
skip_known_fuzz_failures <- function(results) {
  known <- results[!is.na(results$known) & results$status != "rgru_error", , drop = FALSE]
  if (nrow(known) == 0) return(invisible())
  reasons <- vapply(split(known, known$known), function(rows) {
    paste0(rows$known[[1]], ": ", paste(fuzz_format(rows, message = FALSE), collapse = "; "))
  }, "")
  skip(paste0("Known, fixed elsewhere (", nrow(known), " cases): ",
              paste(reasons, collapse = " | ")))
}

# The cases that break the rules: anything but a result or an rgru error
# naming an argument, leaving out the known ones.
fuzz_failures <- function(results) {
  bad <- results$status %in% c("error", "warning", "crash", "hang") |
    (results$status == "rgru_error" & results$named %in% FALSE)
  results[bad & is.na(results$known), , drop = FALSE]
}

fuzz_format <- function(rows, message = TRUE) {
  text <- sprintf("case %d (seed %d): %s(%s = %s) -> %s %s", rows$case, rows$seed, rows$target,
                  rows$arg, trimws(rows$value), rows$status, rows$class)
  if (message) paste0(text, ": ", rows$message) else text
}
