// The contract every GRU backend (the Eigen CPU engine, the cuDNN engine) implements.
//
// The equations, for one sample at time step t: x_t is its input (a row of input_dim
// values), h the state carried from the previous step (a row of units), W the kernel and
// U the recurrent kernel split into their gate blocks [W_z | W_r | W_h], b the input
// bias, b' the recurrent bias, sigma the recurrent activation (sigmoid by default), phi
// the activation (tanh by default); juxtaposition is a matrix product, * elementwise.
//
//   reset_after = TRUE (Keras 3's default and cuDNN's convention; two biases):
//     z   = sigma(x_t W_z + b_z + h U_z + b'_z)
//     r   = sigma(x_t W_r + b_r + h U_r + b'_r)
//     hh  = phi(x_t W_h + b_h + r * (h U_h + b'_h))
//     h_t = z * h + (1 - z) * hh
//
//   reset_after = FALSE (the original GRU; one bias):
//     z   = sigma(x_t W_z + h U_z + b_z)
//     r   = sigma(x_t W_r + h U_r + b_r)
//     hh  = phi(x_t W_h + (r * h) U_h + b_h)
//     h_t = z * h + (1 - z) * hh
//
// The first state is initial_state (zeros when absent). A masked (sample, step) keeps h
// and outputs it. Input dropout multiplies x_t, recurrent dropout h inside the products
// with U only (h itself carries on undropped); with three masks each gate has its own.
// go_backwards reads the steps in reverse and returns outputs in processing order.
//
// Memory layout follows R arrays: column-major, shape (batch, timesteps, features),
// so element [b, t, f] of x lives at b + batch * (t + timesteps * f). Reading all
// timesteps of x is then one (batch*timesteps) x features matrix whose row b + batch*t
// is sample b at step t: the input projection for the whole sequence is one GEMM.
//
// Weights use Keras's layout and gate order [z | r | h] along the 3*units columns:
//   kernel            (input_dim, 3*units)   column-major
//   recurrent_kernel  (units,     3*units)   column-major
//   input_bias        (3*units)              nullptr when use_bias = FALSE
//   recurrent_bias    (3*units)              reset_after only; nullptr otherwise
#ifndef RGRU_GRU_HPP
#define RGRU_GRU_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rgru {

using index_t = std::int64_t;

// Thrown for any contract violation (bad sizes, null required pointers); the R glue
// turns it into an R error, so it must never be an assertion or a crash.
struct invalid_argument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct GruDims {
  index_t batch = 0;
  index_t timesteps = 0;
  index_t input_dim = 0;
  index_t units = 0;
};

// Keras's built-in activations. The numeric values are part of no interface: pass
// names across boundaries and convert with activation_from_name() (activations.hpp).
enum class Activation : int {
  linear,
  tanh,
  sigmoid,
  hard_sigmoid,
  relu,
  relu6,
  leaky_relu,
  elu,
  selu,
  softsign,
  softplus,
  silu,
  gelu,
  exponential,
  mish,
  log_sigmoid,
  hard_silu,
  hard_tanh,
  tanh_shrink,
  soft_shrink,
  hard_shrink,
  squareplus,
  celu,
  sparse_plus,
  sparse_sigmoid,
  glu_unsupported  // sentinel, never valid
};

struct GruConfig {
  Activation activation = Activation::tanh;
  Activation recurrent_activation = Activation::sigmoid;
  bool reset_after = true;
  bool go_backwards = false;
  // false: only final_state is written (return_sequences = FALSE); the engine may
  // skip materialising the sequence.
  bool return_sequences = true;
};

template <typename T>
struct GruWeights {
  const T* kernel = nullptr;
  const T* recurrent_kernel = nullptr;
  const T* input_bias = nullptr;
  const T* recurrent_bias = nullptr;
};

