test_that("shape() prints like keras3", {
  expect_output(print(shape(32, 4)), "^shape\\(32, 4\\)$")
  expect_output(print(shape(NA, 10, 4)), "^shape\\(NA, 10, 4\\)$")
  expect_identical(format(shape(NA, 10, 4), prefix = FALSE), "(NA, 10, 4)")
  expect_identical(format(shape()), "shape()")
  expect_snapshot(print(shape(NULL, 5, 3)))
})

test_that("shape() is a list of integers with NULL for unknown axes", {
  s <- shape(NA, 2, NULL, -1, 3L)
  expect_s3_class(s, "keras_shape")
  expect_length(s, 5)
  expect_null(s[[1]])
  expect_identical(s[[2]], 2L)
  expect_null(s[[3]])
  expect_null(s[[4]])
  expect_identical(as.integer(s), c(NA, 2L, NA, NA, 3L))
  expect_identical(as.list(s), list(NULL, 2L, NULL, NULL, 3L))
})

test_that("shape() of arrays, shapes and vectors combines their axes", {
  x <- array(0, c(2, 5, 3))
  expect_identical(as.integer(shape(x)), c(2L, 5L, 3L))
  expect_identical(as.integer(shape(x, 7)), c(2L, 5L, 3L, 7L))
  expect_identical(as.integer(shape(4, shape(NA, 2))), c(4L, NA, 2L))
  expect_identical(as.integer(shape(c(3, 4))), c(3L, 4L))
  expect_identical(as.integer(shape(matrix(0, 3, 1))), c(3L, 1L))
})

test_that("tensor_dims() methods make other classes work with shape()", {
  tensor_dims.fake_tensor <- function(x) c(NA, 7L)
  registerS3method("tensor_dims", "fake_tensor", tensor_dims.fake_tensor)
  fake <- structure(list(), class = "fake_tensor")
  expect_identical(format(shape(fake)), "shape(NA, 7)")
  expect_identical(format(shape(fake, 2)), "shape(NA, 7, 2)")
  expect_null(tensor_dims(structure(list(), class = "something_else")))
})

test_that("shape() methods: subsetting, comparison, Summary", {
  s <- shape(2, 5, 3)
  expect_s3_class(s[2:3], "keras_shape")
  expect_identical(format(s[2:3]), "shape(5, 3)")
  expect_true(s == c(2, 5, 3))
  expect_true(s == shape(2, 5, 3))
  expect_false(s == shape(2, 5))
  expect_true(s != shape(NA, 5, 3))
  expect_true(shape(NA, 2) == shape(NULL, 2))
  expect_identical(prod(s), 30)
  expect_identical(max(s), 5L)
  expect_true(is.na(prod(shape(NA, 2))))
  expect_identical(prod(shape(NA, 2), na.rm = TRUE), 2)
})

test_that("shape() rejects values that are not axis sizes", {
  expect_error(shape("a"), class = "rgru_error_shape")
  expect_error(shape(2.5), class = "rgru_error_shape")
  expect_error(shape(-2), class = "rgru_error_shape")
  expect_error(shape(Inf), class = "rgru_error_shape")
  expect_error(shape(factor(3)), class = "rgru_error_shape")
})

test_that("shape() turns malformed values into rgru errors", {
  expect_only_rgru_errors(function(v) format(shape(v)))
  expect_only_rgru_errors(function(v) format(shape(2, v)))
})
