// The CPU GRU engine: forward pass and backpropagation through time, Keras 3 semantics
// (the equations are in gru.hpp, one step of them in step.hpp).
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
// How the work is split and threaded comes in as a schedule (schedule.hpp).
#ifndef RGRU_ENGINE_HPP
#define RGRU_ENGINE_HPP

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "activations.hpp"
#include "detail/transpose.hpp"
#include "gemm.hpp"
#include "gru.hpp"
#include "memory.hpp"
#include "schedule.hpp"
#include "step.hpp"
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

namespace detail {

inline void require(bool ok, const std::string& what) {
  if (!ok) throw invalid_argument(what);
}

inline void check_forward_arguments(const GruDims& dims, const GruConfig& config,
                                    const void* kernel, const void* recurrent_kernel,
                                    const void* recurrent_bias, const void* x,
                                    int input_gates, int recurrent_gates,
                                    const void* final_state, const void* sequence) {
  check_dims(dims);
  require(config.activation != Activation::glu_unsupported &&
              config.recurrent_activation != Activation::glu_unsupported,
          "activation not supported by the native engine");
  require(kernel && recurrent_kernel, "kernel and recurrent_kernel are required");
  require(x, "x is required");
  require(final_state, "final_state output is required");
  require(!config.return_sequences || sequence, "sequence output is required");
  require(input_gates == 1 || input_gates == 3, "input dropout gates must be 1 or 3");
  require(recurrent_gates == 1 || recurrent_gates == 3, "recurrent dropout gates must be 1 or 3");
  require(!(recurrent_bias && !config.reset_after), "a recurrent bias needs reset_after");
}

// One forward call: run() walks the steps; each step projects its inputs (a chunk of steps
// at a time without a tape), multiplies h by U, then runs the gate pass of its reset_after
// convention, which ends with the next state.
template <typename T, typename Schedule>
class ForwardPass {
 public:
  ForwardPass(const GruDims& dims, const GruConfig& config, const GruWeights<T>& w,
              const GruInputs<T>& in, GruTape<T>* tape, const Schedule& schedule)
      : d_(dims), config_(config), w_(w), in_(in), tape_(tape), schedule_(schedule),
        B(dims.batch), T_(dims.timesteps), F(dims.input_dim), H(dims.units),
        BT(B * T_), H2(2 * H), H3(3 * H),
        gi_(in.input_dropout ? in.input_dropout_gates : 1),
        gr_(in.recurrent_dropout ? in.recurrent_dropout_gates : 1),
        outputs_only_(derivative_from_output(config.activation) &&
                      derivative_from_output(config.recurrent_activation)),
        chunk_(tape ? T_ : schedule.projection_steps(B, T_)),
        pre_(tape ? &tape->pre : &pre_local_),
        group_(schedule.gate_group(H)) {
    prepare_inputs();
    pre_->resize(static_cast<size_t>(H3 * B * chunk_));
    if (tape_) prepare_tape();
    prepare_workspace();
  }

  void run(const GruOutputs<T>& out) {
    for (index_t s = 0; s < T_; ++s) {
      const Step step = begin_step(s);
      recurrent_products(step);
      if (config_.reset_after) gates_reset_after(step);
      else gates_reset_before(step);
      // unit j of this step is a contiguous run of B values in R's (batch, time, units)
      if (config_.return_sequences) transpose(hnew_.data(), H, B, H, out.sequence + B * s, BT);
      std::swap(hprev_, hnew_);
    }
    transpose(hprev_.data(), H, B, H, out.final_state, B);
  }

 private:
  // Where step t reads and writes, column b of each for sample b.
  struct Step {
    index_t col0;        // B * t: the step's first column in sequence-wide buffers
    T* pre;              // (3H, B) pre-activations x W + b, added to in the gate pass
    T* post;             // (3H, B) activations z, r, hh (may be `pre`)
    T* uh;               // reset_after with a tape: (H, B) h U_h + b'_h kept for backward
    T* q;                // reset_before: (H, B) r * h
    const int* mask;     // (B) or nullptr
    const T* h_used[3];  // (H, B) h as each gate's product with U sees it (dropped)
    bool keeps(index_t b) const { return !mask || mask[b]; }
  };

