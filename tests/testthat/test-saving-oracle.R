# Round trip into real Keras: files rgru writes load in Python Keras 3.15.1
# (../shared/keras-oracle), which predicts what rgru predicts. Runs where
# that oracle is set up (RGRU_KERAS_ORACLE, or ../shared/keras-oracle with
# Keras unpacked in $KERAS_ORACLE_HOME); skipped elsewhere.

run_keras_oracle <- function(cases) {
  oracle <- keras_oracle_dir()
  dir <- withr::local_tempdir(.local_envir = parent.frame())
  manifest <- file.path(dir, "manifest.json")
  results <- file.path(dir, "results.json")
  log <- file.path(dir, "keras.log")
  jsonlite::write_json(list(cases = cases), manifest, auto_unbox = TRUE, digits = NA, null = "null")
  script <- normalizePath(test_path("python", "keras_load.py"))
  command <- sprintf(". %s && \"$PY\" %s %s %s > %s 2>&1", shQuote(file.path(oracle, "env.sh")),
                     shQuote(script), shQuote(manifest), shQuote(results), shQuote(log))
  status <- system2("bash", c("-c", shQuote(command)))
  if (status != 0 || !file.exists(results)) {
    fail(paste(c("Keras failed:", readLines(log, warn = FALSE)), collapse = "\n"))
    return(NULL)
  }
  jsonlite::fromJSON(results, simplifyVector = FALSE)
}

oracle_outputs <- function(x, multi) if (multi) lapply(x, json_to_array) else json_to_array(x)

test_that("Keras loads rgru's .keras and .weights.h5 files and predicts rgru's numbers", {
  skip_if(is.null(keras_oracle_dir()),
          "real Keras is not set up here (see ../shared/keras-oracle/README.md, or set RGRU_KERAS_ORACLE)")
  models <- roundtrip_models()
  dir <- withr::local_tempdir()
  cases <- list()
  expected <- list()
  for (name in names(models)) {
    model <- models[[name]]
    x <- roundtrip_inputs(name)
    keras_path <- file.path(dir, paste0(name, ".keras"))
    weights_path <- file.path(dir, paste0(name, ".weights.h5"))
    save_model(model, keras_path)
    save_model_weights(model, weights_path)
    expected[[name]] <- predict(model, x, batch_size = 3)
    if (is.function(model$reset_state)) model$reset_state()
    cases[[length(cases) + 1]] <- list(name = name, keras = keras_path, weights = weights_path,
                                       inputs = x, multi_input = is.list(x),
                                       float64 = name == "float64")
  }
  results <- run_keras_oracle(cases)
  skip_if(is.null(results))
  for (name in names(models)) {
    got <- results$cases[[name]]
    expect_null(got$error)
    if (!is.null(got$error)) next
    multi <- is.list(expected[[name]])
    tolerance <- if (name == "float64") 1e-10 else 1e-5
    expect_lt(max_abs_diff(oracle_outputs(got$outputs, multi), expected[[name]]), tolerance)
    expect_lt(max_abs_diff(oracle_outputs(got$weights_outputs, multi), expected[[name]]), tolerance)
  }
  # Keras's own layer order for the functional graph is the one rgru wrote.
  multi <- rgru:::layer_object(models$functional_multi)
  expect_equal(unlist(results$cases$functional_multi$layer_names),
               vapply(rgru:::keras_functional_layers(multi), function(l) l$name, ""))
})

test_that("Keras restores the compile settings and optimizer state rgru saved", {
  skip_if(is.null(keras_oracle_dir()),
          "real Keras is not set up here (see ../shared/keras-oracle/README.md, or set RGRU_KERAS_ORACLE)")
  set.seed(5)
  x <- array(rnorm(8 * 6 * 5), c(8, 6, 5))
  y <- matrix(rnorm(8), 8)
  optimizers <- list(adam = optimizer_adam(0.01, amsgrad = TRUE),
                     sgd = optimizer_sgd(0.05, momentum = 0.9, nesterov = TRUE),
                     rmsprop = optimizer_rmsprop(0.002, momentum = 0.5, centered = TRUE))
  losses <- list(adam = "mse", sgd = loss_mean_absolute_error(), rmsprop = loss_huber(delta = 2))
  keras_losses <- c(adam = "mse", sgd = "MeanAbsoluteError", rmsprop = "Huber")
  dir <- withr::local_tempdir()
  cases <- list()
  models <- list()
  for (name in names(optimizers)) {
    model <- keras_model_sequential(input_shape = c(6, 5)) |> layer_gru(4) |> layer_dense(1)
    compile(model, optimizer = optimizers[[name]], loss = losses[[name]], metrics = "mae")
    fit(model, x, y, epochs = 2, batch_size = 4, verbose = 0)
    path <- file.path(dir, paste0(name, ".keras"))
    save_model(model, path)
    models[[name]] <- model
    cases[[length(cases) + 1]] <- list(name = name, keras = path, weights = NULL, inputs = x,
                                       multi_input = FALSE, float64 = FALSE)
  }
  results <- run_keras_oracle(cases)
  skip_if(is.null(results))
  for (name in names(optimizers)) {
    got <- results$cases[[name]]
    expect_null(got$error)
    if (!is.null(got$error)) next
    expect_equal(got$loss, keras_losses[[name]])
    state <- rgru:::compile_state(models[[name]])
    want <- rgru:::optimizer_variables(state, models[[name]]$trainable_weights)
    expect_length(got$optimizer$variables, length(want))
    expect_equal(unlist(got$optimizer$variables[[1]]), 4)
    for (k in seq_along(want)) {
      expect_equal(as.vector(json_to_array(got$optimizer$variables[[k]])),
                   as.vector(want[[k]]$value), tolerance = 1e-6)
    }
  }
})
