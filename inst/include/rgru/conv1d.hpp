// One-dimensional convolution and max pooling, forward and backward, on arrays laid
// out as R stores a (batch, steps, channels) array: the batch axis fastest, so
// element (b, t, c) lives at b + batch * (t + steps * c). Read as a matrix, that is
// (batch * steps) rows by `channels` columns, and a convolution becomes one GEMM of
// an im2col matrix (a row per output position, a column per kernel tap and input
// channel) with the kernel (Keras's (kernel_size, channels / groups, filters) array,
// which in the same column-major order is a (kernel_size * channels / groups,
// filters) matrix).
//
// The GEMMs are the GRU engine's (gemm.hpp: Eigen's by default, the BLAS or AVX2 build a
// program installs) and its threads too (schedule.hpp, EngineOptions). Pure C++: no R,
// so it is built and checked on its own by tools/cpp-tests/conv1d_check.cpp.
#ifndef RGRU_CONV1D_HPP
#define RGRU_CONV1D_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "memory.hpp"
#include "schedule.hpp"

namespace rgru {
namespace conv1d {

using Index = std::ptrdiff_t;

enum class Padding { valid, same, causal };

inline Padding parse_padding(const std::string& name) {
  if (name == "valid") return Padding::valid;
  if (name == "same") return Padding::same;
  if (name == "causal") return Padding::causal;
  throw std::invalid_argument("padding must be \"valid\", \"same\" or \"causal\", not \"" + name + "\"");
}

// Where a sliding window (a kernel or a pooling window) lands on the steps axis.
struct Geometry {
  Index batch = 0;
  Index steps = 0;
  Index channels = 0;
  Index window = 1;
  Index stride = 1;
  Index dilation = 1;
  Index pad_left = 0;
  Index out_steps = 0;

  Index span() const { return dilation * (window - 1) + 1; }
  // The input step under tap `k` of the window at output step `t`; outside
  // [0, steps) it falls in the padding.
  Index input_step(Index t, Index k) const { return t * stride + k * dilation - pad_left; }
};

// Keras's rules (TensorFlow's for "same": the output has ceil(steps / stride) steps
// and the padding that needs is split with the smaller half on the left; "causal"
// pads (window span - 1) steps on the left only, then slides as "valid").
inline Geometry make_geometry(Index batch, Index steps, Index channels, Index window,
                              Index stride, Index dilation, Padding padding) {
  if (batch < 1 || steps < 1 || channels < 1)
    throw std::invalid_argument("inputs must have at least one sample, step and channel");
  if (window < 1 || stride < 1 || dilation < 1)
    throw std::invalid_argument("window size, stride and dilation must be positive");
  Geometry g;
  g.batch = batch;
  g.steps = steps;
  g.channels = channels;
  g.window = window;
  g.stride = stride;
  g.dilation = dilation;
  const Index span = g.span();
  switch (padding) {
    case Padding::valid:
      if (steps < span)
        throw std::invalid_argument("inputs have " + std::to_string(steps) +
                                    " steps, fewer than the window spans (" +
                                    std::to_string(span) + ")");
      g.out_steps = (steps - span) / stride + 1;
      break;
    case Padding::same: {
      g.out_steps = (steps - 1) / stride + 1;
      const Index total = std::max<Index>((g.out_steps - 1) * stride + span - steps, 0);
      g.pad_left = total / 2;
      break;
    }
    case Padding::causal:
      g.pad_left = span - 1;
      g.out_steps = (steps - 1) / stride + 1;
      break;
  }
  return g;
}

struct ConvShape {
  Geometry geometry;
  Index filters = 1;
  Index groups = 1;

