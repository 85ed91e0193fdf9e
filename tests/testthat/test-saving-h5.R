# Keras's path rules for the weights file (saving_lib.py), checked against
# files Keras wrote, including nested layers through a registry entry.

# The "<path>/vars" groups of a weights file, as paths of their owners.
h5_vars_groups <- function(path) {
  h5 <- hdf5r::H5File$new(path, "r")
  withr::defer(h5$close_all())
  listing <- h5$ls(recursive = TRUE)
  groups <- listing$name[listing$obj_type == "H5I_GROUP" & grepl("(^|/)vars$", listing$name)]
  sub("/?vars$", "", groups)
}

archive_weights <- function(name, dir = "keras") {
  path <- withr::local_tempfile(fileext = ".h5", .local_envir = parent.frame())
  bytes <- rgru:::zip_read(keras_fixture(paste0(name, ".keras"), dir), "model.weights.h5")[[1]]
  writeBin(bytes, path)
  path
}

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

# A stand-in for Bidirectional (merge_mode "concat"), enough to read Keras's
# bigru model through one registry entry: its forward_layer and
# backward_layer are saved under those names.
TestBidirectional <- R6::R6Class("RgruTestBidirectional", inherit = rgru:::Layer, public = list(
  class_name = "Bidirectional",
  forward_layer = NULL,
  backward_layer = NULL,
  supports_masking = TRUE,
  initialize = function(args) {
    self$forward_layer <- args$layer
    self$backward_layer <- args$backward_layer
    super$initialize(name = args$name, dtype = args$dtype)
  },
  sublayers = function() list(self$forward_layer, self$backward_layer),
  build = function(input_shape) {
    self$forward_layer$prepare(input_shape)
    self$backward_layer$prepare(input_shape)
  },
  compute_output_shape = function(input_shape) {
    shape <- self$forward_layer$compute_output_shape(input_shape)
    shape[length(shape)] <- 2L * shape[length(shape)]
    shape
  },
  forward_impl = function(inputs, mask, training, initial_state) {
    f <- self$forward_layer$forward(inputs, mask = mask, keep_tape = FALSE)$outputs
    b <- self$backward_layer$forward(inputs, mask = mask, keep_tape = FALSE)$outputs
    if (length(dim(f)) == 2) return(list(outputs = cbind(f, b), mask = NULL, tape = NULL))
    b <- b[, rev(seq_len(dim(b)[2])), , drop = FALSE]
    units <- dim(f)[3]
    out <- array(0, c(dim(f)[1:2], 2 * units))
    out[, , seq_len(units)] <- f
    out[, , units + seq_len(units)] <- b
    list(outputs = out, mask = mask, tape = NULL)
  }
))

test_that("a nested wrapper needs one registry entry: Keras's bigru model loads", {
  skip_if(!is.null(rgru:::keras_layer_registry$Bidirectional), "rgru has its own Bidirectional")
  # Keras's Bidirectional sets zero_output_for_mask on its GRUs; with no mask
  # in this model it changes nothing, and this stand-in ignores it.
  wrapped <- list(
    read = function(x, where, ctx) {
      x$config$zero_output_for_mask <- NULL
      rgru:::read_keras_layer(x, where, ctx)
    },
    write = function(x, where) rgru:::write_keras_layer(x, where)
  )
  rgru:::keras_layer_class(
    "Bidirectional", rgru_class = "RgruTestBidirectional",
    options = list(layer = wrapped, backward_layer = wrapped, merge_mode = "string"),
    new = function(args) TestBidirectional$new(args),
    children = function(layer) list(forward_layer = layer$forward_layer,
                                    backward_layer = layer$backward_layer)
  )
  withr::defer(rm("Bidirectional", envir = rgru:::keras_layer_registry))
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
