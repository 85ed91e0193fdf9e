// rgru/detail/eigen_gemm.hpp built for AVX2 + FMA on a renamed copy of Eigen (see
// simd.hpp): R's default flags give Eigen SSE2 only, where its GEMM runs at a third of
// what the CPU can do, and R's BLAS is not always faster (bench/README.md).
//
// Every Eigen template this file instantiates is built for AVX2, and would be a second,
// different definition of the same function as the library's SSE2 build if both came
// from namespace Eigen: renaming the namespace gives this build its own copy of Eigen.
#include "simd.hpp"

#if RGRU_CPU_SIMD
// What Eigen includes from the standard library, first, at the library's own flags.
#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cfloat>
#include <climits>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iosfwd>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>

#pragma GCC target("avx2,fma")
// GCC's target pragma does not define the instruction-set macros that Eigen reads; these
// are the ones -mavx2 -mfma define.
#ifndef __SSE3__
#define __SSE3__ 1
#endif
#ifndef __SSSE3__
#define __SSSE3__ 1
#endif
#ifndef __SSE4_1__
#define __SSE4_1__ 1
#endif
#ifndef __SSE4_2__
#define __SSE4_2__ 1
#endif
#ifndef __AVX__
#define __AVX__ 1
#endif
#ifndef __AVX2__
#define __AVX2__ 1
#endif
#ifndef __FMA__
#define __FMA__ 1
#endif

#define Eigen rgru_eigen_avx2
#include "rgru/detail/eigen_gemm.hpp"

#if !defined(EIGEN_VECTORIZE_AVX2) || !defined(EIGEN_VECTORIZE_FMA)
#error "Eigen did not take up AVX2 and FMA"
#endif

namespace rgru {
namespace cpu {

namespace {

template <typename T>
using Matrix = rgru_eigen_avx2::Matrix<T, rgru_eigen_avx2::Dynamic, rgru_eigen_avx2::Dynamic>;

}  // namespace

void avx2_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, float alpha,
               const float* a, index_t lda, const float* b, index_t ldb, float beta, float* c,
               index_t ldc) {
  detail::gemm_eigen_on<Matrix<float>>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void avx2_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, double alpha,
               const double* a, index_t lda, const double* b, index_t ldb, double beta, double* c,
               index_t ldc) {
  detail::gemm_eigen_on<Matrix<double>>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace cpu
}  // namespace rgru
#endif
