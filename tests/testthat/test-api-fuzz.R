# Hundreds of malformed calls at the layer and model API: each must give a
# classed rgru error or a correct result, never another error or a crash.

outcome <- function(expr) {
  tryCatch({
    force(expr)
    "ok"
  }, rgru_error = function(e) "rgru_error", error = function(e) e, warning = function(w) w)
}

expect_rgru_outcome <- function(expr, what) {
  result <- outcome(expr)
  if (inherits(result, "condition")) {
    fail(paste0(what, ": unclassed ", class(result)[1], ": ", conditionMessage(result)))
  } else {
    succeed()
  }
  result
}

# `base` with the entries of `a` replacing or added to it (NULL values kept).
with_args <- function(base, a) {
  base[names(a)] <- a
  base
}

# A fixed random subset of the malformed values per argument keeps the test
# fast (every rgru error is formatted by cli) while covering all of them
# across arguments.
some_malformed <- function(n = 6) {
  values <- malformed_values()
  values[sample(length(values), n)]
}

describe_value_short <- function(v) paste(utils::capture.output(str(v, max.level = 1))[1], collapse = "")

test_that("every layer_gru() argument rejects malformed values with rgru errors", {
  withr::local_seed(1)
  args <- setdiff(names(formals(layer_gru)), c("object", "..."))
  x <- array(0.1, c(2, 3, 2))
  for (arg in args) {
    for (value in some_malformed()) {
      call_args <- list(units = 2)
      call_args[arg] <- list(value)
      res <- expect_rgru_outcome(do.call(layer_gru, call_args, quote = TRUE),
                                 paste("layer_gru", arg, "=", describe_value_short(value)))
      if (identical(res, "ok")) {
        # accepted values must give a working layer
        layer <- do.call(layer_gru, call_args, quote = TRUE)
        expect_rgru_outcome(layer(x), paste("calling a layer_gru made with", arg, "=",
                                            describe_value_short(value)))
      }
    }
  }
})

test_that("the other constructors reject malformed values with rgru errors", {
  withr::local_seed(2)
  makers <- list(
    rnn_cell_gru = function(a) do.call(rnn_cell_gru, with_args(list(units = 2), a), quote = TRUE),
    layer_dense = function(a) do.call(layer_dense, with_args(list(units = 2), a), quote = TRUE),
    layer_embedding = function(a) {
      do.call(layer_embedding, with_args(list(input_dim = 3, output_dim = 2), a), quote = TRUE)
    },
    layer_masking = function(a) do.call(layer_masking, a, quote = TRUE),
    layer_rnn = function(a) do.call(layer_rnn, with_args(list(cell = rnn_cell_gru(2)), a), quote = TRUE),
    keras_input = function(a) do.call(keras_input, with_args(list(shape = 3), a), quote = TRUE),
    keras_model_sequential = function(a) do.call(keras_model_sequential, a, quote = TRUE)
  )
  arg_names <- list(
    rnn_cell_gru = c("units", "dropout", "seed", "reset_after", "activation", "bias_initializer"),
    layer_dense = c("units", "activation", "use_bias", "kernel_initializer", "lora_rank", "name"),
    layer_embedding = c("input_dim", "output_dim", "mask_zero", "weights", "embeddings_initializer"),
    layer_masking = c("mask_value", "dtype", "trainable", "input_shape"),
    layer_rnn = c("cell", "return_sequences", "go_backwards", "stateful", "zero_output_for_mask"),
    keras_input = c("shape", "batch_size", "dtype", "name", "batch_shape", "sparse"),
    keras_model_sequential = c("input_shape", "name", "input_batch_size", "trainable")
  )
  for (maker in names(makers)) for (arg in arg_names[[maker]]) {
    for (value in some_malformed(4)) {
      a <- list()
      a[arg] <- list(value)
      expect_rgru_outcome(makers[[maker]](a), paste(maker, arg, "=", describe_value_short(value)))
    }
  }
})

test_that("calls with malformed inputs, masks, states and training flags give rgru errors", {
  gru <- layer_gru(units = 2, return_sequences = TRUE)
  invisible(gru(array(0, c(2, 3, 2))))
  dense <- layer_dense(units = 2)
  invisible(dense(matrix(0, 2, 2)))
  model <- keras_model_sequential(input_shape = c(3, 2)) |> layer_gru(2)
  good <- array(0.5, c(2, 3, 2))
  withr::local_seed(3)
  for (value in some_malformed(16)) {
    label <- describe_value_short(value)
    expect_rgru_outcome(gru(value), paste("gru inputs", label))
    expect_rgru_outcome(gru(good, mask = value), paste("gru mask", label))
    expect_rgru_outcome(gru(good, initial_state = value), paste("gru initial_state", label))
    expect_rgru_outcome(gru(good, training = value), paste("gru training", label))
    expect_rgru_outcome(dense(value), paste("dense inputs", label))
    expect_rgru_outcome(model(value), paste("model inputs", label))
    expect_rgru_outcome(predict(model, value), paste("predict x", label))
    expect_rgru_outcome(predict(model, good, batch_size = value), paste("predict batch_size", label))
    expect_rgru_outcome(set_weights(model, value), paste("set_weights", label))
    expect_rgru_outcome(get_weights(value), paste("get_weights", label))
  }
})

test_that("random shapes either compute correctly or fail with rgru errors", {
  withr::local_seed(20261124)
  for (i in 1:100) {
    units <- sample(1:4, 1)
    rank <- sample(1:4, 1)
    dims <- sample(0:4, rank, replace = TRUE)
    x <- array(stats::rnorm(prod(dims)), dims)
    if (runif(1) < 0.1) x[sample(length(x), min(1, length(x)))] <- NA
    rs <- runif(1) < 0.5
    st <- runif(1) < 0.5
    gru <- layer_gru(units = units, return_sequences = rs, return_state = st)
    mask <- if (runif(1) < 0.3 && rank >= 2) matrix(runif(prod(dims[1:2])) < 0.7, dims[1], dims[2])
    res <- outcome(gru(x, mask = mask))
    if (identical(res, "ok")) {
      out <- gru(x, mask = mask)
      first <- if (st) out[[1]] else out
      want <- if (rs) c(dims[1:2], units) else c(dims[1], units)
      expect_equal(dim(first), want)
      expect_equal(rank, 3L)
    } else {
      expect_identical(res, "rgru_error", info = paste("dims", paste(dims, collapse = "x")))
    }
  }
})
