// Builds and checks the 1-D convolution and max pooling core without R:
//
//   g++ -std=c++17 -O2 -I inst/include -I <eigen include dir>
//       tools/cpp-tests/conv1d_check.cpp -o /tmp/conv1d_check && /tmp/conv1d_check
//
// (<eigen include dir>: e.g. /usr/include/eigen3, or RcppEigen's include folder.)
// Checks the GEMM path against a direct triple loop for every padding, stride,
// dilation and group count (with the im2col matrix split into several chunks too),
// every gradient against central differences in double precision, float against
// double, that two threads give bitwise the results of one, and max pooling's values
// and gradient routing. Exits non-zero on failure.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "rgru/conv1d.hpp"

#ifdef RGRU_CPU_SETUP
#include "cpu/blas_gemm.hpp"
#include "cpu/setup.hpp"
#endif

namespace cv = rgru::conv1d;
using cv::Index;

namespace {

int failures = 0;

void expect_close(double got, double want, double tol, const char* what, int case_id) {
  if (!(std::fabs(got - want) <= tol * (1.0 + std::fabs(want)))) {
    std::printf("FAIL case %d %s: got %.17g, want %.17g\n", case_id, what, got, want);
    ++failures;
  }
}

std::vector<double> random_vector(size_t n, std::mt19937& gen) {
  std::normal_distribution<double> normal(0.0, 0.7);
  std::vector<double> v(n);
  for (double& e : v) e = normal(gen);
  return v;
}

// The convolution written out position by position, as the definition reads.
std::vector<double> direct_conv(const cv::ConvShape& s, const std::vector<double>& x,
                                const std::vector<double>& kernel, const std::vector<double>& bias) {
  const cv::Geometry& g = s.geometry;
  const Index cg = s.group_channels(), fg = s.group_filters();
  std::vector<double> out(g.batch * g.out_steps * s.filters);
  for (Index b = 0; b < g.batch; ++b)
    for (Index t = 0; t < g.out_steps; ++t)
      for (Index f = 0; f < s.filters; ++f) {
        const Index group = f / fg;
        double acc = bias.empty() ? 0.0 : bias[f];
        for (Index c = 0; c < cg; ++c)
          for (Index k = 0; k < g.window; ++k) {
            const Index ti = g.input_step(t, k);
            if (ti < 0 || ti >= g.steps) continue;
            acc += x[b + g.batch * (ti + g.steps * (group * cg + c))] *
                   kernel[k + g.window * (c + cg * f)];
          }
        out[b + g.batch * (t + g.out_steps * f)] = acc;
      }
  return out;
}

double weighted_sum(const std::vector<double>& v, const std::vector<double>& w) {
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

// `workspace`: the bound on an im2col chunk, or 0 for the defaults.
void check_conv(int id, Index batch, Index steps, Index channels, Index filters, Index window,
                Index stride, Index dilation, Index groups, cv::Padding padding, bool use_bias,
                Index workspace) {
  const rgru::EngineOptions opt;
  const Index forward_workspace = workspace ? workspace : cv::forward_workspace_elements;
  const Index backward_workspace = workspace ? workspace : cv::backward_workspace_elements;
  std::mt19937 gen(1000 + id);
  const cv::Geometry g = cv::make_geometry(batch, steps, channels, window, stride, dilation, padding);
  const cv::ConvShape s = cv::make_conv_shape(g, filters, groups);
  std::vector<double> x = random_vector(batch * steps * channels, gen);
  std::vector<double> kernel = random_vector(window * s.group_channels() * filters, gen);
  std::vector<double> bias = use_bias ? random_vector(filters, gen) : std::vector<double>();
  const size_t n_out = g.batch * g.out_steps * filters;
  std::vector<double> out(n_out);
  cv::forward<double>(s, x.data(), kernel.data(), use_bias ? bias.data() : nullptr, out.data(), opt,
                      forward_workspace);
  std::vector<double> want = direct_conv(s, x, kernel, bias);
  for (size_t i = 0; i < n_out; ++i) expect_close(out[i], want[i], 1e-12, "forward", id);

  // float agrees with double to float precision
  std::vector<float> xf(x.begin(), x.end()), kf(kernel.begin(), kernel.end()), bf(bias.begin(), bias.end()), of(n_out);
  cv::forward<float>(s, xf.data(), kf.data(), use_bias ? bf.data() : nullptr, of.data(), opt,
                     forward_workspace);
  for (size_t i = 0; i < n_out; ++i) expect_close(of[i], want[i], 1e-5, "float forward", id);

  // float computed on double arrays (R's, for a float32 layer) agrees with float on float
  std::vector<double> od(n_out);
  cv::forward<float>(s, x.data(), kf.data(), use_bias ? bf.data() : nullptr, od.data(), opt,
                     forward_workspace);
  for (size_t i = 0; i < n_out; ++i) expect_close(od[i], of[i], 1e-6, "float on double forward", id);

  // gradients of sum(w * out) against central differences
  std::vector<double> w = random_vector(n_out, gen);
  std::vector<double> d_x(x.size()), d_kernel(kernel.size()), d_bias(filters);
  cv::backward<double>(s, x.data(), kernel.data(), w.data(), d_x.data(), d_kernel.data(),
                       use_bias ? d_bias.data() : nullptr, opt, backward_workspace);
  std::vector<float> wf(w.begin(), w.end()), d_xf(x.size()), d_kf(kernel.size()), d_bf(filters);
  cv::backward<float>(s, xf.data(), kf.data(), wf.data(), d_xf.data(), d_kf.data(),
                      use_bias ? d_bf.data() : nullptr, opt, backward_workspace);
  std::vector<double> d_xd(x.size());
  std::vector<float> d_kd(kernel.size()), d_bd(filters);
  cv::backward<float>(s, x.data(), kf.data(), w.data(), d_xd.data(), d_kd.data(),
                      use_bias ? d_bd.data() : nullptr, opt, backward_workspace);
  for (size_t i = 0; i < x.size(); ++i) expect_close(d_xd[i], d_xf[i], 1e-5, "float on double d_x", id);
  for (size_t i = 0; i < kernel.size(); ++i)
    expect_close(d_kd[i], d_kf[i], 1e-5, "float on double d_kernel", id);
  for (Index f = 0; use_bias && f < filters; ++f)
    expect_close(d_bd[f], d_bias[f], 1e-5, "float on double d_bias", id);
  const double h = 1e-6;
  auto loss = [&]() { return weighted_sum(direct_conv(s, x, kernel, bias), w); };
  auto check_grad = [&](std::vector<double>& param, const std::vector<double>& grad, const char* what) {
    for (size_t i = 0; i < param.size(); ++i) {
      const double old = param[i];
      param[i] = old + h;
      const double up = loss();
      param[i] = old - h;
      const double down = loss();
      param[i] = old;
      expect_close(grad[i], (up - down) / (2 * h), 1e-7, what, id);
    }
  };
  check_grad(x, d_x, "d_x");
  check_grad(kernel, d_kernel, "d_kernel");
  if (use_bias) check_grad(bias, d_bias, "d_bias");
}

// Two threads give bitwise the results of one (the chunks and GEMM slabs depend only on
// the shape), on a shape large enough to be split.
void check_threads(int id, Index window, Index workspace) {
  std::mt19937 gen(3000 + id);
  const cv::Geometry g = cv::make_geometry(16, 50, 8, window, 1, 1, cv::Padding::same);
  const cv::ConvShape s = cv::make_conv_shape(g, 64, 1);
  const std::vector<double> x = random_vector(16 * 50 * 8, gen);
  const std::vector<double> kernel = random_vector(window * 8 * 64, gen);
  const std::vector<double> bias = random_vector(64, gen);
  const std::vector<double> w = random_vector(16 * g.out_steps * 64, gen);
  struct Results {
    std::vector<double> out, d_x, d_kernel, d_bias;
  };
  auto run = [&](int threads) {
    rgru::EngineOptions opt;
    opt.num_threads = threads;
    Results r{std::vector<double>(w.size()), std::vector<double>(x.size()),
              std::vector<double>(kernel.size()), std::vector<double>(64)};
    cv::forward<double>(s, x.data(), kernel.data(), bias.data(), r.out.data(), opt, workspace);
    cv::backward<double>(s, x.data(), kernel.data(), w.data(), r.d_x.data(), r.d_kernel.data(),
                         r.d_bias.data(), opt, workspace);
    return r;
  };
  const Results one = run(1), two = run(2);
  if (one.out != two.out || one.d_x != two.d_x || one.d_kernel != two.d_kernel ||
      one.d_bias != two.d_bias) {
    std::printf("FAIL case %d: two threads differ from one\n", id);
    ++failures;
  }
  const std::vector<double> want = direct_conv(s, x, kernel, bias);
  for (size_t i = 0; i < want.size(); ++i) expect_close(two.out[i], want[i], 1e-12, "forward", id);
}

void check_pool(int id, Index batch, Index steps, Index channels, Index window, Index stride,
                cv::Padding padding) {
  std::mt19937 gen(2000 + id);
  const cv::Geometry g = cv::make_geometry(batch, steps, channels, window, stride, 1, padding);
  std::vector<double> x = random_vector(batch * steps * channels, gen);
  std::vector<double> out(batch * g.out_steps * channels);
  std::vector<int> argmax(out.size());
  cv::max_pool_forward<double>(g, x.data(), out.data(), argmax.data());
  for (Index b = 0; b < batch; ++b)
    for (Index c = 0; c < channels; ++c)
      for (Index t = 0; t < g.out_steps; ++t) {
        double best = -INFINITY;
        for (Index k = 0; k < window; ++k) {
          const Index ti = g.input_step(t, k);
          if (ti >= 0 && ti < steps) best = std::fmax(best, x[b + batch * (ti + steps * c)]);
        }
        expect_close(out[b + batch * (t + g.out_steps * c)], best, 0, "max pool", id);
      }
  std::vector<double> w = random_vector(out.size(), gen), d_x(x.size());
  cv::max_pool_backward<double>(g, argmax.data(), w.data(), d_x.data());
  const double h = 1e-7;
  for (size_t i = 0; i < x.size(); ++i) {
    const double old = x[i];
    std::vector<double> o(out.size());
    x[i] = old + h;
    cv::max_pool_forward<double>(g, x.data(), o.data(), nullptr);
    const double up = weighted_sum(o, w);
    x[i] = old - h;
    cv::max_pool_forward<double>(g, x.data(), o.data(), nullptr);
    const double down = weighted_sum(o, w);
    x[i] = old;
    expect_close(d_x[i], (up - down) / (2 * h), 1e-6, "max pool d_x", id);
  }
}

}  // namespace

int main() {
#ifdef RGRU_CPU_SETUP
  // the GEMMs the R package runs: OpenBLAS (the default once installed) and the AVX2 build
  rgru::cpu::set_up_engine();
  rgru::cpu::install_blas_gemm();
#endif
  const cv::Padding paddings[] = {cv::Padding::valid, cv::Padding::same, cv::Padding::causal};
  int id = 0;
  for (cv::Padding p : paddings) {
    check_conv(++id, 3, 9, 4, 6, 3, 1, 1, 1, p, true, 0);
    check_conv(++id, 2, 10, 4, 6, 3, 2, 1, 2, p, true, 0);
    check_conv(++id, 2, 11, 6, 3, 2, 1, 3, 3, p, false, 0);
    check_conv(++id, 3, 8, 4, 4, 4, 3, 1, 4, p, true, 0);
    check_conv(++id, 2, 9, 3, 2, 3, 1, 2, 1, p, true, 7);  // several im2col chunks
    check_conv(++id, 2, 7, 3, 5, 1, 1, 1, 1, p, true, 0);  // pointwise
    check_conv(++id, 2, 7, 3, 5, 1, 1, 1, 1, p, true, 7);  // pointwise, several chunks
  }
  check_threads(++id, 3, 0);
  check_threads(++id, 3, 2000);  // several chunks
  check_threads(++id, 1, 2000);  // pointwise, several chunks
  check_conv(++id, 1, 5, 2, 2, 5, 1, 1, 1, cv::Padding::valid, true, 0);
  const cv::Padding pool_paddings[] = {cv::Padding::valid, cv::Padding::same};
  for (cv::Padding p : pool_paddings) {
    check_pool(++id, 2, 9, 3, 2, 2, p);
    check_pool(++id, 3, 10, 2, 3, 1, p);
    check_pool(++id, 2, 11, 2, 4, 3, p);
    check_pool(++id, 2, 7, 2, 7, 1, p);
  }
  // a NaN in a window wins, as in Keras
  const cv::Geometry g = cv::make_geometry(1, 4, 1, 2, 2, 1, cv::Padding::valid);
  const double x[] = {1.0, NAN, 3.0, 2.0};
  double out[2];
  cv::max_pool_forward<double>(g, x, out, nullptr);
  if (!std::isnan(out[0]) || out[1] != 3.0) {
    std::printf("FAIL NaN propagation: %g %g\n", out[0], out[1]);
    ++failures;
  }
  bool threw = false;
  try {
    cv::make_geometry(1, 2, 1, 3, 1, 1, cv::Padding::valid);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  if (!threw) {
    std::printf("FAIL a window longer than the inputs must be refused\n");
    ++failures;
  }
  std::printf("conv1d_check: %d cases, %d failures\n", id, failures);
  return failures == 0 ? 0 : 1;
}
