// Which GEMM the CPU engine runs on, for engine_info() / rgru_backend(): R's BLAS
// (identified by the symbols it exports, and timed) or Eigen's; and the memory the
// engine keeps for reuse.
#include <Rcpp.h>

#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "cpu/blas_gemm.hpp"
#include "cpu/block_cache.hpp"
#include "rcpp_engine.hpp"
#include "rcpp_glue.hpp"
#include "rgru/engine.hpp"
#include "rgru/gemm.hpp"

namespace rgru_glue {

namespace {

std::string call_string_symbol(const char* name) {
  using fn = const char* (*)();
  fn f = reinterpret_cast<fn>(process_symbol(name));
  const char* s = f ? f() : nullptr;
  return s ? std::string(s) : std::string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

// GFLOP/s of one 256^3 dgemm through R's BLAS (the best of three).
double time_dgemm() {
  const int n = 256;
  std::vector<double> a(n * n, 0.5), b(n * n, 0.25), c(n * n, 0.0);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto start = std::chrono::steady_clock::now();
    rgru::cpu::blas_gemm<double>(false, false, n, n, n, 1.0, a.data(), n, b.data(), n, 0.0, c.data(), n);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s > 0) best = std::max(best, 2.0 * n * n * n / s / 1e9);
  }
  return best;
}

// Whether OpenBLAS's kernels for this core name predate AVX2. OpenBLAS picks them from
// the CPU model it recognises, and falls back to its SSE3 "Prescott" ones on a model it
// does not, as Debian 12's 0.3.21 does on Intel's Emerald Rapids (family 6, model 207),
// where Eigen's AVX2 build is more than twice as fast (bench/README.md).
bool openblas_lacks_avx2(std::string core) {
  for (char& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* const avx2_cores[] = {"haswell", "zen", "skylakex", "cooperlake",
                                           "sapphirerapids", "excavator"};
  for (const char* known : avx2_cores)
    if (core == known) return false;
  return !core.empty();
}

BlasFacts find_blas() {
  BlasFacts f;
  std::string openblas = call_string_symbol("openblas_get_config");
  if (!openblas.empty()) {
    using par_fn = int (*)();
    par_fn par = reinterpret_cast<par_fn>(process_symbol("openblas_get_parallel"));
    const int mode = par ? par() : -1;
    f.name = trim(openblas) + (mode == 0 ? " (sequential)" : mode == 1 ? " (pthreads)"
                               : mode == 2 ? " (OpenMP)" : "");
    f.optimised = true;
  } else if (process_symbol("MKL_Get_Version_String") || process_symbol("mkl_serv_getenv")) {
    f.name = "Intel MKL";
    f.optimised = true;
  } else if (!call_string_symbol("bli_info_get_version_str").empty()) {
    f.name = "BLIS " + call_string_symbol("bli_info_get_version_str");
    f.optimised = true;
  } else if (process_symbol("flexiblas_exit")) {
    f.name = "FlexiBLAS";
  } else {
    f.name = "R's BLAS (no tuned BLAS detected: reference BLAS or unknown)";
  }
  f.dgemm_gflops = time_dgemm();
  // A reference BLAS runs a few GFLOP/s, Eigen's GEMM at R's default flags several times
  // that (bench/README.md). Tuned BLASes are never demoted for speed alone.
  f.slow_reference = !f.optimised && f.dgemm_gflops < 8.0;
  f.older_kernels = !openblas.empty() && openblas_lacks_avx2(call_string_symbol("openblas_get_corename")) &&
                    std::string(rgru::eigen_gemm<double>().name).find("AVX2") != std::string::npos;
  return f;
}

}  // namespace

const BlasFacts& blas_facts() {
  static const BlasFacts facts = find_blas();
  return facts;
}

rgru::GemmBackend engine_gemm() {
  SEXP opt = Rf_GetOption1(Rf_install("rgru.gemm"));
  std::string choice = "auto";
  if (TYPEOF(opt) == STRSXP && Rf_xlength(opt) == 1 && STRING_ELT(opt, 0) != NA_STRING)
    choice = CHAR(STRING_ELT(opt, 0));
  if (choice == "blas") return rgru::GemmBackend::blas;
  if (choice == "eigen") return rgru::GemmBackend::eigen;
  if (choice != "auto")
    Rcpp::stop("option rgru.gemm must be \"auto\", \"blas\" or \"eigen\", not \"" + choice + "\"");
  const BlasFacts& blas = blas_facts();
  return blas.slow_reference || blas.older_kernels ? rgru::GemmBackend::eigen : rgru::GemmBackend::blas;
}

}  // namespace rgru_glue

