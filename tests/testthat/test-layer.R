# What every layer has: `$losses` (Keras's layer.losses, the penalties of the
# regularized trainable weights) and `$compute_mask(inputs, mask)`.

test_that("$losses lists the penalty of each regularized trainable weight, at its current value", {
  gru <- layer_gru(units = 2, kernel_regularizer = regularizer_l2(0.1),
                   bias_regularizer = regularizer_l1(0.01))
  expect_identical(gru$losses, list())
  invisible(gru(fixed_array(c(2, 3, 4))))
  w <- get_weights(gru)
  expect_equal(gru$losses, list(0.1 * sum(w[[1]]^2), 0.01 * sum(abs(w[[3]]))))
  w[[1]][] <- 1
  set_weights(gru, w)
  expect_equal(gru$losses[[1]], 0.1 * length(w[[1]]))
  dense <- layer_dense(units = 3, kernel_regularizer = regularizer_l1_l2(0.1, 0.2))
  invisible(dense(fixed_array(c(2, 2))))
  k <- get_weights(dense)[[1]]
  expect_equal(dense$losses, list(0.1 * sum(abs(k)) + 0.2 * sum(k^2)))
  # a model collects its layers'; frozen weights add none, as in Keras
  model <- keras_model_sequential(input_shape = c(3, 4)) |> gru() |> dense()
  expect_length(model$losses, 3L)
  dense$trainable <- FALSE
  expect_length(model$losses, 2L)
  expect_identical(layer_gru(units = 2)$losses, list())
})

test_that("$compute_mask() gives the mask each layer hands on", {
  x <- fixed_array(c(3, 4, 2))
  x[2, 3:4, ] <- 0
  kept <- rbind(rep(TRUE, 4), c(TRUE, TRUE, FALSE, FALSE), rep(TRUE, 4))
  expect_identical(layer_masking(mask_value = 0)$compute_mask(x), kept)
  mask <- matrix(c(TRUE, FALSE), 3, 4)
  expect_identical(layer_gru(units = 2, return_sequences = TRUE)$compute_mask(x, mask), mask)
  expect_null(layer_gru(units = 2)$compute_mask(x, mask))
  expect_identical(layer_gru(units = 2, return_state = TRUE, return_sequences = TRUE)$compute_mask(x, mask),
                   list(mask, NULL))
  expect_identical(layer_dense(units = 2)$compute_mask(x, mask), mask)
  expect_null(layer_dense(units = 2)$compute_mask(x))
  tokens <- matrix(c(1, 2, 0, 3, 0, 0), 2)
  embedding <- layer_embedding(input_dim = 4, output_dim = 2, mask_zero = TRUE)
  expect_identical(embedding$compute_mask(tokens), tokens != 0)
  # models: their last layer's mask, stateful layers left as they were
  model <- keras_model_sequential(input_shape = c(4, 2), input_batch_size = 3) |>
    layer_masking() |>
    layer_gru(units = 2, return_sequences = TRUE, stateful = TRUE)
  before <- model(x)
  expect_identical(model$compute_mask(x), kept)
  gru <- obj(model$layers[[2]])
  kept_states <- gru$states
  expect_identical(model$compute_mask(x), kept)
  expect_identical(gru$states, kept_states)
  expect_error(layer_gru(units = 2)$compute_mask(x, matrix(TRUE, 2, 2)), class = "rgru_error_mask")
})

# The Layer base class (R/layer.R): construction and its common keywords, weights,
# the protocol's defaults, the handle users hold, and composition.

# A minimal layer with one weight and an optional sublayer: y = x * w.
ScaleLayer <- R6::R6Class(
  "TestScaleLayer",
  inherit = Layer,
  cloneable = FALSE,
  public = list(
    class_name = "Scale",
    inner = NULL,
    calls = 0L,
    initialize = function(inner = NULL, ...) {
      super$initialize(..., default_name = "scale")
      self$inner <- inner
    },
    build = function(input_shape) {
      self$add_weight("w", input_shape[length(input_shape)], "ones")
    },
    sublayers = function() if (is.null(self$inner)) list() else list(self$inner),
    forward_impl = function(inputs, mask, training, initial_state) {
      self$calls <- self$calls + 1L
      w <- self$variables[[1]]$value
      list(outputs = sweep(inputs, 2L, w, "*"), mask = mask, tape = inputs)
    }
  )
)

