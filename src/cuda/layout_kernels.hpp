// Device-side conversions between R's (batch, timesteps, features) arrays and cuDNN's
// sequence-major layout, with per-sample lengths and go_backwards; the element
// mappings are those of cudnn_layout.hpp. All launches are asynchronous on `stream`.
#ifndef RGRU_CUDA_LAYOUT_KERNELS_HPP
#define RGRU_CUDA_LAYOUT_KERNELS_HPP

#include <cuda_runtime_api.h>

#include <cstdint>

namespace rgru {
namespace cuda {

struct SeqShape {
  std::int64_t batch;
  std::int64_t timesteps;
  std::int64_t features;
  bool go_backwards;
};

// x (batch, timesteps, F) -> cuDNN [t, b, F]; zero beyond each sample's length.
template <typename T>
void launch_to_cudnn_input(const SeqShape& s, const int* lengths, const T* x, T* out,
                           cudaStream_t stream);

// cuDNN y [t, b, U] -> returned sequence (batch, timesteps, U), with masked steps
// repeating the carried state; initial_state is R's (batch, U) or null for zeros.
template <typename T>
void launch_from_cudnn_output(const SeqShape& s, const int* lengths, const T* y,
                              const T* initial_state, T* sequence, cudaStream_t stream);

// cuDNN dhx [b, U] -> d_initial_state (batch, U), adding the gradient of the leading
// padding's outputs (go_backwards) from d_sequence (may be null). s.features = U.
template <typename T>
void launch_from_cudnn_state_grad(const SeqShape& s, const int* lengths, const T* dhx,
                                  const T* d_sequence, T* d_state, cudaStream_t stream);

// d_sequence (batch, timesteps, U) -> cuDNN dy [t, b, U] (repeated outputs summed).
template <typename T>
void launch_to_cudnn_output_grad(const SeqShape& s, const int* lengths, const T* d_sequence,
                                 T* dy, cudaStream_t stream);

// cuDNN dx [t, b, F] -> d_x (batch, timesteps, F); zero on padded steps.
template <typename T>
void launch_from_cudnn_input_grad(const SeqShape& s, const int* lengths, const T* dx, T* d_x,
                                  cudaStream_t stream);

// (rows, cols) column-major -> (cols, rows) column-major: R's (batch, units) state to and
// from cuDNN's [1, batch, units].
template <typename T>
void launch_transpose(std::int64_t rows, std::int64_t cols, const T* in, T* out,
                      cudaStream_t stream);

}  // namespace cuda
}  // namespace rgru

#endif  // RGRU_CUDA_LAYOUT_KERNELS_HPP
