// The fast_math.hpp activation kernels compiled for one instruction set each
// (kernels.cpp, built by rules that configure writes into src/Makevars). Call one only
// on a CPU that has its instructions: even returning the table may use them.
#ifndef RGRU_SIMD_KERNELS_H
#define RGRU_SIMD_KERNELS_H

#include "rgru/fast_math.hpp"

namespace rgru_simd {

rgru::ActivationKernels<float> avx2_kernels(float);
rgru::ActivationKernels<double> avx2_kernels(double);
rgru::ActivationKernels<float> avx512_kernels(float);
rgru::ActivationKernels<double> avx512_kernels(double);

}  // namespace rgru_simd

#endif  // RGRU_SIMD_KERNELS_H
