// The cuDNN backend's decisions that need no GPU, on stand-ins for the device: how a wait
// for the GPU hears an interrupt (src/cuda/stream_wait.hpp), which algorithm a call runs
// and when a refused one is retried with the standard algorithm
// (src/cuda/algorithm_policy.hpp). Prints one line per check; exits non-zero on failure.
#include "cuda/algorithm_policy.hpp"
#include "cuda/stream_wait.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using rgru::cuda::Algorithm;
using rgru::cuda::AlgorithmRequest;
using std::chrono::microseconds;

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) failures++;
}

// A stream that is idle after `busy` of fake time; every query costs `query_cost`, every
// pause advances the clock by its length. Records the interrupt checks.
struct FakeWait {
  microseconds busy;
  microseconds query_cost{1};
  microseconds interrupt_at = microseconds::max();  // when the user presses Ctrl-C
  std::chrono::steady_clock::time_point clock{};
  std::chrono::steady_clock::time_point start{};
  int queries = 0;
  int pauses = 0;
  int interrupt_checks = 0;
  microseconds longest_pause{0};
  microseconds first_check{-1};
  bool done_when_returned = false;

  microseconds elapsed() const {
    return std::chrono::duration_cast<microseconds>(clock - start);
  }

  bool run(const rgru::cuda::WaitTimes& times = rgru::cuda::WaitTimes()) {
    const bool interrupted = rgru::cuda::wait_until_done(
        [&] {
          queries++;
          clock += query_cost;
          return elapsed() >= busy;
        },
        [&] {
          if (interrupt_checks++ == 0) first_check = elapsed();
          return elapsed() >= interrupt_at;
        },
        [&] { return clock; },
        [&](microseconds d) {
          pauses++;
          if (d > longest_pause) longest_pause = d;
          clock += d;
        },
        times);
    done_when_returned = elapsed() >= busy;
    return interrupted;
  }
};

void wait_checks() {
  {
    FakeWait w{microseconds(50)};
    const bool interrupted = w.run();
    check(!interrupted && w.done_when_returned, "a short wait returns once the stream is idle");
    check(w.pauses == 0, "a short wait only polls (no pause adds latency)");
    check(w.interrupt_checks == 0, "a short wait never asks R about interrupts");
  }
  {
    FakeWait w{microseconds(2000000)};
    const bool interrupted = w.run();
    check(!interrupted && w.done_when_returned, "a long wait returns once the stream is idle");
    check(w.longest_pause == microseconds(1000), "pauses grow to 1 ms and no further");
    // 200 us of polling at 1 us a query, then one query per pause of up to 1 ms.
    check(w.queries < 2400, "a long wait polls about once per millisecond, not in a busy loop");
    check(w.interrupt_checks >= 35 && w.interrupt_checks <= 41,
          "R is asked about interrupts about every 50 ms");
    check(w.first_check >= microseconds(50000) && w.first_check < microseconds(52000),
          "the first interrupt check comes after 50 ms");
  }
  {
    FakeWait w{microseconds(3000000)};
    w.interrupt_at = microseconds(300000);
    const bool interrupted = w.run();
    check(interrupted, "an interrupt during the wait is reported");
    check(w.done_when_returned, "an interrupted wait still returns only once the stream is idle");
    check(w.interrupt_checks >= 6 && w.interrupt_checks <= 8,
          "after an interrupt, R is not asked again");
  }
  {
    FakeWait w{microseconds(0)};
    const bool interrupted = w.run();
    check(!interrupted && w.queries == 1, "an idle stream costs one query");
  }
}

struct Refusal : rgru::cuda::error {
  using rgru::cuda::error::error;
};

// Runs run_with_standard_retry() with an attempt that fails with `status` for the
// algorithms in `refused`; returns the algorithms attempted, then those remembered.
struct RetryRun {
  std::vector<Algorithm> attempted;
  std::vector<Algorithm> remembered;
  std::string escaped;  // the status of an error that reached the caller
  bool oom_escaped = false;
};

