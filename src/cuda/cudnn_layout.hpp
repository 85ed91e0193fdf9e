// Keras <-> cuDNN data and weight layouts, as pure functions with no CUDA in them.
//
// Everything here is plain C++ so that the CPU build (and its tests) can check the
// mappings the GPU path relies on; the element mappings used by the device kernels
// are RGRU_HD so nvcc compiles the very same code for the GPU.
//
// Facts this file encodes (cudnn_adv.h, cuDNN's RNN documentation, and PyTorch's
// aten/src/ATen/native/cudnn/RNN.cpp, which feeds cuDNN its nn.GRU weights):
// - CUDNN_GRU with CUDNN_RNN_DOUBLE_BIAS is Keras's reset_after = TRUE cell.
// - cudnnGetRNNWeightParams numbers a GRU layer's six matrices (and their biases)
//   linLayerID 0..5: 0-2 act on the input x, 3-5 on the recurrent state h; within each
//   triple the gates are reset r, update z, candidate ("new memory") h. That is
//   PyTorch's r, z, n order; Keras orders the column blocks z, r, h.
// - Each cuDNN matrix is (units rows) x (fan-in columns) row-major, i.e. PyTorch's
//   weight_ih chunk; a Keras gate block of the column-major (fan_in, 3*units) kernel is
//   the same bytes, so a gate moves as one contiguous block with no element transpose.
// - Data: we use CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, element [t, b, f] at
//   f + features * (b + batch * t); R arrays are (batch, timesteps, features) with
//   element [b, t, f] at b + batch * (t + timesteps * f).
#ifndef RGRU_CUDA_CUDNN_LAYOUT_HPP
#define RGRU_CUDA_CUDNN_LAYOUT_HPP

#include <rgru/gru.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__CUDACC__)
#define RGRU_HD __host__ __device__
#else
#define RGRU_HD
#endif

