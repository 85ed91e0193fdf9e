// The BLAS that R links ($(BLAS_LIBS): OpenBLAS when installed, which picks the CPU's
// kernels at run time) as the engine's "blas" GEMM (rgru/gemm.hpp). Any BLAS with the
// Fortran sgemm_/dgemm_ interface works outside R too, e.g. -lopenblas.
#ifndef RGRU_CPU_BLAS_GEMM_HPP
#define RGRU_CPU_BLAS_GEMM_HPP

#include "rgru/gemm.hpp"

namespace rgru {
namespace cpu {

// As rgru::GemmFunction; single-column products go to gemv.
template <typename T>
void blas_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a,
               index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc);

extern template void blas_gemm<float>(bool, bool, index_t, index_t, index_t, float, const float*,
                                      index_t, const float*, index_t, float, float*, index_t);
extern template void blas_gemm<double>(bool, bool, index_t, index_t, index_t, double,
                                       const double*, index_t, const double*, index_t, double,
                                       double*, index_t);

// Makes blas_gemm the engine's GemmBackend::blas.
void install_blas_gemm();

}  // namespace cpu
}  // namespace rgru

#endif  // RGRU_CPU_BLAS_GEMM_HPP