  // x as the kernel sees it: dropped per gate with input dropout, else x itself (which the
  // tape borrows or copies).
  void prepare_inputs() {
    xin_ = in_.x;
    if (in_.input_dropout) {
      Buffer<T>& dropped = tape_ ? tape_->inputs : dropped_local_;
      dropped.resize(static_cast<size_t>(BT * F * gi_));
      for (int g = 0; g < gi_; ++g) {
        const T* m = in_.input_dropout + B * F * g;
        T* d = dropped.data() + BT * F * g;
        for (index_t f = 0; f < F; ++f)
          for (index_t t = 0; t < T_; ++t)
            for (index_t b = 0; b < B; ++b)
              d[b + B * t + BT * f] = in_.x[b + B * t + BT * f] * m[b + B * f];
      }
      xin_ = dropped.data();
      if (tape_) tape_->borrowed_x = nullptr;
    } else if (tape_ && tape_->borrow_x) {
      tape_->inputs.clear();
      tape_->borrowed_x = in_.x;
    } else if (tape_) {
      tape_->inputs.assign(in_.x, in_.x + BT * F);
    }
  }

  void prepare_tape() {
    GruTape<T>& tp = *tape_;
    tp.dims = d_;
    tp.config = config_;
    tp.has_bias = w_.input_bias != nullptr;
    tp.outputs_only = outputs_only_;
    tp.kernel.assign(w_.kernel, w_.kernel + F * H3);
    tp.recurrent_kernel.assign(w_.recurrent_kernel, w_.recurrent_kernel + H * H3);
    if (in_.mask) tp.mask.assign(in_.mask, in_.mask + BT);
    else tp.mask.clear();
    if (in_.input_dropout) tp.input_dropout.assign(in_.input_dropout, in_.input_dropout + B * F * gi_);
    else tp.input_dropout.clear();
    tp.recurrent_dropout.clear();
    tp.input_dropout_gates = gi_;
    tp.recurrent_dropout_gates = gr_;
    tp.state_before.resize(static_cast<size_t>(H * BT));
    resize_or_clear(tp.post, !outputs_only_, H3 * BT);
    resize_or_clear(tp.dropped_state, in_.recurrent_dropout != nullptr, H * BT * gr_);
    resize_or_clear(tp.recurrent_h, config_.reset_after, H * BT);
    resize_or_clear(tp.reset_state, !config_.reset_after, H * BT);
  }

  static void resize_or_clear(Buffer<T>& b, bool keep, index_t n) {
    if (keep) b.resize(static_cast<size_t>(n));
    else b.clear();
  }

  // Per-step workspace (units x batch, a column per sample), allocated once.
  void prepare_workspace() {
    const bool rdrop = in_.recurrent_dropout != nullptr, after = config_.reset_after;
    // recurrent dropout's multipliers, transposed to (units, batch) like the state
    dropout_t_.resize(rdrop ? static_cast<size_t>(H * B * gr_) : 0);
    for (int g = 0; g < (rdrop ? gr_ : 0); ++g)
      transpose(in_.recurrent_dropout + B * H * g, B, H, B, dropout_t_.data() + H * B * g, H);
    if (tape_ && rdrop) tape_->recurrent_dropout.assign(dropout_t_.data(), dropout_t_.data() + dropout_t_.size());
    hprev_.resize(static_cast<size_t>(H * B));
    hnew_.resize(static_cast<size_t>(H * B));
    uh_.resize(static_cast<size_t>(H3 * B));
    dropped_h_.resize(rdrop && !tape_ ? static_cast<size_t>(H * B * gr_) : 0);
    q_.resize(after ? 0 : static_cast<size_t>(H * B));
    uq_.resize(after ? 0 : static_cast<size_t>(H * B));
    post_local_.resize(tape_ ? 0 : static_cast<size_t>(H3 * B));
    candidate_.resize(after ? static_cast<size_t>(H * B) : 0);
    if (in_.initial_state) transpose(in_.initial_state, B, H, B, hprev_.data(), H);
    else std::fill(hprev_.data(), hprev_.data() + hprev_.size(), T(0));
  }

