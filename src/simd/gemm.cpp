// rgru/gemm.hpp's Eigen GEMM compiled with -mavx2 -mfma (see gemm.h and configure).
//
// Every Eigen template this file instantiates is built for AVX2, and would be a second,
// different definition of the same function as the library's SSE2 build if both came
// from namespace Eigen: the linker keeps one, and the library could then run AVX2 code
// on a CPU without it, or SSE2-blocked code on AVX2-packed data. Renaming the namespace
// for this file alone gives this build its own copy of Eigen under its own names.
#define Eigen rgru_eigen_avx2
#include "rgru/gemm.hpp"

#include "gemm.h"

namespace rgru_simd {

namespace {

template <typename T>
using Matrix = rgru_eigen_avx2::Matrix<T, rgru_eigen_avx2::Dynamic, rgru_eigen_avx2::Dynamic>;

}  // namespace

void avx2_gemm(bool trans_a, bool trans_b, rgru::index_t m, rgru::index_t n, rgru::index_t k,
               float alpha, const float* a, rgru::index_t lda, const float* b, rgru::index_t ldb,
               float beta, float* c, rgru::index_t ldc) {
  rgru::gemm_eigen_on<Matrix<float>>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void avx2_gemm(bool trans_a, bool trans_b, rgru::index_t m, rgru::index_t n, rgru::index_t k,
               double alpha, const double* a, rgru::index_t lda, const double* b,
               rgru::index_t ldb, double beta, double* c, rgru::index_t ldc) {
  rgru::gemm_eigen_on<Matrix<double>>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(EIGEN_VECTORIZE_AVX2) || !defined(EIGEN_VECTORIZE_FMA)
#error "simd/gemm.cpp must be compiled with -mavx2 -mfma"
#endif

// Eigen 3.3 names AVX2 builds "AVX" (its string predates AVX2).
const char* avx2_gemm_instruction_sets() { return "AVX2, FMA"; }

}  // namespace rgru_simd
