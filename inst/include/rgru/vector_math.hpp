// Elementwise loops of the fused gate passes, over contiguous runs of units. tanh and
// sigmoid (the defaults, and most of the elementwise time) use Eigen's vectorised
// kernels; every other activation runs the scalar formulas in activations.hpp.
#ifndef RGRU_VECTOR_MATH_HPP
#define RGRU_VECTOR_MATH_HPP

#include <Eigen/Core>

#include "activations.hpp"
#include "gru.hpp"

namespace rgru {

template <typename T>
inline void add_into(T* dst, const T* src, index_t n) {
  for (index_t i = 0; i < n; ++i) dst[i] += src[i];
}

// y = activation(x) for n contiguous values; x and y may be the same array.
template <typename T>
inline void activate_into(Activation a, const T* x, T* y, index_t n) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const Arr> xm(x, n);
  Eigen::Map<Arr> ym(y, n);
  switch (a) {
    case Activation::tanh:
      ym = xm.tanh();
      return;
    case Activation::sigmoid:
      ym = (T(1) + (-xm).exp()).inverse();
      return;
    case Activation::linear:
      if (x != y) ym = xm;
      return;
    default:
      for (index_t i = 0; i < n; ++i) y[i] = activate(a, x[i]);
  }
}

}  // namespace rgru

#endif  // RGRU_VECTOR_MATH_HPP
