# Progress lines carry timings; snapshots see them masked, the format kept:
# "2/2 - 0s - 3ms/step - loss: ..." becomes "2/2 - <t>s - <t>/step - loss: ...".
mask_timings <- function(lines) {
  lines <- gsub("[0-9]+(s|ms|us)/step", "<t>/step", lines)
  lines <- gsub("(- |\u2501 )[0-9]+s( -| <t>)", "\\1<t>s\\2", lines)
  lines
}

small_compiled_model <- function(metrics = "mae") {
  set_random_seed(11)
  model <- keras_model_sequential(input_shape = c(3, 2)) |>
    layer_gru(2) |>
    layer_dense(1)
  model |> compile(optimizer = "sgd", loss = "mse", metrics = metrics)
  model
}
