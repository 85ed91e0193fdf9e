// Vectorisable sigmoid and tanh over arrays, for the engine's gate passes.
//
// Written as plain loops (no intrinsics) so that one source compiles to whatever vector
// instructions the translation unit targets: the engine's own code at the compiler's
// default (SSE2 under R's flags), and src/cpu/kernels_*.cpp at AVX2 or AVX-512, chosen at
// run time (see vector_math.hpp). Every function here has internal linkage: a copy
// built for AVX-512 must never be picked by the linker for code that runs on a CPU
// without it.
//
// Accuracy: exp is Cody-Waite range reduction (|r| <= ln(2)/2) and a Taylor polynomial
// whose truncation error is below 1e-8 (float, degree 7) and 1e-17 (double, degree
// 13) relative; tanh near zero goes through expm1 by its own Taylor series, so it
// keeps relative accuracy for tiny inputs. Both stay within a few ulp of std::exp and
// std::tanh over the whole range (tests/testthat/test-engine-fast-math.R).
#ifndef RGRU_FAST_MATH_HPP
#define RGRU_FAST_MATH_HPP

#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

// Asks the compiler to vectorise the loop that follows (R compiles packages at -O2,
// where GCC otherwise only vectorises loops it needs no checks for).
#if defined(_OPENMP)
#define RGRU_SIMD_LOOP _Pragma("omp simd")
#else
#define RGRU_SIMD_LOOP
#endif

