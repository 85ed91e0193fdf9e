#include "setup.hpp"

#include "block_cache.hpp"
#include "rgru/gemm.hpp"
#include "simd.hpp"

namespace rgru {
namespace cpu {

const std::vector<std::string>& kernel_sets() {
#if RGRU_CPU_SIMD
  static const std::vector<std::string> names = {"avx512", "avx2", "Eigen"};
#else
  static const std::vector<std::string> names = {"Eigen"};
#endif
  return names;
}

bool cpu_runs(const std::string& kernels) {
  if (kernels == "Eigen") return true;
#if RGRU_CPU_SIMD
  __builtin_cpu_init();
  const bool fma = __builtin_cpu_supports("fma");
  if (kernels == "avx2") return fma && __builtin_cpu_supports("avx2");
  if (kernels == "avx512") return fma && __builtin_cpu_supports("avx512f");
#endif
  return false;
}

template <typename T>
ActivationKernels<T> kernels_named(const std::string& name) {
#if RGRU_CPU_SIMD
  if (name == "avx512") return avx512_kernels(T());
  if (name == "avx2") return avx2_kernels(T());
#endif
  (void)name;
  return eigen_kernels<T>();
}

template ActivationKernels<float> kernels_named<float>(const std::string&);
template ActivationKernels<double> kernels_named<double>(const std::string&);

void set_up_engine() {
  for (const std::string& name : kernel_sets()) {
    if (!cpu_runs(name)) continue;
    activation_kernels<float>() = kernels_named<float>(name);
    activation_kernels<double>() = kernels_named<double>(name);
    break;
  }
#if RGRU_CPU_SIMD
  // Eigen 3.3 names AVX2 builds "AVX" (its string predates AVX2).
  if (cpu_runs("avx2")) {
    eigen_gemm<float>() = {"AVX2, FMA", &avx2_gemm};
    eigen_gemm<double>() = {"AVX2, FMA", &avx2_gemm};
  }
#endif
  install_block_cache();
}

}  // namespace cpu
}  // namespace rgru