test_that("a layer gets a unique default name, a dtype and a trainable flag", {
  a <- Layer$new(default_name = "test_layer_name")
  b <- Layer$new(default_name = "test_layer_name")
  expect_identical(a$name, "test_layer_name")
  expect_identical(b$name, "test_layer_name_1")
  expect_identical(Layer$new(name = "given")$name, "given")
  expect_identical(a$dtype, "float32")
  expect_identical(Layer$new(dtype = "float64")$dtype, "float64")
  expect_true(a$trainable)
  expect_false(a$built)
  expect_error(Layer$new(name = 1), class = "rgru_error_argument")
  expect_error(Layer$new(dtype = "float16"), class = "rgru_error_argument")
  expect_error(Layer$new(trainable = NA), class = "rgru_error_argument")
})

test_that("input_shape, batch_size and batch_input_shape declare the input", {
  expect_identical(Layer$new(input_shape = c(10, 8))$declared_input_shape, c(NA, 10L, 8L))
  expect_identical(Layer$new(input_shape = c(10, 8), batch_size = 4)$declared_input_shape,
                   c(4L, 10L, 8L))
  expect_identical(Layer$new(batch_input_shape = c(2, NA, 3))$declared_input_shape,
                   c(2L, NA, 3L))
  expect_identical(Layer$new(input_shape = list(NULL, 3))$declared_input_shape, c(NA, NA, 3L))
  expect_identical(Layer$new(input_shape = c(5, 3))$input_shape, c(NA, 5L, 3L))
})

test_that("bad common keywords are classed errors naming the argument", {
  for (bad in list("a", -Inf, Inf, list(), 0, 1.5, c(1, 2), NA)) {
    err <- expect_error(Layer$new(batch_size = bad), class = "rgru_error_argument")
    expect_match(conditionMessage(err), "batch_size")
    expect_error(Layer$new(input_shape = 3, batch_size = bad), class = "rgru_error_argument")
  }
  for (bad in list(NaN, c(3, NaN), 0, -1, 2.5, "a", list("a"), Inf)) {
    err <- expect_error(Layer$new(input_shape = bad), class = "rgru_error_shape")
    expect_match(conditionMessage(err), "input_shape")
  }
  expect_error(Layer$new(batch_input_shape = c(NaN, 3)), class = "rgru_error_shape")
  expect_error(layer_common_args(list(1), "layer_x"), class = "rgru_error_argument")
  expect_error(layer_common_args(list(units = 1), "layer_x"), class = "rgru_error_argument")
  expect_identical(layer_common_args(list(name = "n"), "layer_x"), list(name = "n"))
})

test_that("build on first use creates the weights; the protocol's defaults", {
  layer <- ScaleLayer$new()
  x <- matrix(1:6, 2)
  res <- layer$forward(x)
  expect_true(layer$built)
  expect_identical(layer$built_input_shape, c(NA, 3L))
  expect_equal(res$outputs, x)
  expect_length(layer$weights, 1)
  expect_identical(layer$weights[[1]]$path, paste0(layer$name, "/w"))
  expect_identical(layer$count_params(), 3)
  expect_identical(layer$compute_output_shape(c(NA, 3L)), c(NA, 3L))
  expect_false(layer$compute_output_mask(TRUE))
  base <- Layer$new()
  expect_identical(base$backward(NULL, 1:3), list(d_inputs = 1:3, grads = list()))
  expect_identical(base$get_config()$name, base$name)
})

test_that("weights follow the layer tree as it grows, and the trainable flag", {
  inner <- ScaleLayer$new()
  outer <- ScaleLayer$new(inner = inner)
  expect_length(outer$weights, 0)
  inner$forward(matrix(1, 1, 2))
  expect_length(outer$weights, 1)
  outer$forward(matrix(1, 1, 4))
  expect_identical(vapply(outer$weights, function(v) length(v$value), 1), c(4, 2))
  expect_identical(outer$weights, outer$weights)
  outer$trainable <- FALSE
  expect_length(outer$trainable_weights, 0)
  expect_length(outer$non_trainable_weights, 2)
  expect_false(inner$trainable)
  expect_error(outer$trainable <- "no", class = "rgru_error_argument")
  # trainable_weights is cached: a variable's own flag changes it too.
  outer$trainable <- TRUE
  expect_length(outer$trainable_weights, 2)
  second <- outer$weights[[2]]
  second$trainable <- FALSE
  expect_identical(outer$trainable_weights, outer$weights[1])
  second$trainable <- TRUE
  expect_identical(outer$trainable_weights, outer$weights)
})

