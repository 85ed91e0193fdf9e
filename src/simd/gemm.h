// Eigen's GEMM compiled for AVX2 + FMA (gemm.cpp, built by a rule that configure writes
// into src/Makevars). Call it only on a CPU that has those instructions.
//
// Why: R compiles packages for SSE2 only, where Eigen's GEMM runs at a third of what the
// CPU can do, and R's BLAS is not always better: Debian 12's OpenBLAS 0.3.21 does not know
// Intel's Emerald Rapids (family 6, model 207) and falls back to its SSE3 "Prescott"
// kernels there. Measured on such a machine, one thread, GFLOP/s float32 / float64:
// 768 x 256 x 256: OpenBLAS 32.6 / 15.7, Eigen at R's flags 26.2 / 12.1, this build
// 82.2 / 39.5 (OpenBLAS's own AVX-512 kernels, forced with OPENBLAS_CORETYPE, 145 / 70).
#ifndef RGRU_SIMD_GEMM_H
#define RGRU_SIMD_GEMM_H

#include "rgru/gru.hpp"

namespace rgru_simd {

void avx2_gemm(bool trans_a, bool trans_b, rgru::index_t m, rgru::index_t n, rgru::index_t k,
               float alpha, const float* a, rgru::index_t lda, const float* b, rgru::index_t ldb,
               float beta, float* c, rgru::index_t ldc);
void avx2_gemm(bool trans_a, bool trans_b, rgru::index_t m, rgru::index_t n, rgru::index_t k,
               double alpha, const double* a, rgru::index_t lda, const double* b,
               rgru::index_t ldb, double beta, double* c, rgru::index_t ldc);

// The instruction sets that build of Eigen uses.
const char* avx2_gemm_instruction_sets();

}  // namespace rgru_simd

#endif  // RGRU_SIMD_GEMM_H
