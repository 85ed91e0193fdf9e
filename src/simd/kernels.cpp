// Compiled twice, with RGRU_SIMD_ISA set to avx2 (-mavx2 -mfma) and to avx512
// (-mavx512f -mfma); see configure. It may include nothing that defines out-of-line
// code shared with the rest of the library (Eigen, the engine, the C++ library's
// templates): the linker could keep this build of it for CPUs without these instructions.
#include "kernels.h"

#define RGRU_SIMD_CONCAT2(a, b) a##b
#define RGRU_SIMD_CONCAT(a, b) RGRU_SIMD_CONCAT2(a, b)
#define RGRU_SIMD_STRING2(a) #a
#define RGRU_SIMD_STRING(a) RGRU_SIMD_STRING2(a)

namespace rgru_simd {

rgru::ActivationKernels<float> RGRU_SIMD_CONCAT(RGRU_SIMD_ISA, _kernels)(float) {
  return {RGRU_SIMD_STRING(RGRU_SIMD_ISA), &rgru::fast_math::sigmoid_array<float>,
          &rgru::fast_math::tanh_array<float>};
}

rgru::ActivationKernels<double> RGRU_SIMD_CONCAT(RGRU_SIMD_ISA, _kernels)(double) {
  return {RGRU_SIMD_STRING(RGRU_SIMD_ISA), &rgru::fast_math::sigmoid_array<double>,
          &rgru::fast_math::tanh_array<double>};
}

}  // namespace rgru_simd