test_that("a model's weights follow its layers as they are added and removed", {
  model <- keras_model_sequential(input_shape = c(3, 2))
  expect_length(model$weights, 0)
  model |> layer_dense(2)
  expect_length(model$weights, 2)
  model |> layer_dense(1)
  expect_length(model$weights, 4)
  layer_object(model)$pop()
  expect_length(model$weights, 2)
})

test_that("set_weights() checks each weight's shape, with classed errors", {
  layer <- ScaleLayer$new()
  layer$forward(matrix(1, 1, 2))
  layer$set_weights(list(c(2, 3)))
  expect_equal(as.vector(layer$get_weights()[[1]]), c(2, 3))
  expect_error(layer$set_weights(list()), class = "rgru_error_weights")
  expect_error(layer$set_weights(list(c(1, 2, 3))), class = "rgru_error_weights")
  expect_error(layer$set_weights(list("a")), class = "rgru_error_weights")
})

test_that("the handle composes, reads and writes the layer, and calls it", {
  layer <- ScaleLayer$new()
  h <- layer$handle
  expect_s3_class(h, "rgru_layer")
  expect_identical(layer_object(h), layer)
  expect_identical(h$name, layer$name)
  expect_identical(h[["name"]], layer$name)
  expect_equal(h(matrix(1, 2, 2)), matrix(1, 2, 2))
  expect_identical(create_layer(layer, NULL), h)
  expect_true("name" %in% utils::.DollarNames(h, ""))
  expect_false("fast_call" %in% utils::.DollarNames(h, ""))
  expect_output(print(h), "<Scale name=scale(_[0-9]+)?, built=True>")
  expect_match(format(h), "<Scale name=scale(_[0-9]+)?>")
  expect_error(h(), class = "rgru_error_input")
  expect_error(h(NULL), class = "rgru_error_input")
  expect_error(h(matrix(1, 2, 2), foo = 3), class = "rgru_error_argument")
  expect_error(h(matrix(1, 2, 2), training = "yes"), class = "rgru_error_argument")
  expect_error(h(list("a")), class = "rgru_error_input")
  expect_error(h(numeric()), class = "rgru_error_shape")
})

test_that("a layer's fast_call answers plain calls and hands the rest to the general path", {
  layer <- ScaleLayer$new()
  h <- layer$handle
  invisible(h(matrix(1, 2, 2)))
  layer$fast_call <- function(x) if (is.matrix(x) && nrow(x) == 1L) "fast"
  expect_identical(h(matrix(1, 1, 2)), "fast")
  before <- layer$calls
  expect_equal(h(matrix(2, 3, 2)), matrix(2, 3, 2))
  expect_identical(layer$calls, before + 1L)
  # arguments besides the inputs always take the general path
  expect_equal(h(matrix(1, 1, 2), training = FALSE), matrix(1, 1, 2))
})

test_that("setting a field through the handle tells the layer", {
  layer <- ScaleLayer$new()
  layer$fast_call <- function(x) "fast"
  h <- layer$handle
  h$name <- "renamed"
  expect_identical(layer$name, "renamed")
  # the default settings_changed() keeps everything; a GRU layer drops its plan
  expect_identical(h(matrix(1)), "fast")
  gru <- layer_gru(units = 2)
  x <- array(1, c(1, 2, 3))
  expect_identical(dim(gru(x)), c(1L, 2L))
  expect_false(is.null(gru$fast_call))
  gru$return_sequences <- TRUE
  expect_null(gru$fast_call)
  expect_identical(dim(gru(x)), c(1L, 2L, 2L))
  # a setting of the cell, set through the layer's handle, drops the plan too
  invisible(gru(x))
  expect_false(is.null(gru$fast_call))
  gru$cell$activation <- resolve_activation("relu")
  expect_null(gru$fast_call)
  relu <- layer_gru(units = 2, activation = "relu", return_sequences = TRUE)
  invisible(relu(x))
  set_weights(relu, get_weights(gru))
  expect_equal(gru(x), relu(x))
  # before, they can (wrappers set up the layers they make so)
  fresh <- layer_object(layer_gru(units = 2, return_sequences = TRUE))
  fresh$go_backwards <- TRUE
  fresh$cell$activation <- resolve_activation("relu")
  reference <- layer_rnn(cell = rnn_cell_gru(2, activation = "relu"), go_backwards = TRUE,
                         return_sequences = TRUE)
  invisible(reference(x))
  invisible(fresh$handle(x))
  set_weights(reference, get_weights(fresh$handle))
  expect_equal(fresh$handle(x), reference(x), tolerance = 1e-6)
})

