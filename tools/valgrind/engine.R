# What tools/valgrind/run.sh runs under valgrind's memcheck: the engine's entry points
# through the public API, small but past the thresholds where the engine changes paths
# (threads, recycled result arrays, chunked projections), with masks, dropout, both
# reset_after conventions, stateful layers, training, and saving and loading a model.
library(rgru)
options(rgru.num_threads = 2)
set.seed(1)

check <- function(ok, what) if (!isTRUE(ok)) stop("valgrind script: ", what, call. = FALSE)

x <- array(stats::rnorm(16 * 12 * 5), c(16, 12, 5))
for (reset_after in c(TRUE, FALSE)) for (dtype in c("float32", "float64")) {
  g <- layer_gru(units = 8, return_sequences = TRUE, reset_after = reset_after, dtype = dtype,
    go_backwards = !reset_after)
  y <- g(x)
  check(all(is.finite(y)), "finite outputs")
}

# threads: batch * units of at least 32768; results of 64 KiB and more come back recycled
big <- array(stats::rnorm(128 * 3 * 4), c(128, 3, 4))
y1 <- layer_gru(big, units = 256, return_sequences = TRUE)
options(rgru.num_threads = 1)
check(identical(dim(y1), c(128L, 3L, 256L)), "large call")
rm(y1)
invisible(gc())
options(rgru.num_threads = 2)

# masks, dropout and training: forward with a tape, backward through time
model <- keras_model_sequential(input_shape = c(12, 5)) |>
  layer_masking(mask_value = 0) |>
  layer_gru(units = 6, dropout = 0.2, recurrent_dropout = 0.2, return_sequences = TRUE) |>
  layer_gru(units = 4, reset_after = FALSE, activation = "relu") |>
  layer_dense(units = 1)
xm <- x
xm[1:4, 9:12, ] <- 0
model |> compile(optimizer = "adam", loss = "mse")
history <- model |> fit(xm, stats::rnorm(16), epochs = 2, batch_size = 8, verbose = 0)
check(all(is.finite(unlist(history$metrics))), "training losses")
p <- predict(model, xm, verbose = 0)

# stateful: the state carried between calls
s <- layer_gru(units = 5, stateful = TRUE, return_state = TRUE, batch_size = 16)
first <- s(x)
second <- s(x)
check(!identical(first[[2]], second[[2]]), "stateful layers carry their state")

# save and load
file <- tempfile(fileext = ".keras")
save_model(model, file)
again <- load_model(file)
check(isTRUE(all.equal(predict(again, xm, verbose = 0), p)), "a loaded model predicts the same")

rgru_empty_cache()
cat("valgrind script: done\n")
