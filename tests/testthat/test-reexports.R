test_that("magrittr's pipes are exported, as keras3 does", {
  expect_identical(rgru::`%>%`, magrittr::`%>%`)
  expect_identical(rgru::`%<>%`, magrittr::`%<>%`)
  x <- 1:3
  x %<>% rev()
  expect_identical(x, 3:1)
})

test_that("every layer, model and training function works in %>% chains as in |>", {
  data <- function() {
    withr::with_seed(3, list(x = array(runif(16 * 5 * 2), c(16, 5, 2)),
                             y = matrix(runif(16), 16)))
  }
  build <- function(pipe) {
    set_random_seed(7)
    if (pipe == "magrittr") {
      model <- keras_model_sequential(input_shape = c(5, 2)) %>%
        layer_masking(mask_value = -1) %>%
        layer_gru(4, return_sequences = TRUE) %>%
        layer_rnn(cell = rnn_cell_gru(3)) %>%
        layer_dense(1)
      model %>% compile(optimizer = optimizer_adam(0.01), loss = "mse", metrics = "mae")
      history <- model %>% fit(data()$x, data()$y, epochs = 2, batch_size = 8, verbose = 0)
      list(model = model, history = history,
           eval = model %>% evaluate(data()$x, data()$y, verbose = 0),
           pred = model %>% predict(data()$x, verbose = 0))
    } else {
      model <- keras_model_sequential(input_shape = c(5, 2)) |>
        layer_masking(mask_value = -1) |>
        layer_gru(4, return_sequences = TRUE) |>
        layer_rnn(cell = rnn_cell_gru(3)) |>
        layer_dense(1)
      model |> compile(optimizer = optimizer_adam(0.01), loss = "mse", metrics = "mae")
      history <- model |> fit(data()$x, data()$y, epochs = 2, batch_size = 8, verbose = 0)
      list(model = model, history = history,
           eval = model |> evaluate(data()$x, data()$y, verbose = 0),
           pred = model |> predict(data()$x, verbose = 0))
    }
  }
  a <- build("magrittr")
  b <- build("native")
  expect_identical(a$pred, b$pred)
  expect_identical(a$eval, b$eval)
  expect_identical(a$history$metrics, b$history$metrics)
  expect_identical(get_weights(a$model), get_weights(b$model))
  expect_length(a$model$layers, 4)
})

test_that("%>% composes layers with tensors, arrays and functional models", {
  tokens <- keras_input(shape = 6, dtype = "int32")
  series <- keras_input(shape = c(6, 2))
  branch <- tokens %>% layer_embedding(10, 3) %>% layer_gru(4)
  merged <- list(branch, series %>% layer_gru(4)) %>% layer_concatenate()
  out <- merged %>% layer_dense(1)
  model <- keras_model(list(tokens, series), out)
  expect_equal(shape(out), shape(NA, 1))
  x <- list(matrix(1:12 %% 10, 2), array(0.5, c(2, 6, 2)))
  expect_equal(dim(model %>% predict(x, verbose = 0)), c(2, 1))
  expect_equal(dim(array(1, c(2, 3, 4)) %>% layer_gru(5)), c(2, 5))
  added <- list(array(1, c(2, 3)), array(2, c(2, 3))) %>% layer_add()
  expect_equal(added, array(3, c(2, 3)))
  dense <- layer_dense(units = 2)
  expect_equal(dim(matrix(1, 3, 4) %>% dense()), c(3, 2))
  m <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
  layer_dense(units = 2) %>% reset_state() %>% expect_error(class = "rgru_error_stateful")
  expect_identical(m %>% reset_state(), m)
  expect_equal(dim(m %>% get_weights() %>% .[[1]]), c(4, 2))
})

test_that("array_reshape() reshapes in row-major order as reticulate's does", {
  expect_identical(array_reshape(1:6, c(2, 3)), matrix(1:6, 2, byrow = TRUE))
  expect_identical(array_reshape(1:6, c(2, 3), order = "F"), matrix(1:6, 2))
  x <- array(1:24, c(2, 3, 4))
  # NumPy: np.arange(24).reshape(2, 3, 4, order="F").reshape(4, 6)
  y <- array_reshape(x, c(4, 6))
  expect_identical(y[1, ], c(1L, 7L, 13L, 19L, 3L, 9L))
  expect_identical(array_reshape(y, c(2, 3, 4)), x)
  expect_identical(dim(array_reshape(1:24, c(-1, 4, 1))), c(6L, 4L, 1L))
  expect_error(array_reshape(1:6, c(4, 2)), class = "rgru_error_shape")
  expect_error(array_reshape(1:6, c(-1, -1)), class = "rgru_error_argument")
  expect_error(array_reshape(list(1), 1), class = "rgru_error_argument")
})
