// The one matrix product the engine needs, C = alpha * op(A) op(B) + beta * C on
// column-major blocks with leading dimensions, so that per-timestep slices of the
// (batch*timesteps) x features matrices are used in place.
//
// Two implementations, chosen per call (GemmBackend):
// - blas: the Fortran BLAS sgemm_/dgemm_ that the program links, compiled in only when
//   RGRU_USE_BLAS is defined. In the R package this is R's BLAS ($(BLAS_LIBS): OpenBLAS
//   when installed, which dispatches to the CPU's best kernels at run time). Outside R,
//   link any BLAS, e.g. `g++ ... -DRGRU_USE_BLAS -lopenblas`.
// - eigen: Eigen's own GEMM, compiled for whatever instruction set the compiler targets
//   (R's default flags give SSE2 only: several times slower than OpenBLAS, but several
//   times faster than the reference BLAS, which is what R has without OpenBLAS).
#ifndef RGRU_GEMM_HPP
#define RGRU_GEMM_HPP

#include <cstddef>

#include "gru.hpp"

#ifdef RGRU_USE_BLAS
extern "C" {
// Declared here rather than taken from R's headers so the core stays free of R. The
// trailing lengths are the hidden Fortran character-argument lengths (gfortran ABI).
void sgemm_(const char* transa, const char* transb, const int* m, const int* n,
            const int* k, const float* alpha, const float* a, const int* lda,
            const float* b, const int* ldb, const float* beta, float* c, const int* ldc,
            std::size_t transa_len, std::size_t transb_len);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n,
            const int* k, const double* alpha, const double* a, const int* lda,
            const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc, std::size_t transa_len, std::size_t transb_len);
void sgemv_(const char* trans, const int* m, const int* n, const float* alpha, const float* a,
            const int* lda, const float* x, const int* incx, const float* beta, float* y,
            const int* incy, std::size_t trans_len);
void dgemv_(const char* trans, const int* m, const int* n, const double* alpha,
            const double* a, const int* lda, const double* x, const int* incx,
            const double* beta, double* y, const int* incy, std::size_t trans_len);
}
#endif
#include <Eigen/Core>

namespace rgru {

#ifdef RGRU_USE_BLAS

inline void blas_gemm(const char* ta, const char* tb, const int* m, const int* n,
                      const int* k, const float* alpha, const float* a, const int* lda,
                      const float* b, const int* ldb, const float* beta, float* c,
                      const int* ldc) {
  sgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, 1);
}

inline void blas_gemm(const char* ta, const char* tb, const int* m, const int* n,
                      const int* k, const double* alpha, const double* a, const int* lda,
                      const double* b, const int* ldb, const double* beta, double* c,
                      const int* ldc) {
  dgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, 1);
}

inline void blas_gemv(const char* t, const int* m, const int* n, const float* alpha,
                      const float* a, const int* lda, const float* x, const int* incx,
                      const float* beta, float* y, const int* incy) {
  sgemv_(t, m, n, alpha, a, lda, x, incx, beta, y, incy, 1);
}

inline void blas_gemv(const char* t, const int* m, const int* n, const double* alpha,
                      const double* a, const int* lda, const double* x, const int* incx,
                      const double* beta, double* y, const int* incy) {
  dgemv_(t, m, n, alpha, a, lda, x, incx, beta, y, incy, 1);
}

#endif

enum class GemmBackend { blas, eigen };

// The backend used unless the caller asks otherwise.
inline GemmBackend default_gemm_backend() {
#ifdef RGRU_USE_BLAS
  return GemmBackend::blas;
#else
  return GemmBackend::eigen;
#endif
}

inline bool gemm_backend_available(GemmBackend b) {
  return b == GemmBackend::eigen || default_gemm_backend() == GemmBackend::blas;
}

#ifdef RGRU_USE_BLAS
template <typename T>
void gemm_blas(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a,
               index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  const int la = static_cast<int>(lda), lb = static_cast<int>(ldb), lc = static_cast<int>(ldc);
  if (n == 1) {
    // A single column (batch 1): OpenBLAS 0.3.21's sgemm takes 5-6 times as long as its
    // sgemv for it (768 x 256 float32: 64 vs 11 us), and every step of a batch-1
    // sequence is such a product. x is op(B)'s column: contiguous, or strided when B
    // is stored transposed.
    const int rows = trans_a ? ki : mi, cols = trans_a ? mi : ki, one = 1;
    const int incx = trans_b ? lb : 1;
    blas_gemv(trans_a ? "T" : "N", &rows, &cols, &alpha, a, &la, b, &incx, &beta, c, &one);
    return;
  }
  blas_gemm(trans_a ? "T" : "N", trans_b ? "T" : "N", &mi, &ni, &ki, &alpha, a, &la, b, &lb,
            &beta, c, &lc);
}
#endif

template <typename T>
void gemm_eigen(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha,
                const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Stride = Eigen::OuterStride<>;
  using ConstMap = Eigen::Map<const Mat, 0, Stride>;
  Eigen::Map<Mat, 0, Stride> cm(c, m, n, Stride(ldc));
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

// C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n, C m x n; trans_x = true
// means op(X) = X'. With k = 0, C is only scaled by beta (zeroed for beta = 0).
template <typename T>
void gemm(GemmBackend backend, bool trans_a, bool trans_b, index_t m, index_t n, index_t k,
          T alpha, const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (index_t j = 0; j < n; ++j)
      for (index_t i = 0; i < m; ++i) c[i + ldc * j] = beta == T(0) ? T(0) : beta * c[i + ldc * j];
    return;
  }
#ifdef RGRU_USE_BLAS
  if (backend == GemmBackend::blas) {
    gemm_blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#else
  (void)backend;
#endif
  gemm_eigen(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace rgru

#endif  // RGRU_GEMM_HPP
