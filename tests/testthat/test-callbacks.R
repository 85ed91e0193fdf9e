cb_data <- function(n = 32) {
  set.seed(4)
  x <- matrix(rnorm(n * 3), n)
  list(x = x, y = matrix(x[, 1] - x[, 2], n))
}

test_that("early stopping stops after `patience` epochs without improvement", {
  d <- cb_data()
  m <- fake_mlp(3, 4, 1)
  # A zero learning rate never improves the loss.
  compile(m, optimizer = optimizer_sgd(1e-300), loss = "mse")
  es <- callback_early_stopping(monitor = "loss", patience = 2)
  h <- fit(m, d$x, d$y, epochs = 20, callbacks = list(es), verbose = 0)
  expect_length(h$metrics$loss, 3)
  expect_equal(es$stopped_epoch, 3)
})

test_that("early stopping restores the best weights", {
  d <- cb_data()
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = optimizer_sgd(0.05), loss = "mse")
  losses <- c(5, 3, 4, 4, 4, 4)
  snapshots <- list()
  fake_logs <- callback_lambda(on_epoch_end = function(epoch, logs) {
    snapshots[[epoch]] <<- lapply(m$weights, function(v) v$value)
  })
  es <- callback_early_stopping(monitor = "loss", patience = 2, restore_best_weights = TRUE)
  es$set_context(m, list(), new.env())
  es$on_train_begin()
  es$context$stop_training <- FALSE
  for (epoch in 1:6) {
    for (v in m$weights) v$value <- v$value + epoch
    es$on_epoch_end(epoch, list(loss = losses[epoch]))
    if (isTRUE(es$context$stop_training)) break
  }
  expect_equal(epoch, 4)
  es$on_train_end()
  expect_equal(es$best_epoch, 2)
  m2 <- fake_mlp(3, 4, 1)
  expect_equal(m$weights[[1]]$value, m2$weights[[1]]$value + 1 + 2)
})

test_that("early stopping follows min_delta, mode and baseline", {
  es <- callback_early_stopping(monitor = "val_acc", min_delta = 0.1, patience = 1, mode = "max")
  m <- fake_mlp(3, 4, 1)
  es$set_context(m, list(), new.env())
  es$on_train_begin()
  es$on_epoch_end(1, list(val_acc = 0.5))
  es$on_epoch_end(2, list(val_acc = 0.55))
  expect_true(isTRUE(es$context$stop_training))
  expect_equal(monitor_direction("val_loss", "auto", m), "min")
  expect_equal(monitor_direction("accuracy", "auto", m), "max")
  expect_warning(es$on_epoch_end(3, list(loss = 1)), class = "rgru_warning_monitor")
  expect_error(callback_early_stopping(mode = "up"), class = "rgru_error_argument")
  expect_error(callback_early_stopping(patience = -1), class = "rgru_error_argument")
})

test_that("checkpoint paths are formatted from the epoch and logs", {
  expect_equal(format_checkpoint_path("m-{epoch:02d}-{val_loss:.2f}.rds", 3, list(val_loss = 0.12345)),
               "m-03-0.12.rds")
  expect_equal(format_checkpoint_path("m-{epoch}.rds", 12, list()), "m-12.rds")
  expect_error(format_checkpoint_path("{acc}.rds", 1, list()), class = "rgru_error_argument")
})

test_that("model checkpoints save weights each epoch or only the best", {
  d <- cb_data()
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = optimizer_sgd(0.05), loss = "mse")
  dir <- withr::local_tempdir()
  cb <- callback_model_checkpoint(file.path(dir, "w-{epoch}.rds"), save_weights_only = TRUE)
  fit(m, d$x, d$y, epochs = 2, callbacks = list(cb), verbose = 0)
  expect_true(all(file.exists(file.path(dir, c("w-1.rds", "w-2.rds")))))
  best <- file.path(dir, "best.rds")
  cb <- callback_model_checkpoint(best, monitor = "loss", save_best_only = TRUE,
                                  save_weights_only = TRUE)
  fit(m, d$x, d$y, epochs = 2, callbacks = list(cb), verbose = 0)
  expect_true(file.exists(best))
  m2 <- fake_mlp(3, 4, 1, seed = 99)
  load_model_weights(m2, best)
  expect_equal(m2$weights[[1]]$value, m$weights[[1]]$value)
  expect_error(callback_model_checkpoint(best, save_freq = 10), class = "rgru_error_argument")
})

test_that("callbacks run in Keras's order with 1-based epochs", {
  d <- cb_data(8)
  m <- fake_mlp(3, 4, 1)
  compile(m, optimizer = "sgd", loss = "mse")
  calls <- character()
  cb <- callback_lambda(
    on_train_begin = function(logs) calls <<- c(calls, "train_begin"),
    on_epoch_begin = function(epoch, logs) calls <<- c(calls, paste0("epoch_begin", epoch)),
    on_train_batch_end = function(batch, logs) calls <<- c(calls, paste0("batch", batch)),
    on_epoch_end = function(epoch, logs) calls <<- c(calls, paste0("epoch_end", epoch)),
    on_train_end = function(logs) calls <<- c(calls, "train_end")
  )
  fit(m, d$x, d$y, epochs = 2, batch_size = 4, callbacks = cb, verbose = 0)
  expect_equal(calls, c("train_begin", "epoch_begin1", "batch1", "batch2", "epoch_end1",
                        "epoch_begin2", "batch1", "batch2", "epoch_end2", "train_end"))
  expect_error(callback_lambda(on_epoch_end = 1), class = "rgru_error_argument")
})
