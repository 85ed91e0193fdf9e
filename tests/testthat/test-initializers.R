all_initializer_names <- c(
  "constant", "identity", "ones", "zeros", "glorot_normal", "glorot_uniform",
  "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal",
  "random_normal", "random_uniform", "truncated_normal", "variance_scaling"
)

test_that("every Keras initializer name and class name resolves", {
  for (name in all_initializer_names) {
    init <- resolve_initializer(name)
    expect_s3_class(init, "rgru_initializer")
    expect_identical(init$name, name)
    by_class <- resolve_initializer(init$class_name)
    expect_identical(by_class$class_name, init$class_name)
    shape <- if (name == "identity") c(3L, 3L) else c(4L, 3L)
    values <- init$generate(shape)
    expect_identical(dim(values), shape)
    expect_true(all(is.finite(values)))
  }
  aliases <- c(normal = "RandomNormal", uniform = "RandomUniform", one = "Ones",
               zero = "Zeros", IdentityInitializer = "Identity",
               OrthogonalInitializer = "Orthogonal")
  for (alias in names(aliases)) {
    expect_identical(resolve_initializer(alias)$class_name, aliases[[alias]])
  }
})

test_that("unknown names and bad specifications give clear errors", {
  kernel_initializer <- "glorot"
  expect_error(resolve_initializer(kernel_initializer), class = "rgru_error_unknown_name")
  expect_error(resolve_initializer("Glorot_Uniform"), class = "rgru_error_unknown_name")
  expect_error(resolve_initializer(list(1, 2)), class = "rgru_error_argument")
  expect_error(resolve_initializer(regularizer_l2()), class = "rgru_error_argument")
  expect_null(resolve_initializer(NULL))
})

test_that("constant initializers", {
  expect_identical(initializer_zeros()(c(2, 3)), array(0, c(2, 3)))
  expect_identical(initializer_ones()(c(2, 3)), array(1, c(2, 3)))
  expect_identical(initializer_constant(0.25)(5), array(0.25, 5))
  expect_equal(initializer_constant(0.1)(2, "float64"), array(0.1, 2))
  expect_false(identical(initializer_constant(0.1)(2), array(0.1, 2)))
  m <- matrix(1:6, 2)
  expect_identical(initializer_constant(m)(c(2, 3)), m + 0)
  expect_error(initializer_constant(m)(c(3, 2)), class = "rgru_error_shape")
  expect_identical(initializer_constant(3)$get_config(), list(value = 3))
  expect_identical(resolve_initializer(m)(c(2, 3)), m + 0)
})

test_that("identity initializer puts gain on the main diagonal", {
  expect_identical(initializer_identity()(c(3, 3)), diag(3))
  expect_identical(initializer_identity(gain = 2)(c(2, 3)),
                   matrix(c(2, 0, 0, 2, 0, 0), 2))
  expect_error(initializer_identity()(c(2, 2, 2)), class = "rgru_error_shape")
})

test_that("Keras's fan computation", {
  expect_identical(compute_fans(integer()), c(1, 1))
  expect_identical(compute_fans(7L), c(7L, 7L))
  expect_identical(compute_fans(c(3L, 5L)), c(3, 5))
  # convolution kernel (kernel_size, kernel_size, in, out)
  expect_identical(compute_fans(c(3L, 2L, 4L, 6L)), c(4 * 6, 6 * 6))
})

test_that("uniform variance scaling uses limit sqrt(3 * scale / n)", {
  cases <- list(
    list(initializer_glorot_uniform(seed = 1), sqrt(6 / (40 + 60))),
    list(initializer_he_uniform(seed = 1), sqrt(6 / 40)),
    list(initializer_lecun_uniform(seed = 1), sqrt(3 / 40)),
    list(initializer_variance_scaling(3, "fan_out", "uniform", seed = 1), sqrt(9 / 60))
  )
  for (case in cases) {
    w <- case[[1]](c(40, 60), dtype = "float64")
    limit <- case[[2]]
    expect_true(all(abs(w) <= limit))
    # the largest draw out of 2400 is within 0.5% of the limit
    expect_gt(max(abs(w)), 0.995 * limit)
    expect_equal(var(as.vector(w)), limit^2 / 3, tolerance = 0.08)
  }
})

