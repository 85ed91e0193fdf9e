# Damaged files, unsupported Keras features and bad arguments: each one
# classed error naming the file and what is wrong, never a partial model.

test_that("truncated, empty or non-zip files are classed file errors", {
  bytes <- readBin(keras_fixture("gru_sequential.keras"), "raw", 1e6)
  for (cut in c(10, 1000, length(bytes) %/% 2, length(bytes) - 30, length(bytes) - 1)) {
    path <- withr::local_tempfile(fileext = ".keras")
    writeBin(bytes[seq_len(cut)], path)
    expect_error(load_model(path), class = "rgru_error_file")
  }
  path <- withr::local_tempfile(fileext = ".keras")
  writeBin(raw(), path)
  expect_error(load_model(path), class = "rgru_error_file")
  writeLines("not a zip archive", path)
  expect_error(load_model(path), class = "rgru_error_file")
  expect_error(load_model(tempfile(fileext = ".keras")), class = "rgru_error_file")
})

test_that("a missing or corrupted member is a classed file error", {
  expect_error(load_model(edited_archive(drop = "model.weights.h5")), class = "rgru_error_file")
  expect_error(load_model(edited_archive(drop = "config.json")), class = "rgru_error_file")
  bytes <- readBin(keras_fixture("gru_sequential.keras"), "raw", 1e6)
  at <- grepRaw("\"units\"", bytes)
  bytes[at + 2] <- as.raw(bitwXor(as.integer(bytes[at + 2]), 1L))
  path <- withr::local_tempfile(fileext = ".keras")
  writeBin(bytes, path)
  expect_error(load_model(path), class = "rgru_error_file")
})

test_that("random damage anywhere in an archive gives a classed rgru error", {
  bytes <- readBin(keras_fixture("rnn_gru_cell.keras"), "raw", 1e6)
  set.seed(17)
  path <- withr::local_tempfile(fileext = ".keras")
  for (k in 1:30) {
    damaged <- bytes
    at <- sample(length(bytes), sample(1:4, 1))
    damaged[at] <- as.raw(sample(0:255, length(at), TRUE))
    writeBin(damaged, path)
    result <- tryCatch(load_model(path), error = identity)
    if (inherits(result, "error")) expect_s3_class(result, "rgru_error") else succeed()
  }
})

test_that("config.json that isn't a model config is a classed file error", {
  not_json <- edited_archive(members = list(config.json = charToRaw("{\"module\": ")))
  expect_error(load_model(not_json), class = "rgru_error_file")
  latin1 <- edited_archive(members = list(config.json = as.raw(c(0x7b, 0xe9, 0x7d))))
  expect_error(load_model(latin1), class = "rgru_error_file")
  bad <- list(
    edit_layer(2, "units", "four"),
    edit_layer(2, "units", -3),
    edit_layer(2, "return_sequences", "yes"),
    edit_layer(2, "dropout", list(1, 2)),
    function(config) { config$config$layers <- "gru"; config },
    function(config) { config$config$layers[[2]]$class_name <- NULL; config },
    function(config) { config$config$layers[[1]]$config$batch_shape <- list(NULL, "x", 5); config },
    function(config) { config$config <- 3; config },
    function(config) 42
  )
  for (edit in bad) {
    expect_error(load_model(edited_archive(edit = edit)), class = "rgru_error_file")
  }
  # The damage is named: where in the config it is.
  err <- tryCatch(load_model(edited_archive(edit = edit_layer(2, "units", "four"))), error = identity)
  expect_match(conditionMessage(err), "units")
})

