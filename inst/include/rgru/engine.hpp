// The CPU GRU engine: forward pass and backpropagation through time, Keras 3 semantics.
//
// Layout (see gru.hpp): x is a (batch*timesteps) x input_dim matrix whose row b + batch*t
// is sample b at original time t. Every per-step cache below uses the same rows, so the
// input projection, and in backward the kernel, recurrent-kernel and input gradients,
// are each one GEMM over the whole sequence; the time loop runs one recurrent GEMM per
// step (two without reset_after) and one fused elementwise pass, with no allocation.
//
// Keras facts this follows (keras/src/layers/rnn/gru.py, rnn.py, backend rnn()):
// - gates [z | r | h]; h = z * h_prev + (1 - z) * hh, with the undropped h_prev;
// - recurrent dropout multiplies h_prev only inside the recurrent products;
// - a masked (sample, step) keeps its state, and its output is the carried state;
// - go_backwards reads time in reverse and returns outputs in processing order.
#ifndef RGRU_ENGINE_HPP
#define RGRU_ENGINE_HPP

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "activations.hpp"
#include "gemm.hpp"
#include "gru.hpp"

namespace rgru {

// What backward needs from one forward call. Row i = b + batch*t (original time t).
template <typename T>
struct GruTape {
  GruDims dims;
  GruConfig config;
  bool has_bias = false;
  std::vector<T> kernel;            // (input_dim, 3*units)
  std::vector<T> recurrent_kernel;  // (units, 3*units)
  std::vector<int> mask;            // (batch, timesteps); empty: every step kept
  std::vector<T> input_dropout;     // (batch, input_dim, gates) or empty
  std::vector<T> recurrent_dropout; // (batch, units, gates) or empty
  int input_dropout_gates = 1;
  int recurrent_dropout_gates = 1;
  std::vector<T> inputs;            // (batch*timesteps, input_dim, input gates): x as the kernel saw it
  std::vector<T> state_before;      // (batch*timesteps, units): h_prev of each step
  std::vector<T> dropped_state;     // (batch*timesteps, units, gates) with recurrent dropout
  std::vector<T> pre;               // (batch*timesteps, 3*units): pre-activations z, r, hh
  std::vector<T> post;              // (batch*timesteps, 3*units): z, r, hh
  std::vector<T> recurrent_h;       // reset_after: (batch*timesteps, units) h_prev U_h + b_h
  std::vector<T> reset_state;       // !reset_after: (batch*timesteps, units) r * h_prev
};

namespace detail {

inline void require(bool ok, const std::string& what) {
  if (!ok) throw invalid_argument(what);
}

inline int threads_for(index_t work, int num_threads) {
  // Below this many elements per pass, waking threads costs more than it saves.
  return (num_threads > 1 && work >= 16384) ? num_threads : 1;
}

template <typename T>
inline const T* block(const std::vector<T>& v, index_t offset) {
  return v.empty() ? nullptr : v.data() + offset;
}

}  // namespace detail

inline void check_config(const GruConfig& c) {
  detail::require(c.activation != Activation::glu_unsupported &&
                      c.recurrent_activation != Activation::glu_unsupported,
                  "activation not supported by the native engine");
}

// Runs the layer over the sequence. outputs.final_state is always written,
// outputs.sequence when config.return_sequences. When tape is not null it receives
// what gru_backward() needs.
template <typename T>
void gru_forward(const GruDims& dims, const GruConfig& config, const GruWeights<T>& w,
                 const GruInputs<T>& in, const GruOutputs<T>& out, GruTape<T>* tape,
                 int num_threads = 1) {
  check_dims(dims);
  check_config(config);
  const index_t B = dims.batch, T_ = dims.timesteps, F = dims.input_dim, H = dims.units;
  const index_t BT = B * T_, H3 = 3 * H;
  detail::require(w.kernel && w.recurrent_kernel, "kernel and recurrent_kernel are required");
  detail::require(in.x, "x is required");
  detail::require(out.final_state, "final_state output is required");
  detail::require(!config.return_sequences || out.sequence, "sequence output is required");
  detail::require(in.input_dropout_gates == 1 || in.input_dropout_gates == 3,
                  "input dropout gates must be 1 or 3");
  detail::require(in.recurrent_dropout_gates == 1 || in.recurrent_dropout_gates == 3,
                  "recurrent dropout gates must be 1 or 3");
  detail::require(!(w.recurrent_bias && !config.reset_after),
                  "a recurrent bias needs reset_after");
  const Activation act = config.activation, ract = config.recurrent_activation;
  const bool after = config.reset_after;
  const int gi = in.input_dropout ? in.input_dropout_gates : 1;
  const int gr = in.recurrent_dropout ? in.recurrent_dropout_gates : 1;

  // Inputs as the kernel sees them (dropped when input dropout is on).
  std::vector<T> dropped_local;
  std::vector<T>* dropped = tape ? &tape->inputs : &dropped_local;
  const T* xin = in.x;
  if (in.input_dropout) {
    dropped->resize(static_cast<size_t>(BT * F * gi));
    for (int g = 0; g < gi; ++g) {
      const T* m = in.input_dropout + B * F * g;
      T* d = dropped->data() + BT * F * g;
      for (index_t f = 0; f < F; ++f)
        for (index_t t = 0; t < T_; ++t)
          for (index_t b = 0; b < B; ++b)
            d[b + B * t + BT * f] = in.x[b + B * t + BT * f] * m[b + B * f];
    }
    xin = dropped->data();
  } else if (tape) {
    tape->inputs.assign(in.x, in.x + BT * F);
  }

  // Whole-sequence input projection.
  std::vector<T> pre_local;
  std::vector<T>& pre = tape ? tape->pre : pre_local;
  pre.resize(static_cast<size_t>(BT * H3));
  if (gi == 1) {
    gemm<T>(false, false, BT, H3, F, T(1), xin, BT, w.kernel, F, T(0), pre.data(), BT);
  } else {
    for (int g = 0; g < 3; ++g)
      gemm<T>(false, false, BT, H, F, T(1), xin + BT * F * g, BT, w.kernel + F * H * g, F,
              T(0), pre.data() + BT * H * g, BT);
  }
  if (w.input_bias) {
    for (index_t c = 0; c < H3; ++c) {
      const T bc = w.input_bias[c];
      T* col = pre.data() + BT * c;
      for (index_t i = 0; i < BT; ++i) col[i] += bc;
    }
  }

  if (tape) {
    tape->dims = dims;
    tape->config = config;
    tape->has_bias = w.input_bias != nullptr;
    tape->kernel.assign(w.kernel, w.kernel + F * H3);
    tape->recurrent_kernel.assign(w.recurrent_kernel, w.recurrent_kernel + H * H3);
    if (in.mask) tape->mask.assign(in.mask, in.mask + BT); else tape->mask.clear();
    if (in.input_dropout)
      tape->input_dropout.assign(in.input_dropout, in.input_dropout + B * F * gi);
    else
      tape->input_dropout.clear();
    if (in.recurrent_dropout)
      tape->recurrent_dropout.assign(in.recurrent_dropout, in.recurrent_dropout + B * H * gr);
    else
      tape->recurrent_dropout.clear();
    tape->input_dropout_gates = gi;
    tape->recurrent_dropout_gates = gr;
    tape->state_before.resize(static_cast<size_t>(BT * H));
    tape->post.resize(static_cast<size_t>(BT * H3));
    if (in.recurrent_dropout) tape->dropped_state.resize(static_cast<size_t>(BT * H * gr));
    else tape->dropped_state.clear();
    if (after) {
      tape->recurrent_h.resize(static_cast<size_t>(BT * H));
      tape->reset_state.clear();
    } else {
      tape->reset_state.resize(static_cast<size_t>(BT * H));
      tape->recurrent_h.clear();
    }
  }

  // Per-step workspace, allocated once.
  std::vector<T> hprev(static_cast<size_t>(B * H)), hnew(static_cast<size_t>(B * H));
  std::vector<T> rp(static_cast<size_t>(B * H3));
  std::vector<T> hd(in.recurrent_dropout ? static_cast<size_t>(B * H * gr) : 0);
  std::vector<T> q(after ? 0 : static_cast<size_t>(B * H));
  std::vector<T> rq(after ? 0 : static_cast<size_t>(B * H));
  std::vector<T> gates_local(tape ? 0 : static_cast<size_t>(B * H3));
  if (in.initial_state) std::copy(in.initial_state, in.initial_state + B * H, hprev.begin());
  else std::fill(hprev.begin(), hprev.end(), T(0));

  const int nt = detail::threads_for(B * H, num_threads);
  const T* U = w.recurrent_kernel;
  const T* rbias = w.recurrent_bias;
  (void)nt;

  for (index_t s = 0; s < T_; ++s) {
    const index_t t = config.go_backwards ? T_ - 1 - s : s;
    const index_t row = B * t;
    // Source of h_prev for each gate's recurrent product, with leading dimension B.
    const T* hsrc[3] = {hprev.data(), hprev.data(), hprev.data()};
    if (in.recurrent_dropout) {
      for (int g = 0; g < gr; ++g) {
        const T* m = in.recurrent_dropout + B * H * g;
        T* d = hd.data() + B * H * g;
        for (index_t k = 0; k < B * H; ++k) d[k] = hprev[k] * m[k];
      }
      for (int g = 0; g < 3; ++g) hsrc[g] = hd.data() + B * H * (gr == 3 ? g : 0);
    }
    if (tape) {
      for (index_t j = 0; j < H; ++j)
        std::memcpy(tape->state_before.data() + row + BT * j, hprev.data() + B * j, sizeof(T) * B);
      for (int g = 0; g < (in.recurrent_dropout ? gr : 0); ++g)
        for (index_t j = 0; j < H; ++j)
          std::memcpy(tape->dropped_state.data() + BT * H * g + row + BT * j,
                      hd.data() + B * H * g + B * j, sizeof(T) * B);
    }

    // Recurrent products: all three gates with reset_after, z and r otherwise.
    const index_t ngates = after ? 3 : 2;
    if (gr == 1) {
      gemm<T>(false, false, B, H * ngates, H, T(1), hsrc[0], B, U, H, T(0), rp.data(), B);
    } else {
      for (index_t g = 0; g < ngates; ++g)
        gemm<T>(false, false, B, H, H, T(1), hsrc[g], B, U + H * H * g, H, T(0),
                rp.data() + B * H * g, B);
    }
    if (rbias) {
      for (index_t c = 0; c < H3; ++c)
        for (index_t b = 0; b < B; ++b) rp[b + B * c] += rbias[c];
    }

    T* post = tape ? tape->post.data() + row : gates_local.data();
    const index_t pld = tape ? BT : B;
    T* prez = pre.data() + row;
    const int* mask = in.mask ? in.mask + row : nullptr;
    const T* seq_none = nullptr;
    (void)seq_none;

    // Fused gate pass. Without reset_after, the candidate needs (r * h_prev) U_h first.
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (index_t j = 0; j < H; ++j) {
      for (index_t b = 0; b < B; ++b) {
        const index_t iz = BT * j, ir = BT * (H + j), ih = BT * (2 * H + j);
        const T az = prez[b + iz] + rp[b + B * j];
        const T ar = prez[b + ir] + rp[b + B * (H + j)];
        const T z = activate(ract, az);
        const T r = activate(ract, ar);
        prez[b + iz] = az;
        prez[b + ir] = ar;
        post[b + pld * j] = z;
        post[b + pld * (H + j)] = r;
        if (after) {
          const T rh = rp[b + B * (2 * H + j)];
          const T ah = prez[b + ih] + r * rh;
          const T hh = activate(act, ah);
          prez[b + ih] = ah;
          post[b + pld * (2 * H + j)] = hh;
          if (tape) tape->recurrent_h[row + b + BT * j] = rh;
          const T hp = hprev[b + B * j];
          const bool keep = !mask || mask[b];
          hnew[b + B * j] = keep ? z * hp + (T(1) - z) * hh : hp;
        } else {
          q[b + B * j] = r * hsrc[2][b + B * j];
        }
      }
    }
    if (!after) {
      gemm<T>(false, false, B, H, H, T(1), q.data(), B, U + H * H * 2, H, T(0), rq.data(), B);
      if (tape)
        for (index_t j = 0; j < H; ++j)
          std::memcpy(tape->reset_state.data() + row + BT * j, q.data() + B * j, sizeof(T) * B);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
      for (index_t j = 0; j < H; ++j) {
        for (index_t b = 0; b < B; ++b) {
          const index_t ih = BT * (2 * H + j);
          const T ah = prez[b + ih] + rq[b + B * j];
          const T hh = activate(act, ah);
          prez[b + ih] = ah;
          post[b + pld * (2 * H + j)] = hh;
          const T z = post[b + pld * j];
          const T hp = hprev[b + B * j];
          const bool keep = !mask || mask[b];
          hnew[b + B * j] = keep ? z * hp + (T(1) - z) * hh : hp;
        }
      }
    }
    if (config.return_sequences) {
      for (index_t j = 0; j < H; ++j)
        std::memcpy(out.sequence + B * s + BT * j, hnew.data() + B * j, sizeof(T) * B);
    }
    std::swap(hprev, hnew);
  }
  std::copy(hprev.begin(), hprev.end(), out.final_state);
}

// Gradients of a scalar loss, given its gradients with respect to the returned
// sequence (processing order) and final state. Every output pointer in grads that
// the tape's configuration has must be non-null (d_input_bias when the forward had a
// bias, d_recurrent_bias when it had a recurrent bias).
template <typename T>
void gru_backward(const GruTape<T>& tape, const GruGradients<T>& grads, int num_threads = 1) {
  const GruDims& dims = tape.dims;
  check_dims(dims);
  const index_t B = dims.batch, T_ = dims.timesteps, F = dims.input_dim, H = dims.units;
  const index_t BT = B * T_, H3 = 3 * H;
  const bool after = tape.config.reset_after;
  const Activation act = tape.config.activation, ract = tape.config.recurrent_activation;
  detail::require(tape.pre.size() == static_cast<size_t>(BT * H3), "tape is empty");
  detail::require(grads.d_x && grads.d_initial_state && grads.d_kernel &&
                      grads.d_recurrent_kernel,
                  "gradient outputs are required");
  detail::require(!tape.has_bias || grads.d_input_bias, "d_input_bias output is required");
  const bool has_rbias = tape.has_bias && after;
  detail::require(!has_rbias || grads.d_recurrent_bias, "d_recurrent_bias output is required");

  const T* U = tape.recurrent_kernel.data();
  const T* K = tape.kernel.data();
  const bool rdrop = !tape.recurrent_dropout.empty();
  const bool idrop = !tape.input_dropout.empty();
  const int gr = tape.recurrent_dropout_gates, gi = tape.input_dropout_gates;
  const int* mask_all = tape.mask.empty() ? nullptr : tape.mask.data();

  std::vector<T> dpre(static_cast<size_t>(BT * H3));  // d pre-activations = d input projection
  std::vector<T> drp(static_cast<size_t>(BT * H3));   // d recurrent products, per gate
  std::vector<T> dh(static_cast<size_t>(B * H)), dhp(static_cast<size_t>(B * H));
  std::vector<T> tmp(rdrop || !after ? static_cast<size_t>(B * H) : 0);
  if (grads.d_final_state) std::copy(grads.d_final_state, grads.d_final_state + B * H, dh.begin());
  else std::fill(dh.begin(), dh.end(), T(0));

  const int nt = detail::threads_for(B * H, num_threads);
  (void)nt;
  const T* hd_h = rdrop ? tape.dropped_state.data() + BT * H * (gr == 3 ? 2 : 0)
                        : tape.state_before.data();
  const T* mh = rdrop ? tape.recurrent_dropout.data() + B * H * (gr == 3 ? 2 : 0) : nullptr;

  for (index_t s = T_ - 1; s >= 0; --s) {
    const index_t t = tape.config.go_backwards ? T_ - 1 - s : s;
    const index_t row = B * t;
    const int* mask = mask_all ? mask_all + row : nullptr;
    if (grads.d_sequence) {
      for (index_t j = 0; j < H; ++j) {
        const T* src = grads.d_sequence + B * s + BT * j;
        for (index_t b = 0; b < B; ++b) dh[b + B * j] += src[b];
      }
    }
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (index_t j = 0; j < H; ++j) {
      for (index_t b = 0; b < B; ++b) {
        const index_t i = row + b;
        const index_t iz = i + BT * j, ir = i + BT * (H + j), ih = i + BT * (2 * H + j);
        const T g = dh[b + B * j];
        if (mask && !mask[b]) {
          dpre[iz] = dpre[ir] = dpre[ih] = T(0);
          drp[iz] = drp[ir] = drp[ih] = T(0);
          dhp[b + B * j] = g;
          continue;
        }
        const T z = tape.post[iz], r = tape.post[ir], hh = tape.post[ih];
        const T hp = tape.state_before[i + BT * j];
        const T dz = g * (hp - hh);
        const T dah = g * (T(1) - z) * activation_derivative(act, tape.pre[ih], hh);
        const T daz = dz * activation_derivative(ract, tape.pre[iz], z);
        dpre[iz] = drp[iz] = daz;
        dpre[ih] = dah;
        dhp[b + B * j] = g * z;
        if (after) {
          const T rh = tape.recurrent_h[i + BT * j];
          const T dar = dah * rh * activation_derivative(ract, tape.pre[ir], r);
          dpre[ir] = drp[ir] = dar;
          drp[ih] = dah * r;
        } else {
          drp[ih] = dah;
        }
      }
    }
    if (!after) {
      // d(r * h_prev) = dah U_h'; it feeds the reset gate and h_prev.
      gemm<T>(false, true, B, H, H, T(1), drp.data() + row + BT * 2 * H, BT, U + H * H * 2, H,
              T(0), tmp.data(), B);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
      for (index_t j = 0; j < H; ++j) {
        for (index_t b = 0; b < B; ++b) {
          const index_t i = row + b;
          const index_t ir = i + BT * (H + j);
          if (mask && !mask[b]) continue;
          const T dq = tmp[b + B * j];
          const T r = tape.post[ir];
          const T dar = dq * hd_h[i + BT * j] * activation_derivative(ract, tape.pre[ir], r);
          dpre[ir] = drp[ir] = dar;
          dhp[b + B * j] += dq * r * (mh ? mh[b + B * j] : T(1));
        }
      }
    }
    // h_prev's share through the recurrent products of z, r (and h with reset_after).
    const index_t ngates = after ? 3 : 2;
    if (!rdrop) {
      gemm<T>(false, true, B, H, H * ngates, T(1), drp.data() + row, BT, U, H, T(1), dhp.data(), B);
    } else {
      for (index_t g = 0; g < (gr == 3 ? ngates : 1); ++g) {
        const index_t k = gr == 3 ? H : H * ngates;
        gemm<T>(false, true, B, H, k, T(1), drp.data() + row + BT * H * g, BT, U + H * H * g, H,
                T(0), tmp.data(), B);
        const T* m = tape.recurrent_dropout.data() + B * H * g;
        for (index_t e = 0; e < B * H; ++e) dhp[e] += tmp[e] * m[e];
      }
    }
    std::swap(dh, dhp);
  }
  std::copy(dh.begin(), dh.end(), grads.d_initial_state);

  // Kernel and input gradients: one GEMM each over the whole sequence (per gate with
  // per-gate input dropout).
  const T* xin = tape.inputs.data();
  if (gi == 1) {
    gemm<T>(true, false, F, H3, BT, T(1), xin, BT, dpre.data(), BT, T(0), grads.d_kernel, F);
    gemm<T>(false, true, BT, F, H3, T(1), dpre.data(), BT, K, F, T(0), grads.d_x, BT);
    if (idrop) {
      const T* m = tape.input_dropout.data();
      for (index_t f = 0; f < F; ++f)
        for (index_t t = 0; t < T_; ++t)
          for (index_t b = 0; b < B; ++b) grads.d_x[b + B * t + BT * f] *= m[b + B * f];
    }
  } else {
    std::vector<T> dxg(static_cast<size_t>(BT * F));
    std::fill(grads.d_x, grads.d_x + BT * F, T(0));
    for (int g = 0; g < 3; ++g) {
      gemm<T>(true, false, F, H, BT, T(1), xin + BT * F * g, BT, dpre.data() + BT * H * g, BT,
              T(0), grads.d_kernel + F * H * g, F);
      gemm<T>(false, true, BT, F, H, T(1), dpre.data() + BT * H * g, BT, K + F * H * g, F, T(0),
              dxg.data(), BT);
      const T* m = tape.input_dropout.data() + B * F * g;
      for (index_t f = 0; f < F; ++f)
        for (index_t t = 0; t < T_; ++t)
          for (index_t b = 0; b < B; ++b)
            grads.d_x[b + B * t + BT * f] += dxg[b + B * t + BT * f] * m[b + B * f];
    }
  }

  // Recurrent kernel: each gate's block against the h_prev its product used.
  const index_t ngates = after ? 3 : 2;
  const T* hs = tape.state_before.data();
  if (!rdrop || gr == 1) {
    const T* src = rdrop ? tape.dropped_state.data() : hs;
    gemm<T>(true, false, H, H * ngates, BT, T(1), src, BT, drp.data(), BT, T(0),
            grads.d_recurrent_kernel, H);
  } else {
    for (index_t g = 0; g < ngates; ++g)
      gemm<T>(true, false, H, H, BT, T(1), tape.dropped_state.data() + BT * H * g, BT,
              drp.data() + BT * H * g, BT, T(0), grads.d_recurrent_kernel + H * H * g, H);
  }
  if (!after) {
    gemm<T>(true, false, H, H, BT, T(1), tape.reset_state.data(), BT, drp.data() + BT * H * 2, BT,
            T(0), grads.d_recurrent_kernel + H * H * 2, H);
  }

  if (grads.d_input_bias && tape.has_bias) {
    for (index_t c = 0; c < H3; ++c) {
      T acc = T(0);
      const T* col = dpre.data() + BT * c;
      for (index_t i = 0; i < BT; ++i) acc += col[i];
      grads.d_input_bias[c] = acc;
    }
  }
  if (has_rbias) {
    for (index_t c = 0; c < H3; ++c) {
      T acc = T(0);
      const T* col = drp.data() + BT * c;
      for (index_t i = 0; i < BT; ++i) acc += col[i];
      grads.d_recurrent_bias[c] = acc;
    }
  }
}

}  // namespace rgru

#endif  // RGRU_ENGINE_HPP
