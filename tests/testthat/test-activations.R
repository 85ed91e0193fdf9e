# Reference formulas written directly from Keras's definitions
# (keras/src/activations/activations.py docstrings), in a different form from
# the package's code where possible.
erf <- function(z) 2 * stats::pnorm(z * sqrt(2)) - 1
relu6_ref <- function(x) ifelse(x < 0, 0, ifelse(x > 6, 6, x))
selu_alpha_ref <- 1.67326324235437728481704299167
selu_scale_ref <- 1.05070098735548049341933498529
keras_reference <- list(
  linear = function(x) x,
  relu = function(x) (x + abs(x)) / 2,
  relu6 = relu6_ref,
  leaky_relu = function(x) ifelse(x >= 0, x, 0.2 * x),
  elu = function(x) ifelse(x > 0, x, exp(x) - 1),
  selu = function(x) ifelse(x > 0, selu_scale_ref * x, selu_scale_ref * selu_alpha_ref * (exp(x) - 1)),
  celu = function(x) ifelse(x >= 0, x, exp(x) - 1),
  softplus = function(x) log(exp(x) + 1),
  softsign = function(x) x / (abs(x) + 1),
  squareplus = function(x) (x + sqrt(x^2 + 4)) / 2,
  soft_shrink = function(x) sign(x) * pmax(abs(x) - 0.5, 0),
  sparse_plus = function(x) ifelse(x <= -1, 0, ifelse(x < 1, 0.25 * (x + 1)^2, x)),
  silu = function(x) x / (1 + exp(-x)),
  gelu = function(x) 0.5 * x * (1 + erf(x / sqrt(2))),
  tanh = function(x) (exp(x) - exp(-x)) / (exp(x) + exp(-x)),
  tanh_shrink = function(x) x - (exp(2 * x) - 1) / (exp(2 * x) + 1),
  hard_tanh = function(x) pmax(-1, pmin(1, x)),
  hard_shrink = function(x) x * (abs(x) > 0.5),
  sigmoid = function(x) exp(x) / (1 + exp(x)),
  sparse_sigmoid = function(x) pmin(1, pmax(0, (x + 1) / 2)),
  exponential = function(x) exp(x),
  hard_sigmoid = function(x) relu6_ref(x + 3) / 6,
  hard_silu = function(x) x * relu6_ref(x + 3) / 6,
  mish = function(x) x * tanh(log(1 + exp(x))),
  log_sigmoid = function(x) log(1 / (1 + exp(-x)))
)
elementwise_names <- names(keras_reference)
# Grid avoiding the kinks at 0, +-0.5, +-1, +-3 and 6.
grid <- seq(-7.3, 7.3, length.out = 60)
kinks <- c(0, -0.5, 0.5, -1, 1, -3, 3, 6)

test_that("every Keras activation name resolves, aliases included", {
  keras_names <- c(elementwise_names, "softmax", "log_softmax", "sparsemax", "glu")
  for (name in keras_names) {
    act <- resolve_activation(name)
    expect_s3_class(act, "rgru_activation")
    expect_identical(act$name, name)
    expect_true(is.function(act$fn))
    expect_true(is.function(act$vjp))
  }
  expect_identical(resolve_activation("swish")$name, "silu")
  expect_identical(resolve_activation("hard_swish")$name, "hard_silu")
  expect_identical(resolve_activation(NULL)$name, "linear")
  act <- resolve_activation("tanh")
  expect_identical(resolve_activation(act), act)
})

test_that("elementwise activations match Keras's formulas", {
  for (name in elementwise_names) {
    act <- resolve_activation(name)
    expect_equal(act$fn(grid), keras_reference[[name]](grid), tolerance = 1e-12,
                 info = name)
  }
  # the piecewise pieces are hit exactly at their boundaries too
  edges <- c(-6, -3, -1, -0.5, 0, 0.5, 1, 3, 6)
  for (name in c("relu", "relu6", "hard_sigmoid", "hard_silu", "sparse_plus",
                 "sparse_sigmoid", "hard_tanh", "soft_shrink", "leaky_relu")) {
    expect_equal(resolve_activation(name)$fn(edges), keras_reference[[name]](edges),
                 tolerance = 1e-14, info = name)
  }
})

test_that("values and derivatives match PyTorch's autograd (float64)", {
  reference <- utils::read.csv(test_path("fixtures", "activations-torch.csv"))
  expect_gt(length(unique(reference$name)), 20)
  for (name in unique(reference$name)) {
    rows <- reference[reference$name == name, ]
    act <- resolve_activation(name)
    y <- act$fn(rows$x)
    expect_equal(y, rows$y, tolerance = 1e-12, info = name)
    # PyTorch's hardsigmoid backward multiplies by a single-precision 1/6.
    grad_tolerance <- if (name == "hard_sigmoid") 1e-7 else 1e-12
    expect_equal(act$grad(rows$x, y), rows$dydx, tolerance = grad_tolerance, info = name)
  }
})

