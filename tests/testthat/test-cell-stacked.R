# rnn_cells_stack() inside layer_rnn(): against Keras's StackedRNNCells
# (tools/keras-fixtures/stacked_cells.py) and against stacked layer_gru()s.

stacked_fixture <- read_keras_fixture("keras-stacked-cells")

keras_stacked_rnn <- function(case, a) {
  cells <- list(rnn_cell_gru(3, dtype = case$dtype),
                rnn_cell_gru(2, reset_after = FALSE, dtype = case$dtype))
  layer_rnn(cell = rnn_cells_stack(cells), return_sequences = case$return_sequences,
            return_state = case$return_state, go_backwards = case$go_backwards,
            zero_output_for_mask = case$zero_output_for_mask)
}

test_that("layer_rnn(rnn_cells_stack()) matches Keras 3.15.1's RNN(StackedRNNCells)", {
  errors <- expect_keras_cases(stacked_fixture, function(case, a) {
    rnn <- keras_stacked_rnn(case, a)
    invisible(rnn(a$x))
    set_weights(rnn, list(a$cell1.kernel, a$cell1.recurrent_kernel, a$cell1.bias,
                          a$cell2.kernel, a$cell2.recurrent_kernel, a$cell2.bias))
    mask <- if (case$mask != "none") a[[paste0("mask.", case$mask)]] == 1
    rnn(a$x, mask = mask, initial_state = if (case$initial_state) list(a$h0.cell1, a$h0.cell2))
  })
  expect_length(stacked_fixture$cases, 134L)
})

test_that("keras3's rnn_cells_stack() example runs, with GRU cells", {
  batch_size <- 3
  sentence_length <- 5
  num_features <- 2
  new_shape <- c(batch_size, sentence_length, num_features)
  x <- array(1:30, dim = new_shape)

  rnn_cells <- lapply(1:2, function(x) rnn_cell_gru(units = 128))
  stacked_gru <- rnn_cells_stack(rnn_cells)
  gru_layer <- layer_rnn(cell = stacked_gru)

  result <- gru_layer(x)
  expect_output(str(result), "num [1:3, 1:128]", fixed = TRUE)
  expect_length(gru_layer$weights, 6L)
})

test_that("the numbers equal stacked layer_gru()s with return_sequences, masks and states included", {
  x <- fixed_array(c(3, 6, 4))
  mask <- matrix(TRUE, 3, 6)
  mask[1, 5:6] <- FALSE
  mask[2, 1:2] <- FALSE
  mask[3, c(2, 4)] <- FALSE
  h0 <- list(fixed_array(c(3, 3), seed = 3), fixed_array(c(3, 2), seed = 4))
  for (go_backwards in c(FALSE, TRUE)) {
    for (return_sequences in c(FALSE, TRUE)) {
      stacked <- layer_rnn(cell = list(rnn_cell_gru(3, dtype = "float64"),
                                       rnn_cell_gru(2, reset_after = FALSE, dtype = "float64")),
                           return_sequences = return_sequences, return_state = TRUE,
                           go_backwards = go_backwards)
      bottom <- layer_gru(units = 3, return_sequences = TRUE, return_state = TRUE,
                          go_backwards = go_backwards, dtype = "float64")
      # The bottom layer returns its sequence in processing order: the top reads
      # it, and the mask, in that order.
      top <- layer_gru(units = 2, reset_after = FALSE, return_sequences = return_sequences,
                       return_state = TRUE, dtype = "float64")
      c(seq1, h1) %<-% bottom(x, mask = mask, initial_state = h0[[1]])
      top_mask <- if (go_backwards) mask[, 6:1] else mask
      c(out, h2) %<-% top(seq1, mask = top_mask, initial_state = h0[[2]])
      invisible(stacked(x))
      set_weights(stacked, c(get_weights(bottom), get_weights(top)))
      expect_equal(stacked(x, mask = mask, initial_state = h0), list(out, h1, h2), tolerance = 1e-12)
    }
  }
})

