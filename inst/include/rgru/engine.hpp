// The CPU GRU engine: forward pass and backpropagation through time, Keras 3 semantics.
//
// Caller-facing layout is R's (see gru.hpp). Internally every per-step quantity is kept
// unit-major: gate pre-activations form a (3*units) x (batch*timesteps) matrix whose
// column i = b + batch*t is sample b at original time t (the same index as the mask),
// with the z, r, h rows of one sample contiguous. So:
// - the input projection for the whole sequence is one GEMM (K' X');
// - each step runs one recurrent GEMM (U' h', two without reset_after) and one fused
//   elementwise pass that walks contiguous units (vectorisable for any batch size);
// - backward's kernel, recurrent-kernel and input gradients are one GEMM each over the
//   whole sequence, reading caches already laid out for them;
// - nothing is allocated inside the time loop.
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
#include <thread>
#include <utility>

#include "activations.hpp"
#include "buffer.hpp"
#include "gemm.hpp"
#include "gru.hpp"
#include "vector_math.hpp"

namespace rgru {

// What backward needs from one forward call; unit-major, column i = b + batch*t.
template <typename T>
struct GruTape {
  GruDims dims;
  GruConfig config;
  bool has_bias = false;
  // Derivatives of both activations follow from their outputs (tanh, sigmoid, ...):
  // then `pre` holds the outputs z, r, hh and `post` is unused.
  bool outputs_only = false;
  Buffer<T> kernel;             // (input_dim, 3*units), Keras layout
  Buffer<T> recurrent_kernel;   // (units, 3*units), Keras layout
  Buffer<int> mask;             // (batch*timesteps); empty: every step kept
  Buffer<T> input_dropout;      // (batch, input_dim, gates), R layout, or empty
  Buffer<T> recurrent_dropout;  // (units, batch, gates), transposed, or empty
  int input_dropout_gates = 1;
  int recurrent_dropout_gates = 1;
  Buffer<T> inputs;                  // (batch*timesteps, input_dim, input gates): x as the kernel saw it
  // Set by the caller before gru_forward() when in.x stays valid and unchanged while the
  // tape lives: without input dropout the tape then reads x there instead of copying it.
  bool borrow_x = false;
  const T* borrowed_x = nullptr;
  Buffer<T> state_before;       // (units, batch*timesteps): h_prev of each step
  Buffer<T> dropped_state;      // (units, batch*timesteps, gates) with recurrent dropout
  Buffer<T> pre;                // (3*units, batch*timesteps): pre-activations (or outputs)
  Buffer<T> post;               // (3*units, batch*timesteps): z, r, hh
  Buffer<T> recurrent_h;        // reset_after: (units, batch*timesteps) U_h' h_prev + b_h
  Buffer<T> reset_state;        // !reset_after: (units, batch*timesteps) r * h_prev
};

// How to run, not what to compute: results are identical for any num_threads.
struct EngineOptions {
  int num_threads = 1;
  GemmBackend gemm = default_gemm_backend();
};

namespace detail {

inline void require(bool ok, const std::string& what) {
  if (!ok) throw invalid_argument(what);
}

inline int threads_for(index_t work, int num_threads) {
  // Below this many elements per pass, waking threads costs more than it saves.
  return (num_threads > 1 && work >= 32768) ? num_threads : 1;
}

// body(i) for i in [0, n), on nt threads when nt > 1. Entering an OpenMP region costs
// microseconds even when it runs on one thread, so one thread skips it altogether.
template <typename Body>
void parallel_for(index_t n, int nt, Body&& body) {
  if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (index_t i = 0; i < n; ++i) body(i);
  } else {
    for (index_t i = 0; i < n; ++i) body(i);
  }
}

// How many slabs a GEMM may be cut into: as many as the machine has hardware threads, at
// most 8. A fact of the machine, not of the thread setting, so results stay the same for
// any num_threads; each extra slab packs the shared operand again (one thread, 768 x 256
// x 256 float32: 8 slabs 5 % slower than 2, 256 x 256 x 512 13 % slower).
inline index_t max_gemm_slabs() {
  static const index_t slabs =
      std::max<index_t>(1, std::min<index_t>(8, std::thread::hardware_concurrency()));
  return slabs;
}

// A GEMM cut into at most max_gemm_slabs() slabs along C's longer side, the cut depending
// only on the shape and the machine; slabs run on up to opt.num_threads threads, each a
// single-threaded GEMM. A multithreaded BLAS call is not bitwise reproducible across
// thread counts (OpenBLAS's differs in the last bits); this is, and it still keeps the
// cores busy.
template <typename T>
void gemm_slabs(const EngineOptions& opt, bool trans_a, bool trans_b, index_t m, index_t n,
                index_t k, T alpha, const T* a, index_t lda, const T* b, index_t ldb, T beta,
                T* c, index_t ldc) {
  const bool rows = m >= n;
  const index_t len = rows ? m : n;
  const index_t slabs = std::max<index_t>(1, std::min<index_t>(max_gemm_slabs(), len / 64));
  const index_t width = (len + slabs - 1) / slabs;
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const int nt = (opt.num_threads > 1 && slabs > 1 && flops >= 4e6) ? opt.num_threads : 1;
  detail::parallel_for(slabs, nt, [&](index_t s) {
    const index_t from = s * width, to = std::min(len, from + width);
    if (from >= to) return;
    if (rows) {
      gemm<T>(opt.gemm, trans_a, trans_b, to - from, n, k, alpha, trans_a ? a + lda * from : a + from,
              lda, b, ldb, beta, c + from, ldc);
    } else {
      gemm<T>(opt.gemm, trans_a, trans_b, m, to - from, k, alpha, a, lda,
              trans_b ? b + from : b + ldb * from, ldb, beta, c + ldc * from, ldc);
    }
  });
}

// dst = src' (or dst += src' with Add) for a column-major rows x cols src with leading
// dimension ld_src and a cols x rows dst with leading dimension ld_dst. Walked in 16 x 16
// tiles so that the strided side stays in L1: converting between R's (batch, time, units)
// and the engine's unit-major steps one element at a time had been 6 % of a float32
// training call at B=256 T=10 F=64 H=256.
template <bool Add = false, typename T>
void transpose(const T* src, index_t rows, index_t cols, index_t ld_src, T* dst,
               index_t ld_dst) {
  constexpr index_t tile = 16;
  for (index_t c0 = 0; c0 < cols; c0 += tile) {
    const index_t c1 = std::min(cols, c0 + tile);
    for (index_t r0 = 0; r0 < rows; r0 += tile) {
      const index_t r1 = std::min(rows, r0 + tile);
      for (index_t r = r0; r < r1; ++r) {
        T* d = dst + ld_dst * r;
        for (index_t c = c0; c < c1; ++c) {
          if (Add) d[c] += src[r + ld_src * c];
          else d[c] = src[r + ld_src * c];
        }
      }
    }
  }
}

}  // namespace detail

