# Parity with PyTorch nn.GRU (the reset_after = TRUE convention), from fixtures that
# tools/torch-fixtures.py wrote with python3-torch: outputs and every gradient.

torch_case <- function(f, dtype) {
  out <- engine_call(f$x, f$kernel, f$recurrent_kernel, f$bias, f$initial_state,
    mask = if (is.null(f$mask)) NULL else f$mask > 0, dtype = dtype, keep_tape = TRUE)
  out$grads <- gru_backward_cpp(out$tape, f$w_seq, f$w_fin)
  out
}

for (name in c("basic", "wide", "single-unit")) {
  test_that(paste("float64 outputs and gradients equal nn.GRU's:", name), {
    f <- read_engine_fixture(paste0("torch-gru-", name))
    out <- torch_case(f, "float64")
    expect_equal(out$sequence, f$sequence, tolerance = 1e-10)
    expect_equal(out$final_state, f$final_state, tolerance = 1e-10)
    for (g in c("d_x", "d_initial_state", "d_kernel", "d_recurrent_kernel", "d_bias")) {
      expect_equal(out$grads[[g]], f[[g]], tolerance = 1e-10, label = g)
    }
  })
}

test_that("a right-padded mask gives nn.GRU's packed-sequence final state and gradients", {
  f <- read_engine_fixture("torch-gru-right-padded")
  out <- torch_case(f, "float64")
  expect_equal(out$final_state, f$final_state, tolerance = 1e-10)
  for (g in c("d_x", "d_initial_state", "d_kernel", "d_recurrent_kernel", "d_bias")) {
    expect_equal(out$grads[[g]], f[[g]], tolerance = 1e-10, label = g)
  }
})

test_that("float32 outputs and gradients equal nn.GRU's float32 ones", {
  f <- read_engine_fixture("torch-gru-basic-float32")
  out <- torch_case(f, "float32")
  expect_equal(out$sequence, f$sequence, tolerance = 1e-5)
  expect_equal(out$final_state, f$final_state, tolerance = 1e-5)
  for (g in c("d_x", "d_initial_state", "d_kernel", "d_recurrent_kernel", "d_bias")) {
    expect_equal(out$grads[[g]], f[[g]], tolerance = 1e-5, label = g)
  }
})
