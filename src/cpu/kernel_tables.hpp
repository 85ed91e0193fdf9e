// The body of kernels_avx2.cpp and kernels_avx512.cpp, included after their target pragma
// with RGRU_KERNELS_ISA set: rgru/fast_math.hpp's kernels, built for that instruction set.
#include "rgru/fast_math.hpp"

#define RGRU_KERNELS_CONCAT2(a, b) a##b
#define RGRU_KERNELS_CONCAT(a, b) RGRU_KERNELS_CONCAT2(a, b)
#define RGRU_KERNELS_STRING2(a) #a
#define RGRU_KERNELS_STRING(a) RGRU_KERNELS_STRING2(a)

namespace rgru {
namespace cpu {

ActivationKernels<float> RGRU_KERNELS_CONCAT(RGRU_KERNELS_ISA, _kernels)(float) {
  return {RGRU_KERNELS_STRING(RGRU_KERNELS_ISA), &fast_math::sigmoid_array<float>,
          &fast_math::tanh_array<float>};
}

ActivationKernels<double> RGRU_KERNELS_CONCAT(RGRU_KERNELS_ISA, _kernels)(double) {
  return {RGRU_KERNELS_STRING(RGRU_KERNELS_ISA), &fast_math::sigmoid_array<double>,
          &fast_math::tanh_array<double>};
}

}  // namespace cpu
}  // namespace rgru