  Index group_channels() const { return geometry.channels / groups; }
  Index group_filters() const { return filters / groups; }
  // Columns of a group's im2col matrix: one per (tap, channel), the tap fastest.
  Index patch_size() const { return geometry.window * group_channels(); }
};

inline ConvShape make_conv_shape(const Geometry& geometry, Index filters, Index groups) {
  if (filters < 1 || groups < 1)
    throw std::invalid_argument("filters and groups must be positive");
  if (geometry.channels % groups != 0 || filters % groups != 0)
    throw std::invalid_argument("input channels (" + std::to_string(geometry.channels) +
                                ") and filters (" + std::to_string(filters) +
                                ") must both be divisible by groups (" +
                                std::to_string(groups) + ")");
  ConvShape s;
  s.geometry = geometry;
  s.filters = filters;
  s.groups = groups;
  return s;
}

namespace detail {

// A 1x1 convolution with stride 1 and no padding reads its im2col matrix straight
// from the input: no copy needed, when the input is already in the type computed in.
inline bool is_pointwise(const Geometry& g) {
  return g.window == 1 && g.stride == 1 && g.pad_left == 0 && g.out_steps == g.steps;
}

// How a call walks the output: its rows (batch * out_steps), cut into chunks of whole
// output steps whose im2col matrix stays under `max_elements` (at least one step, so
// every shape makes progress). The cut depends only on the shape, never on the thread
// count, so results are the same for any num_threads.
struct Plan {
  Index rows = 0;
  Index patch = 0;
  Index group_filters = 0;
  Index chunk = 0;  // output steps per chunk
  Index chunks = 0;
  bool in_place = false;  // the GEMMs read and write x and d_x themselves (pointwise)
  size_t col_size = 0;    // one chunk's im2col matrix
  // Where a group's first input channel starts in x.
  Index group_offset(const ConvShape& s, Index group) const {
    return s.geometry.batch * s.geometry.steps * s.group_channels() * group;
  }
};

// `same_types`: the arrays are in the type the GEMMs compute in.
inline Plan make_plan(const ConvShape& s, Index max_elements, bool same_types) {
  const Geometry& g = s.geometry;
  Plan p;
  p.rows = g.batch * g.out_steps;
  p.patch = s.patch_size();
  p.group_filters = s.group_filters();
  p.in_place = same_types && is_pointwise(g);
  const Index per_step = g.batch * p.patch;
  const Index most = std::max<Index>(1, std::min<Index>(g.out_steps, max_elements / per_step));
  p.chunks = (g.out_steps + most - 1) / most;
  p.chunk = (g.out_steps + p.chunks - 1) / p.chunks;  // chunks of equal size, as near as can be
  p.col_size = static_cast<size_t>(per_step * p.chunk);
  return p;
}

// Channel `c` of group `group`'s im2col matrix, rows (b, t - t0) for output steps
// [t0, t1): the matrix's columns k + window * c, converted to the type computed in.
template <typename Scalar, typename In>
void im2col_channel(const ConvShape& s, const In* x, Index group, Index c, Index t0, Index t1,
                    Scalar* col) {
  const Geometry& g = s.geometry;
  const Index rows = g.batch * (t1 - t0);
  const In* xc = x + g.batch * g.steps * (group * s.group_channels() + c);
  for (Index k = 0; k < g.window; ++k) {
    Scalar* dst = col + rows * (k + g.window * c);
    for (Index t = t0; t < t1; ++t, dst += g.batch) {
      const Index ti = g.input_step(t, k);
      if (ti < 0 || ti >= g.steps) {
        std::fill(dst, dst + g.batch, Scalar(0));
      } else {
        std::copy(xc + g.batch * ti, xc + g.batch * (ti + 1), dst);
      }
    }
  }
}

// The adjoint of im2col_channel: adds each of the channel's im2col entries' gradients
// to the input it came from. Channels write disjoint parts of d_x. The sums are in the
// type computed in, whatever d_x is stored in, so a float32 layer's d_x holds floats.
template <typename Scalar, typename Out>
void col2im_add_channel(const ConvShape& s, const Scalar* d_col, Index group, Index c, Index t0,
                        Index t1, Out* d_x) {
  const Geometry& g = s.geometry;
  const Index rows = g.batch * (t1 - t0);
  Out* dxc = d_x + g.batch * g.steps * (group * s.group_channels() + c);
  for (Index k = 0; k < g.window; ++k) {
    const Scalar* src = d_col + rows * (k + g.window * c);
    for (Index t = t0; t < t1; ++t, src += g.batch) {
      const Index ti = g.input_step(t, k);
      if (ti < 0 || ti >= g.steps) continue;
      Out* dst = dxc + g.batch * ti;
      for (Index b = 0; b < g.batch; ++b) dst[b] = static_cast<Out>(static_cast<Scalar>(dst[b]) + src[b]);
    }
  }
}

// The A operand of a chunk's GEMMs: x's own rows for a pointwise convolution on x in
// the type computed in, else the chunk's im2col buffer `col` (filled by the caller).
template <typename Scalar, typename In>
const Scalar* chunk_operand(const ConvShape& s, const Plan& plan, const In* x, Index group,
                            Index t0, Index t1, const Scalar* col, Index* ld) {
  if constexpr (std::is_same<In, Scalar>::value) {
    if (plan.in_place) {
      *ld = plan.rows;
      return x + plan.group_offset(s, group) + s.geometry.batch * t0;
    }
  }
  *ld = s.geometry.batch * (t1 - t0);
  return col;
}

}  // namespace detail

// Bounds on an im2col chunk, in elements. Forward: 128K entries (512 KB in single
// precision), so a chunk is still in cache when its GEMM reads it; each thread fills and
// multiplies its own chunks. Backward runs its chunks one after another (they add into
// the same kernel gradient), each GEMM split over the threads, so larger chunks (1M
// entries) keep the threads' start-ups few.
constexpr Index forward_workspace_elements = Index(1) << 17;
constexpr Index backward_workspace_elements = Index(1) << 20;

// out (batch, out_steps, filters) = conv(x (batch, steps, channels), kernel) + bias.
// `bias` may be null. Computed in Scalar; x and out may be stored in another type (In,
// Out: R's double arrays for a float32 layer), converted a chunk at a time rather than
// copied whole. The GEMMs run on opt.gemm, on up to opt.num_threads threads (the GRU
// engine's options, schedule.hpp); results are the same for any thread count.
template <typename Scalar, typename In = Scalar, typename Out = Scalar>
void forward(const ConvShape& s, const In* x, const Scalar* kernel, const Scalar* bias, Out* out,
             const EngineOptions& opt = EngineOptions(),
             Index max_workspace = forward_workspace_elements) {
  constexpr bool same_in = std::is_same<In, Scalar>::value;
  constexpr bool same_out = std::is_same<Out, Scalar>::value;
  const Geometry& g = s.geometry;
  const detail::Plan plan = detail::make_plan(s, max_workspace, same_in);
  const Index rows = plan.rows, patch = plan.patch, fg = plan.group_filters;
  const CpuSchedule schedule(opt);
  const Index workers = std::min<Index>(schedule.threads(), plan.chunks * s.groups);
  // Each worker takes every workers-th (group, chunk) and owns its buffers: the chunk's
  // im2col matrix and, when out is in another type, its GEMM result.
  std::vector<Buffer<Scalar>> cols(static_cast<size_t>(workers)), ys(cols.size());
  schedule.parallel_for(workers, rows * patch * fg, [&](index_t worker) {
    Buffer<Scalar>& col = cols[static_cast<size_t>(worker)];
    Buffer<Scalar>& y_chunk = ys[static_cast<size_t>(worker)];
    if (!plan.in_place) col.resize(plan.col_size);
    if (!same_out) y_chunk.resize(static_cast<size_t>(g.batch * plan.chunk * fg));
    for (Index job = worker; job < plan.chunks * s.groups; job += workers) {
      const Index group = job / plan.chunks, t0 = (job % plan.chunks) * plan.chunk;
      const Index t1 = std::min(t0 + plan.chunk, g.out_steps);
      if (t0 >= t1) continue;
      const Index chunk_rows = g.batch * (t1 - t0);
      Index lda = 0;
      const Scalar* a = detail::chunk_operand(s, plan, x, group, t0, t1, col.data(), &lda);
      if (!plan.in_place)
        for (Index c = 0; c < s.group_channels(); ++c)
          detail::im2col_channel(s, x, group, c, t0, t1, col.data());
      Out* y = out + rows * fg * group + g.batch * t0;
      Scalar* result = y_chunk.data();
      Index ldy = chunk_rows;
      if constexpr (same_out) {
        result = y;
        ldy = rows;
      }
      gemm<Scalar>(opt.gemm, false, false, chunk_rows, fg, patch, Scalar(1), a, lda,
                   kernel + patch * fg * group, patch, Scalar(0), result, ldy);
      if (same_out && bias == nullptr) continue;
      for (Index f = 0; f < fg; ++f) {
        const Scalar bf = bias == nullptr ? Scalar(0) : bias[fg * group + f];
        const Scalar* from = result + ldy * f;
        Out* to = y + rows * f;
        for (Index r = 0; r < chunk_rows; ++r) to[r] = static_cast<Out>(from[r] + bf);
      }
    }
  });
  rgru::detail::call_finished();
}

// Gradients of sum(d_out * out) for out = forward(x, kernel, bias): d_x (may be
// null when not wanted), d_kernel (shaped like kernel) and d_bias (may be null). x,
// d_out and d_x may be stored in another type than Scalar, as in forward().
template <typename Scalar, typename In = Scalar, typename Out = Scalar>
void backward(const ConvShape& s, const In* x, const Scalar* kernel, const In* d_out, Out* d_x,
              Scalar* d_kernel, Scalar* d_bias, const EngineOptions& opt = EngineOptions(),
              Index max_workspace = backward_workspace_elements) {
  constexpr bool same_in = std::is_same<In, Scalar>::value;
  constexpr bool same_out = std::is_same<Out, Scalar>::value;
  const Geometry& g = s.geometry;
  const detail::Plan plan = detail::make_plan(s, max_workspace, same_in);
  const Index rows = plan.rows, patch = plan.patch, fg = plan.group_filters;
  const Index cg = s.group_channels();
  const bool d_x_in_place = plan.in_place && same_out;
  const CpuSchedule schedule(opt);
  Buffer<Scalar> col(plan.in_place ? 0 : plan.col_size);
  Buffer<Scalar> d_col(d_x != nullptr && !d_x_in_place ? plan.col_size : 0);
  Buffer<Scalar> dy_chunk(same_in ? 0 : static_cast<size_t>(g.batch * plan.chunk * fg));

  if (d_bias != nullptr) {
    schedule.parallel_for(s.filters, rows * s.filters, [&](index_t f) {
      const In* dyf = d_out + rows * f;
      double sum = 0;  // in double: a float sum of batch * steps terms would drift
      for (Index r = 0; r < rows; ++r) sum += static_cast<double>(dyf[r]);
      d_bias[f] = static_cast<Scalar>(sum);
    });
  }
  if (d_x != nullptr) std::fill(d_x, d_x + g.batch * g.steps * g.channels, Out(0));

  for (Index group = 0; group < s.groups; ++group) {
    const Scalar* w = kernel + patch * fg * group;
    Scalar* dw = d_kernel + patch * fg * group;
    for (Index i = 0; i < plan.chunks; ++i) {
      const Index t0 = i * plan.chunk, t1 = std::min(t0 + plan.chunk, g.out_steps);
      if (t0 >= t1) continue;
      const Index chunk_rows = g.batch * (t1 - t0);
      Index lda = 0;
      const Scalar* a = detail::chunk_operand(s, plan, x, group, t0, t1, col.data(), &lda);
      if (!plan.in_place) {
        schedule.parallel_for(cg, chunk_rows * patch, [&](index_t c) {
          detail::im2col_channel(s, x, group, c, t0, t1, col.data());
        });
      }
      const Scalar* dy = dy_chunk.data();
      Index ldy = chunk_rows;
      if constexpr (same_in) {
        dy = d_out + rows * fg * group + g.batch * t0;
        ldy = rows;
      } else {
        schedule.parallel_for(fg, chunk_rows * fg, [&](index_t f) {
          const In* from = d_out + rows * (fg * group + f) + g.batch * t0;
          std::copy(from, from + chunk_rows, dy_chunk.data() + chunk_rows * f);
        });
      }
      schedule.gemm<Scalar>(true, false, patch, fg, chunk_rows, Scalar(1), a, lda, dy, ldy,
                            i == 0 ? Scalar(0) : Scalar(1), dw, patch);
      if (d_x == nullptr) continue;
      if constexpr (same_out) {
        if (d_x_in_place) {
          Scalar* dx = d_x + plan.group_offset(s, group) + g.batch * t0;
          schedule.gemm<Scalar>(false, true, chunk_rows, patch, fg, Scalar(1), dy, ldy, w, patch,
                                Scalar(0), dx, rows);
          continue;
        }
      }
      schedule.gemm<Scalar>(false, true, chunk_rows, patch, fg, Scalar(1), dy, ldy, w, patch,
                            Scalar(0), d_col.data(), chunk_rows);
      schedule.parallel_for(cg, chunk_rows * patch, [&](index_t c) {
        detail::col2im_add_channel(s, d_col.data(), group, c, t0, t1, d_x);
      });
    }
  }
  rgru::detail::call_finished();
}

// Max pooling: out (batch, out_steps, channels), each entry the largest input in its
// window (padding never wins; a NaN in the window wins, as in Keras). `argmax` (may be
// null) receives, per output entry, the input step it was taken from, which is all the
// backward pass needs.
template <typename Scalar>
void max_pool_forward(const Geometry& g, const Scalar* x, Scalar* out, int* argmax) {
  for (Index c = 0; c < g.channels; ++c) {
    const Scalar* xc = x + g.batch * g.steps * c;
    for (Index t = 0; t < g.out_steps; ++t) {
      const Index o = g.batch * (t + g.out_steps * c);
      for (Index b = 0; b < g.batch; ++b) {
        Scalar best = -std::numeric_limits<Scalar>::infinity();
        Index best_step = -1;
        for (Index k = 0; k < g.window; ++k) {
          const Index ti = g.input_step(t, k);
          if (ti < 0 || ti >= g.steps) continue;
          const Scalar v = xc[b + g.batch * ti];
          if (best_step < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
            best = v;
            best_step = ti;
          }
        }
        out[o + b] = best;
        if (argmax != nullptr) argmax[o + b] = static_cast<int>(best_step);
      }
    }
  }
}

// Routes each output's gradient to the input entry it was taken from.
template <typename Scalar>
void max_pool_backward(const Geometry& g, const int* argmax, const Scalar* d_out, Scalar* d_x) {
  std::fill(d_x, d_x + g.batch * g.steps * g.channels, Scalar(0));
  for (Index c = 0; c < g.channels; ++c) {
    Scalar* dxc = d_x + g.batch * g.steps * c;
    for (Index t = 0; t < g.out_steps; ++t) {
      const Index o = g.batch * (t + g.out_steps * c);
      for (Index b = 0; b < g.batch; ++b) {
        const int ti = argmax[o + b];
        if (ti >= 0) dxc[b + g.batch * ti] += d_out[o + b];
      }
    }
  }
}

}  // namespace conv1d
}  // namespace rgru

#endif  // RGRU_CONV1D_HPP
