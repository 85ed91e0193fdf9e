# The activation kernels the engine runs for sigmoid and tanh (src/cpu/kernels_*.cpp,
# inst/include/rgru/fast_math.hpp): every kernel set this CPU can run, against R's own
# tanh() and plogis() (double precision, correctly rounded to well under 1e-15).

kernels <- engine_kernels_cpp()

fast_math_inputs <- function() {
  tiny <- 10^seq(-30, -1, by = 0.25)
  c(0, tiny, -tiny, seq(-30, 30, by = 0.01), seq(-1.3, 1.3, by = 1e-4), -90, -100, 87.5, 200,
    710, -710, 1e300, -1e300)
}

round_to_float32 <- function(x) {
  readBin(writeBin(x, raw(), size = 4), "double", n = length(x), size = 4)
}

# Relative error, with an absolute floor where the exact value is below what the
# format represents as a normal number.
kernel_error <- function(got, want, floor) abs(got - want) / pmax(abs(want), floor)

test_that("the kernels in use are the fastest this CPU runs", {
  expect_type(kernels$in_use, "character")
  expect_identical(kernels$in_use, kernels$runnable[[1]])
  expect_true("Eigen" %in% kernels$runnable)
  expect_identical(engine_info()$activations, kernels$in_use)
  expect_error(engine_activation_cpp(1, "tanh", "float64", "sse9"), "not available")
  expect_error(engine_activation_cpp(1, "relu", "float64", "Eigen"), "activation")
  expect_error(engine_activation_cpp(1, "tanh", "float16", "Eigen"), "dtype")
})

for (name in kernels$runnable) {
  test_that(paste0("kernels '", name, "': tanh and sigmoid to a few ulp"), {
    x <- fast_math_inputs()
    for (dtype in c("float32", "float64")) {
      eps <- if (dtype == "float32") 2^-23 else 2^-52
      # results this far below the smallest normal number may flush to zero
      floor <- if (dtype == "float32") 1e-30 else 1e-290
      # the reference at the input as the kernel sees it, so only its own error counts
      xin <- if (dtype == "float32") round_to_float32(x) else x
      th <- engine_activation_cpp(x, "tanh", dtype, name)
      sg <- engine_activation_cpp(x, "sigmoid", dtype, name)
      # Eigen's float32 tanh is a rational approximation, a few ulp looser
      ulps <- if (name == "Eigen") 16 else 4
      expect_lt(max(kernel_error(th, tanh(xin), floor)), ulps * eps, label = paste(dtype, "tanh"))
      expect_lt(max(kernel_error(sg, stats::plogis(xin), floor)), ulps * eps,
        label = paste(dtype, "sigmoid"))
      expect_identical(th, -engine_activation_cpp(-x, "tanh", dtype, name))
      # Eigen 3.3's float tanh clamps NaN to a finite value; ours keep IEEE semantics
      if (name != "Eigen") {
        expect_identical(engine_activation_cpp(c(Inf, -Inf), "tanh", dtype, name), c(1, -1))
        expect_identical(engine_activation_cpp(c(Inf, -Inf), "sigmoid", dtype, name), c(1, 0))
        expect_true(all(is.na(engine_activation_cpp(c(NaN, NA), "tanh", dtype, name))))
        expect_true(all(is.na(engine_activation_cpp(c(NaN, NA), "sigmoid", dtype, name))))
      }
    }
  })
}

test_that("the engine gives the same results after reusing its workspace", {
  # Workspace blocks are recycled across calls (src/cpu/block_cache.cpp): a call of another
  # shape in between must not leave anything behind that a later call reads.
  a <- engine_args(B = 40, TT = 30, F = 7, H = 33, mask = NULL, initial_state = TRUE)
  b <- engine_args(B = 64, TT = 25, F = 9, H = 40, seed = 2, recurrent_dropout = TRUE)
  w <- engine_loss_weights(a)
  run <- function(args, w) {
    out <- engine_forward(args, dtype = "float32", keep_tape = TRUE)
    c(out[c("sequence", "final_state")], gru_backward_cpp(out$tape, w$seq, w$fin))
  }
  first <- run(a, w)
  run(b, engine_loss_weights(b))
  again <- run(a, w)
  expect_identical(again, first)
})