test_that("layer classes and options rgru lacks are refused, naming them", {
  err <- tryCatch(load_model(keras_fixture("lstm_model.keras")), error = identity)
  expect_s3_class(err, "rgru_error_unsupported")
  expect_match(conditionMessage(err), "LSTM")
  unsupported <- list(
    time_major = edit_layer(2, "time_major", TRUE),
    mixed_float16 = edit_layer(2, "dtype", list(module = "keras", class_name = "DTypePolicy",
                                                 config = list(name = "mixed_float16"))),
    activation = edit_layer(2, "activation", "no_such_activation"),
    lora_rank = edit_layer(4, "lora_rank", 4),
    kernel_initializer = edit_layer(2, "kernel_initializer", list(class_name = "NoSuchInit", config = list())),
    input_axes = edit_layer(2, "kernel_initializer",
                                    list(class_name = "GlorotUniform",
                                         config = list(seed = NULL, input_axes = list(0)))),
    sparse = edit_layer(1, "sparse", TRUE)
  )
  for (option in names(unsupported)) {
    err <- tryCatch(load_model(edited_archive(edit = unsupported[[option]])), error = identity)
    expect_s3_class(err, "rgru_error_unsupported")
    expect_match(conditionMessage(err), option, fixed = TRUE)
  }
  expect_error(load_model(edited_archive(edit = function(config) {
    config$class_name <- "MyModel"
    config
  })), class = "rgru_error_unsupported")
})

test_that("weights that don't fit the config are classed weights errors", {
  other <- rgru:::zip_read(keras_fixture("gru_reset_before.keras"))[["model.weights.h5"]]
  path <- edited_archive(members = list(model.weights.h5 = other))
  expect_error(load_model(path), class = "rgru_error_weights")
  path <- edited_archive(edit = edit_layer(2, "units", 5))
  expect_error(load_model(path), class = "rgru_error_weights")
  expect_error(load_model(edited_archive(members = list(model.weights.h5 = charToRaw("HDF? no")))),
               class = "rgru_error_file")
  # A dataset of strings, and one holding NaN, where a kernel belongs.
  h5_path <- withr::local_tempfile(fileext = ".h5")
  writeBin(rgru:::zip_read(keras_fixture("gru_sequential.keras"))[["model.weights.h5"]], h5_path)
  h5 <- hdf5r::H5File$new(h5_path, "r+")
  h5$link_delete("layers/dense/vars/1")
  h5[["layers/dense/vars"]]$create_dataset("1", robj = c("a", "b"))
  kernel <- h5[["layers/gru/cell/vars/0"]]$read()
  h5$link_delete("layers/gru/cell/vars/0")
  kernel[1] <- NaN
  h5[["layers/gru/cell/vars"]]$create_dataset("0", robj = kernel, dtype = hdf5r::h5types$H5T_IEEE_F32LE,
                                              chunk_dims = NULL)
  h5$close_all()
  bytes <- readBin(h5_path, "raw", file.size(h5_path))
  err <- tryCatch(load_model(edited_archive(members = list(model.weights.h5 = bytes))),
                  error = identity)
  expect_s3_class(err, "rgru_error_file")
  model <- keras_model_sequential(input_shape = c(6, 5)) |>
    layer_gru(4, return_sequences = TRUE) |> layer_gru(3) |> layer_dense(2)
  before <- get_weights(model)
  expect_error(load_model_weights(model, h5_path), class = "rgru_error_file")
  expect_identical(get_weights(model), before)
})

test_that("load_model_weights() refuses weights that don't fit, or skips them on request", {
  model <- keras_model_sequential(input_shape = c(6, 5)) |>
    layer_gru(4, return_sequences = TRUE) |> layer_gru(2) |> layer_dense(2)
  before <- get_weights(model)
  path <- keras_fixture("gru_sequential.weights.h5")
  expect_error(load_model_weights(model, path), class = "rgru_error_weights")
  expect_identical(get_weights(model), before)
  warnings <- list()
  withCallingHandlers(load_model_weights(model, path, skip_mismatch = TRUE), warning = function(w) {
    warnings[[length(warnings) + 1]] <<- w
    invokeRestart("muffleWarning")
  })
  expect_length(warnings, 2)
  for (w in warnings) expect_s3_class(w, "rgru_warning_weights")
  after <- get_weights(model)
  expect_false(identical(after[[1]], before[[1]]))
  expect_identical(after[[4]], before[[4]])
  unbuilt <- keras_model_sequential() |> layer_gru(4) |> layer_dense(2)
  expect_error(load_model_weights(unbuilt, path), class = "rgru_error_weights")
})

