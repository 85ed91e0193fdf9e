test_that("regularizer constructors have keras3's defaults and configs", {
  expect_identical(regularizer_l1()$get_config(), list(l1 = 0.01))
  expect_identical(regularizer_l2()$get_config(), list(l2 = 0.01))
  expect_identical(regularizer_l1_l2()$get_config(), list(l1 = 0, l2 = 0))
  expect_identical(regularizer_orthogonal()$get_config(), list(factor = 0.01, mode = "rows"))
  expect_identical(regularizer_l1_l2(0.1, 0.2)$class_name, "L1L2")
  expect_s3_class(regularizer_l2(), "rgru_regularizer")
})

test_that("penalties are Keras's l1 * sum(|x|) + l2 * sum(x^2)", {
  set.seed(1)
  w <- matrix(rnorm(12), 3)
  expect_equal(regularizer_l1(0.3)$penalty(w), 0.3 * sum(abs(w)))
  expect_equal(regularizer_l2(0.3)$penalty(w), 0.3 * sum(w^2))
  expect_equal(regularizer_l1_l2(0.1, 0.2)$penalty(w), 0.1 * sum(abs(w)) + 0.2 * sum(w^2))
  # callable as in keras3
  expect_identical(regularizer_l2(0.3)(w), regularizer_l2(0.3)$penalty(w))
  expect_identical(regularizer_l1_l2()$penalty(w), 0)
})

test_that("gradients match finite differences, with sign(0) = 0 for l1", {
  set.seed(2)
  w <- array(rnorm(24), c(2, 3, 4))
  for (reg in list(regularizer_l1(0.3), regularizer_l2(0.2), regularizer_l1_l2(0.1, 0.4))) {
    g <- reg$gradient(w)
    expect_identical(dim(g), dim(w))
    expect_equal(g, numeric_gradient(reg$penalty, w), tolerance = 1e-7)
  }
  expect_identical(regularizer_l1(0.5)$gradient(c(-2, 0, 3)), c(-0.5, 0, 0.5))
})

test_that("the orthogonal regularizer follows Keras and has an exact gradient", {
  # orthogonal rows: no penalty
  expect_equal(regularizer_orthogonal(1)(diag(3)), 0)
  w <- matrix(c(1, 1, 0, 1, 0, 0), 2, byrow = TRUE)
  # normalised rows (1,1,0)/sqrt2 and (1,0,0): dot product 1/sqrt2, one pair
  expect_equal(regularizer_orthogonal(2)(w), 2 * 0.5 * 2 * (1 / sqrt(2)) / 1)
  expect_equal(regularizer_orthogonal(2, mode = "columns")(t(w)),
               regularizer_orthogonal(2)(w))
  set.seed(3)
  for (mode in c("rows", "columns")) {
    reg <- regularizer_orthogonal(0.7, mode)
    x <- matrix(rnorm(15), 3)
    expect_equal(reg$gradient(x), numeric_gradient(reg, x), tolerance = 1e-6, info = mode)
  }
  expect_error(regularizer_orthogonal()(1:3), class = "rgru_error_shape")
  expect_error(regularizer_orthogonal(mode = "diagonal"), class = "rgru_error_argument")
})

test_that("names, configs and functions resolve to regularizers", {
  expect_identical(resolve_regularizer("l1")$get_config(), list(l1 = 0.01))
  expect_identical(resolve_regularizer("L2")$get_config(), list(l2 = 0.01))
  expect_identical(resolve_regularizer("l1_l2")$get_config(), list(l1 = 0.01, l2 = 0.01))
  expect_identical(resolve_regularizer("L1L2")$get_config(), list(l1 = 0, l2 = 0))
  expect_identical(resolve_regularizer("orthogonal_regularizer")$class_name,
                   "OrthogonalRegularizer")
  reg <- regularizer_l1_l2(0.2, 0.3)
  expect_identical(resolve_regularizer(reg), reg)
  expect_null(resolve_regularizer(NULL))
  round_trip <- resolve_regularizer(serialize_keras_object(reg))
  expect_identical(round_trip$get_config(), reg$get_config())
  custom <- resolve_regularizer(function(x) 0.5 * sum(x^4))
  expect_equal(custom(c(1, 2)), 0.5 * 17)
  expect_equal(custom$gradient(c(1, 2)), 2 * c(1, 2)^3, tolerance = 1e-8)
  expect_null(custom$class_name)
  bad <- resolve_regularizer(function(x) x)
  expect_error(bad(1:2), class = "rgru_error_regularizer")
})

test_that("invalid regularizers are rejected", {
  kernel_regularizer <- "l3"
  expect_error(resolve_regularizer(kernel_regularizer),
               class = "rgru_error_unknown_name")
  expect_error(regularizer_l1(-1), class = "rgru_error_argument")
  expect_error(regularizer_l2(NA), class = "rgru_error_argument")
  expect_error(regularizer_l1_l2(l2 = Inf), class = "rgru_error_argument")
  expect_error(regularizer_l2()$penalty("a"), class = "rgru_error_type")
  expect_error(resolve_regularizer(3), class = "rgru_error_argument")
})

test_that("regularizers print their configuration", {
  expect_snapshot({
    regularizer_l1_l2(l1 = 0.01, l2 = 0.001)
    regularizer_orthogonal()
  })
})

test_that("regularizers turn malformed specifications and inputs into rgru errors", {
  expect_only_rgru_errors(function(v) {
    reg <- resolve_regularizer(v, "kernel_regularizer")
    if (!is.null(reg) && !is.null(reg$class_name)) reg(1:3)
  })
  expect_only_rgru_errors(function(v) regularizer_l1_l2(l1 = v))
  expect_only_rgru_errors(function(v) regularizer_l2()$gradient(v))
  expect_only_rgru_errors(function(v) regularizer_orthogonal(mode = v))
})

test_that("a failing regularizer function gives an rgru error naming its role", {
  reg <- resolve_regularizer(function(x) log(-"a"))
  expect_error(reg(1:2), class = "rgru_error_regularizer")
})
