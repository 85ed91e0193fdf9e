// The engine's hot code built again for instruction sets wider than R's flags allow (R
// compiles packages for x86-64's SSE2): the sigmoid and tanh kernels of rgru/fast_math.hpp
// for AVX2 and for AVX-512, and Eigen's GEMM for AVX2 + FMA. Each file selects its
// instruction set with GCC's target pragma, so that no file needs machine-specific compiler
// flags; setup.cpp picks what the CPU runs, at run time. Call none of these on a CPU
// without their instructions: even returning a kernel table may use them.
//
// Only GCC on x86-64: clang's target pragma does not reach the intrinsics Eigen uses.
// Elsewhere the engine runs Eigen's kernels at the compiler's flags.
//
// A file built for a wider instruction set must not define out-of-line code that other
// files define too (inline functions, template instantiations): the linker keeps one copy
// for the whole library, and could keep this one for CPUs without its instructions. So
// each includes what it shares with the rest of the library before its pragma, and the
// code it builds has internal linkage (fast_math.hpp) or a renamed copy of Eigen.
#ifndef RGRU_CPU_SIMD_HPP
#define RGRU_CPU_SIMD_HPP

#include "rgru/gru.hpp"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RGRU_CPU_SIMD 1
#else
#define RGRU_CPU_SIMD 0
#endif

namespace rgru {

template <typename T>
struct ActivationKernels;

namespace cpu {

#if RGRU_CPU_SIMD
ActivationKernels<float> avx2_kernels(float);
ActivationKernels<double> avx2_kernels(double);
ActivationKernels<float> avx512_kernels(float);
ActivationKernels<double> avx512_kernels(double);

// As rgru::GemmFunction.
void avx2_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, float alpha,
               const float* a, index_t lda, const float* b, index_t ldb, float beta, float* c,
               index_t ldc);
void avx2_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, double alpha,
               const double* a, index_t lda, const double* b, index_t ldb, double beta, double* c,
               index_t ldc);
#endif

}  // namespace cpu
}  // namespace rgru

#endif  // RGRU_CPU_SIMD_HPP