test_that("derivatives match central finite differences", {
  x <- grid[vapply(grid, function(v) min(abs(v - kinks)) > 1e-3, TRUE)]
  h <- 1e-6
  for (name in elementwise_names) {
    act <- resolve_activation(name)
    numeric <- (act$fn(x + h) - act$fn(x - h)) / (2 * h)
    expect_equal(act$grad(x, act$fn(x)), numeric, tolerance = 1e-7, info = name)
    dy <- seq_along(x) / 10
    expect_equal(act$vjp(x, act$fn(x), dy), dy * numeric, tolerance = 1e-7, info = name)
  }
})

test_that("activations keep dimensions and propagate NaN like Keras", {
  x <- array(seq(-2, 2, length.out = 24), c(2, 3, 4))
  for (name in c(elementwise_names, "softmax", "log_softmax", "sparsemax")) {
    act <- resolve_activation(name)
    y <- act$fn(x)
    expect_identical(dim(y), dim(x), info = name)
  }
  expect_identical(dim(resolve_activation("glu")$fn(x)), c(2L, 3L, 2L))
  for (name in elementwise_names) {
    expect_true(is.nan(resolve_activation(name)$fn(NaN)) ||
                  name %in% c("hard_shrink", "soft_shrink", "sparse_plus", "sparse_sigmoid",
                              "relu", "relu6", "hard_tanh"),
                info = name)
  }
  expect_true(is.nan(resolve_activation("elu")$fn(NaN)))
  expect_true(is.nan(resolve_activation("hard_sigmoid")$fn(NaN)))
})

test_that("softmax, log_softmax, sparsemax and glu work along the last axis", {
  x <- matrix(c(1, 2, 3, -1, 0.5, 10), 2, byrow = TRUE)
  expected <- t(apply(x, 1, function(r) exp(r) / sum(exp(r))))
  expect_equal(activation_softmax(x), expected, tolerance = 1e-14)
  expect_equal(activation_log_softmax(x), log(expected), tolerance = 1e-14)
  expect_equal(activation_softmax(x, axis = 1), apply(x, 2, function(c) exp(c) / sum(exp(c))),
               tolerance = 1e-14)
  # overflow-safe
  expect_equal(activation_softmax(c(1000, 1000)), c(0.5, 0.5))
  # sparsemax: Euclidean projection onto the simplex
  expect_equal(activation_sparsemax(c(1, 0.5, -1)), c(0.75, 0.25, 0))
  expect_equal(activation_sparsemax(matrix(c(1, 0.5, -1, 3, 0, 0), 2, byrow = TRUE)),
               matrix(c(0.75, 0.25, 0, 1, 0, 0), 2, byrow = TRUE))
  g <- matrix(c(1, 2, 3, 4), 1)
  expect_equal(activation_glu(g), matrix(c(1 / (1 + exp(-3)), 2 / (1 + exp(-4))), 1))
  expect_error(activation_glu(matrix(1:3, 1)), class = "rgru_error_shape")
  expect_error(activation_softmax(x, axis = 3), class = "rgru_error_argument")
  expect_error(activation_softmax(x, axis = 0), class = "rgru_error_argument")
})

test_that("vector-Jacobian products of the axis functions match finite differences", {
  set.seed(1)
  x <- matrix(rnorm(12), 3)
  dy <- matrix(rnorm(12), 3)
  for (name in c("softmax", "log_softmax", "sparsemax", "glu")) {
    act <- resolve_activation(name)
    expect_null(act$grad)
    dy_used <- if (name == "glu") dy[, 1:2] else dy
    analytic <- act$vjp(x, act$fn(x), dy_used)
    numeric <- numeric_gradient(function(v) sum(dy_used * act$fn(v)), x)
    expect_equal(analytic, numeric, tolerance = 1e-7, info = name)
  }
})