test_that("normal variance scaling: truncated at 2 sd with Keras's stddev correction", {
  n_in <- 200
  w <- initializer_he_normal(seed = 3)(c(n_in, 100), dtype = "float64")
  target_sd <- sqrt(2 / n_in)
  corrected <- target_sd / 0.87962566103423978
  expect_true(all(abs(w) <= 2 * corrected))
  expect_equal(sd(as.vector(w)), target_sd, tolerance = 0.03)
  g <- initializer_glorot_normal(seed = 4)(c(100, 300), dtype = "float64")
  expect_equal(sd(as.vector(g)), sqrt(2 / 400), tolerance = 0.03)
  l <- initializer_lecun_normal(seed = 5)(c(50, 400), dtype = "float64")
  expect_equal(sd(as.vector(l)), sqrt(1 / 50), tolerance = 0.03)
  u <- initializer_variance_scaling(2, "fan_avg", "untruncated_normal", seed = 6)(
    c(100, 300), dtype = "float64")
  expect_equal(sd(as.vector(u)), sqrt(2 / 200), tolerance = 0.03)
  expect_gt(max(abs(u)), 2 * sqrt(2 / 200))
})

test_that("variance scaling validates like Keras and maps 'normal' to truncated", {
  expect_identical(initializer_variance_scaling(distribution = "Normal")$get_config()$distribution,
                   "truncated_normal")
  expect_error(initializer_variance_scaling(scale = 0), class = "rgru_error_argument")
  expect_error(initializer_variance_scaling(mode = "fan"), class = "rgru_error_argument")
  expect_error(initializer_variance_scaling(distribution = "cauchy"),
               class = "rgru_error_argument")
  expect_identical(
    names(initializer_variance_scaling()$get_config()),
    c("seed", "scale", "mode", "distribution")
  )
})

test_that("random_uniform/normal/truncated_normal initializers use Keras's defaults", {
  w <- initializer_random_uniform(seed = 1)(c(100, 100), "float64")
  expect_true(all(w >= -0.05 & w < 0.05))
  n <- initializer_random_normal(seed = 1)(c(100, 100), "float64")
  expect_equal(sd(as.vector(n)), 0.05, tolerance = 0.03)
  t <- initializer_truncated_normal(mean = 1, stddev = 0.5, seed = 1)(c(100, 100), "float64")
  expect_true(all(abs(t - 1) <= 1))
  expect_identical(initializer_random_normal(mean = 1, stddev = 2)$get_config(),
                   list(seed = NULL, mean = 1, stddev = 2))
})

test_that("orthogonal: orthonormal columns (or rows), positive R diagonal, gain", {
  q <- initializer_orthogonal(seed = 1)(c(6, 4), "float64")
  expect_equal(crossprod(q), diag(4), tolerance = 1e-12)
  wide <- initializer_orthogonal(seed = 1)(c(4, 6), "float64")
  expect_equal(tcrossprod(wide), diag(4), tolerance = 1e-12)
  square <- initializer_orthogonal(gain = 2, seed = 2)(c(5, 5), "float64")
  expect_equal(crossprod(square), 4 * diag(5), tolerance = 1e-12)
  # Keras's sign correction: Q's columns have the signs that make diag(R) > 0
  # in a = QR, i.e. each column of q has a positive dot product with the
  # matching column of the Gaussian draw.
  a <- random_normal(c(6, 4), dtype = "float64", seed = 1)
  expect_true(all(diag(crossprod(q, a)) > 0))
  # higher ranks: a (prod(leading axes), last axis) matrix
  k <- initializer_orthogonal(seed = 3)(c(2, 3, 4), "float64")
  expect_identical(dim(k), c(2L, 3L, 4L))
  expect_equal(crossprod(matrix(k, ncol = 4)), diag(4), tolerance = 1e-12)
  expect_error(initializer_orthogonal()(5), class = "rgru_error_shape")
  # float32 rounding keeps it orthogonal to single precision
  expect_equal(crossprod(initializer_orthogonal(seed = 1)(c(6, 4))), diag(4), tolerance = 1e-6)
})