test_that("file names say the format; others are argument errors", {
  model <- keras_model_sequential(input_shape = c(4, 2)) |> layer_gru(3)
  dir <- withr::local_tempdir()
  expect_error(save_model(model, file.path(dir, "m.txt")), class = "rgru_error_argument")
  expect_error(save_model(model, file.path(dir, "m.h5")), class = "rgru_error_unsupported")
  expect_error(save_model_weights(model, file.path(dir, "m.keras")), class = "rgru_error_argument")
  expect_error(save_model_weights(model, file.path(dir, "m.h5")), class = "rgru_error_argument")
  expect_error(save_model_weights(model, file.path(dir, "m.weights.h5"), max_shard_size = 1),
               class = "rgru_error_unsupported")
  expect_error(load_model(file.path(dir, "m.bin")), class = "rgru_error_argument")
  expect_error(load_model_weights(model, file.path(dir, "m.bin")), class = "rgru_error_argument")
  expect_error(load_model(123), class = "rgru_error_argument")
  expect_error(save_model("model", file.path(dir, "m.keras")), class = "rgru_error_argument")
  expect_error(save_model(model, file.path(dir, "no-such-dir", "m.keras")), class = "rgru_error_file")
  expect_error(load_model(dir), class = "rgru_error_file")
  expect_error(load_model(keras_fixture("gru_sequential.weights.h5")), class = "rgru_error_file")
})

test_that("a failed save leaves the existing file intact and no temporary files", {
  dir <- withr::local_tempdir()
  path <- file.path(dir, "model.keras")
  good <- keras_model_sequential(input_shape = c(4, 2)) |> layer_gru(3) |> layer_dense(1)
  save_model(good, path)
  before <- readBin(path, "raw", file.size(path))
  bad <- keras_model_sequential(input_shape = c(4, 2)) |>
    layer_gru(3, recurrent_activation = function(x) 1 / (1 + exp(-x)))
  expect_error(save_model(bad, path, overwrite = TRUE), class = "rgru_error_unsupported")
  expect_identical(readBin(path, "raw", file.size(path)), before)
  expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "model.keras")
  expect_error(save_model(good, path), class = "rgru_error_file")
  save_model(good, path, overwrite = TRUE)
  expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "model.keras")
})

test_that("damaged HDF5 weights (with intact zip checksums) give classed errors, never a crash", {
  # In a child R process: whatever HDF5 makes of a damaged file stays there.
  script <- withr::local_tempfile(fileext = ".R")
  writeLines(c(
    "suppressMessages(library(rgru))",
    sprintf("parts <- rgru:::zip_read(%s)", deparse(normalizePath(keras_fixture("rnn_gru_cell.keras")))),
    "weights <- parts[['model.weights.h5']]",
    "set.seed(11)",
    "for (k in 1:25) {",
    "  damaged <- weights",
    "  at <- sample(length(damaged), sample(1:8, 1))",
    "  damaged[at] <- as.raw(sample(0:255, length(at), TRUE))",
    "  parts[['model.weights.h5']] <- damaged",
    "  path <- tempfile(fileext = '.keras')",
    "  rgru:::zip_write(path, parts)",
    "  result <- tryCatch({ load_model(path); 'loaded' }, error = function(e) {",
    "    if (inherits(e, 'rgru_error')) 'rgru_error' else paste('unclassed:', conditionMessage(e))",
    "  })",
    "  cat(result, '\\n', sep = '')",
    "}"
  ), script)
  out <- system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = FALSE,
                 env = paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)))
  expect_null(attr(out, "status"))
  expect_length(out, 25)
  expect_setequal(unique(out), intersect(c("loaded", "rgru_error"), unique(out)))
  expect_true("rgru_error" %in% out)
})