  // x W + b for the steps [first, first + chunk_), in pre_.
  void project_inputs(index_t first) {
    chunk_start_ = first;
    const index_t cols = B * std::min(chunk_, T_ - first), col0 = B * first;
    T* p = pre_->data();
    if (gi_ == 1) {
      schedule_.gemm(true, true, H3, cols, F, T(1), w_.kernel, F, xin_ + col0, BT, T(0), p, H3);
    } else {
      for (int g = 0; g < 3; ++g)
        schedule_.gemm(true, true, H, cols, F, T(1), w_.kernel + F * H * g, F,
                       xin_ + BT * F * g + col0, BT, T(0), p + H * g, H3);
    }
    if (w_.input_bias) {
      for (index_t i = 0; i < cols; ++i) {
        T* col = p + H3 * i;
        for (index_t c = 0; c < H3; ++c) col[c] += w_.input_bias[c];
      }
    }
  }

  // The views of processing step s (original time t), with its inputs projected and
  // h saved to the tape and dropped.
  Step begin_step(index_t s) {
    const index_t t = config_.go_backwards ? T_ - 1 - s : s;
    Step st;
    st.col0 = B * t;
    if (tape_ ? s == 0 : (chunk_start_ < 0 || t < chunk_start_ || t >= chunk_start_ + chunk_))
      project_inputs(tape_ ? 0 : (t / chunk_) * chunk_);
    st.pre = pre_->data() + H3 * (tape_ ? st.col0 : B * (t - chunk_start_));
    st.post = !tape_ ? post_local_.data() : outputs_only_ ? st.pre : tape_->post.data() + H3 * st.col0;
    st.uh = tape_ && config_.reset_after ? tape_->recurrent_h.data() + H * st.col0 : nullptr;
    st.q = tape_ && !config_.reset_after ? tape_->reset_state.data() + H * st.col0 : q_.data();
    st.mask = in_.mask ? in_.mask + st.col0 : nullptr;
    if (tape_) std::memcpy(tape_->state_before.data() + H * st.col0, hprev_.data(), sizeof(T) * H * B);
    for (const T*& h : st.h_used) h = hprev_.data();
    for (int g = 0; g < (in_.recurrent_dropout ? gr_ : 0); ++g) {
      T* d = tape_ ? tape_->dropped_state.data() + H * BT * g + H * st.col0 : dropped_h_.data() + H * B * g;
      const T* m = dropout_t_.data() + H * B * g;
      for (index_t k = 0; k < H * B; ++k) d[k] = hprev_[k] * m[k];
      for (int gg = 0; gg < 3; ++gg)
        if (gr_ == 1 || gg == g) st.h_used[gg] = d;
    }
    return st;
  }

  // h U for z and r (and h with reset_after), into uh_: one GEMM, or one per gate when
  // each gate sees its own dropped h.
  void recurrent_products(const Step& st) {
    const index_t gates = config_.reset_after ? 3 : 2;
    const T* U = w_.recurrent_kernel;
    if (gr_ == 1) {
      schedule_.gemm(true, false, H * gates, B, H, T(1), U, H, st.h_used[0], H, T(0), uh_.data(), H3);
    } else {
      for (index_t g = 0; g < gates; ++g)
        schedule_.gemm(true, false, H, B, H, T(1), U + H * H * g, H, st.h_used[g], H, T(0),
                       uh_.data() + H * g, H3);
    }
  }

  void gates_reset_after(const Step& st) {
    const index_t groups = (B + group_ - 1) / group_;
    schedule_.parallel_for(groups, B * H, [&](index_t g) {
      const index_t b0 = g * group_, b1 = std::min(B, b0 + group_);
      if (b0 < b1) gates_reset_after(st, b0, b1);
    });
  }

