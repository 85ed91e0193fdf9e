// Readies the CPU engine when the library loads (src/cpu/setup.hpp: the fastest kernels
// and GEMM builds this CPU runs, R's BLAS, the block cache), and exposes the kernels and
// GEMM builds to the tests.
#include <Rcpp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cpu/blas_gemm.hpp"
#include "cpu/setup.hpp"
#include "rgru/gemm.hpp"
#include "rgru/vector_math.hpp"

// [[Rcpp::init]]
void set_up_cpu_engine(DllInfo* dll) {
  (void)dll;
  rgru::cpu::set_up_engine();
  rgru::cpu::install_blas_gemm();
}

// The activation kernels in use and those this CPU could run, for engine_info() and tests.
// [[Rcpp::export(rng = false)]]
Rcpp::List engine_kernels_cpp() {
  std::vector<std::string> runnable;
  for (const std::string& name : rgru::cpu::kernel_sets())
    if (rgru::cpu::cpu_runs(name)) runnable.push_back(name);
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
  const std::vector<std::string>& built = rgru::cpu::kernel_sets();
  const bool known = std::find(built.begin(), built.end(), kernels) != built.end();
  if (!known || !rgru::cpu::cpu_runs(kernels)) Rcpp::stop("kernels \"" + kernels + "\" are not available here");
  auto run = [&](auto zero) {
    using T = decltype(zero);
    const rgru::ActivationKernels<T> k = rgru::cpu::kernels_named<T>(kernels);
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
      rgru::detail::gemm_eigen<T>(trans_a, trans_b, m, n, k, T(1), ap, lda, bp, ldb, T(0), cv.data(), m);
    std::copy(cv.begin(), cv.end(), out.begin());
  };
  if (dtype == "float32") run(float(0));
  else run(double(0));
  return out;
}
