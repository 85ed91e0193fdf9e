// One thread per element; the index mappings come from cudnn_layout.hpp so the device
// and the host reference (tested on the CPU) cannot disagree.
#include "layout_kernels.hpp"

#include "cuda_check.hpp"
#include "cudnn_layout.hpp"

namespace rgru {
namespace cuda {
namespace {

using cudnn_layout::input_time;
using cudnn_layout::leading_padding;
using cudnn_layout::output_source;
using std::int64_t;

constexpr int kThreads = 256;

unsigned int blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks);
}

template <typename T>
__global__ void to_cudnn_input(SeqShape s, const int* lengths, const T* x, T* out) {
  const int64_t n = s.batch * s.timesteps * s.features;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    // i = f + F * (b + B * k): consecutive threads write consecutive features.
    const int64_t f = i % s.features;
    const int64_t b = (i / s.features) % s.batch;
    const int64_t k = i / (s.features * s.batch);
    const int64_t len = lengths[b];
    out[i] = k < len ? x[b + s.batch * (input_time(k, len, s.go_backwards) + s.timesteps * f)]
                     : T(0);
  }
}

template <typename T>
__global__ void from_cudnn_output(SeqShape s, const int* lengths, const T* y,
                                  const T* initial_state, T* sequence) {
  const int64_t n = s.batch * s.timesteps * s.features;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    // i = b + B * (p + T * u): consecutive threads write consecutive samples.
    const int64_t b = i % s.batch;
    const int64_t p = (i / s.batch) % s.timesteps;
    const int64_t u = i / (s.batch * s.timesteps);
    const int64_t k = output_source(p, lengths[b], s.timesteps, s.go_backwards);
    const T h0 = initial_state != nullptr ? initial_state[b + s.batch * u] : T(0);
    sequence[i] = k < 0 ? h0 : y[u + s.features * (b + s.batch * k)];
  }
}

template <typename T>
__global__ void to_cudnn_output_grad(SeqShape s, const int* lengths, const T* d_sequence,
                                     T* dy) {
  const int64_t n = s.batch * s.timesteps * s.features;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    // i = u + U * (b + B * k). Gather rather than scatter: the positions repeating
    // output k form a contiguous range, so no atomics are needed.
    const int64_t u = i % s.features;
    const int64_t b = (i / s.features) % s.batch;
    const int64_t k = i / (s.features * s.batch);
    const int64_t len = lengths[b];
    T acc = T(0);
    if (k < len) {
      int64_t first, last;  // processing positions whose output is cuDNN time k
      if (s.go_backwards) {
        first = last = s.timesteps - len + k;
      } else {
        first = k;
        last = k == len - 1 ? s.timesteps - 1 : k;
      }
      for (int64_t p = first; p <= last; ++p) {
        acc += d_sequence[b + s.batch * (p + s.timesteps * u)];
      }
    }
    dy[i] = acc;
  }
}

template <typename T>
__global__ void from_cudnn_input_grad(SeqShape s, const int* lengths, const T* dx, T* d_x) {
  const int64_t n = s.batch * s.timesteps * s.features;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = i % s.batch;
    const int64_t t = (i / s.batch) % s.timesteps;
    const int64_t f = i / (s.batch * s.timesteps);
    const int64_t len = lengths[b];
    d_x[i] = t < len ? dx[f + s.features * (b + s.batch * input_time(t, len, s.go_backwards))]
                     : T(0);
  }
}

// cuDNN's dhx [b, u] -> R's (batch, units), plus what reached the initial state through
// the leading padding of a go_backwards pass (see host_padding_state_grad).
template <typename T>
__global__ void from_cudnn_state_grad(SeqShape s, const int* lengths, const T* dhx,
                                      const T* d_sequence, T* d_state) {
  const int64_t n = s.batch * s.features;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = i % s.batch;
    const int64_t u = i / s.batch;
    T acc = dhx[u + s.features * b];
    if (d_sequence != nullptr) {
      const int64_t lead = leading_padding(lengths[b], s.timesteps, s.go_backwards);
      for (int64_t p = 0; p < lead; ++p) acc += d_sequence[b + s.batch * (p + s.timesteps * u)];
    }
    d_state[i] = acc;
  }
}

