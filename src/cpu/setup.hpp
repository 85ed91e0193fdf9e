// Readies the engine's CPU code for this machine, once, before the first engine call: the
// fastest sigmoid/tanh kernels and Eigen GEMM build the CPU runs (simd.hpp) and the block
// cache as the allocator (a program that links a BLAS adds install_blas_gemm(),
// blas_gemm.hpp). Used by the R package when it loads, and by the programs that run the
// engine without R (bench/, tools/cpp-tests/).
#ifndef RGRU_CPU_SETUP_HPP
#define RGRU_CPU_SETUP_HPP

#include <string>
#include <vector>

#include "rgru/vector_math.hpp"

namespace rgru {
namespace cpu {

// Every activation kernel set this build has, fastest first ("avx512", "avx2", "Eigen").
const std::vector<std::string>& kernel_sets();

// Whether this CPU runs the named kernel set.
bool cpu_runs(const std::string& kernels);

// The named kernel set; ask only for one the CPU runs.
template <typename T>
ActivationKernels<T> kernels_named(const std::string& name);

// Installs the fastest kernels and Eigen GEMM the CPU runs, and the block cache.
void set_up_engine();

}  // namespace cpu
}  // namespace rgru

#endif  // RGRU_CPU_SETUP_HPP
