test_that("random_uniform() and random_normal() return arrays of the requested shape", {
  x <- random_uniform(c(3, 4))
  expect_identical(dim(x), c(3L, 4L))
  expect_identical(dim(random_normal(shape(2, 3, 4))), c(2L, 3L, 4L))
  expect_identical(dim(random_uniform(5)), 5L)
  expect_length(random_normal(shape()), 1)
  expect_identical(dim(random_normal(c(0, 3))), c(0L, 3L))
})

test_that("values follow the distributions and bounds", {
  u <- random_uniform(20000, minval = -2, maxval = 3, dtype = "float64", seed = 1)
  expect_true(all(u >= -2 & u < 3))
  expect_equal(mean(u), 0.5, tolerance = 0.05)
  expect_equal(var(u), 25 / 12, tolerance = 0.05)
  n <- random_normal(20000, mean = 1, stddev = 2, seed = 2)
  expect_equal(mean(n), 1, tolerance = 0.05)
  expect_equal(sd(n), 2, tolerance = 0.03)
  t <- random_truncated_normal(20000, mean = 1, stddev = 2, seed = 3)
  expect_true(all(abs(t - 1) <= 4))
  # sd of a normal truncated at two standard deviations
  expect_equal(sd(t), 2 * 0.87962566103423978, tolerance = 0.03)
})

test_that("a seed gives the same values and leaves the global stream untouched", {
  set.seed(10)
  before <- .Random.seed
  a <- random_uniform(c(2, 3), seed = 42)
  expect_identical(.Random.seed, before)
  expect_identical(a, random_uniform(c(2, 3), seed = 42))
  expect_false(identical(a, random_uniform(c(2, 3), seed = 43)))
  expect_identical(random_normal(4, seed = 1), random_normal(4, seed = 1))
  # independent of the user's generator settings
  old <- RNGkind("L'Ecuyer-CMRG")
  on.exit(RNGkind(old[1], old[2], old[3]), add = TRUE)
  expect_identical(random_normal(4, seed = 1, dtype = "float64"),
                   random_normal(4, seed = 1, dtype = "float64"))
  b <- random_normal(4, seed = 1)
  RNGkind(old[1], old[2], old[3])
  expect_identical(b, random_normal(4, seed = 1))
})

test_that("a seeded draw does not create .Random.seed when there was none", {
  had <- exists(".Random.seed", globalenv())
  if (had) saved <- get(".Random.seed", globalenv())
  rm(list = intersect(".Random.seed", ls(globalenv(), all.names = TRUE)), envir = globalenv())
  random_uniform(3, seed = 1)
  expect_false(exists(".Random.seed", globalenv()))
  if (had) assign(".Random.seed", saved, globalenv())
})

test_that("without a seed, set.seed() makes draws reproducible", {
  set.seed(5)
  a <- random_normal(c(2, 2))
  set.seed(5)
  expect_identical(random_normal(c(2, 2)), a)
})

test_that("float32 values are single-precision representable, float64 are not rounded", {
  x <- random_uniform(100, seed = 1)
  expect_identical(round_to_dtype(x, "float32"), x)
  y <- random_uniform(100, seed = 1, dtype = "float64")
  expect_false(identical(round_to_dtype(y, "float32"), y))
  expect_equal(x, y, tolerance = 1e-7)
})

test_that("bad arguments are rejected", {
  expect_error(random_uniform(shape(NA, 2)), class = "rgru_error_shape")
  expect_error(random_uniform(), class = "rgru_error_shape")
  expect_error(random_uniform(2, minval = 1, maxval = 1), class = "rgru_error_argument")
  expect_error(random_normal(2, stddev = -1), class = "rgru_error_argument")
  expect_error(random_normal(2, seed = 1.5), class = "rgru_error_argument")
  expect_error(random_normal(2, seed = "a"), class = "rgru_error_argument")
  expect_error(random_normal(2, dtype = "int32"), class = "rgru_error_argument")
  expect_error(random_uniform("a"), class = "rgru_error_shape")
})

test_that("random functions turn malformed arguments into rgru errors", {
  small <- function(v) if (is.numeric(v) && length(v) && all(abs(v[is.finite(v)]) > 1e6)) 3 else v
  expect_only_rgru_errors(function(v) random_uniform(small(v)))
  expect_only_rgru_errors(function(v) random_uniform(3, minval = v))
  expect_only_rgru_errors(function(v) random_normal(3, stddev = v))
  expect_only_rgru_errors(function(v) random_normal(3, seed = v))
  expect_only_rgru_errors(function(v) random_truncated_normal(3, dtype = v))
})

test_that("random_integer() draws whole numbers in [minval, maxval) with keras3's signature", {
  expect_identical(names(formals(random_integer)), c("shape", "minval", "maxval", "dtype", "seed"))
  x <- random_integer(c(50, 40), minval = -3, maxval = 4)
  expect_type(x, "integer")
  expect_identical(dim(x), c(50L, 40L))
  expect_setequal(unique(as.vector(x)), -3:3)
  expect_identical(random_integer(5, 0, 10, seed = 7), random_integer(5, 0, 10, seed = 7))
  set.seed(1)
  a <- random_integer(5, 0, 100)
  set.seed(1)
  expect_identical(random_integer(5, 0, 100), a)
  expect_true(all(random_integer(100, 0, 2.5) %in% 0:2))   # maxval rounded up, as keras3
  big <- random_integer(3, 0, 10, dtype = "int64")
  expect_type(big, "double")
  expect_error(random_integer(3, 5, 5), class = "rgru_error_argument")
  expect_error(random_integer(3, 0, 5, dtype = "float32"), class = "rgru_error_argument")
  expect_error(random_integer(3, 0.5, 5), class = "rgru_error_argument")
  expect_error(random_integer(3, 0), class = "rgru_error_argument")
  expect_error(random_integer(c(NA, 3), 0, 5), class = "rgru_error_shape")
})

test_that("set_random_seed() makes a script reproducible end to end", {
  run <- function() {
    set_random_seed(123)
    x <- random_normal(c(24, 5, 2))
    y <- random_uniform(c(24, 1))
    model <- keras_model_sequential(input_shape = c(5, 2)) |>
      layer_gru(4, dropout = 0.2, recurrent_dropout = 0.1) |>
      layer_dense(1)
    model |> compile(optimizer = "adam", loss = "mse")
    history <- model |> fit(x, y, epochs = 2, batch_size = 8, verbose = 0)
    list(weights = get_weights(model), loss = history$metrics$loss,
         ints = random_integer(3, 0, 100))
  }
  first <- run()
  expect_identical(run(), first)
  set_random_seed(124)
  expect_false(identical(random_normal(3), {set_random_seed(123); random_normal(3)}))
  expect_null(set_random_seed(1))
  expect_error(set_random_seed(1.5), class = "rgru_error_argument")
  expect_error(set_random_seed("a"), class = "rgru_error_argument")
})