template <typename T>
__global__ void transpose(int64_t rows, int64_t cols, const T* in, T* out) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % cols;  // out is (cols, rows): i = c + cols * r
    const int64_t r = i / cols;
    out[i] = in[r + rows * c];
  }
}

unsigned int grid(int64_t n) {
  // Grid-stride loops: cap the grid so huge tensors do not overflow gridDim.x.
  const unsigned int b = blocks_for(n);
  return b > 65535u * 8u ? 65535u * 8u : b;
}

void check_launch() { RGRU_CUDA(cudaGetLastError()); }

// Every kernel above is a grid-stride loop over `n` elements.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), int64_t n, cudaStream_t stream, Args... args) {
  kernel<<<grid(n), kThreads, 0, stream>>>(args...);
  check_launch();
}

int64_t elements(const SeqShape& s) { return s.batch * s.timesteps * s.features; }

}  // namespace

template <typename T>
void launch_to_cudnn_input(const SeqShape& s, const int* lengths, const T* x, T* out,
                           cudaStream_t stream) {
  launch(to_cudnn_input<T>, elements(s), stream, s, lengths, x, out);
}

template <typename T>
void launch_from_cudnn_output(const SeqShape& s, const int* lengths, const T* y,
                              const T* initial_state, T* sequence, cudaStream_t stream) {
  launch(from_cudnn_output<T>, elements(s), stream, s, lengths, y, initial_state, sequence);
}

template <typename T>
void launch_to_cudnn_output_grad(const SeqShape& s, const int* lengths, const T* d_sequence,
                                 T* dy, cudaStream_t stream) {
  launch(to_cudnn_output_grad<T>, elements(s), stream, s, lengths, d_sequence, dy);
}

template <typename T>
void launch_from_cudnn_input_grad(const SeqShape& s, const int* lengths, const T* dx, T* d_x,
                                  cudaStream_t stream) {
  launch(from_cudnn_input_grad<T>, elements(s), stream, s, lengths, dx, d_x);
}

template <typename T>
void launch_from_cudnn_state_grad(const SeqShape& s, const int* lengths, const T* dhx,
                                  const T* d_sequence, T* d_state, cudaStream_t stream) {
  launch(from_cudnn_state_grad<T>, s.batch * s.features, stream, s, lengths, dhx, d_sequence,
         d_state);
}

template <typename T>
void launch_transpose(int64_t rows, int64_t cols, const T* in, T* out, cudaStream_t stream) {
  launch(transpose<T>, rows * cols, stream, rows, cols, in, out);
}

#define RGRU_INSTANTIATE_LAYOUT(T)                                                          \
  template void launch_to_cudnn_input<T>(const SeqShape&, const int*, const T*, T*,         \
                                         cudaStream_t);                                     \
  template void launch_from_cudnn_output<T>(const SeqShape&, const int*, const T*, const T*, \
                                            T*, cudaStream_t);                              \
  template void launch_from_cudnn_state_grad<T>(const SeqShape&, const int*, const T*,      \
                                                const T*, T*, cudaStream_t);                \
  template void launch_to_cudnn_output_grad<T>(const SeqShape&, const int*, const T*, T*,   \
                                               cudaStream_t);                               \
  template void launch_from_cudnn_input_grad<T>(const SeqShape&, const int*, const T*, T*,  \
                                                cudaStream_t);                              \
  template void launch_transpose<T>(int64_t, int64_t, const T*, T*, cudaStream_t);

RGRU_INSTANTIATE_LAYOUT(float)
RGRU_INSTANTIATE_LAYOUT(double)

}  // namespace cuda
}  // namespace rgru