  // reset_after's gates for samples [b0, b1), activated two kernel calls for the group.
  void gates_reset_after(const Step& st, index_t b0, index_t b1) {
    T* c = candidate_.data();
    for (index_t b = b0; b < b1; ++b) {
      T* uh = uh_.data() + H3 * b;
      if (w_.recurrent_bias) add_into(uh, w_.recurrent_bias, H3);
      add_into(st.pre + H3 * b, uh, H2);  // z and r: x W + b + h U + b'
      // hh's x W_h + b_h, saved first: activating the group's rows below may overwrite it
      std::memcpy(c + H * b, st.pre + H3 * b + H2, sizeof(T) * H);
    }
    activate_into(config_.recurrent_activation, st.pre + H3 * b0, st.post + H3 * b0, H3 * (b1 - b0));
    for (index_t b = b0; b < b1; ++b) {
      const T* uh_h = uh_.data() + H3 * b + H2;
      add_reset_product(c + H * b, st.post + H3 * b + H, uh_h, H);
      // the tape keeps pre-activations where they are not outputs
      if (tape_ && st.post != st.pre) std::memcpy(st.pre + H3 * b + H2, c + H * b, sizeof(T) * H);
      if (st.uh) std::memcpy(st.uh + H * b, uh_h, sizeof(T) * H);
    }
    activate_into(config_.activation, c + H * b0, c + H * b0, H * (b1 - b0));
    for (index_t b = b0; b < b1; ++b) {
      T* gates = st.post + H3 * b;
      std::memcpy(gates + H2, c + H * b, sizeof(T) * H);
      next_state(gates, hprev_.data() + H * b, st.keeps(b), H, hnew_.data() + H * b);
    }
  }

  // reset_before: z and r first, then (r * h) U_h in one GEMM, then hh and the state.
  void gates_reset_before(const Step& st) {
    schedule_.parallel_for(B, B * H, [&](index_t b) {
      T* pre = st.pre + H3 * b;
      T* gates = st.post + H3 * b;
      add_into(pre, uh_.data() + H3 * b, H2);  // z and r: x W + b + h U
      activate_into(config_.recurrent_activation, pre, gates, H2);
      reset_product(st.q + H * b, gates + H, st.h_used[2] + H * b, H);
    });
    schedule_.gemm(true, false, H, B, H, T(1), w_.recurrent_kernel + H * H2, H, st.q, H, T(0),
                   uq_.data(), H);
    schedule_.parallel_for(B, B * H, [&](index_t b) {
      T* pre_h = st.pre + H3 * b + H2;
      T* gates = st.post + H3 * b;
      add_into(pre_h, uq_.data() + H * b, H);
      activate_into(config_.activation, pre_h, gates + H2, H);
      next_state(gates, hprev_.data() + H * b, st.keeps(b), H, hnew_.data() + H * b);
    });
  }

  const GruDims d_;
  const GruConfig config_;
  const GruWeights<T> w_;
  const GruInputs<T> in_;
  GruTape<T>* const tape_;
  const Schedule& schedule_;
  const index_t B, T_, F, H, BT, H2, H3;
  const int gi_, gr_;
  const bool outputs_only_;
  const index_t chunk_;  // steps per input projection
  Buffer<T> pre_local_;
  Buffer<T>* const pre_;
  const index_t group_;  // samples per reset_after gate group
  index_t chunk_start_ = -1;
  const T* xin_ = nullptr;
  Buffer<T> dropped_local_, dropout_t_, hprev_, hnew_, uh_, dropped_h_, q_, uq_, post_local_,
      candidate_;
};

// One backward call: run() walks the steps in reverse, turning dL/dh of each step into its
// gates' pre-activation gradients and dL/dh of the step before; then the weight and input
// gradients are one GEMM each over the whole sequence.
template <typename T, typename Schedule>
class BackwardPass {
 public:
  BackwardPass(const GruTape<T>& tape, const GruGradients<T>& grads, const Schedule& schedule)
      : tape_(tape), grads_(grads), schedule_(schedule), B(tape.dims.batch),
        T_(tape.dims.timesteps), F(tape.dims.input_dim), H(tape.dims.units), BT(B * T_),
        H2(2 * H), H3(3 * H), after_(tape.config.reset_after),
        rdrop_(!tape.recurrent_dropout.empty()), gr_(tape.recurrent_dropout_gates),
        gi_(tape.input_dropout_gates), U(tape.recurrent_kernel.data()),
        pre_(tape.pre.data()), post_(tape.outputs_only ? pre_ : tape.post.data()),
        // h as hh's recurrent product used it (dropped for gate h), and its multiplier
        h_used_h_(rdrop_ ? tape.dropped_state.data() + H * BT * (gr_ == 3 ? 2 : 0)
                         : tape.state_before.data()),
        dropout_h_(rdrop_ ? tape.recurrent_dropout.data() + H * B * (gr_ == 3 ? 2 : 0) : nullptr),
        dp_(static_cast<size_t>(H3 * BT)), duh_(after_ ? static_cast<size_t>(H * BT) : 0),
        dh_(static_cast<size_t>(H * B)), dh_prev_(static_cast<size_t>(H * B)),
        tmp_(rdrop_ || !after_ ? static_cast<size_t>(H * B) : 0) {}