test_that("inputs are coerced to double arrays and initial states to matrices", {
  expect_identical(as_input_array(1:3, "x"), array(c(1, 2, 3), c(3L, 1L)))
  expect_identical(storage.mode(as_input_array(matrix(TRUE, 2, 2), "x")), "double")
  expect_equal(as_input_array(data.frame(a = 1:2, b = 3:4), "x"),
               matrix(c(1, 2, 3, 4), 2, dimnames = list(NULL, c("a", "b"))))
  expect_error(as_input_array("a", "x"), class = "rgru_error_input")
  expect_error(as_input_array(factor("a"), "x"), class = "rgru_error_input")
  expect_error(as_input_array(matrix(0, 0, 2), "x"), class = "rgru_error_shape")
  expect_length(coerce_initial_state(matrix(0, 2, 3)), 1)
  expect_error(coerce_initial_state(array(0, c(1, 2, 3))), class = "rgru_error_shape")
})

test_that("shapes: arg_shape() and format_tuple()", {
  expect_identical(arg_shape(c(3, NA), "s"), c(3L, NA))
  expect_identical(arg_shape(NA, "s"), NA_integer_)
  expect_error(arg_shape(numeric(), "s"), class = "rgru_error_shape")
  expect_identical(format_tuple(c(NA, 3L)), "(None, 3)")
  expect_identical(format_tuple(4L), "(4,)")
  expect_identical(batch_shape_of(array(0, c(2, 3))), c(NA, 3L))
})

test_that("every write to a weight bumps its version; reads and other fields do not", {
  gru <- layer_gru(units = 2)
  gru(array(0, c(1, 2, 3)))
  v <- gru$weights[[1]]
  before <- v$version
  expect_true(is.double(before) && before > 0)
  invisible(v$value)
  v$trainable <- TRUE
  expect_identical(v$version, before)
  v$value <- v$value + 1
  after <- v$version
  expect_gt(after, before)
  v[["value"]] <- v$value
  expect_gt(v$version, after)
  # Versions are unique across variables: a layer's tuple names its weights' contents.
  versions <- vapply(gru$weights, function(w) w$version, numeric(1))
  expect_false(anyDuplicated(versions) > 0)
})

test_that("set_weights(), an optimizer step and fit() bump the versions the cuDNN key reads", {
  set.seed(1)
  gru <- layer_gru(units = 2)
  model <- keras_model_sequential(input_shape = c(3, 4)) |> gru() |> layer_dense(1)
  layer <- layer_object(gru)
  plan <- layer$engine_plan()
  key <- function() weights_version(plan$kernel, plan$recurrent_kernel, plan$bias)
  k0 <- key()
  expect_length(k0, 3)
  predict(model, array(1, c(2, 3, 4)), verbose = 0)
  expect_identical(key(), k0)  # inference writes nothing
  set_weights(model, get_weights(model))
  k1 <- key()
  expect_true(all(k1 > k0))
  compile(model, optimizer = "sgd", loss = "mse")
  fit(model, array(stats::rnorm(24), c(2, 3, 4)), matrix(1, 2, 1), epochs = 1, verbose = 0)
  expect_true(all(key() > k1))
  # A layer without a bias has no cuDNN key (cuDNN needs the bias).
  expect_null(weights_version(plan$kernel, plan$recurrent_kernel, NULL))
})

test_that("weight versions keep increasing when the namespace is reloaded", {
  skip_on_cran()
  # unloadNamespace() keeps the compiled library (and the cuDNN backend's cache of device
  # weights) loaded; a reloaded namespace must not reuse versions that cache has seen.
  out <- tempfile(fileext = ".rds")
  script <- tempfile(fileext = ".R")
  writeLines(c(
    "v1 <- rgru:::next_variable_version()",
    "unloadNamespace('rgru')",
    "v2 <- rgru:::next_variable_version()",
    sprintf("saveRDS(c(v1, v2), %s)", deparse(out))
  ), script)
  status <- system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", script),
                    env = paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)),
                    stdout = FALSE, stderr = FALSE)
  expect_identical(status, 0L)
  v <- readRDS(out)
  expect_gt(v[2], v[1])
})
