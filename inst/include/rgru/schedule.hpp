// How the CPU engine runs its work: which loops and matrix products are split, into how
// many pieces, and on how many threads. The engine's passes (engine.hpp) take it as a
// template parameter, so a program can bring its own; none of it changes what is
// computed. Every split depends on the shape and the machine, never on the thread
// count, so results are bitwise the same for any num_threads.
#ifndef RGRU_SCHEDULE_HPP
#define RGRU_SCHEDULE_HPP

#include <algorithm>
#include <atomic>
#include <thread>

#include "gemm.hpp"
#include "gru.hpp"

#if defined(_OPENMP) && !defined(_WIN32)
#include <pthread.h>
#endif

namespace rgru {

// How to run, not what to compute: results are identical for any num_threads.
struct EngineOptions {
  int num_threads = 1;
  GemmBackend gemm = default_gemm_backend();
};

namespace detail {

// GNU OpenMP is not fork-safe: fork() copies only the calling thread, and a child that
// enters a parallel region after its parent started OpenMP's threads waits for them
// forever (parallel::mclapply() and mcparallel() fork the R session). So a forked child
// runs the engine on one thread. The handler is registered when the library loads,
// before any fork, and marks every child forked after that.
inline std::atomic<bool> forked_child{false};

inline void mark_forked_child() { forked_child.store(true, std::memory_order_relaxed); }

#if defined(_OPENMP) && !defined(_WIN32)
inline const int fork_handler_registered = pthread_atfork(nullptr, nullptr, &mark_forked_child);
#endif

inline bool in_forked_child() { return forked_child.load(std::memory_order_relaxed); }

}  // namespace detail

// The default schedule: OpenMP threads over samples and over slabs of each GEMM.
class CpuSchedule {
 public:
  explicit CpuSchedule(const EngineOptions& opt)
      : threads_(detail::in_forked_child() ? 1 : std::max(1, opt.num_threads)), gemm_(opt.gemm) {}

  int threads() const { return threads_; }

  // body(i) for i in [0, n), split over the threads when a pass touches `work` elements
  // or more: below that, waking threads costs more than it saves. Entering an OpenMP region
  // costs microseconds even on one thread, so one thread skips it altogether.
  template <typename Body>
  void parallel_for(index_t n, index_t work, Body&& body) const {
    run_on(threads_ > 1 && work >= 32768 ? threads_ : 1, n, body);
  }

  // C = alpha op(A) op(B) + beta C (gemm.hpp), cut into at most max_gemm_slabs() slabs
  // along C's longer side, the cut depending only on the shape and the machine; slabs run
  // on the threads, each a single-threaded GEMM. A multithreaded BLAS call is not bitwise
  // reproducible across thread counts (OpenBLAS's differs in the last bits); this is, and
  // it still keeps the cores busy.
  template <typename T>
  void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a,
            index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) const {
    const bool rows = m >= n;
    const index_t len = rows ? m : n;
    const index_t slabs = std::max<index_t>(1, std::min<index_t>(max_gemm_slabs(), len / 64));
    const index_t width = (len + slabs - 1) / slabs;
    const double flops = 2.0 * double(m) * double(n) * double(k);
    const int nt = threads_ > 1 && slabs > 1 && flops >= 4e6 ? threads_ : 1;
    run_on(nt, slabs, [&](index_t s) {
      const index_t from = s * width, to = std::min(len, from + width);
      if (from >= to) return;
      if (rows) {
        rgru::gemm<T>(gemm_, trans_a, trans_b, to - from, n, k, alpha,
                      trans_a ? a + lda * from : a + from, lda, b, ldb, beta, c + from, ldc);
      } else {
        rgru::gemm<T>(gemm_, trans_a, trans_b, m, to - from, k, alpha, a, lda,
                      trans_b ? b + from : b + ldb * from, ldb, beta, c + ldc * from, ldc);
      }
    });
  }

  // Steps whose input projection one inference GEMM computes: enough columns for an
  // efficient product while the result stays in cache.
  index_t projection_steps(index_t batch, index_t timesteps) const {
    return std::min<index_t>(timesteps, std::max<index_t>(1, 512 / batch));
  }

  // Samples whose gates reset_after's gate pass activates in one kernel call: one call per
  // sample costs more than the work with few units (4 units: 8 and 4 values a call), and a
  // group's gates (about 4096 values) stay in L1.
  index_t gate_group(index_t units) const { return std::max<index_t>(1, 4096 / (3 * units)); }

 private:
  // As many slabs as the machine has hardware threads, at most 8: a fact of the machine,
  // not of the thread setting, so results stay the same for any num_threads. Each extra
  // slab packs the shared operand again (bench/README.md).
  static index_t max_gemm_slabs() {
    static const index_t slabs =
        std::max<index_t>(1, std::min<index_t>(8, std::thread::hardware_concurrency()));
    return slabs;
  }

  template <typename Body>
  static void run_on(int nt, index_t n, const Body& body) {
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
      for (index_t i = 0; i < n; ++i) body(i);
    } else {
      for (index_t i = 0; i < n; ++i) body(i);
    }
  }

  int threads_;
  GemmBackend gemm_;
};

}  // namespace rgru

#endif  // RGRU_SCHEDULE_HPP