  void run() {
    if (grads_.d_final_state) transpose(grads_.d_final_state, B, H, B, dh_.data(), H);
    else std::fill(dh_.data(), dh_.data() + dh_.size(), T(0));
    for (index_t s = T_ - 1; s >= 0; --s) {
      const index_t t = tape_.config.go_backwards ? T_ - 1 - s : s;
      // dL/dh_t gains the output's gradient at processing step s
      if (grads_.d_sequence) transpose<true>(grads_.d_sequence + B * s, B, H, BT, dh_.data(), H);
      gate_gradients(B * t);
      recurrent_share(B * t);
      std::swap(dh_, dh_prev_);
    }
    transpose(dh_.data(), H, B, H, grads_.d_initial_state, B);
    input_gradients();
    recurrent_kernel_gradients();
    if (tape_.has_bias) bias_gradients();
  }

 private:
  const int* mask_at(index_t col0) const {
    return tape_.mask.empty() ? nullptr : tape_.mask.data() + col0;
  }

  // Pre-activation gradients of step t (col0 = B * t) into dp_ (and duh_), h's direct share
  // into dh_prev_; tanh and sigmoid's derivatives inlined.
  void gate_gradients(index_t col0) {
    const Activation act = tape_.config.activation, ract = tape_.config.recurrent_activation;
    if (act == Activation::tanh && ract == Activation::sigmoid) {
      gate_gradients(col0, TanhDerivative<T>(), SigmoidDerivative<T>());
    } else {
      gate_gradients(col0, DerivativeOf<T>{act}, DerivativeOf<T>{ract});
    }
  }

  template <typename DAct, typename DRact>
  void gate_gradients(index_t col0, DAct d_act, DRact d_ract) {
    const int* mask = mask_at(col0);
    schedule_.parallel_for(B, B * H, [&](index_t b) {
      const index_t i = col0 + b;
      T* d_pre = dp_.data() + H3 * i;
      T* d_uh = after_ ? duh_.data() + H * i : nullptr;
      if (mask && !mask[b]) {
        skipped_step_gradients(dh_.data() + H * b, H, after_, d_pre, d_uh, dh_prev_.data() + H * b);
        return;
      }
      update_and_candidate_gradients(dh_.data() + H * b, post_ + H3 * i, pre_ + H3 * i,
                                     tape_.state_before.data() + H * i, d_act, d_ract, H, d_pre,
                                     dh_prev_.data() + H * b);
      if (after_)
        reset_gradients_after(post_ + H3 * i, pre_ + H3 * i, tape_.recurrent_h.data() + H * i,
                              d_ract, H, d_pre, d_uh);
    });
    if (!after_) reset_gate_gradients_before(col0, d_ract);
  }

  // reset_before: dq = U_h (hh's gradient), then r's gradient and h's share through r * h.
  template <typename DRact>
  void reset_gate_gradients_before(index_t col0, DRact d_ract) {
    const int* mask = mask_at(col0);
    schedule_.gemm(false, false, H, B, H, T(1), U + H * H2, H, dp_.data() + H3 * col0 + H2, H3,
                   T(0), tmp_.data(), H);
    schedule_.parallel_for(B, B * H, [&](index_t b) {
      if (mask && !mask[b]) return;
      const index_t i = col0 + b;
      reset_gradients_before(tmp_.data() + H * b, post_ + H3 * i, pre_ + H3 * i,
                             h_used_h_ + H * i, dropout_h_ ? dropout_h_ + H * b : nullptr, d_ract,
                             H, dp_.data() + H3 * i, dh_prev_.data() + H * b);
    });
  }

