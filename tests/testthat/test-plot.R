plot_test_model <- function() {
  tokens <- keras_input(shape = 6, dtype = "int32", name = "tokens")
  series <- keras_input(shape = c(6, 3), name = "series")
  a <- layer_embedding(tokens, 9, 3, name = "emb_a")
  b <- layer_embedding(tokens, 9, 2, name = "emb_b")
  joined <- layer_concatenate(a, b, name = "joined")
  g <- layer_gru(joined, 3, name = "gru_tokens")
  s <- layer_add(g, layer_gru(series, 3, name = "gru_series"), name = "summed")
  head <- layer_dense(s, 1, activation = "sigmoid", name = "head")
  keras_model(list(tokens, series), head)
}

test_that("the graph has Keras's boxes and edges for a functional model", {
  model <- plot_test_model()
  g <- rgru:::model_graph(obj(model), show_shapes = TRUE, show_dtype = TRUE,
                          show_layer_names = TRUE, show_layer_activations = TRUE,
                          show_trainable = FALSE)
  headers <- vapply(g$labels, `[[`, "", "header")
  expect_identical(headers, c("tokens (InputLayer)", "series (InputLayer)", "emb_a (Embedding)",
                              "emb_b (Embedding)", "joined (Concatenate)", "gru_tokens (GRU)",
                              "gru_series (GRU)", "summed (Add)", "head (Dense)"))
  expect_identical(g$labels[[1]]$cells, c("Output shape: (None, 6)", "Output dtype: int32"))
  expect_identical(g$labels[[5]]$cells,
                   c("Input shape: [(None, 6, 3), (None, 6, 2)]", "Output shape: (None, 6, 5)",
                     "Output dtype: float32"))
  expect_identical(g$labels[[6]]$activation, "Activation: tanh")
  expect_identical(g$labels[[9]]$activation, "Activation: sigmoid")
  expect_null(g$labels[[5]]$activation)
  edge_names <- apply(g$edges, 1, function(e) paste(headers[e[1]], "->", headers[e[2]]))
  expect_setequal(sub(" \\(.*?\\)", "", edge_names, perl = TRUE),
                  c("tokens -> emb_a (Embedding)", "tokens -> emb_b (Embedding)",
                    "emb_a -> joined (Concatenate)", "emb_b -> joined (Concatenate)",
                    "joined -> gru_tokens (GRU)", "series -> gru_series (GRU)",
                    "gru_tokens -> summed (Add)", "gru_series -> summed (Add)",
                    "summed -> head (Dense)"))
  expect_identical(g$ranks, c(0L, 0L, 1L, 1L, 2L, 3L, 1L, 4L, 5L))
  plain <- rgru:::model_graph(obj(model), FALSE, FALSE, FALSE, FALSE, FALSE)
  expect_identical(plain$labels[[6]], list(header = "GRU", activation = NULL, cells = NULL))
})

test_that("a sequential model's graph starts at its first layer and marks frozen layers", {
  model <- keras_model_sequential(input_shape = c(10, 3)) |>
    layer_gru(8, return_sequences = TRUE) |>
    layer_gru(4) |>
    layer_dense(1)
  model$layers[[1]]$trainable <- FALSE
  g <- rgru:::model_graph(obj(model), TRUE, FALSE, FALSE, FALSE, TRUE)
  expect_identical(g$edges, rbind(c(1L, 2L), c(2L, 3L)))
  expect_identical(g$labels[[1]]$cells,
                   c("Input shape: (None, 10, 3)", "Output shape: (None, 10, 8)", "Non-trainable"))
  expect_identical(g$labels[[3]]$cells,
                   c("Input shape: (None, 4)", "Output shape: (None, 1)", "Trainable"))
})

test_that("plot(model) draws on the device or writes a file sized to the graph", {
  model <- plot_test_model()
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_null(plot(model))
  expect_null(plot(model, show_shapes = TRUE, show_layer_names = TRUE, rankdir = "LR"))
  for (ext in c("png", "pdf", "svg")) {
    path <- withr::local_tempfile(fileext = paste0(".", ext))
    expect_identical(plot(model, show_shapes = TRUE, to_file = path, dpi = 50), path)
    expect_gt(file.size(path), 1000)
  }
  png_path <- withr::local_tempfile(fileext = ".png")
  plot(model, show_shapes = TRUE, show_dtype = TRUE, to_file = png_path, dpi = 50)
  header <- readBin(png_path, "raw", 24)
  width <- sum(as.integer(header[17:20]) * 256^(3:0))
  height <- sum(as.integer(header[21:24]) * 256^(3:0))
  expect_gt(height, width / 4)   # six ranks of boxes, taller than a strip
})

test_that("plot(model) errors clearly where keras3 does", {
  expect_error(plot(keras_model_sequential() |> layer_gru(2)), class = "rgru_error_model")
  model <- plot_test_model()
  expect_error(plot(model, layer_range = c("a", "b")), class = "rgru_error_argument")
  expect_error(plot(model, rankdir = "XY"), class = "rgru_error_argument")
  expect_error(plot(model, to_file = tempfile(fileext = ".gif")), class = "rgru_error_argument")
  expect_error(plot(model, show_shapes = NA), class = "rgru_error_argument")
  expect_error(plot(model, colour = "red"), class = "rgru_error_argument")
})

test_that("a shared layer is one box fed by each of its calls", {
  a <- keras_input(shape = c(4, 2), name = "a")
  b <- keras_input(shape = c(4, 2), name = "b")
  shared <- layer_gru(units = 3, name = "shared")
  out <- layer_concatenate(shared(a), shared(b), name = "joined")
  model <- keras_model(list(a, b), out)
  g <- rgru:::model_graph(obj(model), FALSE, FALSE, TRUE, FALSE, FALSE)
  headers <- vapply(g$labels, `[[`, "", "header")
  expect_identical(headers, c("a (InputLayer)", "b (InputLayer)", "shared (GRU)", "joined (Concatenate)"))
  expect_identical(g$edges, rbind(c(1L, 3L), c(2L, 3L), c(3L, 4L)))
})
