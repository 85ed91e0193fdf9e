# The arrays the engine returns (src/rcpp_result_arrays.cpp): large ones live in memory the
# engine recycles, and must behave as ordinary R arrays in every way a user can tell.

# B x T x H = 64 x 20 x 16 doubles: 160 KiB, above the recycling threshold (64 KiB);
# the final state (64 x 16, 8 KiB) stays an ordinary vector.
large_args <- function(seed = 1) engine_args(B = 64, TT = 20, F = 3, H = 16, seed = seed)

test_that("large results are recycled-memory arrays, small ones ordinary vectors", {
  out <- engine_forward(large_args())
  expect_true(is_result_array_cpp(out$sequence))
  expect_false(is_result_array_cpp(out$final_state))
  expect_false(is_result_array_cpp(engine_forward(engine_args())$sequence))
  expect_identical(dim(out$sequence), c(64L, 20L, 16L))
  expect_type(out$sequence, "double")
  expect_length(out$sequence, 64 * 20 * 16)
  expect_false(is_result_array_cpp(out$sequence + 0))
})

test_that("a result keeps its values while later calls recycle freed memory", {
  a <- large_args()
  kept <- engine_forward(a, "float32")$sequence
  snapshot <- kept + 0
  # Many calls of the same size, their results dropped and collected: each returns its
  # block to the cache, and the next call takes one. None may be the one `kept` holds.
  for (i in 1:30) {
    other <- engine_forward(large_args(seed = i + 1), "float32")$sequence
    if (i %% 5 == 0) gc()
  }
  rm(other)
  gc()
  expect_identical(kept, snapshot)
  expect_identical(engine_forward(a, "float32")$sequence, snapshot)
})

test_that("results copy, modify, subset and serialise as ordinary arrays", {
  out <- engine_forward(large_args())$sequence
  snapshot <- out + 0
  copy <- out
  copy[1, 1, 1] <- 99
  expect_identical(out, snapshot)
  expect_identical(copy[1, 1, 1], 99)
  expect_identical(copy[-1], snapshot[-1])
  out[2, 3, 4] <- -1
  expect_identical(out[2, 3, 4], -1)
  expect_identical(out[-(2 + 64 * 2 + 64 * 20 * 3)], snapshot[-(2 + 64 * 2 + 64 * 20 * 3)])

  expect_identical(sum(snapshot), sum(snapshot + 0))
  expect_identical(out[, 5, ], snapshot[, 5, ])
  file <- withr::local_tempfile(fileext = ".rds")
  saveRDS(out, file)
  back <- readRDS(file)
  expect_identical(back, out)
  expect_false(is_result_array_cpp(back))
  expect_identical(unserialize(serialize(out, NULL)), out)
})

test_that("R counts a result's memory towards its heap, as for an ordinary array", {
  a <- large_args()
  bytes <- 8 * 64 * 20 * 16
  before <- gc()[["Vcells", "used"]]
  held <- lapply(1:20, function(i) engine_forward(a)$sequence)
  after <- gc()[["Vcells", "used"]]
  expect_true(all(vapply(held, is_result_array_cpp, logical(1))))
  # Vcells are 8 bytes; each result also holds an ordinary final state and a list
  expect_gt((after - before) * 8, 0.95 * 20 * bytes)
  rm(held)
  expect_lt(gc()[["Vcells", "used"]] * 8, before * 8 + 2 * bytes)
})

test_that("backward's input gradient is a recycled-memory array with the same values", {
  a <- engine_args(B = 64, TT = 20, F = 8, H = 4)  # d_x: 80 KiB
  w <- engine_loss_weights(a)
  grads <- gru_backward_cpp(engine_forward(a, keep_tape = TRUE)$tape, w$seq, w$fin)
  expect_true(is_result_array_cpp(grads$d_x))
  expect_identical(dim(grads$d_x), c(64L, 20L, 8L))
  again <- gru_backward_cpp(engine_forward(a, keep_tape = TRUE)$tape, w$seq, w$fin)
  expect_identical(again$d_x, grads$d_x)
})
