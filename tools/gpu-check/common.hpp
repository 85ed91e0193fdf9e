// Shared by the R-free GPU harness programs: random GRU problems in R layouts, and the
// CPU engine (inst/include/rgru/engine.hpp) run on them as the reference.
#ifndef RGRU_GPU_CHECK_COMMON_HPP
#define RGRU_GPU_CHECK_COMMON_HPP

#include <rgru/engine.hpp>
#include <rgru/gru.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace gpu_check {

using rgru::index_t;

template <typename T>
struct Problem {
  rgru::GruDims dims;
  rgru::GruConfig config;
  std::vector<T> x, kernel, recurrent_kernel, input_bias, recurrent_bias, initial_state;
  std::vector<int> mask;     // empty: no mask
  std::vector<int> lengths;  // per sample; all timesteps without a mask
  std::vector<T> d_sequence, d_final_state;

  rgru::GruWeights<T> weights() const {
    return {kernel.data(), recurrent_kernel.data(), input_bias.data(), recurrent_bias.data()};
  }
  rgru::GruInputs<T> inputs() const {
    rgru::GruInputs<T> in;
    in.x = x.data();
    in.initial_state = initial_state.empty() ? nullptr : initial_state.data();
    in.mask = mask.empty() ? nullptr : mask.data();
    return in;
  }
};

template <typename T>
std::vector<T> normal(std::mt19937_64& rng, std::size_t n, double sd) {
  std::normal_distribution<double> dist(0.0, sd);
  std::vector<T> v(n);
  for (auto& e : v) e = static_cast<T>(dist(rng));
  return v;
}

// A problem with Keras-like weight scales; `padded` draws right-padded lengths.
template <typename T>
Problem<T> make_problem(const rgru::GruDims& d, bool padded, bool initial_state,
                        bool go_backwards, bool return_sequences, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Problem<T> p;
  p.dims = d;
  p.config.activation = rgru::Activation::tanh;
  p.config.recurrent_activation = rgru::Activation::sigmoid;
  p.config.reset_after = true;
  p.config.go_backwards = go_backwards;
  p.config.return_sequences = return_sequences;
  const std::size_t B = d.batch, Tn = d.timesteps, I = d.input_dim, U = d.units;
  p.x = normal<T>(rng, B * Tn * I, 1.0);
  p.kernel = normal<T>(rng, I * 3 * U, 1.0 / std::sqrt(double(I)));
  p.recurrent_kernel = normal<T>(rng, U * 3 * U, 1.0 / std::sqrt(double(U)));
  p.input_bias = normal<T>(rng, 3 * U, 0.1);
  p.recurrent_bias = normal<T>(rng, 3 * U, 0.1);
  if (initial_state) p.initial_state = normal<T>(rng, B * U, 0.5);
  p.lengths.assign(B, static_cast<int>(Tn));
  if (padded) {
    std::uniform_int_distribution<int> len(1, static_cast<int>(Tn));
    p.mask.assign(B * Tn, 0);
    for (std::size_t b = 0; b < B; ++b) {
      // Keep one full-length sample so the batch spans all timesteps.
      p.lengths[b] = b == 0 ? static_cast<int>(Tn) : len(rng);
      for (int t = 0; t < p.lengths[b]; ++t) p.mask[b + B * t] = 1;
    }
  }
  if (return_sequences) p.d_sequence = normal<T>(rng, B * Tn * U, 1.0);
  p.d_final_state = normal<T>(rng, B * U, 1.0);
  return p;
}

template <typename T>
struct Result : rgru::GruGradientArrays<T> {
  std::vector<T> sequence, final_state;

  explicit Result(const rgru::GruDims& d, bool return_sequences)
      : rgru::GruGradientArrays<T>(d),
        sequence(return_sequences ? d.batch * d.timesteps * d.units : 0),
        final_state(d.batch * d.units) {}

  rgru::GruOutputs<T> outputs() {
    return {sequence.empty() ? nullptr : sequence.data(), final_state.data()};
  }
  rgru::GruGradients<T> gradients(const Problem<T>& p) {
    return rgru::GruGradientArrays<T>::gradients(
        p.d_sequence.empty() ? nullptr : p.d_sequence.data(), p.d_final_state.data());
  }
};

template <typename T>
Result<T> run_cpu(const Problem<T>& p) {
  Result<T> r(p.dims, p.config.return_sequences);
  rgru::GruTape<T> tape;
  rgru::gru_forward<T>(p.dims, p.config, p.weights(), p.inputs(), r.outputs(), &tape);
  rgru::gru_backward<T>(tape, r.gradients(p));
  return r;
}

// max |got - want| / max |want| (the reference's scale, floored to avoid 0/0).
template <typename T>
double relative_error(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return INFINITY;
  double diff = 0.0, scale = 1e-6;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (!std::isfinite(g)) return INFINITY;
    diff = std::max(diff, std::fabs(g - w));
    scale = std::max(scale, std::fabs(w));
  }
  return diff / scale;
}

}  // namespace gpu_check

#endif  // RGRU_GPU_CHECK_COMMON_HPP
