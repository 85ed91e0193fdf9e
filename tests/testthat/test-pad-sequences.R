test_that("keras3's pad_sequences() reference examples run verbatim", {
  sequence <- list(c(1), c(2, 3), c(4, 5, 6))
  expect_identical(pad_sequences(sequence), rbind(c(0L, 0L, 1L), c(0L, 2L, 3L), 4:6))
  expect_identical(pad_sequences(sequence, value=-1), rbind(c(-1L, -1L, 1L), c(-1L, 2L, 3L), 4:6))
  expect_identical(pad_sequences(sequence, padding='post'), rbind(c(1L, 0L, 0L), c(2L, 3L, 0L), 4:6))
  expect_identical(pad_sequences(sequence, maxlen=2), rbind(c(0L, 1L), 2:3, 5:6))
})

test_that("pad_sequences() matches Keras for every padding, truncation and dtype", {
  f <- read_engine_fixture("keras-pad-sequences")
  seqs <- list(c(3, 1, 4, 1, 5), c(9, 2), integer(), c(6, 5, 3, 5, 8, 9, 7), c(2.7, -1.5, 8))
  expect_identical(pad_sequences(seqs), matrix(as.integer(f$default), 5))
  expect_identical(pad_sequences(seqs, padding = "post"), matrix(as.integer(f$post), 5))
  expect_identical(pad_sequences(seqs, maxlen = 3), matrix(as.integer(f$maxlen3), 5))
  expect_identical(pad_sequences(seqs, maxlen = 3, padding = "post", truncating = "post"),
                   matrix(as.integer(f$maxlen3_post_post), 5))
  expect_identical(pad_sequences(seqs, maxlen = 3, padding = "pre", truncating = "post"),
                   matrix(as.integer(f$maxlen3_pre_post), 5))
  expect_identical(pad_sequences(seqs, maxlen = 9, value = -1), matrix(as.integer(f$maxlen9_value), 5))
  expect_identical(pad_sequences(seqs, dtype = "float32", value = 0.5), f$float32)
  expect_identical(pad_sequences(seqs, dtype = "float64", maxlen = 4, value = -2.25), f$float64)
  int64 <- pad_sequences(seqs, dtype = "int64", maxlen = 6, padding = "post")
  expect_type(int64, "double")
  expect_identical(int64, f$int64)
})

test_that("pad_sequences() takes the lists real scripts give it", {
  # lists of lists (as from JSON), integer vectors, NULL for an empty review
  out <- pad_sequences(list(list(1L, 2L), 3:5, NULL), maxlen = 4)
  expect_identical(out, rbind(c(0L, 0L, 1L, 2L), c(0L, 3L, 4L, 5L), rep(0L, 4)))
  expect_identical(dim(pad_sequences(list())), c(0L, 0L))
  expect_identical(pad_sequences(list(c(TRUE, FALSE))), matrix(c(1L, 0L), 1))
  # fast enough for an IMDB-sized corpus
  set.seed(1)
  reviews <- lapply(sample(20:400, 2000, replace = TRUE), function(n) sample.int(9999, n, TRUE))
  padded <- pad_sequences(reviews, maxlen = 200)
  expect_identical(dim(padded), c(2000L, 200L))
  expect_identical(padded[1, ], as.integer(utils::tail(c(rep(0, 200), reviews[[1]]), 200)))
})

test_that("pad_sequences() rejects bad arguments with classed errors", {
  expect_error(pad_sequences(1:3), class = "rgru_error_argument")
  expect_error(pad_sequences(data.frame(a = 1)), class = "rgru_error_argument")
  expect_error(pad_sequences(list("a")), class = "rgru_error_argument")
  expect_error(pad_sequences(list(1), maxlen = -1), class = "rgru_error_argument")
  expect_error(pad_sequences(list(1), maxlen = 1.5), class = "rgru_error_argument")
  expect_error(pad_sequences(list(1), dtype = "string"), class = "rgru_error_argument")
  expect_error(pad_sequences(list(1), padding = "middle"), class = "rgru_error_argument")
  expect_error(pad_sequences(list(1), truncating = "both"), class = "rgru_error_argument")
  expect_error(pad_sequences(list(1), value = NA), class = "rgru_error_argument")
  expect_error(pad_sequences(list(c(1, NA))), class = "rgru_error_input")
  expect_error(pad_sequences(list(3e9)), class = "rgru_error_input")
  expect_error(pad_sequences(list(300), dtype = "uint8"), class = "rgru_error_input")
})
