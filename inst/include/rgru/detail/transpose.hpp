// Layout conversions between R's (batch, time, units) arrays and the engine's unit-major
// steps (engine.hpp).
#ifndef RGRU_DETAIL_TRANSPOSE_HPP
#define RGRU_DETAIL_TRANSPOSE_HPP

#include <algorithm>

#include "../gru.hpp"

namespace rgru {
namespace detail {

// dst = src' (or dst += src' with Add) for a column-major rows x cols src with leading
// dimension ld_src and a cols x rows dst with leading dimension ld_dst. Walked in 16 x 16
// tiles so that the strided side stays in L1: one element at a time, these conversions
// were a visible share of a training call (bench/README.md).
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
}  // namespace rgru

#endif  // RGRU_DETAIL_TRANSPOSE_HPP
