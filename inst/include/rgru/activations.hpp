// Keras 3's built-in elementwise activations and their derivatives.
//
// Formulas follow keras/src/backend/numpy/nn.py and keras/src/activations/activations.py
// with each activation's default arguments as used when a layer names it by string:
// leaky_relu slope 0.2, elu/celu alpha 1, gelu exact (erf form, approximate = FALSE),
// hard_sigmoid = clip(x / 6 + 1/2, 0, 1), soft/hard_shrink threshold 0.5, squareplus b = 4.
#ifndef RGRU_ACTIVATIONS_HPP
#define RGRU_ACTIVATIONS_HPP

#include <algorithm>
#include <cmath>
#include <string>

#include "gru.hpp"

namespace rgru {

struct ActivationName {
  const char* name;
  Activation value;
};

// Keras's registry names, aliases included ("swish", "hard_swish").
inline const ActivationName* activation_names(int* count) {
  static const ActivationName table[] = {
      {"linear", Activation::linear},         {"tanh", Activation::tanh},
      {"sigmoid", Activation::sigmoid},       {"hard_sigmoid", Activation::hard_sigmoid},
      {"relu", Activation::relu},             {"relu6", Activation::relu6},
      {"leaky_relu", Activation::leaky_relu}, {"elu", Activation::elu},
      {"selu", Activation::selu},             {"softsign", Activation::softsign},
      {"softplus", Activation::softplus},     {"silu", Activation::silu},
      {"swish", Activation::silu},            {"gelu", Activation::gelu},
      {"exponential", Activation::exponential}, {"mish", Activation::mish},
      {"log_sigmoid", Activation::log_sigmoid}, {"hard_silu", Activation::hard_silu},
      {"hard_swish", Activation::hard_silu},  {"hard_tanh", Activation::hard_tanh},
      {"tanh_shrink", Activation::tanh_shrink}, {"soft_shrink", Activation::soft_shrink},
      {"hard_shrink", Activation::hard_shrink}, {"squareplus", Activation::squareplus},
      {"celu", Activation::celu},             {"sparse_plus", Activation::sparse_plus},
      {"sparse_sigmoid", Activation::sparse_sigmoid},
  };
  *count = static_cast<int>(sizeof(table) / sizeof(table[0]));
  return table;
}

inline Activation activation_from_name(const std::string& name) {
  int count = 0;
  const ActivationName* table = activation_names(&count);
  for (int i = 0; i < count; ++i) {
    if (name == table[i].name) return table[i].value;
  }
  std::string known;
  for (int i = 0; i < count; ++i) known += (i ? ", " : "") + std::string(table[i].name);
  throw invalid_argument("unknown or non-elementwise activation '" + name +
                         "'; the native engine knows: " + known);
}

template <typename T>
inline T sigmoid_of(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// log(1 + exp(x)) without overflow, as numpy's logaddexp(x, 0).
template <typename T>
inline T softplus_of(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

template <typename T>
inline T hard_sigmoid_of(T x) {
  T y = x / T(6) + T(0.5);
  return y <= T(0) ? T(0) : (y >= T(1) ? T(1) : y);
}

template <typename T>
inline T activate(Activation a, T x) {
  switch (a) {
    case Activation::linear: return x;
    case Activation::tanh: return std::tanh(x);
    case Activation::sigmoid: return sigmoid_of(x);
    case Activation::hard_sigmoid: return hard_sigmoid_of(x);
    case Activation::relu: return x > T(0) ? x : T(0);
    case Activation::relu6: return std::min(std::max(x, T(0)), T(6));
    case Activation::leaky_relu: return std::max(x, T(0.2) * x);
    case Activation::elu: return x >= T(0) ? x : std::expm1(x);
    case Activation::selu: {
      const T alpha = T(1.6732632423543772848170429916717);
      const T scale = T(1.0507009873554804934193349852946);
      return scale * (x >= T(0) ? x : alpha * std::expm1(x));
    }
    case Activation::softsign: return x / (T(1) + std::abs(x));
    case Activation::softplus: return softplus_of(x);
    case Activation::silu: return x * sigmoid_of(x);
    // erfc(-u) = 1 + erf(u) without the cancellation that loses digits for x << 0
    case Activation::gelu: return T(0.5) * x * std::erfc(-x / std::sqrt(T(2)));
    case Activation::exponential: return std::exp(x);
    case Activation::mish: return x * std::tanh(softplus_of(x));
    case Activation::log_sigmoid: return -softplus_of(-x);
    case Activation::hard_silu: return x * hard_sigmoid_of(x);
    case Activation::hard_tanh: return std::min(std::max(x, T(-1)), T(1));
    case Activation::tanh_shrink: return x - std::tanh(x);
    case Activation::soft_shrink:
      return x > T(0.5) ? x - T(0.5) : (x < T(-0.5) ? x + T(0.5) : T(0));
    case Activation::hard_shrink: return std::abs(x) > T(0.5) ? x : T(0);
    case Activation::squareplus: return (x + std::sqrt(x * x + T(4))) / T(2);
    case Activation::celu: return std::max(x, T(0)) + std::expm1(std::min(x, T(0)));
    case Activation::sparse_plus:
      return x <= T(-1) ? T(0) : (x < T(1) ? T(0.25) * (x + T(1)) * (x + T(1)) : x);
    case Activation::sparse_sigmoid:
      return x <= T(-1) ? T(0) : (x >= T(1) ? T(1) : T(0.5) * (x + T(1)));
    default: return x;
  }
}

// d activate(x) / dx, given x and y = activate(x) (cheap forms reuse y).
template <typename T>
inline T activation_derivative(Activation a, T x, T y) {
  switch (a) {
    case Activation::linear: return T(1);
    case Activation::tanh: return T(1) - y * y;
    case Activation::sigmoid: return y * (T(1) - y);
    case Activation::hard_sigmoid: {
      T u = x / T(6) + T(0.5);
      return (u > T(0) && u < T(1)) ? T(1) / T(6) : T(0);
    }
    case Activation::relu: return x > T(0) ? T(1) : T(0);
    case Activation::relu6: return (x > T(0) && x < T(6)) ? T(1) : T(0);
    case Activation::leaky_relu: return x > T(0) ? T(1) : T(0.2);
    case Activation::elu: return x >= T(0) ? T(1) : std::exp(x);
    case Activation::selu: {
      const T alpha = T(1.6732632423543772848170429916717);
      const T scale = T(1.0507009873554804934193349852946);
      return x >= T(0) ? scale : scale * alpha * std::exp(x);
    }
    case Activation::softsign: {
      T d = T(1) + std::abs(x);
      return T(1) / (d * d);
    }
    case Activation::softplus: return sigmoid_of(x);
    case Activation::silu: {
      T s = sigmoid_of(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case Activation::gelu: {
      const T inv_sqrt_2pi = T(0.39894228040143267793994605993438);
      return T(0.5) * std::erfc(-x / std::sqrt(T(2))) +
             x * inv_sqrt_2pi * std::exp(T(-0.5) * x * x);
    }
    case Activation::exponential: return y;
    case Activation::mish: {
      T t = std::tanh(softplus_of(x));
      return t + x * (T(1) - t * t) * sigmoid_of(x);
    }
    case Activation::log_sigmoid: return sigmoid_of(-x);
    case Activation::hard_silu: {
      T u = x / T(6) + T(0.5);
      return hard_sigmoid_of(x) + ((u > T(0) && u < T(1)) ? x / T(6) : T(0));
    }
    case Activation::hard_tanh: return (x > T(-1) && x < T(1)) ? T(1) : T(0);
    case Activation::tanh_shrink: {
      T t = std::tanh(x);
      return t * t;
    }
    case Activation::soft_shrink: return std::abs(x) > T(0.5) ? T(1) : T(0);
    case Activation::hard_shrink: return std::abs(x) > T(0.5) ? T(1) : T(0);
    case Activation::squareplus: return (T(1) + x / std::sqrt(x * x + T(4))) / T(2);
    case Activation::celu: return x > T(0) ? T(1) : std::exp(x);
    case Activation::sparse_plus:
      return x <= T(-1) ? T(0) : (x < T(1) ? T(0.5) * (x + T(1)) : T(1));
    case Activation::sparse_sigmoid: return (x > T(-1) && x < T(1)) ? T(0.5) : T(0);
    default: return T(1);
  }
}

}  // namespace rgru

#endif  // RGRU_ACTIVATIONS_HPP
