# Instructions per call, for bench/README.md's callgrind table (independent of the machine's load).
# WHAT = engine | call | predict | train; N calls after 20 warm-up calls. Run twice, with N and
# with N = 0, and divide the difference of the totals by N:
#   WHAT=train N=300 R_LIBS=<library> R -d "valgrind --tool=callgrind" --vanilla --no-echo \
#     -f bench/instructions.R 2>&1 | grep refs
# The engine case knows both the configuration-based gru_forward_cpp() and the positional one
# of c52524e, so both sides of the table run the same script.
suppressMessages(library(rgru)); options(rgru.num_threads = 1)
n <- as.integer(Sys.getenv("N")); what <- Sys.getenv("WHAT"); ns <- asNamespace("rgru")
set.seed(1); x <- array(runif(80), c(1,10,8))
xb <- array(runif(32*80), c(32,10,8)); yb <- matrix(runif(128), 32)
f <- switch(what,
  engine = { gru <- layer_gru(units = 4); invisible(gru(x)); w <- get_weights(gru)
    if (exists("engine_config", ns)) { cfg <- ns$engine_config(units = 4, input_dim = 8, return_sequences = FALSE); o <- ns$engine_run_options()
      function() ns$gru_forward_cpp(cfg, o, x, w[[1]], w[[2]], w[[3]], NULL, NULL, NULL, NULL, FALSE) }
    else function() ns$gru_forward_cpp(x, w[[1]], w[[2]], w[[3]], NULL, NULL, NULL, NULL, "tanh", "sigmoid", TRUE, FALSE, FALSE, "float32", FALSE) },
  call = { gru <- layer_gru(units = 4); invisible(gru(x)); function() gru(x) },
  predict = { m <- keras_model_sequential(input_shape = c(10, 8)) |> layer_gru(4); invisible(predict(m, x, verbose = 0)); function() predict(m, x, verbose = 0) },
  train = { m2 <- keras_model_sequential(input_shape = c(10, 8)) |> layer_gru(4); m2 |> compile(optimizer = optimizer_adam(), loss = "mse"); invisible(train_on_batch(m2, xb, yb)); function() train_on_batch(m2, xb, yb) })
for (i in seq_len(20)) f()
for (i in seq_len(n)) f()
