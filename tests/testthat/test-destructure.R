test_that("%<-% assigns elements in the calling frame", {
  c(a, b) %<-% list(1, "two")
  expect_identical(a, 1)
  expect_identical(b, "two")
  f <- function() {
    c(x, y) %<-% list(10, 20)
    x + y
  }
  expect_identical(f(), 30)
  expect_false(exists("x", inherits = FALSE))
})

test_that("%<-% destructures nested patterns, vectors and shapes", {
  c(a, c(b, d)) %<-% list(1, list(2, 3))
  expect_identical(c(a, b, d), c(1, 2, 3))
  c(p, q, r) %<-% c(4L, 5L, 6L)
  expect_identical(r, 6L)
  c(batch, time, features) %<-% shape(NA, 10, 4)
  expect_null(batch)
  expect_identical(time, 10L)
  single %<-% list(1, 2)
  expect_identical(single, list(1, 2))
})

test_that("%<-% skips with . and ..., and collects with ...name", {
  c(first, ., third) %<-% list(1, 2, 3)
  expect_identical(c(first, third), c(1, 3))
  c(head, ...) %<-% shape(32, 10, 4)
  expect_identical(head, 32L)
  c(..., last) %<-% 1:5
  expect_identical(last, 5L)
  c(h, ...rest) %<-% list(1, 2, 3)
  expect_identical(rest, list(2, 3))
  c(h2, ...rest2, t2) %<-% list(1, 2)
  expect_identical(rest2, list())
  expect_identical(t2, 2)
})

test_that("%<-% returns the value invisibly", {
  expect_invisible(c(a, b) %<-% list(1, 2))
  out <- (c(a, b) %<-% list(1, 2))
  expect_identical(out, list(1, 2))
})

test_that("%<-% errors clearly on mismatches and bad patterns", {
  expect_error(c(a, b) %<-% list(1, 2, 3), class = "rgru_error_destructure")
  expect_error(c(a, b, d) %<-% list(1), class = "rgru_error_destructure")
  expect_error(c(a, c(b, d)) %<-% list(1, 2), class = "rgru_error_destructure")
  expect_error(c(a, ...r) %<-% list(), class = "rgru_error_destructure")
  expect_error(c(a, f(b)) %<-% list(1, 2), class = "rgru_error_destructure")
  expect_error(c(a, ..., ...) %<-% list(1, 2), class = "rgru_error_destructure")
  expect_error(c(a, b) %<-% new.env(), class = "rgru_error_destructure")
})

test_that("%<-% turns malformed right-hand sides into rgru errors or assignments", {
  expect_only_rgru_errors(function(v) c(a, b) %<-% v)
  expect_only_rgru_errors(function(v) c(a, c(b, d)) %<-% list(1, v))
})

test_that("destructuring errors read well", {
  expect_snapshot(error = TRUE, {
    c(a, b) %<-% list(1, 2, 3)
    c(a, ...r) %<-% list()
    c(a, f(b)) %<-% list(1, 2)
  })
})