// [[Rcpp::export(rng = false)]]
Rcpp::List engine_info_cpp() {
  const rgru_glue::BlasFacts& blas = rgru_glue::blas_facts();
  const bool eigen = rgru_glue::engine_gemm() == rgru::GemmBackend::eigen;
#ifdef _OPENMP
  const bool openmp = true;
#else
  const bool openmp = false;
#endif
  return Rcpp::List::create(
      Rcpp::Named("gemm") = eigen ? std::string("Eigen ") + std::to_string(EIGEN_WORLD_VERSION) +
                                        "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                        std::to_string(EIGEN_MINOR_VERSION) + " GEMM (" +
                                        rgru::eigen_gemm<double>().name + ")"
                                  : blas.name + " via R's BLAS",
      Rcpp::Named("blas") = blas.name,
      Rcpp::Named("blas_dgemm_gflops") = blas.dgemm_gflops,
      Rcpp::Named("slow_reference_blas") = blas.slow_reference,
      Rcpp::Named("blas_kernels_older_than_cpu") = blas.older_kernels,
      Rcpp::Named("threads") = rgru_glue::engine_threads(),
      Rcpp::Named("openmp") = openmp,
      Rcpp::Named("simd") = std::string(Eigen::SimdInstructionSetsInUse()),
      Rcpp::Named("activations") = std::string(rgru::activation_kernels<double>().name));
}

// GFLOP/s of the engine's own GEMM path (backend, slabs and threads as an engine call
// would run it) on an m x n x k product: the bench's reference peak.
// [[Rcpp::export(rng = false)]]
double engine_gemm_gflops_cpp(int m, int n, int k, std::string dtype, int reps) {
  rgru::EngineOptions opt;
  opt.num_threads = rgru_glue::engine_threads();
  opt.gemm = rgru_glue::engine_gemm();
  rgru_glue::BlasThreadScope scope(double(m) * n * k);
  const rgru::CpuSchedule schedule(opt);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> a(size_t(m) * k, T(0.5)), b(size_t(k) * n, T(0.25)), c(size_t(m) * n);
    double best = 0;
    for (int r = 0; r < std::max(1, reps); ++r) {
      auto start = std::chrono::steady_clock::now();
      schedule.gemm(false, false, m, n, k, T(1), a.data(), m, b.data(), k, T(0), c.data(), m);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (s > 0) best = std::max(best, 2.0 * m * n * k / s / 1e9);
    }
    return best;
  };
  return dtype == "float32" ? run(float(0)) : run(double(0));
}

// Bytes the engine keeps for reuse (src/cpu/block_cache.hpp), for rgru_backend().
// [[Rcpp::export(rng = false)]]
double engine_cached_bytes_cpp() { return static_cast<double>(rgru::cpu::cached_bytes()); }

// Returns the kept blocks to the system; the bytes released, for rgru_empty_cache().
// [[Rcpp::export(rng = false)]]
double engine_empty_cache_cpp() { return static_cast<double>(rgru::cpu::empty_block_cache()); }

// R calls this before it unloads the library: the engine's recycled workspace blocks
// would otherwise stay allocated for the rest of the session.
extern "C" void R_unload_rgru(DllInfo*) {
  rgru::cpu::empty_block_cache();
  rgru_glue::cudnn_unload();
}