namespace rgru {
namespace cudnn_layout {

constexpr int kLinLayers = 6;

// Keras column block [z | r | h] holding cuDNN's linLayerID (mod 3: r, z, h).
inline int keras_gate_block(int lin_layer_id) {
  static const int block_of_cudnn_gate[3] = {1, 0, 2};
  return block_of_cudnn_gate[lin_layer_id % 3];
}

inline bool is_recurrent(int lin_layer_id) { return lin_layer_id >= 3; }

// Where cudnnGetRNNWeightParams says each matrix and bias lives, in elements from the
// start of the weight space.
struct ParamSlots {
  index_t matrix[kLinLayers] = {0, 0, 0, 0, 0, 0};
  index_t bias[kLinLayers] = {0, 0, 0, 0, 0, 0};
  index_t total = 0;  // weight space size in elements
};

// The order cuDNN documents for a single-layer unidirectional GRU: the six matrices by
// linLayerID, then the six biases. Only for tests and for the CPU-side checks; the GPU
// path always asks cuDNN for the real slots.
inline ParamSlots canonical_slots(index_t input_dim, index_t units) {
  ParamSlots s;
  index_t at = 0;
  for (int id = 0; id < kLinLayers; ++id) {
    s.matrix[id] = at;
    at += units * (is_recurrent(id) ? units : input_dim);
  }
  for (int id = 0; id < kLinLayers; ++id) {
    s.bias[id] = at;
    at += units;
  }
  s.total = at;
  return s;
}

inline void check_slots(const ParamSlots& s, index_t input_dim, index_t units) {
  for (int id = 0; id < kLinLayers; ++id) {
    const index_t fan_in = is_recurrent(id) ? units : input_dim;
    if (s.matrix[id] < 0 || s.matrix[id] + units * fan_in > s.total || s.bias[id] < 0 ||
        s.bias[id] + units > s.total) {
      throw invalid_argument("cuDNN weight slot " + std::to_string(id) +
                             " lies outside the weight space of " + std::to_string(s.total) +
                             " elements");
    }
  }
}

// Keras weights (reset_after = TRUE, with both biases) into cuDNN's weight space.
template <typename T>
void pack_weights(const GruDims& d, const GruWeights<T>& w, const ParamSlots& s, T* out) {
  if (w.kernel == nullptr || w.recurrent_kernel == nullptr || w.input_bias == nullptr ||
      w.recurrent_bias == nullptr) {
    throw invalid_argument("cuDNN GRU needs kernel, recurrent kernel and both biases");
  }
  check_slots(s, d.input_dim, d.units);
  const index_t u = d.units;
  for (int id = 0; id < kLinLayers; ++id) {
    const int g = keras_gate_block(id);
    const bool rec = is_recurrent(id);
    const index_t fan_in = rec ? u : d.input_dim;
    const T* m = (rec ? w.recurrent_kernel : w.kernel) + g * u * fan_in;
    std::memcpy(out + s.matrix[id], m, sizeof(T) * static_cast<std::size_t>(u * fan_in));
    const T* b = (rec ? w.recurrent_bias : w.input_bias) + g * u;
    std::memcpy(out + s.bias[id], b, sizeof(T) * static_cast<std::size_t>(u));
  }
}

// The inverse of pack_weights: a cuDNN weight (or weight-gradient) space into Keras
// layout. Null destinations are skipped.
template <typename T>
void unpack_weights(const GruDims& d, const ParamSlots& s, const T* in, T* kernel,
                    T* recurrent_kernel, T* input_bias, T* recurrent_bias) {
  check_slots(s, d.input_dim, d.units);
  const index_t u = d.units;
  for (int id = 0; id < kLinLayers; ++id) {
    const int g = keras_gate_block(id);
    const bool rec = is_recurrent(id);
    const index_t fan_in = rec ? u : d.input_dim;
    T* m = rec ? recurrent_kernel : kernel;
    if (m != nullptr) {
      std::memcpy(m + g * u * fan_in, in + s.matrix[id],
                  sizeof(T) * static_cast<std::size_t>(u * fan_in));
    }
    T* b = rec ? recurrent_bias : input_bias;
    if (b != nullptr) {
      std::memcpy(b + g * u, in + s.bias[id], sizeof(T) * static_cast<std::size_t>(u));
    }
  }
}

// Per-sample sequence lengths from a (batch, timesteps) column-major mask (nonzero
// keeps the step), or timesteps everywhere when there is no mask. cuDNN can only skip
// trailing steps, so a mask that is not strictly right-padded, or that leaves a sample
// no step at all, is refused (the R side sends such calls to the CPU engine).
inline std::vector<int> sequence_lengths(const GruDims& d, const int* mask) {
  std::vector<int> lengths(static_cast<std::size_t>(d.batch), static_cast<int>(d.timesteps));
  if (mask == nullptr) return lengths;
  for (index_t b = 0; b < d.batch; ++b) {
    index_t len = 0;
    while (len < d.timesteps && mask[b + d.batch * len] != 0) ++len;
    for (index_t t = len; t < d.timesteps; ++t) {
      if (mask[b + d.batch * t] != 0) {
        throw invalid_argument("mask is not right-padded: sample " + std::to_string(b + 1) +
                               " has a masked step before unmasked step " +
                               std::to_string(t + 1) + "; cuDNN needs right-padded masks");
      }
    }
    if (len == 0) {
      throw invalid_argument("mask leaves sample " + std::to_string(b + 1) +
                             " no unmasked step; cuDNN needs at least one per sample");
    }
    lengths[static_cast<std::size_t>(b)] = static_cast<int>(len);
  }
  return lengths;
}

// --- element mappings shared by the host reference and the device kernels ---------
//
// cuDNN sees sample b's `len` valid steps at cuDNN times 0..len-1. Forward, cuDNN time
// k is R time k. With go_backwards, Keras reverses the whole padded sequence, so the
// padding comes first in processing order and the valid steps run from R time len-1
// down to 0: cuDNN time k is R time len-1-k and lands at processing position T-len+k.

// R time of the input step cuDNN consumes at cuDNN time k (k < len).
RGRU_HD inline index_t input_time(index_t k, index_t len, bool go_backwards) {
  return go_backwards ? len - 1 - k : k;
}

// Processing position (index into the returned sequence) of cuDNN output time k.
RGRU_HD inline index_t output_position(index_t k, index_t len, index_t timesteps,
                                       bool go_backwards) {
  return go_backwards ? timesteps - len + k : k;
}

// Which cuDNN output time the returned sequence holds at processing position p, or -1
// for the initial state. A masked step keeps the state and outputs it (the CPU engine's
// rule, and Keras's JAX and torch backends'): forward, the steps after len repeat the
// last valid output; backwards, the leading padding outputs the initial state.
RGRU_HD inline index_t output_source(index_t p, index_t len, index_t timesteps,
                                     bool go_backwards) {
  if (go_backwards) return p < timesteps - len ? -1 : p - (timesteps - len);
  return p < len ? p : len - 1;
}

// How many leading processing positions output the initial state.
RGRU_HD inline index_t leading_padding(index_t len, index_t timesteps, bool go_backwards) {
  return go_backwards ? timesteps - len : 0;
}

// Host reference of the device conversions (used by tests; the kernels apply the
// same mappings one element per thread).

// x (batch, timesteps, features) -> cuDNN [t, b, f], zero beyond each length.
template <typename T>
void host_to_cudnn_input(const GruDims& d, const std::vector<int>& lengths, bool go_backwards,
                         const T* x, T* out) {
  const index_t B = d.batch, Tn = d.timesteps, F = d.input_dim;
  for (index_t k = 0; k < Tn; ++k) {
    for (index_t b = 0; b < B; ++b) {
      const index_t len = lengths[static_cast<std::size_t>(b)];
      for (index_t f = 0; f < F; ++f) {
        out[f + F * (b + B * k)] =
            k < len ? x[b + B * (input_time(k, len, go_backwards) + Tn * f)] : T(0);
      }
    }
  }
}

// cuDNN y [t, b, u] -> returned sequence (batch, timesteps, units) in processing order.
// initial_state is R's (batch, units), or null for zeros.
template <typename T>
void host_from_cudnn_output(const GruDims& d, const std::vector<int>& lengths,
                            bool go_backwards, const T* y, const T* initial_state,
                            T* sequence) {
  const index_t B = d.batch, Tn = d.timesteps, U = d.units;
  for (index_t u = 0; u < U; ++u) {
    for (index_t p = 0; p < Tn; ++p) {
      for (index_t b = 0; b < B; ++b) {
        const index_t k = output_source(p, lengths[static_cast<std::size_t>(b)], Tn, go_backwards);
        const T h0 = initial_state != nullptr ? initial_state[b + B * u] : T(0);
        sequence[b + B * (p + Tn * u)] = k < 0 ? h0 : y[u + U * (b + B * k)];
      }
    }
  }
}

// The part of the initial state's gradient that flows through the leading padding
// (go_backwards): the sum of d_sequence over those positions, as (batch, units).
template <typename T>
void host_padding_state_grad(const GruDims& d, const std::vector<int>& lengths,
                             bool go_backwards, const T* d_sequence, T* d_state) {
  const index_t B = d.batch, Tn = d.timesteps, U = d.units;
  for (index_t u = 0; u < U; ++u) {
    for (index_t b = 0; b < B; ++b) {
      const index_t lead = leading_padding(lengths[static_cast<std::size_t>(b)], Tn, go_backwards);
      T acc = T(0);
      for (index_t p = 0; p < lead; ++p) acc += d_sequence[b + B * (p + Tn * u)];
      d_state[b + B * u] = acc;
    }
  }
}

// Gradient of the returned sequence -> cuDNN dy [t, b, u]: each cuDNN output collects
// the gradients of every position that repeats it (see output_source).
template <typename T>
void host_to_cudnn_output_grad(const GruDims& d, const std::vector<int>& lengths,
                               bool go_backwards, const T* d_sequence, T* dy) {
  const index_t B = d.batch, Tn = d.timesteps, U = d.units;
  for (index_t i = 0; i < B * Tn * U; ++i) dy[i] = T(0);
  for (index_t u = 0; u < U; ++u) {
    for (index_t p = 0; p < Tn; ++p) {
      for (index_t b = 0; b < B; ++b) {
        const index_t k = output_source(p, lengths[static_cast<std::size_t>(b)], Tn, go_backwards);
        if (k >= 0) dy[u + U * (b + B * k)] += d_sequence[b + B * (p + Tn * u)];
      }
    }
  }
}

// cuDNN dx [t, b, f] -> gradient of x (batch, timesteps, features); padded steps get 0.
template <typename T>
void host_from_cudnn_input_grad(const GruDims& d, const std::vector<int>& lengths,
                                bool go_backwards, const T* dx_cudnn, T* d_x) {
  const index_t B = d.batch, Tn = d.timesteps, F = d.input_dim;
  for (index_t f = 0; f < F; ++f) {
    for (index_t t = 0; t < Tn; ++t) {
      for (index_t b = 0; b < B; ++b) {
        const index_t len = lengths[static_cast<std::size_t>(b)];
        // input_time is its own inverse on 0..len-1.
        d_x[b + B * (t + Tn * f)] =
            t < len ? dx_cudnn[f + F * (b + B * input_time(t, len, go_backwards))] : T(0);
      }
    }
  }
}

// A 64-bit digest of the weights' bytes, so unchanged weights are not re-uploaded.
// Four independent multiply-rotate lanes keep it near memory speed; it only has to
// tell apart successive versions of the same layer's weights, not resist attackers.
class ContentKey {
 public:
  void add(const void* data, std::size_t bytes) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    std::size_t i = 0;
    for (; i + 32 <= bytes; i += 32) {
      for (int lane = 0; lane < 4; ++lane) {
        std::uint64_t w;
        std::memcpy(&w, p + i + 8 * lane, 8);
        lanes_[lane] = mix(lanes_[lane] ^ w);
      }
    }
    for (; i < bytes; ++i) lanes_[0] = mix(lanes_[0] ^ p[i]);
    length_ += bytes;
  }
  template <typename V>
  void add_value(V v) { add(&v, sizeof(v)); }
  std::uint64_t digest() const {
    std::uint64_t h = length_;
    for (int lane = 0; lane < 4; ++lane) h = mix(h ^ lanes_[lane]) + lane;
    return h;
  }

 private:
  static std::uint64_t mix(std::uint64_t h) {
    h *= 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 32);
  }
  std::uint64_t lanes_[4] = {0x243F6A8885A308D3ULL, 0x13198A2E03707344ULL,
                             0xA4093822299F31D0ULL, 0x082EFA98EC4E6C89ULL};
  std::uint64_t length_ = 0;
};

}  // namespace cudnn_layout
}  // namespace rgru

#endif  // RGRU_CUDA_CUDNN_LAYOUT_HPP
