# Malformed arguments and calls at the wrappers' boundary (layer_bidirectional(),
# layer_time_distributed(), rnn_cells_stack()): a classed rgru error or a
# working layer, never another error.

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
  for (maker in names(wrapper_makers)) {
    for (arg in wrapper_args[[maker]]) {
      expect_only_rgru_errors(function(value) {
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
  for (layer in layers) {
    invisible(layer(x))
    expect_only_rgru_errors(function(value) layer(value))
    expect_only_rgru_errors(function(value) layer(x, mask = value))
    expect_only_rgru_errors(function(value) layer(x, initial_state = value))
    expect_only_rgru_errors(function(value) layer(x, training = value))
    expect_only_rgru_errors(function(value) layer$compute_mask(x, value))
  }
})
