# rgru's zip reader and writer (Keras's .keras container).

test_that("CRC-32 is zip's checksum", {
  expect_equal(rgru:::crc32_raw(charToRaw("123456789")), 3421780262)
  expect_equal(rgru:::crc32_raw(raw()), 0)
  expect_equal(rgru:::crc32_raw(as.raw(0:255)), 688229491)
})

test_that("archives rgru writes are read by R's unzip and by rgru, member for member", {
  members <- list(`metadata.json` = charToRaw("{}"), `config.json` = charToRaw(strrep("x", 1000)),
                  `model.weights.h5` = as.raw(sample(0:255, 5000, TRUE)), `empty` = raw())
  path <- withr::local_tempfile(fileext = ".zip")
  rgru:::zip_write(path, members)
  listing <- utils::unzip(path, list = TRUE)
  expect_equal(listing$Name, names(members))
  expect_equal(listing$Length, unname(lengths(members)))
  dir <- withr::local_tempdir()
  utils::unzip(path, exdir = dir)
  for (name in names(members)) {
    expect_identical(readBin(file.path(dir, name), "raw", 1e5), members[[name]])
  }
  expect_identical(rgru:::zip_read(path), members)
  expect_identical(rgru:::zip_read(path, "config.json"), members["config.json"])
  expect_error(rgru:::zip_read(path, "nothing"), class = "rgru_error_file")
})

test_that("a member whose bytes changed fails its checksum", {
  path <- withr::local_tempfile(fileext = ".zip")
  rgru:::zip_write(path, list(a = charToRaw("hello world")))
  bytes <- readBin(path, "raw", 1e4)
  at <- grepRaw("hello", bytes)
  bytes[at] <- charToRaw("j")
  writeBin(bytes, path)
  expect_error(rgru:::zip_read(path), class = "rgru_error_file")
})
