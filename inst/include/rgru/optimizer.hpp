// Keras 3's optimizer updates (keras/src/optimizers/sgd.py, adam.py, rmsprop.py and the
// base optimizer's clipping and weight decay), element by element on one variable.
//
// Each formula is written operation for operation in the order R evaluates the same
// formula on whole vectors (tests/testthat/helper-optimizer-reference.R keeps that R
// form), so the fused update and the R formulas give the same doubles, not merely close
// ones: no reassociation, no fused multiply-add (the pragmas below), sums of squares
// accumulated in long double as R's sum() accumulates them. Scalars that depend only on
// the hyperparameters and the step (Adam's bias-corrected step size, 1 - beta) come in
// precomputed by R, so they carry R's own pow() and rounding.
//
// Pure C++: no R, no Eigen; the arrays are the callers' (R's memory, in the package).
#ifndef RGRU_OPTIMIZER_HPP
#define RGRU_OPTIMIZER_HPP

#include <cmath>
#include <cstddef>

// A fused multiply-add rounds once where R rounds twice: every product here is rounded
// on its own. GCC takes that for the functions below; clang only inside a block, so each
// function body starts with RGRU_ROUND_EVERY_OPERATION.
#if defined(__clang__)
#define RGRU_ROUND_EVERY_OPERATION _Pragma("clang fp contract(off)")
#else
#define RGRU_ROUND_EVERY_OPERATION
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

namespace rgru {
namespace optimizer {

// sum(x^2) as R computes it: each square rounded to double, the sum in long double.
inline double sum_of_squares(const double* x, std::size_t n) {
  RGRU_ROUND_EVERY_OPERATION
  long double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double square = x[i] * x[i];
    sum += square;
  }
  return static_cast<double>(sum);
}

// R's max(a, b) and min(a, b) of two numbers: NaN wins.
inline double r_max(double a, double b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return a >= b ? a : b;
}

inline double r_min(double a, double b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return a <= b ? a : b;
}

// R's pmax(a, b) for one element: b replaces a when larger or NaN.
inline double r_pmax(double a, double b) { return (b > a || std::isnan(b)) ? b : a; }
inline double r_pmin(double a, double b) { return (b < a || std::isnan(b)) ? b : a; }

// --- gradient clipping (Keras's clipnorm, clipvalue, global_clipnorm) -------------------

// g * clipnorm / max(norm(g), clipnorm), into `out`.
inline void clip_by_norm(const double* g, double* out, std::size_t n, double clipnorm) {
  RGRU_ROUND_EVERY_OPERATION
  const double divisor = r_max(std::sqrt(sum_of_squares(g, n)), clipnorm);
  for (std::size_t i = 0; i < n; ++i) out[i] = g[i] * clipnorm / divisor;
}

// pmin(pmax(g, -clipvalue), clipvalue), into `out`.
inline void clip_by_value(const double* g, double* out, std::size_t n, double clipvalue) {
  for (std::size_t i = 0; i < n; ++i) out[i] = r_pmin(r_pmax(g[i], -clipvalue), clipvalue);
}

// The factor every gradient takes under global_clipnorm, from the sums of squares of the
// gradients one by one (each rounded to double, as R's sum() per gradient returns it).
inline double global_clip_scale(const double* sums_of_squares, std::size_t count,
                                double global_clipnorm) {
  RGRU_ROUND_EVERY_OPERATION
  long double total = 0;
  for (std::size_t i = 0; i < count; ++i) total += sums_of_squares[i];
  const double norm = std::sqrt(static_cast<double>(total));
  return global_clipnorm * r_min(1 / norm, 1 / global_clipnorm);
}

inline void scale_into(const double* g, double* out, std::size_t n, double scale) {
  RGRU_ROUND_EVERY_OPERATION
  for (std::size_t i = 0; i < n; ++i) out[i] = g[i] * scale;
}

// --- decoupled weight decay: w <- w - w * weight_decay * learning_rate ------------------

inline void decay_weights(double* w, std::size_t n, double weight_decay,
                          double learning_rate) {
  RGRU_ROUND_EVERY_OPERATION
  for (std::size_t i = 0; i < n; ++i) w[i] = w[i] - w[i] * weight_decay * learning_rate;
}

// --- the update rules ---------------------------------------------------------------------

struct SgdSettings {
  double learning_rate = 0.01;
  double momentum = 0;  // 0: plain gradient descent, no state
  bool nesterov = false;
};

// `m`: the momentum state (unused when momentum is 0).
inline void sgd_update(const SgdSettings& s, double* w, const double* g, double* m,
                       std::size_t n) {
  RGRU_ROUND_EVERY_OPERATION
  const double lr = s.learning_rate;
  if (s.momentum == 0) {
    for (std::size_t i = 0; i < n; ++i) w[i] = w[i] - g[i] * lr;
    return;
  }
  const double mu = s.momentum;
  for (std::size_t i = 0; i < n; ++i) {
    m[i] = m[i] * mu - g[i] * lr;
    w[i] = s.nesterov ? w[i] + m[i] * mu - g[i] * lr : w[i] + m[i];
  }
}

// Keras's form: epsilon is added to sqrt(v) before the bias-corrected step size `alpha`
// (learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)) scales the update.
struct AdamSettings {
  double alpha = 0.001;
  double one_minus_beta_1 = 0.1;
  double one_minus_beta_2 = 0.001;
  double epsilon = 1e-7;
  bool amsgrad = false;
};

// `v_hat`: the running maximum of `v` (amsgrad only).
inline void adam_update(const AdamSettings& s, double* w, const double* g, double* m,
                        double* v, double* v_hat, std::size_t n) {
  RGRU_ROUND_EVERY_OPERATION
  for (std::size_t i = 0; i < n; ++i) {
    m[i] = m[i] + (g[i] - m[i]) * s.one_minus_beta_1;
    v[i] = v[i] + (g[i] * g[i] - v[i]) * s.one_minus_beta_2;
    double second = v[i];
    if (s.amsgrad) {
      v_hat[i] = r_pmax(v_hat[i], v[i]);
      second = v_hat[i];
    }
    w[i] = w[i] - (m[i] * s.alpha) / (std::sqrt(second) + s.epsilon);
  }
}

struct RmspropSettings {
  double learning_rate = 0.001;
  double rho = 0.9;
  double one_minus_rho = 0.1;
  double momentum = 0;  // 0: no momentum state
  double epsilon = 1e-7;
  bool centered = false;
};

// `average`: the mean gradient (centered only); `velocity_m`: the momentum (momentum > 0).
inline void rmsprop_update(const RmspropSettings& s, double* w, const double* g,
                           double* velocity, double* average, double* velocity_m,
                           std::size_t n) {
  RGRU_ROUND_EVERY_OPERATION
  for (std::size_t i = 0; i < n; ++i) {
    velocity[i] = s.rho * velocity[i] + s.one_minus_rho * (g[i] * g[i]);
    double denominator;
    if (s.centered) {
      average[i] = s.rho * average[i] + s.one_minus_rho * g[i];
      denominator = velocity[i] - average[i] * average[i] + s.epsilon;
    } else {
      denominator = velocity[i] + s.epsilon;
    }
    const double increment = s.learning_rate * g[i] / std::sqrt(denominator);
    if (s.momentum > 0) {
      velocity_m[i] = s.momentum * velocity_m[i] + increment;
      w[i] = w[i] - velocity_m[i];
    } else {
      w[i] = w[i] - increment;
    }
  }
}

}  // namespace optimizer
}  // namespace rgru

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
#undef RGRU_ROUND_EVERY_OPERATION

#endif  // RGRU_OPTIMIZER_HPP
