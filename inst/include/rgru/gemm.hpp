// The one matrix product the engine needs, C = alpha * op(A) op(B) + beta * C on
// column-major blocks with leading dimensions, so that per-timestep slices of the
// (batch*timesteps) x features matrices are used in place.
//
// Two implementations, chosen per call (GemmBackend):
// - blas: the Fortran BLAS sgemm_/dgemm_ that the program links, compiled in only when
//   RGRU_USE_BLAS is defined. In the R package this is R's BLAS ($(BLAS_LIBS): OpenBLAS
//   when installed, which dispatches to the CPU's best kernels at run time). Outside R,
//   link any BLAS, e.g. `g++ ... -DRGRU_USE_BLAS -lopenblas`.
// - eigen: Eigen's own GEMM, run through eigen_gemm<T>(): by default the build in the
//   including program, for whatever instruction set its compiler targets (R's default
//   flags give SSE2 only); a program may install a build for a wider instruction set
//   (the R package installs its AVX2 + FMA build on CPUs that have them, src/simd/).
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

#if defined(_OPENMP)
#define RGRU_SIMD_SUM4 _Pragma("omp simd reduction(+ : s0, s1, s2, s3)")
#define RGRU_SIMD_SUM1 _Pragma("omp simd reduction(+ : s0)")
#define RGRU_SIMD_AXPY _Pragma("omp simd")
#else
#define RGRU_SIMD_SUM4
#define RGRU_SIMD_SUM1
#define RGRU_SIMD_AXPY
#endif

// c = alpha op(A) x + beta c for a contiguous x (a product with one column: batch 1).
// Eigen 3.3's matrix-vector product streams A at a fraction of the memory's speed (768 x
// 256, one thread, GFLOP/s float32 / float64: Eigen's AVX2 build 6.8 / 2.3, these loops
// built for AVX2 20 / 8.2), and a batch-1 sequence runs one per step. A' x takes four
// columns of A at a time as dot products; A x adds four scaled columns at a time.
// Matrix is only there to make each build's copy its own function (see gemm_eigen_on).
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

// Eigen's GEMM on the copy of Eigen whose dynamic matrix type is Matrix. A template on
// the type, not just the scalar, so that a build of this function for another instruction
// set, on its own renamed copy of Eigen (src/simd/gemm.cpp), is a different function
// to the linker rather than a second definition of this one.
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

template <typename T>
void gemm_eigen(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha,
                const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  gemm_eigen_on<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>>(trans_a, trans_b, m, n, k, alpha,
                                                                  a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
using GemmFunction = void (*)(bool, bool, index_t, index_t, index_t, T, const T*, index_t,
                              const T*, index_t, T, T*, index_t);

// The Eigen GEMM the engine runs and the instruction sets it was built for.
template <typename T>
struct EigenGemm {
  const char* instruction_sets;
  GemmFunction<T> run;
};

// The build in use: this program's own unless replaced, once, before the first engine call.
template <typename T>
EigenGemm<T>& eigen_gemm() {
  static EigenGemm<T> in_use{Eigen::SimdInstructionSetsInUse(), &gemm_eigen<T>};
  return in_use;
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
  eigen_gemm<T>().run(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace rgru

#endif  // RGRU_GEMM_HPP
