# Malformed arguments and calls at the wrappers' boundary (layer_bidirectional(),
# layer_time_distributed(), rnn_cells_stack()): a classed rgru error or a
# working layer, never another error. Each argument and call gets its own
# seeded sixth of the malformed values (every rgru error is formatted by cli,
# which takes time), as test-api-fuzz.R does.

# `f(value)` for a seeded sample of the malformed values: an rgru error or success.
expect_sampled_rgru_errors <- function(f, seed) {
  values <- malformed_values()
  for (value in values[withr::with_seed(seed, sample(length(values), length(values) %/% 6))]) {
    result <- tryCatch(f(value), rgru_error = function(e) NULL, error = function(e) e)
    expect_false(inherits(result, "error"),
                 label = paste("a non-rgru error for", paste(deparse(value), collapse = " ")))
  }
}

wrapper_makers <- list(
  layer_bidirectional = function(a) {
    do.call(layer_bidirectional, utils::modifyList(list(layer = layer_gru(units = 2)), a,
                                                   keep.null = TRUE), quote = TRUE)
  },
  layer_time_distributed = function(a) {
    do.call(layer_time_distributed, utils::modifyList(list(layer = layer_dense(units = 2)), a,
                                                      keep.null = TRUE), quote = TRUE)
  },
  rnn_cells_stack = function(a) {
    cells <- do.call(rnn_cells_stack, utils::modifyList(list(cells = list(rnn_cell_gru(2))), a,
                                                        keep.null = TRUE), quote = TRUE)
    layer_rnn(cell = cells)
  }
)
wrapper_args <- list(
  layer_bidirectional = c("layer", "merge_mode", "weights", "backward_layer", "name", "dtype",
                          "trainable", "input_shape"),
  layer_time_distributed = c("layer", "name", "dtype", "trainable", "batch_size"),
  rnn_cells_stack = c("cells", "name", "dtype", "trainable")
)

test_that("malformed wrapper arguments give rgru errors, accepted ones working layers", {
  x <- array(0.3, c(2, 3, 4))
  seed <- 0L
  for (maker in names(wrapper_makers)) {
    for (arg in wrapper_args[[maker]]) {
      seed <- seed + 1L
      expect_sampled_rgru_errors(seed = seed, function(value) {
        a <- list()
        a[arg] <- list(value)
        layer <- wrapper_makers[[maker]](a)
        layer(x)
      })
    }
  }
})

test_that("malformed inputs, masks, states and training flags give rgru errors", {
  x <- array(0.3, c(2, 3, 4))
  layers <- list(
    layer_bidirectional(layer = layer_gru(units = 2, return_state = TRUE)),
    layer_time_distributed(layer = layer_dense(units = 2)),
    layer_rnn(cell = list(rnn_cell_gru(3), rnn_cell_gru(2)))
  )
  for (i in seq_along(layers)) {
    layer <- layers[[i]]
    invisible(layer(x))
    expect_sampled_rgru_errors(seed = 10 * i + 1, function(value) layer(value))
    expect_sampled_rgru_errors(seed = 10 * i + 2, function(value) layer(x, mask = value))
    expect_sampled_rgru_errors(seed = 10 * i + 3, function(value) layer(x, initial_state = value))
    expect_sampled_rgru_errors(seed = 10 * i + 4, function(value) layer(x, training = value))
    expect_sampled_rgru_errors(seed = 10 * i + 5, function(value) layer$compute_mask(x, value))
  }
})