test_that("initializers repeat their values, as Keras's; set.seed() controls unseeded ones", {
  for (name in c("glorot_uniform", "glorot_normal", "he_normal", "orthogonal",
                 "random_normal", "random_uniform", "truncated_normal")) {
    seeded <- resolve_initializer(list(class_name = name, config = list(seed = 7)))
    expect_identical(seeded(c(3, 4)), seeded(c(3, 4)))
    set.seed(1)
    first <- resolve_initializer(name)
    a <- first(c(3, 4))
    b <- resolve_initializer(name)(c(3, 4))
    expect_identical(first(c(3, 4)), a)
    expect_null(first$get_config()$seed)
    set.seed(1)
    expect_identical(resolve_initializer(name)(c(3, 4)), a)
    expect_false(identical(a, b))
  }
  set.seed(3)
  state <- .Random.seed
  initializer_glorot_uniform(seed = 1)(c(10, 10))
  expect_identical(.Random.seed, state)
})

test_that("initializers round to float32 unless asked for float64", {
  w <- initializer_glorot_uniform(seed = 1)(c(5, 5))
  expect_identical(round_to_dtype(w, "float32"), w)
  w64 <- initializer_glorot_uniform(seed = 1)(c(5, 5), "float64")
  expect_equal(w, w64, tolerance = 1e-7)
  expect_false(identical(w, w64))
})

test_that("R functions and configs work as initializers", {
  fn <- function(shape, dtype) array(seq_len(prod(shape)), shape)
  init <- resolve_initializer(fn)
  expect_identical(init(c(2, 2)), matrix(c(1, 2, 3, 4), 2))
  expect_null(init$class_name)
  bad <- resolve_initializer(function(shape, dtype) 1:3)
  expect_error(bad(c(2, 2)), class = "rgru_error_initializer")
  config <- serialize_keras_object(initializer_orthogonal(gain = 3, seed = 9))
  expect_identical(config, list(class_name = "Orthogonal",
                                config = list(seed = 9L, gain = 3)))
  expect_identical(resolve_initializer(config)(c(3, 3)),
                   initializer_orthogonal(gain = 3, seed = 9)(c(3, 3)))
  expect_error(serialize_keras_object(init), class = "rgru_error_serialize")
})

test_that("initializers print their configuration", {
  expect_snapshot({
    initializer_glorot_uniform()
    initializer_variance_scaling(scale = 2, mode = "fan_out", seed = 1)
    resolve_initializer(function(shape, dtype) 0)
  })
})

test_that("initializer arguments are validated", {
  expect_error(initializer_orthogonal(gain = "a"), class = "rgru_error_argument")
  expect_error(initializer_random_normal(stddev = -1), class = "rgru_error_argument")
  expect_error(initializer_glorot_uniform(seed = 0.5), class = "rgru_error_argument")
  expect_error(initializer_glorot_uniform()(shape(NA, 3)), class = "rgru_error_shape")
  expect_error(initializer_zeros()(c(2, 2), dtype = "int8"), class = "rgru_error_argument")
})

test_that("initializers turn malformed specifications and shapes into rgru errors", {
  small <- function(v) if (is.numeric(v) && length(v) && all(abs(v[is.finite(v)]) > 1e6)) 3 else v
  expect_only_rgru_errors(function(v) {
    init <- resolve_initializer(v, "kernel_initializer")
    if (!is.null(init)) init(c(2, 2))
  })
  expect_only_rgru_errors(function(v) initializer_glorot_uniform()(small(v)))
  expect_only_rgru_errors(function(v) initializer_orthogonal()(small(v)))
  expect_only_rgru_errors(function(v) initializer_variance_scaling(mode = v))
  expect_only_rgru_errors(function(v) initializer_orthogonal(gain = v, seed = 1))
  expect_only_rgru_errors(function(v) initializer_constant(v)(c(2, 2)))
})

