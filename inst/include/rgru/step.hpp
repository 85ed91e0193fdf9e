// One GRU time step for one sample, forward and backward: the equations of gru.hpp on
// contiguous runs of `units` values (one column of the engine's unit-major layout), gates
// in Keras's order [z | r | hh]. engine.hpp runs them for every sample of every step.
#ifndef RGRU_STEP_HPP
#define RGRU_STEP_HPP

#include <algorithm>
#include <cstring>

#include "activations.hpp"
#include "fast_math.hpp"
#include "gru.hpp"

namespace rgru {

// reset_after's candidate: hh's pre-activation (x W_h + b_h) gains r * (h U_h + b'_h).
template <typename T>
inline void add_reset_product(T* candidate, const T* r, const T* uh, index_t H) {
  RGRU_SIMD_LOOP
  for (index_t j = 0; j < H; ++j) candidate[j] += r[j] * uh[j];
}

// reset_before's candidate multiplies r * h by U_h: this is r * h.
template <typename T>
inline void reset_product(T* q, const T* r, const T* h_prev, index_t H) {
  RGRU_SIMD_LOOP
  for (index_t j = 0; j < H; ++j) q[j] = r[j] * h_prev[j];
}

// h = z * h_prev + (1 - z) * hh, from the step's [z | r | hh] activations; a masked step
// keeps h_prev.
template <typename T>
inline void next_state(const T* gates, const T* h_prev, bool keep, index_t H, T* h) {
  if (!keep) {
    std::memcpy(h, h_prev, sizeof(T) * H);
    return;
  }
  const T* z = gates;
  const T* hh = gates + 2 * H;
  RGRU_SIMD_LOOP
  for (index_t j = 0; j < H; ++j) h[j] = z[j] * h_prev[j] + (T(1) - z[j]) * hh[j];
}

// d activation(x) / dx given x and y = activation(x), as functors, so that the defaults
// (tanh, sigmoid) inline and the loops over units vectorise.
template <typename T>
struct DerivativeOf {
  Activation activation;
  T operator()(T x, T y) const { return activation_derivative(activation, x, y); }
};

template <typename T>
struct TanhDerivative {
  T operator()(T, T y) const { return T(1) - y * y; }
};

template <typename T>
struct SigmoidDerivative {
  T operator()(T, T y) const { return y * (T(1) - y); }
};

// Whether an activation's derivative follows from its output alone (then the tape need
// not keep the pre-activations).
inline bool derivative_from_output(Activation a) {
  return a == Activation::linear || a == Activation::tanh || a == Activation::sigmoid ||
         a == Activation::exponential;
}

// Backward through h_t = z * h + (1 - z) * hh for a kept step, given dh = dL/dh_t, the
// step's activations [z | r | hh] and pre-activations `pre`: the pre-activation gradients
// of z and hh (into d_pre's z and hh rows) and h's direct share, dh * z.
template <typename T, typename DAct, typename DRact>
inline void update_and_candidate_gradients(const T* dh, const T* gates, const T* pre,
                                           const T* h_prev, DAct d_act, DRact d_ract, index_t H,
                                           T* d_pre, T* d_h_prev) {
  const index_t H2 = 2 * H;
  RGRU_SIMD_LOOP
  for (index_t j = 0; j < H; ++j) {
    const T z = gates[j], hh = gates[H2 + j];
    d_pre[H2 + j] = dh[j] * (T(1) - z) * d_act(pre[H2 + j], hh);
    d_pre[j] = dh[j] * (h_prev[j] - hh) * d_ract(pre[j], z);
    d_h_prev[j] = dh[j] * z;
  }
}

// reset_after: from hh's pre-activation gradient, r's (through r * uh, uh = h U_h + b'_h)
// and uh's.
template <typename T, typename DRact>
inline void reset_gradients_after(const T* gates, const T* pre, const T* uh, DRact d_ract,
                                  index_t H, T* d_pre, T* d_uh) {
  const index_t H2 = 2 * H;
  RGRU_SIMD_LOOP
  for (index_t j = 0; j < H; ++j) {
    const T r = gates[H + j], d_candidate = d_pre[H2 + j];
    d_pre[H + j] = d_candidate * uh[j] * d_ract(pre[H + j], r);
    d_uh[j] = d_candidate * r;
  }
}

// reset_before: from dq = dL/d(r * h) (hh's pre-activation gradient times U_h'), r's
// pre-activation gradient and h's share, through recurrent dropout's multiplier m (nullptr:
// none); h_used is h as the product saw it (dropped).
template <typename T, typename DRact>
inline void reset_gradients_before(const T* dq, const T* gates, const T* pre, const T* h_used,
                                   const T* m, DRact d_ract, index_t H, T* d_pre, T* d_h_prev) {
  RGRU_SIMD_LOOP
  for (index_t j = 0; j < H; ++j) {
    const T r = gates[H + j];
    d_pre[H + j] = dq[j] * h_used[j] * d_ract(pre[H + j], r);
    d_h_prev[j] += dq[j] * r * (m ? m[j] : T(1));
  }
}

// A masked step: its gates get no gradient, and dL/dh_t passes to h unchanged.
template <typename T>
inline void skipped_step_gradients(const T* dh, index_t H, bool reset_after, T* d_pre, T* d_uh,
                                   T* d_h_prev) {
  std::fill(d_pre, d_pre + 3 * H, T(0));
  if (reset_after) std::fill(d_uh, d_uh + H, T(0));
  std::memcpy(d_h_prev, dh, sizeof(T) * H);
}

}  // namespace rgru

#endif  // RGRU_STEP_HPP
