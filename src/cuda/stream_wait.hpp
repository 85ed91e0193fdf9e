// Waiting for the GPU without deafening R to Ctrl-C, decided without CUDA (tested in
// tools/cpp-tests/cuda_policy_check.cpp and, with R's own interrupt check, in
// test-cudnn.R through cuda_wait_check_cpp()).
//
// Why not stop at once: the kernels already queued cannot be withdrawn, and they read
// and write pooled device and pinned host buffers that go back to their pools when the
// call unwinds. So an interrupt is noticed while waiting, the wait goes on until the
// stream is idle, and only then does the call stop (nothing after it is queued, and R
// gets its interrupt instead of a result).
#ifndef RGRU_CUDA_STREAM_WAIT_HPP
#define RGRU_CUDA_STREAM_WAIT_HPP

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

namespace rgru {
namespace cuda {

// Thrown once the stream is idle when the user interrupted the wait. Not an error: the R
// glue turns it back into R's interrupt (rgru_glue::guarded()), never into a fallback.
struct interrupted : std::exception {
  const char* what() const noexcept override {
    return "interrupted while waiting for the GPU";
  }
};

// Asks whether the user has interrupted. The R glue sets R's check (rgru_cuda.so,
// set_interrupt_check()); without one, as in tools/gpu-check, waits only wait.
using InterruptCheck = bool (*)();

struct WaitTimes {
  // Polled without pausing first: most calls finish within this, and a pause would only
  // add latency to them.
  std::chrono::microseconds busy{200};
  // Pauses then double from `first_pause` up to `longest_pause`.
  std::chrono::microseconds first_pause{10};
  std::chrono::microseconds longest_pause{1000};
  // How often the interrupt check runs (each costs a trip into R).
  std::chrono::microseconds check_every{50000};
};

// Returns once is_done() says so, and whether interrupt_requested() said yes meanwhile
// (it is not asked again after a yes). `now` and `pause` are the clock and the sleep,
// injectable for the tests.
template <typename IsDone, typename InterruptRequested, typename Now, typename Pause>
bool wait_until_done(IsDone&& is_done, InterruptRequested&& interrupt_requested, Now&& now,
                     Pause&& pause, const WaitTimes& times = WaitTimes()) {
  const auto start = now();
  auto next_check = start + times.check_every;
  auto next_pause = times.first_pause;
  bool interrupt = false;
  while (!is_done()) {
    const auto t = now();
    if (!interrupt && t >= next_check) {
      interrupt = interrupt_requested();
      next_check = t + times.check_every;
    }
    if (t - start < times.busy) continue;
    pause(next_pause);
    next_pause = std::min(next_pause * 2, times.longest_pause);
  }
  return interrupt;
}

// The wait on the steady clock, sleeping between polls: what Stream::synchronize() runs
// (and cuda_wait_check_cpp() tests).
template <typename IsDone, typename InterruptRequested>
bool wait_until_done(IsDone&& is_done, InterruptRequested&& interrupt_requested) {
  return wait_until_done(
      is_done, interrupt_requested, [] { return std::chrono::steady_clock::now(); },
      [](std::chrono::microseconds d) { std::this_thread::sleep_for(d); });
}

}  // namespace cuda
}  // namespace rgru

#endif  // RGRU_CUDA_STREAM_WAIT_HPP
