// The sequence conversions run layout_tiles.hpp's two phases (the CPU tests run the
// same phases); the small state conversions are one thread per element. Index
// mappings all come from cudnn_layout.hpp.
#include "layout_kernels.hpp"

#include "cuda_check.hpp"
#include "cudnn_layout.hpp"
#include "layout_tiles.hpp"

namespace rgru {
namespace cuda {
namespace {

using cudnn_layout::leading_padding;
using cudnn_layout::kTile;
using cudnn_layout::kTileRows;
using std::int64_t;

template <bool ToCudnn, typename T, typename Map>
__global__ void tiled(Map m, int64_t rows, int64_t features, T* out) {
  __shared__ T tile[kTile][kTile + 1];
  cudnn_layout::tile_phase1<ToCudnn, T>(m, rows, features, blockIdx.x, blockIdx.y, threadIdx.x,
                                        threadIdx.y, tile);
  __syncthreads();
  cudnn_layout::tile_phase2<ToCudnn, T>(rows, features, blockIdx.x, blockIdx.y, threadIdx.x,
                                        threadIdx.y, tile, out);
}

constexpr int kThreads = 256;

unsigned int blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks);
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

// The element-wise kernels above are grid-stride loops over `n` elements.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), int64_t n, cudaStream_t stream, Args... args) {
  kernel<<<grid(n), kThreads, 0, stream>>>(args...);
  check_launch();
}
template <bool ToCudnn, typename T, typename Map>
void launch_tiled(const Map& m, const SeqShape& s, T* out, cudaStream_t stream) {
  const int64_t rows = s.batch * s.timesteps;
  const int64_t row_blocks = (rows + kTile - 1) / kTile;
  const int64_t feature_blocks = (s.features + kTile - 1) / kTile;
  if (row_blocks > 2147483647LL || feature_blocks > 65535) {
    throw error("sequence too large for the layout kernels: " + std::to_string(rows) +
                " rows x " + std::to_string(s.features) + " features");
  }
  const dim3 grid_dim(static_cast<unsigned int>(row_blocks),
                      static_cast<unsigned int>(feature_blocks));
  tiled<ToCudnn, T><<<grid_dim, dim3(kTile, kTileRows), 0, stream>>>(m, rows, s.features, out);
  check_launch();
}

}  // namespace

template <typename T>
void launch_to_cudnn_input(const SeqShape& s, const int* lengths, const T* x, T* out,
                           cudaStream_t stream) {
  const cudnn_layout::InputToCudnn<T> m{s.batch, s.timesteps, s.features, s.go_backwards,
                                        lengths, x};
  launch_tiled<cudnn_layout::kToCudnn>(m, s, out, stream);
}

template <typename T>
void launch_from_cudnn_output(const SeqShape& s, const int* lengths, const T* y,
                              const T* initial_state, T* sequence, cudaStream_t stream) {
  const cudnn_layout::OutputFromCudnn<T> m{s.batch, s.timesteps, s.features, s.go_backwards,
                                           lengths, y, initial_state};
  launch_tiled<cudnn_layout::kToR>(m, s, sequence, stream);
}

template <typename T>
void launch_to_cudnn_output_grad(const SeqShape& s, const int* lengths, const T* d_sequence,
                                 T* dy, cudaStream_t stream) {
  const cudnn_layout::OutputGradToCudnn<T> m{s.batch, s.timesteps, s.features, s.go_backwards,
                                             lengths, d_sequence};
  launch_tiled<cudnn_layout::kToCudnn>(m, s, dy, stream);
}

template <typename T>
void launch_from_cudnn_input_grad(const SeqShape& s, const int* lengths, const T* dx, T* d_x,
                                  cudaStream_t stream) {
  const cudnn_layout::InputGradFromCudnn<T> m{s.batch, s.timesteps, s.features, s.go_backwards,
                                              lengths, dx};
  launch_tiled<cudnn_layout::kToR>(m, s, d_x, stream);
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