template <typename T>
struct GruInputs {
  const T* x = nullptr;                  // (batch, timesteps, input_dim)
  const T* initial_state = nullptr;      // (batch, units); nullptr means zeros
  const int* mask = nullptr;             // (batch, timesteps); nonzero keeps the step
  const T* input_dropout = nullptr;      // (batch, input_dim) multiplier, reused every step
  const T* recurrent_dropout = nullptr;  // (batch, units) multiplier, reused every step
  // 1: one dropout mask shared by the three gates; 3: one mask per gate [z | r | h], stored
  // one after another, i.e. (batch, input_dim, 3) and (batch, units, 3). Keras 3 draws three
  // independent masks whenever recurrent_dropout > 0 (GRUCell implementation 1).
  int input_dropout_gates = 1;
  int recurrent_dropout_gates = 1;
};

template <typename T>
struct GruOutputs {
  T* sequence = nullptr;     // (batch, timesteps, units); used when return_sequences
  T* final_state = nullptr;  // (batch, units); always written
};

// Upstream gradients in, parameter and input gradients out (same layouts as above).
template <typename T>
struct GruGradients {
  const T* d_sequence = nullptr;     // (batch, timesteps, units) or nullptr (zero)
  const T* d_final_state = nullptr;  // (batch, units) or nullptr (zero)
  T* d_x = nullptr;                  // (batch, timesteps, input_dim)
  T* d_initial_state = nullptr;      // (batch, units)
  T* d_kernel = nullptr;             // (input_dim, 3*units)
  T* d_recurrent_kernel = nullptr;   // (units, 3*units)
  T* d_input_bias = nullptr;         // (3*units) or nullptr when use_bias = FALSE
  T* d_recurrent_bias = nullptr;     // (3*units) or nullptr
};

// Zeroed arrays for every gradient a backward pass writes, sized for `dims`, and the
// GruGradients that points into them. The upstream gradients stay the caller's.
template <typename T>
struct GruGradientArrays {
  std::vector<T> d_x, d_initial_state, d_kernel, d_recurrent_kernel, d_input_bias,
      d_recurrent_bias;

  explicit GruGradientArrays(const GruDims& dims, bool input_bias = true,
                             bool recurrent_bias = true)
      : d_x(static_cast<std::size_t>(dims.batch * dims.timesteps * dims.input_dim)),
        d_initial_state(static_cast<std::size_t>(dims.batch * dims.units)),
        d_kernel(static_cast<std::size_t>(dims.input_dim * 3 * dims.units)),
        d_recurrent_kernel(static_cast<std::size_t>(dims.units * 3 * dims.units)),
        d_input_bias(input_bias ? static_cast<std::size_t>(3 * dims.units) : 0),
        d_recurrent_bias(recurrent_bias ? static_cast<std::size_t>(3 * dims.units) : 0) {}

  // d_sequence and d_final_state may be nullptr (zero).
  GruGradients<T> gradients(const T* d_sequence, const T* d_final_state) {
    GruGradients<T> g;
    g.d_sequence = d_sequence;
    g.d_final_state = d_final_state;
    g.d_x = d_x.data();
    g.d_initial_state = d_initial_state.data();
    g.d_kernel = d_kernel.data();
    g.d_recurrent_kernel = d_recurrent_kernel.data();
    g.d_input_bias = d_input_bias.empty() ? nullptr : d_input_bias.data();
    g.d_recurrent_bias = d_recurrent_bias.empty() ? nullptr : d_recurrent_bias.data();
    return g;
  }
};

inline void check_dims(const GruDims& d) {
  if (d.batch < 1 || d.timesteps < 1 || d.input_dim < 1 || d.units < 1) {
    throw invalid_argument("GRU dimensions must be positive: batch=" + std::to_string(d.batch) +
                           ", timesteps=" + std::to_string(d.timesteps) +
                           ", input_dim=" + std::to_string(d.input_dim) +
                           ", units=" + std::to_string(d.units));
  }
}

}  // namespace rgru

#endif  // RGRU_GRU_HPP