  // h's share through the recurrent products: U_z dz + U_r dr (+ U_h duh with
  // reset_after), each through its gate's recurrent dropout.
  void recurrent_share(index_t col0) {
    const T* dzr = dp_.data() + H3 * col0;
    const T* duh = after_ ? duh_.data() + H * col0 : nullptr;
    T* dhp = dh_prev_.data();
    if (!rdrop_) {
      schedule_.gemm(false, false, H, B, H2, T(1), U, H, dzr, H3, T(1), dhp, H);
      if (after_) schedule_.gemm(false, false, H, B, H, T(1), U + H * H2, H, duh, H, T(1), dhp, H);
      return;
    }
    T* tmp = tmp_.data();
    for (int g = 0; g < gr_; ++g) {
      if (gr_ == 1) {
        schedule_.gemm(false, false, H, B, H2, T(1), U, H, dzr, H3, T(0), tmp, H);
        if (after_) schedule_.gemm(false, false, H, B, H, T(1), U + H * H2, H, duh, H, T(1), tmp, H);
      } else if (g < 2) {
        schedule_.gemm(false, false, H, B, H, T(1), U + H * H * g, H, dzr + H * g, H3, T(0), tmp, H);
      } else if (after_) {
        schedule_.gemm(false, false, H, B, H, T(1), U + H * H2, H, duh, H, T(0), tmp, H);
      } else {
        break;
      }
      const T* m = tape_.recurrent_dropout.data() + H * B * g;
      for (index_t e = 0; e < B * H; ++e) dhp[e] += tmp[e] * m[e];
    }
  }

  // d kernel = X' dp and d x = dp' K', per gate with per-gate input dropout.
  void input_gradients() {
    const T* xin = tape_.borrowed_x ? tape_.borrowed_x : tape_.inputs.data();
    const T* K = tape_.kernel.data();
    T* dx = grads_.d_x;
    if (gi_ == 1) {
      schedule_.gemm(true, true, F, H3, BT, T(1), xin, BT, dp_.data(), H3, T(0), grads_.d_kernel, F);
      schedule_.gemm(true, true, BT, F, H3, T(1), dp_.data(), H3, K, F, T(0), dx, BT);
      if (!tape_.input_dropout.empty()) {
        const T* m = tape_.input_dropout.data();
        for (index_t f = 0; f < F; ++f)
          for (index_t t = 0; t < T_; ++t)
            for (index_t b = 0; b < B; ++b) dx[b + B * t + BT * f] *= m[b + B * f];
      }
      return;
    }
    Buffer<T> dx_gate(static_cast<size_t>(BT * F));
    std::fill(dx, dx + BT * F, T(0));
    for (int g = 0; g < 3; ++g) {
      schedule_.gemm(true, true, F, H, BT, T(1), xin + BT * F * g, BT, dp_.data() + H * g, H3, T(0),
                     grads_.d_kernel + F * H * g, F);
      schedule_.gemm(true, true, BT, F, H, T(1), dp_.data() + H * g, H3, K + F * H * g, F, T(0),
                     dx_gate.data(), BT);
      const T* m = tape_.input_dropout.data() + B * F * g;
      for (index_t f = 0; f < F; ++f)
        for (index_t t = 0; t < T_; ++t)
          for (index_t b = 0; b < B; ++b)
            dx[b + B * t + BT * f] += dx_gate[b + B * t + BT * f] * m[b + B * f];
    }
  }

