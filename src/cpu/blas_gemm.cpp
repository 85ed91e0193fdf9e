#include "blas_gemm.hpp"

#include <cstddef>

extern "C" {
// Declared here rather than taken from R's headers so that this file builds without R.
// The trailing lengths are the hidden Fortran character-argument lengths (gfortran ABI).
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

namespace rgru {
namespace cpu {

namespace {

void fortran_gemm(const char* ta, const char* tb, const int* m, const int* n, const int* k,
                  const float* alpha, const float* a, const int* lda, const float* b,
                  const int* ldb, const float* beta, float* c, const int* ldc) {
  sgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, 1);
}

void fortran_gemm(const char* ta, const char* tb, const int* m, const int* n, const int* k,
                  const double* alpha, const double* a, const int* lda, const double* b,
                  const int* ldb, const double* beta, double* c, const int* ldc) {
  dgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, 1);
}

void fortran_gemv(const char* t, const int* m, const int* n, const float* alpha, const float* a,
                  const int* lda, const float* x, const int* incx, const float* beta, float* y,
                  const int* incy) {
  sgemv_(t, m, n, alpha, a, lda, x, incx, beta, y, incy, 1);
}

void fortran_gemv(const char* t, const int* m, const int* n, const double* alpha,
                  const double* a, const int* lda, const double* x, const int* incx,
                  const double* beta, double* y, const int* incy) {
  dgemv_(t, m, n, alpha, a, lda, x, incx, beta, y, incy, 1);
}

}  // namespace

template <typename T>
void blas_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a,
               index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  const int la = static_cast<int>(lda), lb = static_cast<int>(ldb), lc = static_cast<int>(ldc);
  if (n == 1) {
    // A single column (batch 1): OpenBLAS 0.3.21's sgemm takes several times as long as
    // its sgemv for it (bench/README.md), and every step of a batch-1 sequence is such a
    // product. x is op(B)'s column: contiguous, or strided when B is stored transposed.
    const int rows = trans_a ? ki : mi, cols = trans_a ? mi : ki, one = 1;
    const int incx = trans_b ? lb : 1;
    fortran_gemv(trans_a ? "T" : "N", &rows, &cols, &alpha, a, &la, b, &incx, &beta, c, &one);
    return;
  }
  fortran_gemm(trans_a ? "T" : "N", trans_b ? "T" : "N", &mi, &ni, &ki, &alpha, a, &la, b, &lb,
               &beta, c, &lc);
}

template void blas_gemm<float>(bool, bool, index_t, index_t, index_t, float, const float*,
                               index_t, const float*, index_t, float, float*, index_t);
template void blas_gemm<double>(bool, bool, index_t, index_t, index_t, double, const double*,
                                index_t, const double*, index_t, double, double*, index_t);

void install_blas_gemm() {
  rgru::blas_gemm<float>() = {"BLAS", &blas_gemm<float>};
  rgru::blas_gemm<double>() = {"BLAS", &blas_gemm<double>};
}

}  // namespace cpu
}  // namespace rgru
