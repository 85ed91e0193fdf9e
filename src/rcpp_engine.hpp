// The CPU engine's surroundings, shared by its glue files: the cores there are, the BLAS
// R links to and its own thread count while an engine call runs, and the R arrays results
// are returned in. The boundary itself (configurations, run options, checks, errors) is
// rcpp_glue.hpp.
#ifndef RGRU_RCPP_ENGINE_H
#define RGRU_RCPP_ENGINE_H

#include <Rcpp.h>

#include <string>
#include <vector>

#include "rcpp_glue.hpp"
#include "rgru/gemm.hpp"
#include "rgru/schedule.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifndef _WIN32
#include <dlfcn.h>
#endif

namespace rgru_glue {

// The threads this machine offers (OpenMP's view), at least 1; asked once, as asking
// is a system call that would dominate a tiny engine call.
inline int available_threads() {
#ifdef _OPENMP
  static const int procs = omp_get_num_procs() > 0 ? omp_get_num_procs() : 1;
  return procs;
#else
  return 1;
#endif
}

// The threads a call runs on, given the thread count R passes in (options(rgru.num_threads),
// read and checked in R/engine.R): that many, at most the cores; 0 means every core, as
// PyTorch does: the engine only threads work large enough to gain, and on
// an idle 2-core machine two threads ran batch 256 x 100 steps x 256 units 1.4-2x faster.
// On a machine whose cores are busy with other work, OpenMP's default spin-waiting can
// make two threads slower than one (4x measured on our shared VM): set the option to 1
// there, or OMP_WAIT_POLICY=passive before starting R.
inline int threads_for(int requested) {
  const int cores = available_threads();
  return requested >= 1 && requested < cores ? requested : cores;
}

// options(rgru.num_threads) as engine_info() reports it (rcpp_engine_info.cpp); the GRU
// calls never read options, R passes them in.
inline int engine_threads() {
  SEXP opt = Rf_GetOption1(Rf_install("rgru.num_threads"));
  if ((TYPEOF(opt) == INTSXP || TYPEOF(opt) == REALSXP) && Rf_xlength(opt) == 1) {
    double v = Rf_asReal(opt);
    if (!ISNAN(v) && v >= 1) return v > available_threads() ? available_threads() : static_cast<int>(v);
  }
  return available_threads();
}

// A symbol of the running process (R's BLAS included), or nullptr.
inline void* process_symbol(const char* name) {
#ifndef _WIN32
  return dlsym(RTLD_DEFAULT, name);
#else
  (void)name;
  return nullptr;
#endif
}

// OpenBLAS's thread-count controls, looked up once (null when R's BLAS is another).
struct OpenblasThreads {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
};

inline const OpenblasThreads& openblas_threads() {
  static const OpenblasThreads found = [] {
    OpenblasThreads t;
    t.get = reinterpret_cast<int (*)()>(process_symbol("openblas_get_num_threads"));
    t.set = reinterpret_cast<void (*)(int)>(process_symbol("openblas_set_num_threads"));
    if (!t.get || !t.set) t = OpenblasThreads();
    return t;
  }();
  return found;
}

// Makes OpenBLAS single-threaded for the lifetime of the object and restores it after:
// the engine runs its GEMMs in fixed slabs on its own threads (rgru.num_threads), which
// keeps results identical for any thread count; R's own matrix products are unchanged.
// `largest_gemm` (m * n * k of the call's biggest product): OpenBLAS never threads
// products below 64^3, and skipping the switch keeps tiny calls at a few microseconds.
class BlasThreadScope {
 public:
  explicit BlasThreadScope(double largest_gemm) {
    const OpenblasThreads& t = openblas_threads();
    if (!t.set || largest_gemm < 262144.0) return;
    previous_ = t.get();
    if (previous_ != 1) {
      t.set(1);
      restore_ = true;
    }
  }
  ~BlasThreadScope() {
    if (restore_) openblas_threads().set(previous_);
  }
  BlasThreadScope(const BlasThreadScope&) = delete;
  BlasThreadScope& operator=(const BlasThreadScope&) = delete;

 private:
  int previous_ = 1;
  bool restore_ = false;
};

// m * n * k of the largest product a call on these dimensions runs.
inline double largest_gemm(const rgru::GruDims& d) {
  const double rows = double(d.batch) * double(d.timesteps) * 3.0 * double(d.units);
  return rows * double(d.input_dim > d.units ? d.input_dim : d.units);
}

// What R's BLAS is, found once per session (rcpp_engine_info.cpp).
struct BlasFacts {
  std::string name;          // e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (pthreads)"
  bool optimised = false;    // a known tuned BLAS (OpenBLAS, MKL, BLIS, ...)
  double dgemm_gflops = 0;   // measured on a 256^3 product, single call
  bool slow_reference = false;
  bool older_kernels = false;  // OpenBLAS runs pre-AVX2 kernels on a CPU with AVX2 + FMA
};
const BlasFacts& blas_facts();

// An uninitialised double array with these dims for an engine result (the caller writes
// every element); large ones live in recycled memory (rcpp_result_arrays.cpp).
Rcpp::NumericVector new_result_array(const std::vector<rgru::index_t>& dims);

// "auto" (the GEMM for R's BLAS as it is: R's BLAS unless it is a slow reference BLAS,
// or OpenBLAS running kernels older than the CPU, see BlasFacts, where Eigen's GEMM is
// faster), "blas" or "eigen".
inline rgru::GemmBackend gemm_for(const std::string& choice) {
  if (choice == "blas") return rgru::GemmBackend::blas;
  if (choice == "eigen") return rgru::GemmBackend::eigen;
  const BlasFacts& blas = blas_facts();
  return blas.slow_reference || blas.older_kernels ? rgru::GemmBackend::eigen
                                                   : rgru::GemmBackend::blas;
}

// options(rgru.gemm) as engine_info() reports it (rcpp_engine_info.cpp).
rgru::GemmBackend engine_gemm();

// How a CPU call runs (threads, GEMM), from the run options R passed in: the GRU engine's
// and the convolution's alike.
inline rgru::EngineOptions engine_options(const RunOptions& o) {
  static const char* const choices[] = {"auto", "blas", "eigen"};
  rgru::EngineOptions opt;
  opt.num_threads = threads_for(o.threads);
  opt.gemm = gemm_for(choices[o.gemm]);
  return opt;
}

}  // namespace rgru_glue

#endif  // RGRU_RCPP_ENGINE_H
