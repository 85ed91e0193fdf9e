// Run settings for the CPU engine, shared by the engine's glue files: the
// `rgru.num_threads` and `rgru.gemm` options, the BLAS R links to, and the BLAS's own
// thread count while an engine call runs.
#ifndef RGRU_RCPP_ENGINE_H
#define RGRU_RCPP_ENGINE_H

#include <Rinternals.h>

#include <string>

#include "rgru/gemm.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifndef _WIN32
#include <dlfcn.h>
#endif

namespace rgru_engine {

// The threads this machine offers (OpenMP's view), at least 1.
inline int available_threads() {
#ifdef _OPENMP
  return omp_get_num_procs() > 0 ? omp_get_num_procs() : 1;
#else
  return 1;
#endif
}

// options(rgru.num_threads = n) when set to a positive number; otherwise up to two
// threads (the CRAN-friendly default), never more than the machine has.
inline int engine_threads() {
  SEXP opt = Rf_GetOption1(Rf_install("rgru.num_threads"));
  int n = 0;
  if ((TYPEOF(opt) == INTSXP || TYPEOF(opt) == REALSXP) && Rf_xlength(opt) == 1) {
    double v = Rf_asReal(opt);
    if (!ISNAN(v) && v >= 1) n = static_cast<int>(v);
  }
  if (n == 0) n = available_threads() < 2 ? available_threads() : 2;
  return n;
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

// Makes OpenBLAS single-threaded for the lifetime of the object and restores it after:
// the engine runs its GEMMs in fixed slabs on its own threads (rgru.num_threads), which
// keeps results identical for any thread count; R's own matrix products are unchanged.
class BlasThreadScope {
 public:
  BlasThreadScope() {
    const int threads = 1;
    using get_fn = int (*)();
    get_ = reinterpret_cast<get_fn>(process_symbol("openblas_get_num_threads"));
    set_ = reinterpret_cast<set_fn>(process_symbol("openblas_set_num_threads"));
    if (get_ && set_) {
      previous_ = get_();
      if (previous_ != threads) set_(threads);
      else set_ = nullptr;
    }
  }
  ~BlasThreadScope() {
    if (set_) set_(previous_);
  }
  BlasThreadScope(const BlasThreadScope&) = delete;
  BlasThreadScope& operator=(const BlasThreadScope&) = delete;

 private:
  using set_fn = void (*)(int);
  int (*get_)() = nullptr;
  set_fn set_ = nullptr;
  int previous_ = 1;
};

// What R's BLAS is, found once per session (rcpp-engine-info.cpp).
struct BlasFacts {
  std::string name;          // e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (pthreads)"
  bool optimised = false;    // a known tuned BLAS (OpenBLAS, MKL, BLIS, ...)
  double dgemm_gflops = 0;   // measured on a 256^3 product, single call
  bool slow_reference = false;
};
const BlasFacts& blas_facts();

// options(rgru.gemm = "auto" | "blas" | "eigen"); "auto" uses R's BLAS unless it is a
// slow reference BLAS, where Eigen's GEMM is several times faster.
rgru::GemmBackend engine_gemm();

}  // namespace rgru_engine

#endif  // RGRU_RCPP_ENGINE_H
