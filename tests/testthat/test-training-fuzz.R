# compile(), fit(), evaluate(), the *_on_batch() functions and the objects
# they take (optimizers, losses, metrics, callbacks) under the seeded fuzzer:
# see test-api-fuzz.R and helper-fuzz.R.

test_that("training calls give results or rgru errors naming an argument", {
  results <- expect_fuzz_clean(fuzz_training_targets)
  # Issue 14's fixed cases: batch_size = Inf, 1e300 and 2^31, steps_per_epoch =
  # 1e15, initial_epoch = 2^31, validation_data = list(NULL, NULL) and
  # evaluate(steps = 2^31).
  fixed <- results[results$fixed %in% TRUE & results$target %in% c("fit", "evaluate"), ]
  expect_identical(nrow(fixed), 7L)
  expect_identical(unique(fixed$class), "rgru_error_argument")
  expect_true(all(fixed$named))
})
