// rgru/fast_math.hpp's sigmoid and tanh built for AVX2 + FMA (see simd.hpp).
#include <cstdint>
#include <cstring>

#include "simd.hpp"

#if RGRU_CPU_SIMD
#pragma GCC target("avx2,fma")
#define RGRU_KERNELS_ISA avx2
#include "kernel_tables.hpp"
#endif