// h = z * h_prev + (1 - z) * hh for one sample, from its [z | r | hh] activations;
// a masked step keeps h_prev.
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

// d activation(x) / dx given x and y = activation(x), as functors for gru_backward.
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

inline bool derivative_from_output(Activation a) {
  return a == Activation::linear || a == Activation::tanh || a == Activation::sigmoid ||
         a == Activation::exponential;
}

// Runs the layer over the sequence. outputs.final_state is always written,
// outputs.sequence when config.return_sequences. When tape is not null it receives
// what gru_backward() needs.
template <typename T>
void gru_forward(const GruDims& dims, const GruConfig& config, const GruWeights<T>& w,
                 const GruInputs<T>& in, const GruOutputs<T>& out, GruTape<T>* tape,
                 const EngineOptions& opt = EngineOptions()) {
  check_dims(dims);
  const index_t B = dims.batch, T_ = dims.timesteps, F = dims.input_dim, H = dims.units;
  const index_t BT = B * T_, H2 = 2 * H, H3 = 3 * H;
  detail::require(config.activation != Activation::glu_unsupported &&
                      config.recurrent_activation != Activation::glu_unsupported,
                  "activation not supported by the native engine");
  detail::require(w.kernel && w.recurrent_kernel, "kernel and recurrent_kernel are required");
  detail::require(in.x, "x is required");
  detail::require(out.final_state, "final_state output is required");
  detail::require(!config.return_sequences || out.sequence, "sequence output is required");
  detail::require(in.input_dropout_gates == 1 || in.input_dropout_gates == 3,
                  "input dropout gates must be 1 or 3");
  detail::require(in.recurrent_dropout_gates == 1 || in.recurrent_dropout_gates == 3,
                  "recurrent dropout gates must be 1 or 3");
  detail::require(!(w.recurrent_bias && !config.reset_after), "a recurrent bias needs reset_after");
  const Activation act = config.activation, ract = config.recurrent_activation;
  const bool after = config.reset_after;
  const bool rdrop = in.recurrent_dropout != nullptr;
  const int gi = in.input_dropout ? in.input_dropout_gates : 1;
  const int gr = rdrop ? in.recurrent_dropout_gates : 1;
  const bool outputs_only = derivative_from_output(act) && derivative_from_output(ract);

  // Inputs as the kernel sees them (dropped when input dropout is on).
  Buffer<T> dropped_local;
  Buffer<T>* dropped = tape ? &tape->inputs : &dropped_local;
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
    if (tape->borrow_x) {
      tape->inputs.clear();
      tape->borrowed_x = in.x;
    } else {
      tape->inputs.assign(in.x, in.x + BT * F);
    }
  }
  if (tape && in.input_dropout) tape->borrowed_x = nullptr;

  // Without a tape the projection is computed a few steps at a time (chunk), enough
  // columns for an efficient GEMM while the buffer stays in cache.
  const index_t chunk = tape ? T_ : std::min<index_t>(T_, std::max<index_t>(1, 512 / B));
  Buffer<T> pre_local;
  Buffer<T>& pre = tape ? tape->pre : pre_local;
  pre.resize(static_cast<size_t>(H3 * B * chunk));
  index_t chunk_start = -1;
  auto project = [&](index_t t) {
    chunk_start = (t / chunk) * chunk;
    const index_t steps = std::min(chunk, T_ - chunk_start);
    const index_t cols = B * steps, col0 = B * chunk_start;
    T* p = pre.data();
    if (gi == 1) {
      detail::gemm_slabs<T>(opt, true, true, H3, cols, F, T(1), w.kernel, F, xin + col0, BT, T(0), p, H3);
    } else {
      for (int g = 0; g < 3; ++g)
        detail::gemm_slabs<T>(opt, true, true, H, cols, F, T(1), w.kernel + F * H * g, F, xin + BT * F * g + col0, BT,
                T(0), p + H * g, H3);
    }
    if (w.input_bias) {
      for (index_t i = 0; i < cols; ++i) {
        T* col = p + H3 * i;
        for (index_t c = 0; c < H3; ++c) col[c] += w.input_bias[c];
      }
    }
  };

  if (tape) {
    tape->dims = dims;
    tape->config = config;
    tape->has_bias = w.input_bias != nullptr;
    tape->outputs_only = outputs_only;
    tape->kernel.assign(w.kernel, w.kernel + F * H3);
    tape->recurrent_kernel.assign(w.recurrent_kernel, w.recurrent_kernel + H * H3);
    if (in.mask) tape->mask.assign(in.mask, in.mask + BT); else tape->mask.clear();
    if (in.input_dropout) tape->input_dropout.assign(in.input_dropout, in.input_dropout + B * F * gi);
    else tape->input_dropout.clear();
    tape->recurrent_dropout.clear();
    tape->input_dropout_gates = gi;
    tape->recurrent_dropout_gates = gr;
    tape->state_before.resize(static_cast<size_t>(H * BT));
    if (outputs_only) tape->post.clear(); else tape->post.resize(static_cast<size_t>(H3 * BT));
    if (rdrop) tape->dropped_state.resize(static_cast<size_t>(H * BT * gr));
    else tape->dropped_state.clear();
    if (after) {
      tape->recurrent_h.resize(static_cast<size_t>(H * BT));
      tape->reset_state.clear();
    } else {
      tape->reset_state.resize(static_cast<size_t>(H * BT));
      tape->recurrent_h.clear();
    }
  }

  // Recurrent dropout masks, transposed to (units, batch) like the state.
  Buffer<T> mrt(rdrop ? static_cast<size_t>(H * B * gr) : 0);
  for (int g = 0; g < (rdrop ? gr : 0); ++g)
    detail::transpose(in.recurrent_dropout + B * H * g, B, H, B, mrt.data() + H * B * g, H);
  if (tape && rdrop) tape->recurrent_dropout.assign(mrt.data(), mrt.data() + mrt.size());

  // Per-step workspace (units x batch, column per sample), allocated once.
  Buffer<T> hprev(static_cast<size_t>(H * B)), hnew(static_cast<size_t>(H * B));
  Buffer<T> rp(static_cast<size_t>(H3 * B));
  Buffer<T> hd(rdrop && !tape ? static_cast<size_t>(H * B * gr) : 0);
  Buffer<T> q(after ? 0 : static_cast<size_t>(H * B));
  Buffer<T> rq(after ? 0 : static_cast<size_t>(H * B));
  Buffer<T> post_local(tape ? 0 : static_cast<size_t>(H3 * B));
  // reset_after: the candidate's pre-activations of one step, (units, batch).
  Buffer<T> candidate(after ? static_cast<size_t>(H * B) : 0);
  // reset_after's gate pass takes the samples in groups and activates each group's gates
  // in two kernel calls: one call per sample costs more than the work with few units
  // (4 units: 8 and 4 values a call). A group's gates (about 4096 values) stay in L1;
  // the grouping depends on the shape only, not on the thread count.
  const index_t group_size = std::max<index_t>(1, 4096 / H3);
  const index_t groups = (B + group_size - 1) / group_size;
  if (in.initial_state) detail::transpose(in.initial_state, B, H, B, hprev.data(), H);
  else std::fill(hprev.data(), hprev.data() + hprev.size(), T(0));

  const int nt = detail::threads_for(B * H, opt.num_threads);
  const T* U = w.recurrent_kernel;
  const index_t ngates = after ? 3 : 2;

  for (index_t s = 0; s < T_; ++s) {
    const index_t t = config.go_backwards ? T_ - 1 - s : s;
    const index_t col0 = B * t;
    if (!tape && (chunk_start < 0 || t < chunk_start || t >= chunk_start + chunk)) project(t);
    if (tape && s == 0) project(0);
    const index_t pcol0 = tape ? col0 : B * (t - chunk_start);

    // h_prev as each gate's recurrent product sees it, (units, batch) with ld = units.
    const T* hsrc[3] = {hprev.data(), hprev.data(), hprev.data()};
    if (tape) {
      std::memcpy(tape->state_before.data() + H * col0, hprev.data(), sizeof(T) * H * B);
    }
    if (rdrop) {
      for (int g = 0; g < gr; ++g) {
        T* d = tape ? tape->dropped_state.data() + H * BT * g + H * col0 : hd.data() + H * B * g;
        const T* m = mrt.data() + H * B * g;
        for (index_t k = 0; k < H * B; ++k) d[k] = hprev[k] * m[k];
        for (int gg = 0; gg < 3; ++gg)
          if (gr == 1 || gg == g) hsrc[gg] = d;
      }
    }

    if (gr == 1) {
      detail::gemm_slabs<T>(opt, true, false, H * ngates, B, H, T(1), U, H, hsrc[0], H, T(0), rp.data(), H3);
    } else {
      for (index_t g = 0; g < ngates; ++g)
        detail::gemm_slabs<T>(opt, true, false, H, B, H, T(1), U + H * H * g, H, hsrc[g], H, T(0), rp.data() + H * g, H3);
    }

    T* pre_t = pre.data() + H3 * pcol0;
    T* post_t = tape ? (outputs_only ? pre_t : tape->post.data() + H3 * col0) : post_local.data();
    T* rh_t = tape && after ? tape->recurrent_h.data() + H * col0 : nullptr;
    T* q_t = tape && !after ? tape->reset_state.data() + H * col0 : q.data();
    const int* mask = in.mask ? in.mask + col0 : nullptr;
    const T* rbias = w.recurrent_bias;

    if (after) {
      detail::parallel_for(groups, nt, [&](index_t g) {
        const index_t b0 = g * group_size, b1 = std::min(B, b0 + group_size);
        if (b0 >= b1) return;
        T* c = candidate.data();
        for (index_t b = b0; b < b1; ++b) {
          T* p = pre_t + H3 * b;
          T* r_h = rp.data() + H3 * b;
          if (rbias) add_into(r_h, rbias, H3);
          add_into(p, r_h, H2);  // z and r pre-activations
          // saved first: the call below also runs over (and may overwrite) these rows
          std::memcpy(c + H * b, p + H2, sizeof(T) * H);
        }
        activate_into(ract, pre_t + H3 * b0, post_t + H3 * b0, H3 * (b1 - b0));
        for (index_t b = b0; b < b1; ++b) {
          const T* rg = post_t + H3 * b + H;
          const T* rh = rp.data() + H3 * b + H2;
          T* cb = c + H * b;
          RGRU_SIMD_LOOP
          for (index_t j = 0; j < H; ++j) cb[j] += rg[j] * rh[j];
          // the tape keeps pre-activations where they are not outputs
          if (tape && post_t != pre_t) std::memcpy(pre_t + H3 * b + H2, cb, sizeof(T) * H);
          if (rh_t) std::memcpy(rh_t + H * b, rh, sizeof(T) * H);
        }
        activate_into(act, c + H * b0, c + H * b0, H * (b1 - b0));
        for (index_t b = b0; b < b1; ++b) {
          T* o = post_t + H3 * b;
          std::memcpy(o + H2, c + H * b, sizeof(T) * H);
          next_state(o, hprev.data() + H * b, !mask || mask[b], H, hnew.data() + H * b);
        }
      });
    } else {
      // r * h_prev for the candidate's recurrent product, one sample (column) at a time.
      detail::parallel_for(B, nt, [&](index_t b) {
        T* p = pre_t + H3 * b;
        T* o = post_t + H3 * b;
        add_into(p, rp.data() + H3 * b, H2);  // z and r pre-activations
        activate_into(ract, p, o, H2);
        const T* rg = o + H;
        const T* hs = hsrc[2] + H * b;
        T* qb = q_t + H * b;
        RGRU_SIMD_LOOP
        for (index_t j = 0; j < H; ++j) qb[j] = rg[j] * hs[j];
      });
    }
    if (!after) {
      detail::gemm_slabs<T>(opt, true, false, H, B, H, T(1), U + H * H2, H, q_t, H, T(0), rq.data(), H);
      detail::parallel_for(B, nt, [&](index_t b) {
        T* ph = pre_t + H3 * b + H2;
        T* o = post_t + H3 * b;
        add_into(ph, rq.data() + H * b, H);
        activate_into(act, ph, o + H2, H);
        next_state(o, hprev.data() + H * b, !mask || mask[b], H, hnew.data() + H * b);
      });
    }
    if (config.return_sequences) {
      // Unit j of this step is a contiguous run of B values in R's (batch, time, units).
      detail::transpose(hnew.data(), H, B, H, out.sequence + B * s, BT);
    }
    std::swap(hprev, hnew);
  }
  detail::transpose(hprev.data(), H, B, H, out.final_state, B);
}