test_that("activation_*() functions follow Keras's parameters", {
  x <- c(-10, -5, 0, 5, 10)
  # Keras's documented examples for relu
  expect_equal(activation_relu(x), c(0, 0, 0, 5, 10))
  expect_equal(activation_relu(x, negative_slope = 0.5), c(-5, -2.5, 0, 5, 10))
  expect_equal(activation_relu(x, max_value = 5), c(0, 0, 0, 5, 5))
  expect_equal(activation_relu(x, threshold = 5), c(0, 0, 0, 0, 10))
  expect_equal(activation_relu(x, negative_slope = 0.5, max_value = 6, threshold = 1),
               c(-5.5, -3, -0.5, 5, 6))
  expect_equal(activation_leaky_relu(x, 0.1), c(-1, -0.5, 0, 5, 10))
  expect_equal(activation_elu(-1, alpha = 2), 2 * (exp(-1) - 1))
  expect_equal(activation_celu(-1, alpha = 2), 2 * (exp(-0.5) - 1))
  expect_equal(activation_gelu(1, approximate = TRUE),
               0.5 * (1 + tanh(sqrt(2 / pi) * (1 + 0.044715))))
  expect_equal(activation_squareplus(1, b = 0), 1)
  expect_equal(activation_soft_shrink(c(-2, 0.5, 2), threshold = 1), c(-1, 0, 1))
  expect_equal(activation_hard_shrink(c(-2, 0.5, 2), threshold = 1), c(-2, 0, 2))
  expect_equal(activation_threshold(c(-2, 0.5, 2), threshold = 1, default_value = -9),
               c(-9, -9, 2))
  expect_identical(activation_linear(1:3), c(1, 2, 3))
  expect_identical(activation_swish(0.3), activation_silu(0.3))
  expect_identical(activation_hard_swish(0.3), activation_hard_silu(0.3))
  expect_error(activation_relu("a"), class = "rgru_error_type")
  expect_error(activation_elu(1, alpha = NA), class = "rgru_error_argument")
})

test_that("exported functions and base tanh/exp map to built-in names", {
  expect_identical(resolve_activation(activation_tanh)$name, "tanh")
  expect_identical(resolve_activation(activation_hard_sigmoid)$name, "hard_sigmoid")
  expect_identical(resolve_activation(activation_swish)$name, "silu")
  expect_identical(resolve_activation(tanh)$name, "tanh")
  expect_identical(resolve_activation(exp)$name, "exponential")
})

test_that("other R functions get a finite-difference derivative", {
  act <- resolve_activation(function(x) x^3 - sin(x))
  expect_null(act$name)
  x <- seq(-3, 3, by = 0.25)
  expect_equal(act$fn(x), x^3 - sin(x))
  expect_equal(act$grad(x, act$fn(x)), 3 * x^2 - cos(x), tolerance = 1e-11)
  tanh_like <- resolve_activation(function(x) tanh(x))
  expect_equal(tanh_like$grad(grid, tanh(grid)), 1 - tanh(grid)^2, tolerance = 1e-11)
  same_as_tanh <- resolve_activation(function(x) tanh(x))
  expect_identical(same_as_tanh$fn(grid), resolve_activation("tanh")$fn(grid))
})

test_that("unknown names and invalid specifications are rejected clearly", {
  activation <- "tanhh"
  expect_error(resolve_activation(activation), class = "rgru_error_unknown_name")
  expect_error(resolve_activation("threshold"), class = "rgru_error_unknown_name")
  expect_error(resolve_activation("Tanh"), class = "rgru_error_unknown_name")
  expect_error(resolve_activation(1), class = "rgru_error_argument")
  expect_error(resolve_activation(c("tanh", "relu")), class = "rgru_error_argument")
  expect_error(resolve_activation(NA_character_), class = "rgru_error_argument")
})

test_that("activations turn malformed specifications and inputs into rgru errors", {
  expect_only_rgru_errors(function(v) {
    act <- resolve_activation(v, "activation")
    if (is.null(act$name)) return(NULL)
    act$fn(c(-1, 0, 1))
  })
  expect_only_rgru_errors(function(v) activation_relu(v))
  expect_only_rgru_errors(function(v) activation_relu(1, max_value = v))
  expect_only_rgru_errors(function(v) activation_softmax(matrix(1:4, 2), axis = v))
})

test_that("failing or misbehaving R activation functions give rgru errors", {
  broken <- resolve_activation(function(x) stop("boom"))
  err <- expect_error(broken$fn(1:3), class = "rgru_error_activation")
  expect_identical(conditionMessage(err$parent), "boom")
  expect_error(resolve_activation(function(x) sum(x))$fn(1:3),
               class = "rgru_error_activation")
  reshaped <- resolve_activation(function(x) as.vector(x) * 2)$fn(matrix(1:4, 2))
  expect_identical(dim(reshaped), c(2L, 2L))
})

test_that("activation errors name the argument, the value and the valid names", {
  activation <- "tanhh"
  failing <- function(x) stop("boom")
  expect_snapshot(error = TRUE, {
    resolve_activation(activation)
    resolve_activation("threshold")
    resolve_activation(failing)$fn(1:3)
    resolve_activation(function(x) sum(x), "activation")$fn(1:3)
    activation_softmax(matrix(1:4, 2), axis = 3)
  })
})
