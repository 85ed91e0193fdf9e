// The layout conversions as tiled transposes, written so the CPU can run them too.
//
// Each conversion moves a (rows x features) block between R's layout (rows fastest:
// row + rows * feature) and cuDNN's (features fastest: feature + features * row), where
// a row is (sample b, step) = b + batch * step. Reading one layout and writing the other
// element by element leaves either the reads or the writes uncoalesced, so a block of
// 32 x 8 threads stages a 32 x 32 tile in shared memory: phase 1 reads along the
// source's contiguous axis, phase 2 writes along the destination's.
//
// The kernel body is split into two RGRU_HD phase functions that take the block and
// thread indices as arguments; the device kernel runs them with __syncthreads() in
// between, and emulate_tiled() runs them on the host for the tests.
#ifndef RGRU_CUDA_LAYOUT_TILES_HPP
#define RGRU_CUDA_LAYOUT_TILES_HPP

#include "cudnn_layout.hpp"

#include <cstdint>
#include <vector>

namespace rgru {
namespace cudnn_layout {

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // threads per block: kTile x kTileRows

// R-layout source -> cuDNN-layout destination: phase 1 reads along rows.
constexpr bool kToCudnn = true;
// cuDNN-layout source -> R-layout destination: phase 1 reads along features.
constexpr bool kToR = false;

// Each map gives the destination's value at (row, feature), in the destination's row
// numbering: cuDNN rows b + batch * k (cuDNN time k), R rows b + batch * p.

template <typename T>
struct InputToCudnn {  // x (batch, timesteps, F) -> cuDNN x
  std::int64_t batch, timesteps, features;
  bool go_backwards;
  const int* lengths;
  const T* x;
  RGRU_HD T operator()(std::int64_t row, std::int64_t f) const {
    const std::int64_t b = row % batch, k = row / batch, len = lengths[b];
    return k < len ? x[b + batch * (input_time(k, len, go_backwards) + timesteps * f)] : T(0);
  }
};

template <typename T>
struct OutputGradToCudnn {  // d_sequence (batch, timesteps, U) -> cuDNN dy
  std::int64_t batch, timesteps, features;
  bool go_backwards;
  const int* lengths;
  const T* d_sequence;
  RGRU_HD T operator()(std::int64_t row, std::int64_t u) const {
    const std::int64_t b = row % batch, k = row / batch, len = lengths[b];
    if (k >= len) return T(0);
    // The positions whose returned output is cuDNN's output k (see output_source).
    std::int64_t first = k, last = k;
    if (go_backwards) {
      first = last = timesteps - len + k;
    } else if (k == len - 1) {
      last = timesteps - 1;
    }
    T acc = T(0);
    for (std::int64_t p = first; p <= last; ++p) acc += d_sequence[b + batch * (p + timesteps * u)];
    return acc;
  }
};

template <typename T>
struct OutputFromCudnn {  // cuDNN y -> returned sequence (batch, timesteps, U)
  std::int64_t batch, timesteps, features;
  bool go_backwards;
  const int* lengths;
  const T* y;
  const T* initial_state;  // R's (batch, U), or null for zeros
  RGRU_HD T operator()(std::int64_t row, std::int64_t u) const {
    const std::int64_t b = row % batch, p = row / batch;
    const std::int64_t k = output_source(p, lengths[b], timesteps, go_backwards);
    if (k >= 0) return y[u + features * (b + batch * k)];
    return initial_state != nullptr ? initial_state[b + batch * u] : T(0);
  }
};

template <typename T>
struct InputGradFromCudnn {  // cuDNN dx -> d_x (batch, timesteps, F)
  std::int64_t batch, timesteps, features;
  bool go_backwards;
  const int* lengths;
  const T* dx;
  RGRU_HD T operator()(std::int64_t row, std::int64_t f) const {
    const std::int64_t b = row % batch, t = row / batch, len = lengths[b];
    // input_time is its own inverse on 0..len-1.
    return t < len ? dx[f + features * (b + batch * input_time(t, len, go_backwards))] : T(0);
  }
};

// tile is kTile x (kTile + 1) (the padding column avoids shared-memory bank conflicts).
template <bool ToCudnn, typename T, typename Map>
RGRU_HD inline void tile_phase1(const Map& m, std::int64_t rows, std::int64_t features,
                                std::int64_t block_row, std::int64_t block_feature, int tx,
                                int ty, T (*tile)[kTile + 1]) {
  for (int i = ty; i < kTile; i += kTileRows) {
    // ToCudnn: tx walks rows (contiguous in R's layout); else tx walks features.
    const std::int64_t row = block_row * kTile + (ToCudnn ? tx : i);
    const std::int64_t f = block_feature * kTile + (ToCudnn ? i : tx);
    if (row < rows && f < features) tile[i][tx] = m(row, f);
  }
}

template <bool ToCudnn, typename T>
RGRU_HD inline void tile_phase2(std::int64_t rows, std::int64_t features,
                                std::int64_t block_row, std::int64_t block_feature, int tx,
                                int ty, T (*tile)[kTile + 1], T* out) {
  for (int i = ty; i < kTile; i += kTileRows) {
    if (ToCudnn) {
      // tile[f_off][row_off]; write along features (contiguous in cuDNN's layout).
      const std::int64_t row = block_row * kTile + i, f = block_feature * kTile + tx;
      if (row < rows && f < features) out[f + features * row] = tile[tx][i];
    } else {
      // tile[row_off][f_off]; write along rows (contiguous in R's layout).
      const std::int64_t row = block_row * kTile + tx, f = block_feature * kTile + i;
      if (row < rows && f < features) out[row + rows * f] = tile[tx][i];
    }
  }
}

// The host run of exactly what the device kernel does, block by block.
template <bool ToCudnn, typename T, typename Map>
void emulate_tiled(const Map& m, std::int64_t rows, std::int64_t features, T* out) {
  T tile[kTile][kTile + 1];
  for (std::int64_t br = 0; br * kTile < rows; ++br) {
    for (std::int64_t bf = 0; bf * kTile < features; ++bf) {
      for (int ty = 0; ty < kTileRows; ++ty)
        for (int tx = 0; tx < kTile; ++tx)
          tile_phase1<ToCudnn, T>(m, rows, features, br, bf, tx, ty, tile);
      for (int ty = 0; ty < kTileRows; ++ty)
        for (int tx = 0; tx < kTile; ++tx)
          tile_phase2<ToCudnn, T>(rows, features, br, bf, tx, ty, tile, out);
    }
  }
}

}  // namespace cudnn_layout
}  // namespace rgru

#endif  // RGRU_CUDA_LAYOUT_TILES_HPP