RetryRun retry(AlgorithmRequest request, Algorithm chosen, const std::string& status,
               std::vector<Algorithm> refused, bool out_of_memory = false) {
  RetryRun r;
  try {
    const int value = rgru::cuda::run_with_standard_retry(
        request, chosen,
        [&](Algorithm a) {
          r.attempted.push_back(a);
          for (Algorithm x : refused) {
            if (x != a) continue;
            if (out_of_memory) throw rgru::cuda::out_of_memory("no memory", status);
            throw rgru::cuda::error("refused", status);
          }
          return 7;
        },
        [&](Algorithm a) { r.remembered.push_back(a); });
    if (value != 7) r.escaped = "wrong value";
  } catch (const rgru::cuda::out_of_memory& e) {
    r.oom_escaped = true;
    r.escaped = e.status;
  } catch (const rgru::cuda::error& e) {
    r.escaped = e.status;
  }
  return r;
}

void retry_checks() {
  const AlgorithmRequest automatic = AlgorithmRequest::automatic;
  const Algorithm small_h = Algorithm::persist_static_small_h;
  const Algorithm standard = Algorithm::standard;
  {
    RetryRun r = retry(automatic, small_h, "CUDNN_STATUS_NOT_SUPPORTED", {});
    check(r.attempted == std::vector<Algorithm>{small_h} && r.remembered.empty() &&
              r.escaped.empty(),
          "an accepted algorithm runs once");
  }
  {
    RetryRun r = retry(automatic, small_h, "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH", {small_h});
    check(r.attempted == std::vector<Algorithm>{small_h, standard} &&
              r.remembered == std::vector<Algorithm>{small_h} && r.escaped.empty(),
          "\"auto\"'s refused persistent choice is remembered and retried as standard");
  }
  {
    RetryRun r = retry(automatic, Algorithm::persist_dynamic, "CUDNN_STATUS_ARCH_MISMATCH",
                       {Algorithm::persist_dynamic});
    check(r.attempted.size() == 2 && r.attempted[1] == standard,
          "an architecture mismatch is a refusal too");
  }
  {
    RetryRun r = retry(AlgorithmRequest::persist_static_small_h, small_h,
                       "CUDNN_STATUS_NOT_SUPPORTED", {small_h});
    check(r.attempted.size() == 1 && r.remembered.empty() &&
              r.escaped == "CUDNN_STATUS_NOT_SUPPORTED",
          "an algorithm asked for by name is not second-guessed: its refusal reaches R");
  }
  {
    RetryRun r = retry(automatic, small_h, "CUDNN_STATUS_EXECUTION_FAILED", {small_h});
    check(r.attempted.size() == 1 && r.escaped == "CUDNN_STATUS_EXECUTION_FAILED",
          "a failure that is not a refusal is not retried");
  }
  {
    RetryRun r = retry(automatic, small_h, "CUDNN_STATUS_NOT_SUPPORTED", {small_h}, true);
    check(r.attempted.size() == 1 && r.oom_escaped,
          "running out of memory is not retried with another algorithm");
  }
  {
    RetryRun r = retry(automatic, standard, "CUDNN_STATUS_NOT_SUPPORTED", {standard});
    check(r.attempted.size() == 1 && r.escaped == "CUDNN_STATUS_NOT_SUPPORTED",
          "a refused standard algorithm reaches R (the CPU fallback), never a loop");
  }
  {
    RetryRun r = retry(automatic, small_h, "CUDNN_STATUS_NOT_SUPPORTED", {small_h, standard});
    check(r.attempted.size() == 2 && r.escaped == "CUDNN_STATUS_NOT_SUPPORTED",
          "when the standard retry is refused too, that refusal reaches R");
  }
  check(rgru::cuda::algorithm_refused("CUDNN_STATUS_NOT_SUPPORTED_SHAPE") &&
            !rgru::cuda::algorithm_refused("CUDNN_STATUS_BAD_PARAM") &&
            !rgru::cuda::algorithm_refused(""),
        "refusals are told by their status");
}

}  // namespace

int main() {
  wait_checks();
  retry_checks();
  std::printf("%s\n", failures == 0 ? "all cuDNN policy checks passed" : "cuDNN policy checks FAILED");
  return failures == 0 ? 0 : 1;
}
