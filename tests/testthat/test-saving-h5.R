# Keras's path rules for the weights file (saving_lib.py), checked against
# files Keras wrote, including nested layers.

test_that("rgru places every variable where Keras put it", {
  for (name in c("gru_sequential", "gru_no_bias", "rnn_gru_cell", "embedding_mask_zero",
                 "masking_sequential", "functional_multi", "compiled_sgd")) {
    model <- load_model(keras_fixture(paste0(name, ".keras")))
    obj <- rgru:::layer_object(model)
    groups <- rgru:::keras_weight_groups(obj, rgru:::keras_model_layers(obj))
    expect_setequal(vapply(groups, function(g) g$path, ""),
                    setdiff(h5_vars_groups(archive_weights(name)), "optimizer"))
  }
  # A layer shared by two calls is saved once.
  multi <- rgru:::layer_object(load_model(keras_fixture("functional_multi.keras")))
  paths <- vapply(rgru:::keras_weight_groups(multi), function(g) g$path, "")
  expect_equal(sum(startsWith(paths, "layers/dense")), 3)
})

test_that("lists of nested layers are named by class and numbered, as Keras does", {
  Stacked <- R6::R6Class("RgruTestStacked", inherit = rgru:::Layer, public = list(
    cells = NULL,
    initialize = function(cells) {
      self$cells <- cells
      super$initialize(name = "stacked")
    },
    sublayers = function() self$cells
  ))
  rgru:::keras_layer_class("TestStacked", rgru_class = "RgruTestStacked",
                           new = function(args) NULL,
                           children = function(layer) list(cells = layer$cells))
  withr::defer(rm("TestStacked", envir = rgru:::keras_layer_registry))
  cells <- list(rgru:::layer_object(rnn_cell_gru(3)), rgru:::layer_object(rnn_cell_gru(2)))
  cells[[1]]$maybe_build(c(NA, 4))
  cells[[2]]$maybe_build(c(NA, 3))
  stacked <- Stacked$new(cells)
  groups <- rgru:::keras_weight_groups(stacked)
  expect_equal(vapply(groups, function(g) g$path, ""), c("", "cells/gru_cell", "cells/gru_cell_1"))
  expect_equal(lengths(lapply(groups, function(g) g$variables)), c(0, 3, 3))
  expect_equal(rgru:::keras_snake_case(c("GRU", "GRUCell", "StackedRNNCells", "Conv1D",
                                          "GlobalAveragePooling1D", "TimeDistributed")),
               c("gru", "gru_cell", "stacked_rnn_cells", "conv1d", "global_average_pooling1d",
                 "time_distributed"))
})

test_that("Keras's Bidirectional model's weight groups are read and written where Keras puts them", {
  path <- keras_fixture("bigru_model.keras", "keras-shared")
  model <- load_model(path)
  io <- shared_io("bigru_model")
  expect_lt(max_abs_diff(predict(model, io$inputs), io$outputs), 1e-5)
  obj <- rgru:::layer_object(model)
  paths <- vapply(rgru:::keras_weight_groups(obj), function(g) g$path, "")
  expect_setequal(paths, h5_vars_groups(keras_fixture("bigru_model.weights.h5", "keras-shared")))
  expect_true(all(c("layers/bidirectional/forward_layer/cell",
                    "layers/bidirectional/backward_layer/cell") %in% paths))
  # ... and writes back the same layout.
  out <- withr::local_tempfile(fileext = ".weights.h5")
  save_model_weights(model, out)
  expect_setequal(h5_vars_groups(out), paths)
})

test_that("weights files name each group and store Keras's shapes and dtypes", {
  model <- keras_model_sequential(input_shape = c(6, 5)) |>
    layer_gru(4, reset_after = FALSE, dtype = "float64") |> layer_dense(2)
  path <- withr::local_tempfile(fileext = ".weights.h5")
  save_model_weights(model, path)
  h5 <- hdf5r::H5File$new(path, "r")
  withr::defer(h5$close_all())
  expect_equal(hdf5r::h5attr(h5[["vars"]], "name"), model$name)
  expect_equal(hdf5r::h5attr(h5[["layers/gru/cell/vars"]], "name"), "gru_cell")
  kernel <- h5[["layers/gru/cell/vars/0"]]
  expect_equal(rev(kernel$dims), c(5L, 12L))
  expect_equal(kernel$get_type()$get_size(), 8)
  expect_equal(aperm(kernel$read()), model$layers[[1]]$weights[[1]]$value)
  expect_equal(rev(h5[["layers/gru/cell/vars/2"]]$dims), 12L)
  expect_equal(h5[["layers/dense/vars/0"]]$get_type()$get_size(), 4)
})