// Gradients of a scalar loss, given its gradients with respect to the returned
// sequence (processing order) and final state. Every output pointer in grads that
// the tape's configuration has must be non-null (d_input_bias when the forward had a
// bias, d_recurrent_bias when it had a recurrent bias).
template <typename T>
void gru_backward(const GruTape<T>& tape, const GruGradients<T>& grads,
                  const EngineOptions& opt = EngineOptions()) {
  const GruDims& dims = tape.dims;
  check_dims(dims);
  const index_t B = dims.batch, T_ = dims.timesteps, F = dims.input_dim, H = dims.units;
  const index_t BT = B * T_, H2 = 2 * H, H3 = 3 * H;
  const bool after = tape.config.reset_after;
  const Activation act = tape.config.activation, ract = tape.config.recurrent_activation;
  detail::require(tape.pre.size() == static_cast<size_t>(BT * H3), "tape is empty");
  detail::require(grads.d_x && grads.d_initial_state && grads.d_kernel && grads.d_recurrent_kernel,
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
  const T* pre = tape.pre.data();
  const T* post = tape.outputs_only ? pre : tape.post.data();

  Buffer<T> dp(static_cast<size_t>(H3 * BT));  // d pre-activations = d input projection
  Buffer<T> drh(after ? static_cast<size_t>(H * BT) : 0);  // d (U_h' h_prev + b_h)
  Buffer<T> dh(static_cast<size_t>(H * B)), dhp(static_cast<size_t>(H * B));
  Buffer<T> tmp(rdrop || !after ? static_cast<size_t>(H * B) : 0);
  if (grads.d_final_state) detail::transpose(grads.d_final_state, B, H, B, dh.data(), H);
  else std::fill(dh.data(), dh.data() + dh.size(), T(0));

  const int nt = detail::threads_for(B * H, opt.num_threads);
  // The h_prev the candidate's recurrent product used (dropped for gate h).
  const T* hd_h = rdrop ? tape.dropped_state.data() + H * BT * (gr == 3 ? 2 : 0)
                        : tape.state_before.data();
  const T* mh = rdrop ? tape.recurrent_dropout.data() + H * B * (gr == 3 ? 2 : 0) : nullptr;

  // The per-step gate passes. The activations' derivatives come in as functors, inlined
  // for the defaults (tanh, sigmoid) so that the loops over units vectorise.
  auto gate_gradients = [&](auto d_act, auto d_ract, index_t col0, const int* mask) {
    detail::parallel_for(B, nt, [&](index_t b) {
      const index_t i = col0 + b;
      const T* g = dh.data() + H * b;
      T* dpb = dp.data() + H3 * i;
      T* dhpb = dhp.data() + H * b;
      if (mask && !mask[b]) {
        std::fill(dpb, dpb + H3, T(0));
        if (after) std::fill(drh.data() + H * i, drh.data() + H * i + H, T(0));
        std::memcpy(dhpb, g, sizeof(T) * H);
        return;
      }
      const T* o = post + H3 * i;
      const T* a = pre + H3 * i;
      const T* hp = tape.state_before.data() + H * i;
      RGRU_SIMD_LOOP
      for (index_t j = 0; j < H; ++j) {
        const T z = o[j], hh = o[H2 + j];
        dpb[H2 + j] = g[j] * (T(1) - z) * d_act(a[H2 + j], hh);
        dpb[j] = g[j] * (hp[j] - hh) * d_ract(a[j], z);
        dhpb[j] = g[j] * z;
      }
      if (after) {
        const T* rh = tape.recurrent_h.data() + H * i;
        T* drhb = drh.data() + H * i;
        RGRU_SIMD_LOOP
        for (index_t j = 0; j < H; ++j) {
          const T r = o[H + j], dah = dpb[H2 + j];
          dpb[H + j] = dah * rh[j] * d_ract(a[H + j], r);
          drhb[j] = dah * r;
        }
      }
    });
    if (!after) {
      // d(r * h_prev) = U_h dah; it feeds the reset gate and h_prev.
      detail::gemm_slabs<T>(opt, false, false, H, B, H, T(1), U + H * H2, H, dp.data() + H3 * col0 + H2, H3, T(0),
              tmp.data(), H);
      detail::parallel_for(B, nt, [&](index_t b) {
        if (mask && !mask[b]) return;
        const index_t i = col0 + b;
        const T* dq = tmp.data() + H * b;
        const T* o = post + H3 * i;
        const T* a = pre + H3 * i;
        const T* hs = hd_h + H * i;
        const T* m = mh ? mh + H * b : nullptr;
        T* dpb = dp.data() + H3 * i;
        T* dhpb = dhp.data() + H * b;
        RGRU_SIMD_LOOP
        for (index_t j = 0; j < H; ++j) {
          const T r = o[H + j];
          dpb[H + j] = dq[j] * hs[j] * d_ract(a[H + j], r);
          dhpb[j] += dq[j] * r * (m ? m[j] : T(1));
        }
      });
    }
  };

  for (index_t s = T_ - 1; s >= 0; --s) {
    const index_t t = tape.config.go_backwards ? T_ - 1 - s : s;
    const index_t col0 = B * t;
    const int* mask = mask_all ? mask_all + col0 : nullptr;
    if (grads.d_sequence) detail::transpose<true>(grads.d_sequence + B * s, B, H, BT, dh.data(), H);
    if (act == Activation::tanh && ract == Activation::sigmoid) {
      gate_gradients(TanhDerivative<T>(), SigmoidDerivative<T>(), col0, mask);
    } else {
      gate_gradients(DerivativeOf<T>{act}, DerivativeOf<T>{ract}, col0, mask);
    }
    // h_prev's share through the recurrent products: z and r (rows of dp), and h
    // (drh) with reset_after.
    const T* dzr = dp.data() + H3 * col0;
    const T* dhh = after ? drh.data() + H * col0 : nullptr;
    if (!rdrop) {
      detail::gemm_slabs<T>(opt, false, false, H, B, H2, T(1), U, H, dzr, H3, T(1), dhp.data(), H);
      if (after) detail::gemm_slabs<T>(opt, false, false, H, B, H, T(1), U + H * H2, H, dhh, H, T(1), dhp.data(), H);
    } else {
      for (int g = 0; g < gr; ++g) {
        if (gr == 1) {
          detail::gemm_slabs<T>(opt, false, false, H, B, H2, T(1), U, H, dzr, H3, T(0), tmp.data(), H);
          if (after) detail::gemm_slabs<T>(opt, false, false, H, B, H, T(1), U + H * H2, H, dhh, H, T(1), tmp.data(), H);
        } else if (g < 2) {
          detail::gemm_slabs<T>(opt, false, false, H, B, H, T(1), U + H * H * g, H, dzr + H * g, H3, T(0), tmp.data(), H);
        } else if (after) {
          detail::gemm_slabs<T>(opt, false, false, H, B, H, T(1), U + H * H2, H, dhh, H, T(0), tmp.data(), H);
        } else {
          break;
        }
        const T* m = tape.recurrent_dropout.data() + H * B * g;
        for (index_t e = 0; e < B * H; ++e) dhp[e] += tmp[e] * m[e];
      }
    }
    std::swap(dh, dhp);
  }
  detail::transpose(dh.data(), H, B, H, grads.d_initial_state, B);

  // Kernel and input gradients: one GEMM each over the whole sequence (per gate with
  // per-gate input dropout).
  const T* xin = tape.borrowed_x ? tape.borrowed_x : tape.inputs.data();
  if (gi == 1) {
    detail::gemm_slabs<T>(opt, true, true, F, H3, BT, T(1), xin, BT, dp.data(), H3, T(0), grads.d_kernel, F);
    detail::gemm_slabs<T>(opt, true, true, BT, F, H3, T(1), dp.data(), H3, K, F, T(0), grads.d_x, BT);
    if (idrop) {
      const T* m = tape.input_dropout.data();
      for (index_t f = 0; f < F; ++f)
        for (index_t t = 0; t < T_; ++t)
          for (index_t b = 0; b < B; ++b) grads.d_x[b + B * t + BT * f] *= m[b + B * f];
    }
  } else {
    Buffer<T> dxg(static_cast<size_t>(BT * F));
    std::fill(grads.d_x, grads.d_x + BT * F, T(0));
    for (int g = 0; g < 3; ++g) {
      detail::gemm_slabs<T>(opt, true, true, F, H, BT, T(1), xin + BT * F * g, BT, dp.data() + H * g, H3, T(0),
              grads.d_kernel + F * H * g, F);
      detail::gemm_slabs<T>(opt, true, true, BT, F, H, T(1), dp.data() + H * g, H3, K + F * H * g, F, T(0), dxg.data(), BT);
      const T* m = tape.input_dropout.data() + B * F * g;
      for (index_t f = 0; f < F; ++f)
        for (index_t t = 0; t < T_; ++t)
          for (index_t b = 0; b < B; ++b)
            grads.d_x[b + B * t + BT * f] += dxg[b + B * t + BT * f] * m[b + B * f];
    }
  }

  // Recurrent kernel: each gate's block against the h_prev its product used.
  const T* hs = rdrop ? tape.dropped_state.data() : tape.state_before.data();
  T* du = grads.d_recurrent_kernel;
  if (gr == 1) {
    detail::gemm_slabs<T>(opt, false, true, H, H2, BT, T(1), hs, H, dp.data(), H3, T(0), du, H);
  } else {
    for (int g = 0; g < 2; ++g)
      detail::gemm_slabs<T>(opt, false, true, H, H, BT, T(1), hs + H * BT * g, H, dp.data() + H * g, H3, T(0),
              du + H * H * g, H);
  }
  if (after) {
    detail::gemm_slabs<T>(opt, false, true, H, H, BT, T(1), hd_h, H, drh.data(), H, T(0), du + H * H2, H);
  } else {
    detail::gemm_slabs<T>(opt, false, true, H, H, BT, T(1), tape.reset_state.data(), H, dp.data() + H2, H3, T(0),
            du + H * H2, H);
  }

  if (tape.has_bias) {
    T* bi = grads.d_input_bias;
    std::fill(bi, bi + H3, T(0));
    for (index_t i = 0; i < BT; ++i) add_into(bi, dp.data() + H3 * i, H3);
    if (has_rbias) {
      T* br = grads.d_recurrent_bias;
      std::copy(bi, bi + H2, br);
      std::fill(br + H2, br + H3, T(0));
      for (index_t i = 0; i < BT; ++i) add_into(br + H2, drh.data() + H * i, H);
    }
  }
}

}  // namespace rgru

#endif  // RGRU_ENGINE_HPP
