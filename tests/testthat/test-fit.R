fit_data <- function(n = 40) {
  set.seed(3)
  x <- matrix(rnorm(n * 3), n)
  list(x = x, y = matrix(sin(x[, 1]) + 0.5 * x[, 2], n))
}

test_that("one full-batch SGD step moves every weight by -lr * gradient", {
  d <- fit_data(16)
  m <- fake_mlp(3, 5, 1)
  before <- lapply(m$weights, function(v) v$value)
  loss_fn <- function() mean((m$forward(d$x)$outputs - d$y)^2)
  numeric <- finite_difference_grads(loss_fn, m$weights)
  compile(m, optimizer = optimizer_sgd(0.1), loss = "mse")
  h <- fit(m, d$x, d$y, batch_size = 16, epochs = 1, shuffle = FALSE, verbose = 0)
  for (i in seq_along(before)) {
    expect_equal(m$weights[[i]]$value, before[[i]] - 0.1 * numeric[[i]], tolerance = 1e-7)
  }
  # The logged loss is the loss before the update.
  for (i in seq_along(before)) {
    v <- m$weights[[i]]
    v$value <- before[[i]]
  }
  expect_equal(h$metrics$loss, loss_fn())
})

test_that("fit() reduces the loss and records a history", {
  d <- fit_data(64)
  m <- fake_mlp(3, 8, 1)
  compile(m, optimizer = optimizer_adam(0.05), loss = "mse", metrics = "mae")
  h <- fit(m, d$x, d$y, epochs = 15, batch_size = 16, validation_split = 0.25, verbose = 0)
  expect_s3_class(h, "keras_training_history")
  expect_named(h$metrics, c("loss", "mae", "val_loss", "val_mae"))
  expect_length(h$metrics$loss, 15)
  expect_lt(h$metrics$loss[15], h$metrics$loss[1] / 2)
  expect_equal(h$params$samples, 48)
  expect_equal(h$params$validation_samples, 16)
  df <- as.data.frame(h)
  expect_equal(nrow(df), 60)
  expect_setequal(levels(df$metric), c("loss", "mae"))
  expect_setequal(levels(df$data), c("training", "validation"))
  expect_output(print(h), "Final epoch (plot to see history):", fixed = TRUE)
  # The final validation loss is what evaluate() gives on the held-out rows.
  ev <- evaluate(m, d$x[49:64, , drop = FALSE], d$y[49:64, , drop = FALSE], verbose = 0)
  expect_equal(ev$loss, h$metrics$val_loss[15])
  expect_equal(ev$mae, h$metrics$val_mae[15])
})

test_that("validation_split takes the last samples, before shuffling", {
  d <- fit_data(10)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = optimizer_sgd(0), loss = "mse")
  h <- fit(m, d$x, d$y, epochs = 1, validation_split = 0.3, verbose = 0)
  expect_equal(h$metrics$val_loss,
               evaluate(m, d$x[8:10, ], d$y[8:10, , drop = FALSE], verbose = 0)$loss,
               tolerance = 1e-12)
  expect_error(fit(m, d$x, d$y, validation_split = 1, verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, validation_split = 0.95, verbose = 0), class = "rgru_error_argument")
})

test_that("validation_data, sample_weight and class_weight are used", {
  d <- fit_data(20)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = optimizer_sgd(0), loss = "mse")
  m2 <- fake_mlp(3, 4, 1)
  compile(m2, optimizer = optimizer_sgd(0.01), loss = "mse")
  h <- fit(m2, d$x, d$y, epochs = 1, verbose = 0, shuffle = FALSE, batch_size = 20,
           validation_data = list(d$x[1:5, ], d$y[1:5, , drop = FALSE]))
  expect_true("val_loss" %in% names(h$metrics))
  # Zero weights on half the samples: the logged loss only counts the rest.
  m3 <- fake_mlp(3, 4, 1)
  compile(m3, optimizer = optimizer_sgd(1e-12), loss = "mse")
  sw <- rep(c(1, 0), 10)
  h3 <- fit(m3, d$x, d$y, sample_weight = sw, epochs = 1, batch_size = 20, verbose = 0)
  pred <- m3$forward(d$x)$outputs
  expect_equal(h3$metrics$loss, sum(sw * (pred - d$y)^2) / 20, tolerance = 1e-6)
  # class_weight multiplies the weights of each class.
  expect_equal(apply_class_weight(list("0" = 2, "1" = 0.5), c(0, 1, 1), NULL), c(2, 0.5, 0.5))
  expect_equal(apply_class_weight(c(1, 3), rbind(c(1, 0), c(0, 1)), c(2, 2)), c(2, 6))
})

test_that("shuffle, initial_epoch and steps_per_epoch shape the loop", {
  expect_equal(unlist(epoch_order(5, 2, FALSE)), 1:5)
  set.seed(1)
  o <- epoch_order(10, 3, TRUE)
  expect_setequal(unlist(o), 1:10)
  expect_false(identical(unlist(o), 1:10))
  b <- epoch_order(10, 3, "batch")
  expect_true(all(vapply(b, function(i) all(diff(i) == 1), TRUE)))
  d <- fit_data(20)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = "sgd", loss = "mse")
  h <- fit(m, d$x, d$y, epochs = 5, initial_epoch = 3, verbose = 0)
  expect_equal(h$epoch, 3:5)
  seen <- 0
  cb <- callback_lambda(on_train_batch_end = function(batch, logs) seen <<- seen + 1)
  fit(m, d$x, d$y, epochs = 1, batch_size = 2, steps_per_epoch = 3, callbacks = list(cb), verbose = 0)
  expect_equal(seen, 3)
})

