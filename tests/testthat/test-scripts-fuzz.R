# Every argument of the script-support functions, given malformed values, must
# give a result or a classed rgru error: never another error or a crash. A fixed
# random subset of the values per argument keeps the test fast (each rgru error
# is formatted by cli) while covering them all across arguments.

test_that("merge layers, pad_sequences() and friends reject malformed values with rgru errors", {
  withr::local_seed(16)
  a <- array(0.5, c(2, 3, 4))
  tensors <- list(keras_input(shape = c(3, 4)), keras_input(shape = c(3, 4)))
  expect_only_rgru_errors(function(v) layer_concatenate(a, v), n = 6)
  expect_only_rgru_errors(function(v) layer_concatenate(a, a, axis = v), n = 6)
  expect_only_rgru_errors(function(v) layer_concatenate(v), n = 6)
  expect_only_rgru_errors(function(v) layer_add(a, v), n = 6)
  expect_only_rgru_errors(function(v) layer_add(tensors[[1]], v), n = 6)
  expect_only_rgru_errors(function(v) layer_add(v, a, name = "x"), n = 6)
  expect_only_rgru_errors(function(v) layer_concatenate()(v), n = 6)
  expect_only_rgru_errors(function(v) pad_sequences(v), n = 6)
  expect_only_rgru_errors(function(v) pad_sequences(list(v)), n = 6)
  for (arg in c("maxlen", "dtype", "padding", "truncating", "value")) {
    expect_only_rgru_errors(n = 6, function(v) {
      do.call(pad_sequences, stats::setNames(list(list(1:3), v), c("sequences", arg)))
    })
  }
  for (arg in c("shape", "minval", "maxval", "dtype", "seed")) {
    base <- list(shape = 3, minval = 0, maxval = 5)
    expect_only_rgru_errors(n = 6, function(v) {
      args <- base
      args[arg] <- list(v)
      do.call(random_integer, args)
    })
  }
  expect_only_rgru_errors(function(v) set_random_seed(v), n = 6)
  expect_only_rgru_errors(function(v) reset_state(v), n = 6)
  expect_only_rgru_errors(function(v) array_reshape(1:6, v), n = 6)
  expect_only_rgru_errors(function(v) keras_input(shape = 3, dtype = v), n = 6)
  expect_only_rgru_errors(function(v) keras_model_sequential(input_shape = 3, input_dtype = v), n = 6)
  model <- keras_model(tensors, layer_add(tensors))
  for (arg in c("rankdir", "to_file")) {
    expect_only_rgru_errors(n = 6, function(v) {
      grDevices::pdf(NULL)
      on.exit(grDevices::dev.off())
      args <- list(model)
      args[arg] <- list(v)
      do.call(plot, args)
    })
  }
})