  // Each gate's block of U against the h its product used.
  void recurrent_kernel_gradients() {
    const T* h_used = rdrop_ ? tape_.dropped_state.data() : tape_.state_before.data();
    T* du = grads_.d_recurrent_kernel;
    if (gr_ == 1) {
      schedule_.gemm(false, true, H, H2, BT, T(1), h_used, H, dp_.data(), H3, T(0), du, H);
    } else {
      for (int g = 0; g < 2; ++g)
        schedule_.gemm(false, true, H, H, BT, T(1), h_used + H * BT * g, H, dp_.data() + H * g, H3,
                       T(0), du + H * H * g, H);
    }
    if (after_) {
      schedule_.gemm(false, true, H, H, BT, T(1), h_used_h_, H, duh_.data(), H, T(0), du + H * H2, H);
    } else {
      schedule_.gemm(false, true, H, H, BT, T(1), tape_.reset_state.data(), H, dp_.data() + H2, H3,
                     T(0), du + H * H2, H);
    }
  }

  // Sums over samples and steps; the recurrent bias shares z's and r's with the input bias.
  void bias_gradients() {
    T* bi = grads_.d_input_bias;
    std::fill(bi, bi + H3, T(0));
    for (index_t i = 0; i < BT; ++i) add_into(bi, dp_.data() + H3 * i, H3);
    if (!after_) return;
    T* br = grads_.d_recurrent_bias;
    std::copy(bi, bi + H2, br);
    std::fill(br + H2, br + H3, T(0));
    for (index_t i = 0; i < BT; ++i) add_into(br + H2, duh_.data() + H * i, H);
  }

  const GruTape<T>& tape_;
  const GruGradients<T> grads_;
  const Schedule& schedule_;
  const index_t B, T_, F, H, BT, H2, H3;
  const bool after_, rdrop_;
  const int gr_, gi_;
  const T* const U;
  const T* const pre_;
  const T* const post_;
  const T* const h_used_h_;
  const T* const dropout_h_;
  Buffer<T> dp_;   // d pre-activations = d input projection, (3H, BT)
  Buffer<T> duh_;  // reset_after: d (h U_h + b'_h), (H, BT)
  Buffer<T> dh_, dh_prev_, tmp_;
};

}  // namespace detail

// Runs the layer over the sequence. outputs.final_state is always written,
// outputs.sequence when config.return_sequences. When tape is not null it receives
// what gru_backward() needs.
template <typename T>
void gru_forward(const GruDims& dims, const GruConfig& config, const GruWeights<T>& w,
                 const GruInputs<T>& in, const GruOutputs<T>& out, GruTape<T>* tape,
                 const EngineOptions& opt = EngineOptions()) {
  detail::check_forward_arguments(dims, config, w.kernel, w.recurrent_kernel, w.recurrent_bias,
                                  in.x, in.input_dropout_gates, in.recurrent_dropout_gates,
                                  out.final_state, out.sequence);
  const CpuSchedule schedule(opt);
  detail::ForwardPass<T, CpuSchedule>(dims, config, w, in, tape, schedule).run(out);
  detail::call_finished();
}

// Gradients of a scalar loss, given its gradients with respect to the returned
// sequence (processing order) and final state. Every output pointer in grads that
// the tape's configuration has must be non-null (d_input_bias when the forward had a
// bias, d_recurrent_bias when it had a recurrent bias).
template <typename T>
void gru_backward(const GruTape<T>& tape, const GruGradients<T>& grads,
                  const EngineOptions& opt = EngineOptions()) {
  const GruDims& d = tape.dims;
  check_dims(d);
  detail::require(tape.pre.size() == static_cast<size_t>(d.batch * d.timesteps * 3 * d.units),
                  "tape is empty");
  detail::require(grads.d_x && grads.d_initial_state && grads.d_kernel && grads.d_recurrent_kernel,
                  "gradient outputs are required");
  detail::require(!tape.has_bias || grads.d_input_bias, "d_input_bias output is required");
  detail::require(!(tape.has_bias && tape.config.reset_after) || grads.d_recurrent_bias,
                  "d_recurrent_bias output is required");
  const CpuSchedule schedule(opt);
  detail::BackwardPass<T, CpuSchedule>(tape, grads, schedule).run();
  detail::call_finished();
}

}  // namespace rgru

#endif  // RGRU_ENGINE_HPP