test_that("a failing initializer function gives an rgru error naming its role", {
  init <- resolve_initializer(function(shape) array(0, shape))
  expect_error(init(c(2, 2)), class = "rgru_error_initializer")
})

test_that("unknown initializer names list the valid ones", {
  kernel_initializer <- "glorot"
  expect_snapshot(resolve_initializer(kernel_initializer), error = TRUE)
  kernel_initializer <- function(shape) array(0, shape)
  expect_snapshot(error = TRUE, {
    initializer_variance_scaling(mode = "fan")
    initializer_constant(1:3)(c(2, 2))
    resolve_initializer(kernel_initializer)(c(2, 2))
    resolve_initializer(function(shape, dtype) 1, "kernel_initializer")(c(2, 2))
    initializer_orthogonal()(3)
  })
})

test_that("STFT kernels compute windowed DFTs as Keras's STFT initializer", {
  frame <- 8
  bins <- frame / 2 + 1
  set.seed(1)
  x <- rnorm(frame)
  for (scaling in list("density", "spectrum", NULL)) {
    real <- initializer_stft("real", "hann", scaling, periodic = TRUE)(c(frame, 1, bins), "float64")
    imag <- initializer_stft("imag", "hann", scaling, periodic = TRUE)(c(frame, 1, bins), "float64")
    expect_identical(dim(real), c(8L, 1L, 5L))
    win <- 0.5 - 0.5 * cos(2 * pi * (0:(frame - 1)) / frame)
    scale <- switch(scaling %||% "none", density = sqrt(sum(win^2)),
                    spectrum = sum(abs(win)), none = 1)
    spectrum <- fft(x * win)[seq_len(bins)] / scale
    expect_equal(as.vector(x %*% real[, 1, ]), Re(spectrum), tolerance = 1e-12)
    expect_equal(as.vector(x %*% imag[, 1, ]), Im(spectrum), tolerance = 1e-12)
  }
  plain <- initializer_stft(window = NULL)(c(frame, 2, bins), "float64")
  expect_identical(plain[, 1, ], plain[, 2, ])
  expect_equal(as.vector(x %*% plain[, 1, ]), Re(fft(x)[seq_len(bins)]), tolerance = 1e-12)
  custom <- initializer_stft(window = rep(2, frame), scaling = NULL)(c(frame, 1, bins), "float64")
  expect_equal(custom, 2 * plain[, 1, , drop = FALSE])
  expect_identical(resolve_initializer("stft")$class_name, "STFT")
  expect_identical(resolve_initializer("STFTInitializer")$class_name, "STFT")
  expect_error(initializer_stft(window = "parzen"), class = "rgru_error_argument")
  expect_error(initializer_stft()(c(4, 4)), class = "rgru_error_shape")
  expect_error(initializer_stft(window = 1:3)(c(4, 1, 3)), class = "rgru_error_shape")
})

test_that("SciPy windows: symmetric and periodic forms", {
  expect_equal(scipy_window("hann", 5, FALSE), c(0, 0.5, 1, 0.5, 0))
  expect_equal(scipy_window("hann", 4, TRUE), c(0, 0.5, 1, 0.5))
  expect_equal(scipy_window("hamming", 3, FALSE), c(0.08, 1, 0.08))
  expect_equal(scipy_window("blackman", 3, FALSE), c(0, 1, 0), tolerance = 1e-15)
  expect_equal(scipy_window("bartlett", 5, FALSE), c(0, 0.5, 1, 0.5, 0))
  expect_equal(scipy_window("triang", 4, FALSE), c(0.25, 0.75, 0.75, 0.25))
  expect_equal(scipy_window("triang", 3, FALSE), c(0.5, 1, 0.5))
  expect_equal(scipy_window("cosine", 2, FALSE), sin(pi / 2 * c(0.5, 1.5)))
  expect_identical(scipy_window("boxcar", 3, TRUE), c(1, 1, 1))
  expect_identical(scipy_window("hann", 1, TRUE), 1)
  # flattop's coefficients sum to 1 at the centre
  expect_equal(scipy_window("flattop", 5, FALSE)[3], 1, tolerance = 1e-8)
})
