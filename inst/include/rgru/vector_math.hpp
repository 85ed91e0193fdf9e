// Elementwise loops of the fused gate passes, over contiguous runs of units.
//
// tanh and sigmoid (the defaults, and most of the elementwise time) go through
// activation_kernels<T>(): Eigen's vectorised kernels for the instruction set this code
// is compiled for, unless the program installs faster ones. The R package installs the
// fast_math.hpp kernels built for AVX2 or AVX-512 when the CPU has them (src/cpu/simd.hpp);
// R compiles everything else for SSE2 only. Every other activation runs the scalar
// formulas in activations.hpp.
#ifndef RGRU_VECTOR_MATH_HPP
#define RGRU_VECTOR_MATH_HPP

#include <Eigen/Core>

#include "activations.hpp"
#include "fast_math.hpp"
#include "gru.hpp"

namespace rgru {

template <typename T>
inline void eigen_sigmoid(const T* x, T* y, std::int64_t n) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<Arr>(y, n) = (T(1) + (-Eigen::Map<const Arr>(x, n)).exp()).inverse();
}

template <typename T>
inline void eigen_tanh(const T* x, T* y, std::int64_t n) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<Arr>(y, n) = Eigen::Map<const Arr>(x, n).tanh();
}

template <typename T>
inline ActivationKernels<T> eigen_kernels() {
  return {"Eigen", &eigen_sigmoid<T>, &eigen_tanh<T>};
}

// The kernels in use; a program may replace them once, before its first engine call.
template <typename T>
inline ActivationKernels<T>& activation_kernels() {
  static ActivationKernels<T> kernels = eigen_kernels<T>();
  return kernels;
}

template <typename T>
inline void add_into(T* dst, const T* src, index_t n) {
RGRU_SIMD_LOOP
  for (index_t i = 0; i < n; ++i) dst[i] += src[i];
}

// y = activation(x) for n contiguous values; x and y may be the same array.
template <typename T>
inline void activate_into(Activation a, const T* x, T* y, index_t n) {
  switch (a) {
    case Activation::tanh:
      activation_kernels<T>().tanh(x, y, n);
      return;
    case Activation::sigmoid:
      activation_kernels<T>().sigmoid(x, y, n);
      return;
    case Activation::linear:
      if (x != y) std::copy(x, x + n, y);
      return;
    default:
      for (index_t i = 0; i < n; ++i) y[i] = activate(a, x[i]);
  }
}

}  // namespace rgru

#endif  // RGRU_VECTOR_MATH_HPP
