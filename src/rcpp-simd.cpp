// Chooses the activation kernels the engine runs (rgru/vector_math.hpp): the AVX-512 or
// AVX2 builds of rgru/fast_math.hpp when configure compiled them and the CPU has the
// instructions, else Eigen's at R's flags; and Eigen's GEMM (rgru/gemm.hpp): the AVX2 +
// FMA build (simd/gemm.h) on CPUs with both, else R's flags. Chosen once, when the
// library loads.
//
// Measured on the development VM (AMD EPYC, AVX-512), ns per element, float / double:
// sigmoid: Eigen (SSE2) 1.6 / 3.5, AVX2 0.48 / 1.4, AVX-512 0.28 / 0.84;
// tanh:    Eigen (SSE2) 0.77 / 9.8, AVX2 0.79 / 2.5, AVX-512 0.42 / 1.3.
#define RGRU_USE_BLAS 1
#include <Rcpp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "rgru/gemm.hpp"
#include "rgru/vector_math.hpp"
#ifdef RGRU_SIMD_KERNELS
#include "simd/gemm.h"
#include "simd/kernels.h"
#endif

namespace {

bool cpu_runs(const std::string& kernels) {
  if (kernels == "Eigen") return true;
#if defined(RGRU_SIMD_KERNELS) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool fma = __builtin_cpu_supports("fma");
  if (kernels == "avx2") return fma && __builtin_cpu_supports("avx2");
  if (kernels == "avx512") return fma && __builtin_cpu_supports("avx512f");
#endif
  return false;
}

// Every kernel set this build has, fastest first; `kernels_named` may only be asked
// for those the CPU runs.
const std::vector<std::string>& built_kernels() {
#ifdef RGRU_SIMD_KERNELS
  static const std::vector<std::string> names = {"avx512", "avx2", "Eigen"};
#else
  static const std::vector<std::string> names = {"Eigen"};
#endif
  return names;
}

template <typename T>
rgru::ActivationKernels<T> kernels_named(const std::string& name) {
#ifdef RGRU_SIMD_KERNELS
  if (name == "avx512") return rgru_simd::avx512_kernels(T());
  if (name == "avx2") return rgru_simd::avx2_kernels(T());
#endif
  (void)name;
  return rgru::eigen_kernels<T>();
}

struct InstallFastestKernels {
  InstallFastestKernels() {
    for (const std::string& name : built_kernels()) {
      if (!cpu_runs(name)) continue;
      rgru::activation_kernels<float>() = kernels_named<float>(name);
      rgru::activation_kernels<double>() = kernels_named<double>(name);
      break;
    }
#ifdef RGRU_SIMD_KERNELS
    if (cpu_runs("avx2")) {
      rgru::eigen_gemm<float>() = {rgru_simd::avx2_gemm_instruction_sets(), &rgru_simd::avx2_gemm};
      rgru::eigen_gemm<double>() = {rgru_simd::avx2_gemm_instruction_sets(), &rgru_simd::avx2_gemm};
    }
#endif
  }
} install_fastest_kernels;

}  // namespace

// The activation kernels in use and those this CPU could run, for engine_info() and tests.
// [[Rcpp::export(rng = false)]]
Rcpp::List engine_kernels_cpp() {
  std::vector<std::string> runnable;
  for (const std::string& name : built_kernels())
    if (cpu_runs(name)) runnable.push_back(name);
  return Rcpp::List::create(Rcpp::Named("in_use") = std::string(rgru::activation_kernels<double>().name),
                            Rcpp::Named("runnable") = runnable);
}

// sigmoid or tanh of x by the named kernel set, in float32 or float64 (for tests).
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector engine_activation_cpp(Rcpp::NumericVector x, std::string activation,
                                          std::string dtype, std::string kernels) {
  if (activation != "sigmoid" && activation != "tanh")
    Rcpp::stop("`activation` must be \"sigmoid\" or \"tanh\"");
  if (dtype != "float32" && dtype != "float64") Rcpp::stop("`dtype` must be \"float32\" or \"float64\"");
  bool known = false;
  for (const std::string& name : built_kernels()) known = known || name == kernels;
  if (!known || !cpu_runs(kernels)) Rcpp::stop("kernels \"" + kernels + "\" are not available here");
  auto run = [&](auto zero) {
    using T = decltype(zero);
    const rgru::ActivationKernels<T> k = kernels_named<T>(kernels);
    std::vector<T> in(x.begin(), x.end()), out(in.size());
    (activation == "tanh" ? k.tanh : k.sigmoid)(in.data(), out.data(), static_cast<std::int64_t>(in.size()));
    return Rcpp::NumericVector(out.begin(), out.end());
  };
  return dtype == "float32" ? run(float(0)) : run(double(0));
}

// op(a) %*% op(b) by one GEMM build: "blas" (R's), "eigen" (the build the engine runs) or
// "eigen_r_flags" (the build at R's compiler flags), in float32 or float64 (for tests).
// a and b are read from column `offset` + 1 on, with their full row counts as leading
// dimensions, so that strided blocks are exercised.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix engine_gemm_cpp(Rcpp::NumericMatrix a, Rcpp::NumericMatrix b, bool trans_a,
                                    bool trans_b, int offset, std::string dtype, std::string build) {
  if (build != "blas" && build != "eigen" && build != "eigen_r_flags")
    Rcpp::stop("`build` must be \"blas\", \"eigen\" or \"eigen_r_flags\"");
  if (dtype != "float32" && dtype != "float64") Rcpp::stop("`dtype` must be \"float32\" or \"float64\"");
  if (offset < 0 || offset >= a.ncol() || offset >= b.ncol()) Rcpp::stop("`offset` is out of range");
  const rgru::index_t lda = a.nrow(), ldb = b.nrow();
  const rgru::index_t a_cols = a.ncol() - offset, b_cols = b.ncol() - offset;
  const rgru::index_t m = trans_a ? a_cols : lda, k = trans_a ? lda : a_cols;
  const rgru::index_t n = trans_b ? ldb : b_cols, kb = trans_b ? b_cols : ldb;
  if (k != kb) Rcpp::stop("op(a) and op(b) do not conform");
  Rcpp::NumericMatrix out(m, n);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> av(a.begin(), a.end()), bv(b.begin(), b.end()), cv(m * n);
    const T* ap = av.data() + lda * offset;
    const T* bp = bv.data() + ldb * offset;
    if (build == "blas")
      rgru::gemm<T>(rgru::GemmBackend::blas, trans_a, trans_b, m, n, k, T(1), ap, lda, bp, ldb, T(0), cv.data(), m);
    else if (build == "eigen")
      rgru::gemm<T>(rgru::GemmBackend::eigen, trans_a, trans_b, m, n, k, T(1), ap, lda, bp, ldb, T(0), cv.data(), m);
    else
      rgru::gemm_eigen<T>(trans_a, trans_b, m, n, k, T(1), ap, lda, bp, ldb, T(0), cv.data(), m);
    std::copy(cv.begin(), cv.end(), out.begin());
  };
  if (dtype == "float32") run(float(0));
  else run(double(0));
  return out;
}
