# rgru quick start: keras3's layer_gru() in R, no Python.
# Run with: Rscript -e 'source(system.file("examples", "quickstart.R", package = "rgru"))'
library(rgru)

cat("== The layer_gru() reference examples ==\n")
inputs <- random_uniform(c(32, 10, 8))
outputs <- inputs |> layer_gru(4)
print(shape(outputs))

gru <- layer_gru(, 4, return_sequences = TRUE, return_state = TRUE)
c(whole_sequence_output, final_state) %<-% gru(inputs)
print(shape(whole_sequence_output))
print(shape(final_state))

cat("\n== Training a GRU: predict a noisy sine wave one step ahead ==\n")
set.seed(1)
n <- 512
timesteps <- 20
phase <- runif(n, 0, 2 * pi)
freq <- runif(n, 0.2, 0.5)
wave <- sin(phase + freq * outer(rep(1, n), 0:timesteps)) +
  matrix(rnorm(n * (timesteps + 1), sd = 0.05), n)
x <- array(wave[, 1:timesteps], c(n, timesteps, 1))
y <- matrix(wave[, timesteps + 1], n)

model <- keras_model_sequential(input_shape = c(timesteps, 1)) |>
  layer_gru(32) |>
  layer_dense(1)
summary(model)
model |> compile(optimizer = optimizer_adam(0.01), loss = "mse", metrics = "mae")
history <- model |> fit(x, y, epochs = 10, batch_size = 32, validation_split = 0.2,
                        verbose = 2)

losses <- history$metrics$loss
cat(sprintf("\nTraining loss went from %.4f (epoch 1) to %.4f (epoch %d).\n",
            losses[1], losses[length(losses)], length(losses)))
x_new <- x[1:3, , , drop = FALSE]
print(cbind(predicted = predict(model, x_new, verbose = 0)[, 1], actual = y[1:3, 1]))

cat("\n== Backend ==\n")
print(rgru_backend())
