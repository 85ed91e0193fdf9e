eps <- 1e-7

test_that("max_norm rescales columns (axis = 1) whose norm exceeds max_value", {
  w <- matrix(c(3, 4, 0.3, 0.4), 2)
  out <- constraint_maxnorm(max_value = 1)(w)
  norms <- sqrt(colSums(w^2))
  expected <- sweep(w, 2, pmin(norms, 1) / (eps + norms), `*`)
  expect_equal(out, expected, tolerance = 1e-15)
  expect_equal(sqrt(colSums(out^2)), c(1, 0.5), tolerance = 1e-6)
  # axis = 2 normalises rows instead; -1 is the last axis
  rows <- constraint_maxnorm(1, axis = 2)(w)
  row_norms <- sqrt(rowSums(w^2))
  expect_equal(rows, w * pmin(row_norms, 1) / (eps + row_norms), tolerance = 1e-15)
  expect_identical(constraint_maxnorm(1, axis = -1)(w), rows)
})

test_that("constraints keep dimensions of higher-rank weights and support several axes", {
  set.seed(1)
  w <- array(rnorm(24, sd = 3), c(2, 3, 4))
  out <- constraint_unitnorm(axis = c(1, 2))(w)
  expect_identical(dim(out), dim(w))
  for (k in 1:4) {
    expect_equal(sqrt(sum(out[, , k]^2)), sqrt(sum(w[, , k]^2)) / (eps + sqrt(sum(w[, , k]^2))))
  }
  # axis 3: norms over the last axis, one per (i, j)
  out3 <- constraint_maxnorm(2, axis = 3)(w)
  n <- sqrt(apply(w^2, c(1, 2), sum))
  expect_equal(out3[2, 3, ], w[2, 3, ] * min(n[2, 3], 2) / (eps + n[2, 3]))
  # vectors (biases): the norm of the whole vector
  b <- c(3, 4)
  expect_equal(constraint_unitnorm()(b), b / (eps + 5))
  expect_null(dim(constraint_unitnorm()(b)))
})

test_that("non_neg, unit_norm and min_max_norm follow Keras's formulas", {
  expect_identical(constraint_nonneg()(matrix(c(-1, 2, 0, -3), 2)), matrix(c(0, 2, 0, 0), 2))
  w <- matrix(c(3, 4, 0.3, 0.4, 0, 0), 2)
  norms <- sqrt(colSums(w^2))
  expect_equal(constraint_unitnorm()(w), sweep(w, 2, eps + norms, `/`))
  mm <- constraint_minmaxnorm(min_value = 1, max_value = 2, rate = 0.5)
  desired <- 0.5 * pmin(pmax(norms, 1), 2) + 0.5 * norms
  expect_equal(mm(w), sweep(w, 2, desired / (eps + norms), `*`))
  strict <- constraint_minmaxnorm(min_value = 1, max_value = 2)(w)
  expect_equal(sqrt(colSums(strict^2))[1:2], c(2, 1), tolerance = 1e-6)
  # a zero column stays zero thanks to epsilon
  expect_identical(strict[, 3], c(0, 0))
})

test_that("configs use Keras's 0-based axes and round-trip", {
  expect_identical(constraint_maxnorm()$get_config(), list(max_value = 2, axis = 0L))
  expect_identical(constraint_unitnorm(axis = c(1, 3))$get_config(), list(axis = list(0L, 2L)))
  expect_identical(constraint_minmaxnorm(axis = -1)$get_config()$axis, -1L)
  expect_identical(constraint_nonneg()$get_config(), list())
  for (con in list(constraint_maxnorm(3, axis = 2), constraint_unitnorm(axis = c(1, 2)),
                   constraint_minmaxnorm(0.5, 2, 0.3, axis = -1), constraint_nonneg())) {
    again <- resolve_constraint(serialize_keras_object(con))
    expect_identical(again$get_config(), con$get_config())
  }
})

test_that("names, objects and bare R functions resolve to constraints", {
  expect_identical(resolve_constraint("max_norm")$class_name, "MaxNorm")
  expect_identical(resolve_constraint("NonNeg")$class_name, "NonNeg")
  expect_identical(resolve_constraint("unit_norm")$class_name, "UnitNorm")
  expect_identical(resolve_constraint("min_max_norm")$class_name, "MinMaxNorm")
  con <- constraint_nonneg()
  expect_identical(resolve_constraint(con), con)
  expect_null(resolve_constraint(NULL))
  clip <- resolve_constraint(function(w) pmin(pmax(w, -1), 1))
  expect_s3_class(clip, "rgru_constraint")
  expect_identical(clip$apply(matrix(c(-3, 0.5, 2, 0), 2)), matrix(c(-1, 0.5, 1, 0), 2))
  bad <- resolve_constraint(function(w) w[1])
  expect_error(bad(1:3), class = "rgru_error_constraint")
})

test_that("invalid constraints are rejected", {
  kernel_constraint <- "maxnorm"
  expect_error(resolve_constraint(kernel_constraint), class = "rgru_error_unknown_name")
  expect_error(constraint_maxnorm(axis = 0), class = "rgru_error_argument")
  expect_error(constraint_maxnorm(axis = 1.5), class = "rgru_error_argument")
  expect_error(constraint_maxnorm(max_value = -1), class = "rgru_error_argument")
  expect_error(constraint_minmaxnorm(min_value = 2, max_value = 1), class = "rgru_error_argument")
  expect_error(constraint_minmaxnorm(rate = 2), class = "rgru_error_argument")
  expect_error(constraint_maxnorm(axis = 3)(matrix(1, 2, 2)), class = "rgru_error_shape")
  expect_error(constraint_nonneg()("a"), class = "rgru_error_type")
  expect_error(resolve_constraint(1), class = "rgru_error_argument")
})

test_that("constraints print their configuration", {
  expect_snapshot({
    constraint_maxnorm()
    constraint_minmaxnorm(axis = c(1, 2))
  })
})

test_that("constraints turn malformed specifications and inputs into rgru errors", {
  expect_only_rgru_errors(function(v) {
    con <- resolve_constraint(v, "kernel_constraint")
    if (!is.null(con) && !is.null(con$class_name)) con(matrix(1:4, 2))
  })
  expect_only_rgru_errors(function(v) constraint_maxnorm(axis = v))
  expect_only_rgru_errors(function(v) constraint_minmaxnorm(rate = v))
  expect_only_rgru_errors(function(v) constraint_unitnorm()(v))
})

test_that("a failing constraint function gives an rgru error naming its role", {
  con <- resolve_constraint(function(w) stop("no"))
  expect_error(con(1:2), class = "rgru_error_constraint")
})
