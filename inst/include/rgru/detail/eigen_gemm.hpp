// Eigen's GEMM with a faster path for single-column products, the engine's default GEMM
// (gemm.hpp). A template on Eigen's matrix type, so that a program can build it again for
// a wider instruction set on its own renamed copy of Eigen and get a different function
// rather than a second definition of this one (the R package's AVX2 + FMA build:
// src/cpu/eigen_gemm_avx2.cpp).
#ifndef RGRU_DETAIL_EIGEN_GEMM_HPP
#define RGRU_DETAIL_EIGEN_GEMM_HPP

#include <Eigen/Core>

#include "../gru.hpp"

#if defined(_OPENMP)
#define RGRU_SIMD_SUM4 _Pragma("omp simd reduction(+ : s0, s1, s2, s3)")
#define RGRU_SIMD_SUM1 _Pragma("omp simd reduction(+ : s0)")
#define RGRU_SIMD_AXPY _Pragma("omp simd")
#else
#define RGRU_SIMD_SUM4
#define RGRU_SIMD_SUM1
#define RGRU_SIMD_AXPY
#endif

namespace rgru {
namespace detail {

// c = alpha op(A) x + beta c for a contiguous x (a product with one column: batch 1).
// Eigen 3.3's matrix-vector product streams A at a fraction of the memory's speed, and a
// batch-1 sequence runs one per step (bench/README.md). A' x takes four columns of A at a
// time as dot products; A x adds four scaled columns at a time. Matrix only makes each
// build's copy its own function.
template <typename Matrix, typename T>
void gemv_on(bool trans_a, index_t m, index_t k, T alpha, const T* a, index_t lda, const T* x,
             T beta, T* c) {
  if (trans_a) {
    auto finish = [&](index_t i, T sum) { c[i] = alpha * sum + (beta == T(0) ? T(0) : beta * c[i]); };
    index_t i = 0;
    for (; i + 4 <= m; i += 4) {
      const T* a0 = a + lda * i;
      const T* a1 = a0 + lda;
      const T* a2 = a1 + lda;
      const T* a3 = a2 + lda;
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      RGRU_SIMD_SUM4
      for (index_t p = 0; p < k; ++p) {
        s0 += a0[p] * x[p];
        s1 += a1[p] * x[p];
        s2 += a2[p] * x[p];
        s3 += a3[p] * x[p];
      }
      finish(i, s0);
      finish(i + 1, s1);
      finish(i + 2, s2);
      finish(i + 3, s3);
    }
    for (; i < m; ++i) {
      const T* a0 = a + lda * i;
      T s0 = 0;
      RGRU_SIMD_SUM1
      for (index_t p = 0; p < k; ++p) s0 += a0[p] * x[p];
      finish(i, s0);
    }
    return;
  }
  for (index_t i = 0; i < m; ++i) c[i] = beta == T(0) ? T(0) : beta * c[i];
  index_t p = 0;
  for (; p + 4 <= k; p += 4) {
    const T* a0 = a + lda * p;
    const T* a1 = a0 + lda;
    const T* a2 = a1 + lda;
    const T* a3 = a2 + lda;
    const T x0 = alpha * x[p], x1 = alpha * x[p + 1], x2 = alpha * x[p + 2], x3 = alpha * x[p + 3];
    RGRU_SIMD_AXPY
    for (index_t i = 0; i < m; ++i) c[i] += a0[i] * x0 + a1[i] * x1 + a2[i] * x2 + a3[i] * x3;
  }
  for (; p < k; ++p) {
    const T* a0 = a + lda * p;
    const T x0 = alpha * x[p];
    RGRU_SIMD_AXPY
    for (index_t i = 0; i < m; ++i) c[i] += a0[i] * x0;
  }
}

// C = alpha op(A) op(B) + beta C on the copy of Eigen whose dynamic matrix type is Matrix.
template <typename Matrix, typename T = typename Matrix::Scalar>
void gemm_eigen_on(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha,
                   const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  if (n == 1 && !trans_b) {
    gemv_on<Matrix>(trans_a, m, k, alpha, a, lda, b, beta, c);
    return;
  }
  using Stride = Eigen::OuterStride<>;
  using ConstMap = Eigen::Map<const Matrix, 0, Stride>;
  Eigen::Map<Matrix, 0, Stride> cm(c, m, n, Stride(ldc));
  if (beta == T(0)) {
    cm.setZero();
  } else if (beta != T(1)) {
    cm *= beta;
  }
  ConstMap am(a, trans_a ? k : m, trans_a ? m : k, Stride(lda));
  ConstMap bm(b, trans_b ? n : k, trans_b ? k : n, Stride(ldb));
  if (!trans_a && !trans_b) {
    cm.noalias() += alpha * am * bm;
  } else if (trans_a && !trans_b) {
    cm.noalias() += alpha * am.transpose() * bm;
  } else if (!trans_a && trans_b) {
    cm.noalias() += alpha * am * bm.transpose();
  } else {
    cm.noalias() += alpha * am.transpose() * bm.transpose();
  }
}

// The build at this program's own compiler flags.
template <typename T>
void gemm_eigen(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha,
                const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  gemm_eigen_on<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>>(trans_a, trans_b, m, n, k, alpha,
                                                                  a, lda, b, ldb, beta, c, ldc);
}

}  // namespace detail
}  // namespace rgru

#endif  // RGRU_DETAIL_EIGEN_GEMM_HPP
