// The one matrix product the engine needs, C = alpha * op(A) op(B) + beta * C on
// column-major blocks with leading dimensions, so that per-timestep slices of the
// (batch*timesteps) x features matrices are used in place.
//
// Two implementations, chosen per call (GemmBackend), each replaceable once by a program
// before its first engine call:
// - eigen: Eigen's GEMM (detail/eigen_gemm.hpp), by default built for whatever
//   instruction set the including program targets (the R package installs its AVX2 + FMA
//   build on CPUs that have them);
// - blas: none by default, so that these headers need no BLAS to link; the R package
//   installs R's BLAS (src/cpu/blas_gemm.cpp). Asked for while none is installed, the
//   engine runs Eigen's.
#ifndef RGRU_GEMM_HPP
#define RGRU_GEMM_HPP

#include "detail/eigen_gemm.hpp"
#include "gru.hpp"

namespace rgru {

enum class GemmBackend { blas, eigen };

// C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n, C m x n, all > 0; trans_x =
// true means op(X) = X'.
template <typename T>
using GemmFunction = void (*)(bool trans_a, bool trans_b, index_t m, index_t n, index_t k,
                              T alpha, const T* a, index_t lda, const T* b, index_t ldb, T beta,
                              T* c, index_t ldc);

template <typename T>
struct GemmImplementation {
  const char* name;  // for reports, e.g. the instruction sets it was built for
  GemmFunction<T> run;
};

template <typename T>
GemmImplementation<T>& eigen_gemm() {
  static GemmImplementation<T> in_use{Eigen::SimdInstructionSetsInUse(), &detail::gemm_eigen<T>};
  return in_use;
}

template <typename T>
GemmImplementation<T>& blas_gemm() {
  static GemmImplementation<T> in_use{"none", nullptr};
  return in_use;
}

// blas when a program has installed one, else eigen.
inline GemmBackend default_gemm_backend() {
  return blas_gemm<float>().run && blas_gemm<double>().run ? GemmBackend::blas
                                                          : GemmBackend::eigen;
}

// As GemmFunction, but any size: with k = 0, C is only scaled by beta (zeroed for beta = 0).
template <typename T>
void gemm(GemmBackend backend, bool trans_a, bool trans_b, index_t m, index_t n, index_t k,
          T alpha, const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (index_t j = 0; j < n; ++j)
      for (index_t i = 0; i < m; ++i) c[i + ldc * j] = beta == T(0) ? T(0) : beta * c[i + ldc * j];
    return;
  }
  GemmFunction<T> run = backend == GemmBackend::blas ? blas_gemm<T>().run : nullptr;
  if (!run) run = eigen_gemm<T>().run;
  run(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace rgru

#endif  // RGRU_GEMM_HPP
