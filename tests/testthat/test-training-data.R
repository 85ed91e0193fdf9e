test_that("training arrays keep their shape; vectors and data frames become arrays", {
  expect_identical(dim(as_training_array(1:3, "y")), 3L)
  expect_type(as_training_array(c(TRUE, FALSE), "y"), "double")
  expect_identical(dim(as_training_array(data.frame(a = 1:2, b = 3:4), "x")), c(2L, 2L))
  x <- array(1, c(2, 3, 4))
  expect_identical(as_training_array(x, "x"), x)
  data <- as_training_data(list(a = 1:2, b = matrix(1, 2, 2)), "x")
  expect_named(data, c("a", "b"))
  expect_null(as_training_data(NULL, "x"))
})

test_that("non-numeric training data are type errors naming the argument", {
  expect_error(as_training_array("a", "x"), class = "rgru_error_type")
  expect_error(as_training_array(factor("a"), "x"), class = "rgru_error_type")
  expect_error(as_training_data(list(), "x"), class = "rgru_error_type")
  expect_error(as_training_data(list(1, "a"), "x"), class = "rgru_error_type")
  expect_snapshot(as_training_data(list(1, "a"), "x"), error = TRUE)
})

test_that("samples are sliced on the first axis of every array", {
  x <- array(seq_len(24), c(4, 3, 2))
  expect_identical(slice_samples(x, 2:3), x[2:3, , , drop = FALSE])
  expect_identical(slice_samples(array(1:4, 4), c(1, 4)), array(c(1L, 4L), 2))
  expect_identical(slice_samples(list(a = x, b = matrix(1:8, 4)), 1),
                   list(a = x[1, , , drop = FALSE], b = matrix(c(1L, 5L), 1)))
  expect_identical(n_rows(list(x)), 4L)
})

test_that("targets align with outputs a trailing axis apart, as Keras squeezes", {
  pred <- matrix(0, 3, 1)
  expect_identical(dim(align_target(1:3, pred)), c(3L, 1L))
  expect_identical(dim(align_target(array(0, c(3, 2, 1)), array(0, c(3, 2)))), c(3L, 2L))
  expect_error(align_target(matrix(0, 3, 2), pred, "y"), class = "rgru_error_shape")
})

test_that("sample weights broadcast over the leading axes or match them", {
  expect_null(row_weights(NULL, c(2, 3)))
  expect_identical(row_weights(c(1, 2), c(2, 3)), c(1, 2, 1, 2, 1, 2))
  expect_identical(row_weights(1:6, c(2, 3)), as.double(1:6))
  expect_error(row_weights(1:3, c(2, 3)), class = "rgru_error_shape")
  m <- last_axis_matrix(array(1:12, c(2, 3, 2)))
  expect_identical(dim(m$m), c(6L, 2L))
  expect_identical(m$lead, c(2L, 3L))
})