namespace rgru {

// Array kernels for the two activations GRUs almost always use (vector_math.hpp).
template <typename T>
struct ActivationKernels {
  const char* name;
  void (*sigmoid)(const T* x, T* y, std::int64_t n);
  void (*tanh)(const T* x, T* y, std::int64_t n);
};

namespace fast_math {

namespace {

template <typename T>
struct Format;

template <>
struct Format<float> {
  using Int = std::int32_t;
  static constexpr int mantissa_bits = 23;
  static constexpr Int exponent_bias = 127;
  // exp(x) is clamped to [exp(min_x), exp(max_x)], both normal numbers.
  static constexpr float min_x = -87.0f;
  static constexpr float max_x = 88.0f;
  // Where tanh(x) rounds to 1.
  static constexpr float tanh_saturation = 9.0f;
  static constexpr int exp_degree = 7;
  static constexpr int expm1_degree = 11;
  // fdlibm's split of ln(2) for float: ln2_hi has trailing zero bits, so k * ln2_hi is exact.
  static constexpr float ln2_hi = 0.693145751953125f;
  static constexpr float ln2_lo = 1.42860682030941723212e-06f;
};

template <>
struct Format<double> {
  using Int = std::int64_t;
  static constexpr int mantissa_bits = 52;
  static constexpr Int exponent_bias = 1023;
  static constexpr double min_x = -708.0;
  static constexpr double max_x = 709.0;
  static constexpr double tanh_saturation = 19.5;
  static constexpr int exp_degree = 13;
  static constexpr int expm1_degree = 19;
  static constexpr double ln2_hi = 6.93147180369123816490e-01;
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
};

template <typename T>
inline typename Format<T>::Int bits_of(T x) {
  typename Format<T>::Int i;
  std::memcpy(&i, &x, sizeof(T));
  return i;
}

template <typename T>
inline T from_bits(typename Format<T>::Int i) {
  T x;
  std::memcpy(&x, &i, sizeof(T));
  return x;
}

constexpr double inverse_factorial(int k) {
  double f = 1;
  for (int i = 2; i <= k; ++i) f *= i;
  return 1 / f;
}

// sum over k = From..To of r^(k - From) / k!, by Horner's rule, unrolled at compile time
// (so the coefficients are constants and the caller's loop vectorises).
template <typename T, int From, int To>
struct TaylorTail {
  static T eval(T r) {
    return T(inverse_factorial(From)) + r * TaylorTail<T, From + 1, To>::eval(r);
  }
};

template <typename T, int To>
struct TaylorTail<T, To, To> {
  static T eval(T) { return T(inverse_factorial(To)); }
};

// exp(x) for x already in [min_x, max_x].
template <typename T>
inline T exp_in_range(T x) {
  using F = Format<T>;
  using Int = typename F::Int;
  // Unsigned, so that the difference and the shift below are defined for every input (a
  // NaN gives any k; a signed left shift of a negative value is undefined behaviour).
  using Bits = typename std::make_unsigned<Int>::type;
  // Adding 1.5 * 2^mantissa_bits rounds x / ln 2 to the nearest integer k, which then
  // sits in the low bits of the sum (as k modulo 2^bits: two's complement for k < 0).
  const T shifter = T(1.5) * T(Int(1) << F::mantissa_bits);
  const T shifted = x * T(1.44269504088896340736) + shifter;
  const Bits k = Bits(bits_of(shifted)) - Bits(bits_of(shifter));
  const T kf = shifted - shifter;
  const T r = (x - kf * F::ln2_hi) - kf * F::ln2_lo;
  const T p = TaylorTail<T, 0, F::exp_degree>::eval(r);
  // 2^k: k + bias is in [1, 2 * bias] for x in [min_x, max_x]
  return p * from_bits<T>(Int((k + Bits(F::exponent_bias)) << F::mantissa_bits));
}

// |x| and copysign through bits, so that no out-of-line std:: function gets compiled
// here for another instruction set.
template <typename T>
inline T abs_of(T x) {
  return from_bits<T>(bits_of(x) & std::numeric_limits<typename Format<T>::Int>::max());
}

template <typename T>
inline T copysign_of(T magnitude, T sign) {
  constexpr typename Format<T>::Int sign_bit = std::numeric_limits<typename Format<T>::Int>::min();
  return from_bits<T>((bits_of(magnitude) & ~sign_bit) | (bits_of(sign) & sign_bit));
}

// condition ? a : b through bit masks: GCC does not if-convert a float ?: at -O2, and
// a branch in the loop stops it from vectorising.
template <typename T>
inline T select(bool condition, T a, T b) {
  using Int = typename Format<T>::Int;
  const Int mask = -static_cast<Int>(condition);
  return from_bits<T>((bits_of(a) & mask) | (bits_of(b) & ~mask));
}

template <typename T>
inline T clamp(T x, T lo, T hi) {
  return select(x > hi, hi, select(x < lo, lo, x));
}

template <typename T>
inline T clamp_exp_argument(T x) {
  return clamp(x, Format<T>::min_x, Format<T>::max_x);
}

template <typename T>
inline T sigmoid_of(T v) {
  // exp(-|v|) never overflows; for v < 0, e / (1 + e) keeps the tiny results exact.
  const T e = exp_in_range(clamp_exp_argument(-abs_of(v)));
  const T s = T(1) / (T(1) + e);
  // Below min_x the result is under the smallest normal number: 0, as at -Inf.
  return select(v < Format<T>::min_x, T(0), select(v < T(0), e * s, s));
}

// tanh(v) = expm1(2|v|) / (expm1(2|v|) + 2), with the sign of v.
template <typename T>
inline T tanh_of(T v) {
  using F = Format<T>;
  const T a = clamp(abs_of(v), T(0), F::tanh_saturation);
  const T u = a + a;
  // expm1(u): exp(u) - 1 loses no digits once exp(u) >= 3.5; below, its series does not.
  const T series = u * TaylorTail<T, 1, F::expm1_degree>::eval(u);
  const T em1 = select(u < T(1.25), series, exp_in_range(u) - T(1));
  return copysign_of(em1 / (em1 + T(2)), v);
}

// Arrays go through in blocks of a fixed length, so that every block is whole vectors:
// a GRU's gate runs are often shorter than one AVX-512 vector (4 or 8 units), and a
// remainder loop would compute them one scalar at a time, several times slower.
constexpr int kBlock = 16;

template <typename T, typename F>
inline void map_blocks(const T* x, T* y, std::int64_t n, F f) {
  std::int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    RGRU_SIMD_LOOP
    for (int j = 0; j < kBlock; ++j) y[i + j] = f(x[i + j]);
  }
  if (i == n) return;
  T in[kBlock] = {}, out[kBlock];
  for (std::int64_t j = 0; j < n - i; ++j) in[j] = x[i + j];
  RGRU_SIMD_LOOP
  for (int j = 0; j < kBlock; ++j) out[j] = f(in[j]);
  for (std::int64_t j = 0; j < n - i; ++j) y[i + j] = out[j];
}

}  // namespace

// y[i] = 1 / (1 + exp(-x[i])); x and y may be the same array.
template <typename T>
static void sigmoid_array(const T* x, T* y, std::int64_t n) {
  map_blocks(x, y, n, [](T v) { return sigmoid_of(v); });
}

// y[i] = tanh(x[i]); x and y may be the same array.
template <typename T>
static void tanh_array(const T* x, T* y, std::int64_t n) {
  map_blocks(x, y, n, [](T v) { return tanh_of(v); });
}

}  // namespace fast_math
}  // namespace rgru

#endif  // RGRU_FAST_MATH_HPP