test_that("states are one per cell: shapes, stateful, symbolic tensors", {
  stacked <- rnn_cells_stack(rnn_cell_gru(3), rnn_cell_gru(2), name = "deep")
  expect_identical(stacked$name, "deep")
  expect_identical(stacked$state_size(), c(3L, 2L))
  rnn <- layer_rnn(cell = stacked, return_state = TRUE, return_sequences = TRUE)
  inputs <- keras_input(c(5, 4))
  outs <- rnn(inputs)
  expect_identical(lapply(outs, shape), list(shape(NA, 5, 2), shape(NA, 3), shape(NA, 2)))
  expect_identical(vapply(rnn$weights, function(v) v$path, "")[c(1, 4)],
                   paste0(rnn$name, "/deep/", c(stacked$cells[[1]]$name, stacked$cells[[2]]$name), "/kernel"))
  # an initial state per cell, also from tensors
  s1 <- keras_input(3)
  s2 <- keras_input(2)
  model <- keras_model(list(inputs, s1, s2), rnn(inputs, initial_state = list(s1, s2)))
  x <- fixed_array(c(2, 5, 4))
  h0 <- list(fixed_array(c(2, 3)), fixed_array(c(2, 2)))
  expect_equal(model(list(x, h0[[1]], h0[[2]])), rnn(x, initial_state = h0))
  expect_error(rnn(x, initial_state = h0[1]), class = "rgru_error_shape")
  expect_error(rnn(x, initial_state = rev(h0)), class = "rgru_error_shape")
  # stateful
  sticky <- layer_rnn(cell = list(rnn_cell_gru(3), rnn_cell_gru(2)), stateful = TRUE)
  first <- sticky(x)
  expect_length(obj(sticky)$states, 2L)
  expect_false(isTRUE(all.equal(sticky(x), first)))
  sticky$reset_state()
  expect_equal(sticky(x), first)
  # one step, called directly: list(output, states per cell)
  step <- stacked(x[, 1, ], list(matrix(0, 2, 3), matrix(0, 2, 2)))
  expect_identical(lapply(step[[2]], dim), list(c(2L, 3L), c(2L, 2L)))
  expect_equal(step[[1]], step[[2]][[2]])
})

test_that("gradients through stacked cells match finite differences, with dropout masks fixed by a seed", {
  x <- fixed_array(c(2, 4, 3))
  mask <- matrix(c(TRUE, TRUE, FALSE, TRUE, TRUE, FALSE, TRUE, TRUE), 2)
  rnn <- obj(layer_rnn(cell = list(rnn_cell_gru(3, dtype = "float64", bias_initializer = "random_normal"),
                                   rnn_cell_gru(2, dtype = "float64", reset_after = FALSE)),
                       return_sequences = TRUE, return_state = TRUE))
  h0 <- list(fixed_array(c(2, 3), seed = 8), fixed_array(c(2, 2), seed = 9))
  expect_backward_matches_fd(rnn, x, function(x) rnn$forward(x, mask = mask, initial_state = h0))
  # dropout: each cell draws its own masks; reset the seed to replay them
  drop <- obj(layer_rnn(cell = list(rnn_cell_gru(3, dropout = 0.3, recurrent_dropout = 0.2,
                                                 seed = 1, dtype = "float64"),
                                    rnn_cell_gru(2, dropout = 0.4, seed = 2, dtype = "float64"))))
  replay <- function(x) {
    for (cell in drop$cell$cells) cell$seed_draws <- 0L
    drop$forward(x, training = TRUE)
  }
  expect_backward_matches_fd(drop, x, replay)
  expect_false(isTRUE(all.equal(replay(x)$outputs, drop$forward(x)$outputs)))
})

test_that("configuration round-trips; bad cells give classed errors", {
  rnn <- layer_rnn(cell = rnn_cells_stack(list(rnn_cell_gru(3), rnn_cell_gru(2, use_bias = FALSE))))
  config <- get_config(rnn)
  expect_identical(attr(config$cell, "rgru_class"), "RgruStackedCells")
  copy <- from_config(config)
  x <- fixed_array(c(2, 3, 4))
  invisible(rnn(x))
  invisible(copy(x))
  set_weights(copy, get_weights(rnn))
  expect_equal(copy(x), rnn(x))
  expect_s3_class(rnn_cells_stack(list(rnn_cell_gru(2))), "rgru_cells_stack")
  expect_error(rnn_cells_stack(list()), class = "rgru_error_argument")
  expect_error(rnn_cells_stack(list(rnn_cell_gru(2), layer_dense(units = 2))), class = "rgru_error_argument")
  expect_error(rnn_cells_stack(list(rnn_cell_gru(2)), units = 3), class = "rgru_error_argument")
  expect_error(layer_rnn(cell = list(rnn_cell_gru(2), "x")), class = "rgru_error_argument")
  # a cell built for other sizes can't sit on top of another
  built <- rnn_cell_gru(2)
  invisible(built(fixed_array(c(2, 5)), list(matrix(0, 2, 2))))
  expect_error(rnn_cells_stack(list(rnn_cell_gru(3), built)), class = "rgru_error_shape")
  frozen <- rnn_cells_stack(list(rnn_cell_gru(2), rnn_cell_gru(2)), trainable = FALSE)
  invisible(layer_rnn(cell = frozen)(x))
  expect_length(frozen$trainable_weights, 0L)
})