test_that("verbose prints Keras-like epoch lines", {
  d <- fit_data(20)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = "sgd", loss = "mse", metrics = "mae")
  expect_output(fit(m, d$x, d$y, epochs = 2, batch_size = 10, verbose = 2),
                "Epoch 2/2\n2/2 - .* - loss: [0-9.]+ - mae: [0-9.]+")
  expect_output(fit(m, d$x, d$y, epochs = 1, verbose = 1), "1/1 .* loss: ")
  expect_silent(fit(m, d$x, d$y, epochs = 1, verbose = 0))
  expect_output(evaluate(m, d$x, d$y, verbose = 1), "loss: [0-9.]+ - mae: ")
})

test_that("fit() validates its arguments", {
  d <- fit_data(20)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = "sgd", loss = "mse")
  expect_error(fit(m, d$x, d$y[1:5, , drop = FALSE], verbose = 0), class = "rgru_error_shape")
  expect_error(fit(m, d$x, d$y, batch_size = 0, verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, epochs = 1.5, verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, verbose = 3), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, shuffle = "yes", verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, "a", d$y, verbose = 0), class = "rgru_error_type")
  expect_error(fit(m, d$x, d$y, validation_data = list(d$x), verbose = 0),
               class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, callbacks = list(1), verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, sample_weight = 1:3, verbose = 0), class = "rgru_error_shape")
  expect_error(fit(m, d$x, d$y, bogus = 1, verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, NULL, d$y, verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, callbacks = function() 1, verbose = 0),
               class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, class_weight = "a", verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, validation_split = 0.2, validation_batch_size = 0, verbose = 0),
               class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, validation_split = 0.2, validation_steps = "a", verbose = 0),
               class = "rgru_error_argument")
})

test_that("counts beyond R's integers are classed errors, not NAs (issue 14)", {
  d <- fit_data(20)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = "sgd", loss = "mse")
  for (value in list(Inf, 1e300, 2^31)) {
    expect_error(fit(m, d$x, d$y, batch_size = value, verbose = 0), class = "rgru_error_argument")
  }
  expect_error(fit(m, d$x, d$y, steps_per_epoch = 1e15, verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, initial_epoch = 2^31, verbose = 0), class = "rgru_error_argument")
  expect_error(fit(m, d$x, d$y, validation_data = list(NULL, NULL), verbose = 0),
               class = "rgru_error_argument")
  # The last representable epoch runs once, without the loop counter overflowing.
  h <- fit(m, d$x, d$y, initial_epoch = .Machine$integer.max, epochs = .Machine$integer.max,
           verbose = 0)
  expect_identical(h$epoch, .Machine$integer.max)
  expect_identical(epoch_numbers(3L, 2L), integer())
})

test_that("validation_freq validates every n epochs, NA elsewhere in the history", {
  d <- fit_data(20)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = "sgd", loss = "mse")
  h <- fit(m, d$x, d$y, epochs = 5, validation_split = 0.2, validation_freq = 2, verbose = 0)
  expect_equal(is.na(h$metrics$val_loss), c(TRUE, FALSE, TRUE, FALSE, TRUE))
  expect_length(h$metrics$loss, 5)
  expect_equal(append_epoch_logs(list(a = 1), list(b = 2), 1), list(a = c(1, NA), b = c(NA, 2)))
})

test_that("train_on_batch() takes one step, test_on_batch() none", {
  d <- fit_data(12)
  a <- fake_mlp(3, 4, 1)
  b <- fake_mlp(3, 4, 1)
  compile(a, optimizer = optimizer_sgd(0.1), loss = "mse", metrics = "mae")
  compile(b, optimizer = optimizer_sgd(0.1), loss = "mse", metrics = "mae")
  before <- test_on_batch(a, d$x, d$y)
  expect_equal(test_on_batch(a, d$x, d$y), before)
  logs <- train_on_batch(a, d$x, d$y)
  h <- fit(b, d$x, d$y, batch_size = 12, epochs = 1, shuffle = FALSE, verbose = 0)
  expect_equal(logs, lapply(h$metrics, function(v) v[[1]]))
  expect_equal(logs$loss, before$loss)
  expect_equal(a$weights[[1]]$value, b$weights[[1]]$value)
  expect_lt(test_on_batch(a, d$x, d$y)$loss, before$loss)
  expect_error(train_on_batch(a, d$x), class = "rgru_error_argument")
})

test_that("fit(), evaluate() and compile() accept keras 2 scripts' trailing commas", {
  set.seed(1)
  x <- array(runif(20 * 3 * 2), c(20, 3, 2))
  y <- matrix(runif(20), 20)
  model <- keras_model_sequential(input_shape = c(3, 2)) |> layer_gru(2) |> layer_dense(1)
  model |> compile(optimizer = "adam", loss = "mse", metrics = "mae", )
  history <- model |> fit(x, y, epochs = 2, batch_size = 5, verbose = 0, )
  expect_length(history$metrics$loss, 2)
  expect_named(evaluate(model, x, y, verbose = 0, ), c("loss", "mae"))
  expect_error(fit(model, x, y, epochs = 1, verbose = 0, foo = 1), class = "rgru_error_argument")
  expect_error(fit(model, x, y, 1, 2, verbose = 0), class = "rgru_error_argument")
  expect_error(evaluate(model, x, y, verbose = 0, , bar = 2), class = "rgru_error_argument")
})
