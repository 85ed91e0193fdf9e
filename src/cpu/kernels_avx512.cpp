// rgru/fast_math.hpp's sigmoid and tanh built for AVX-512 (see simd.hpp).
#include <cstdint>
#include <cstring>

#include "simd.hpp"

#if RGRU_CPU_SIMD
#pragma GCC target("avx512f,fma")
#define RGRU_KERNELS_ISA avx512
#include "kernel_tables.hpp"
#endif
