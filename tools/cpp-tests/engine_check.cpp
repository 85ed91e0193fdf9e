// Checks the CPU engine without R (tools/cpp-tests/run.sh builds and runs it twice: on
// the public headers alone with Eigen's GEMM, and with the R package's CPU setup and
// OpenBLAS). Every gradient against central differences in double precision, for both
// reset_after conventions with a mask, go_backwards, per-gate dropout and an initial
// state; float against double; and a forked child after a multithreaded call. Exits
// non-zero on failure.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#if defined(_OPENMP) && !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "rgru/engine.hpp"
#ifdef RGRU_CPU_SETUP
#include "cpu/blas_gemm.hpp"
#include "cpu/setup.hpp"
#endif

namespace {

struct Case {
  rgru::GruDims dims{3, 4, 2, 3};
  rgru::GruConfig config;
  std::vector<double> x, kernel, recurrent, bias_in, bias_rec, h0, drop_in, drop_rec, w_seq, w_fin;
  std::vector<int> mask;
};

Case make_case(bool reset_after, bool go_backwards, unsigned seed) {
  Case c;
  c.config.reset_after = reset_after;
  c.config.go_backwards = go_backwards;
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, 0.5);
  auto fill = [&](std::vector<double>& v, size_t n) {
    v.resize(n);
    for (double& e : v) e = normal(gen);
  };
  const auto& d = c.dims;
  const size_t H3 = 3 * d.units;
  fill(c.x, d.batch * d.timesteps * d.input_dim);
  fill(c.kernel, d.input_dim * H3);
  fill(c.recurrent, d.units * H3);
  fill(c.bias_in, H3);
  if (reset_after) fill(c.bias_rec, H3);
  fill(c.h0, d.batch * d.units);
  fill(c.w_seq, d.batch * d.timesteps * d.units);
  fill(c.w_fin, d.batch * d.units);
  c.drop_in.assign(d.batch * d.input_dim * 3, 0.0);
  c.drop_rec.assign(d.batch * d.units * 3, 0.0);
  std::bernoulli_distribution keep(0.7);
  for (double& e : c.drop_in) e = keep(gen) ? 1 / 0.7 : 0.0;
  for (double& e : c.drop_rec) e = keep(gen) ? 1 / 0.7 : 0.0;
  c.mask.assign(d.batch * d.timesteps, 1);
  c.mask[1] = 0;  // sample 1 at t = 0
  c.mask[2 + d.batch * 2] = 0;  // sample 2 at t = 2: a hole
  return c;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <typename T>
struct Run {
  std::vector<T> seq, fin;
  rgru::GruTape<T> tape;
};

template <typename T>
void forward(const Case& c, Run<T>& run) {
  const auto& d = c.dims;
  static thread_local std::vector<T> x, k, u, bi, br, h0, di, dr;
  x = cast<T>(c.x), k = cast<T>(c.kernel), u = cast<T>(c.recurrent), bi = cast<T>(c.bias_in),
  br = cast<T>(c.bias_rec), h0 = cast<T>(c.h0), di = cast<T>(c.drop_in), dr = cast<T>(c.drop_rec);
  rgru::GruWeights<T> w{k.data(), u.data(), bi.data(), br.empty() ? nullptr : br.data()};
  rgru::GruInputs<T> in;
  in.x = x.data();
  in.initial_state = h0.data();
  in.mask = c.mask.data();
  in.input_dropout = di.data();
  in.recurrent_dropout = dr.data();
  in.input_dropout_gates = 3;
  in.recurrent_dropout_gates = 3;
  run.seq.assign(d.batch * d.timesteps * d.units, T(0));
  run.fin.assign(d.batch * d.units, T(0));
  rgru::GruOutputs<T> out{run.seq.data(), run.fin.data()};
  rgru::gru_forward<T>(d, c.config, w, in, out, &run.tape);
}

double loss(const Case& c) {
  Run<double> run;
  forward(c, run);
  double l = 0;
  for (size_t i = 0; i < run.seq.size(); ++i) l += run.seq[i] * c.w_seq[i];
  for (size_t i = 0; i < run.fin.size(); ++i) l += run.fin[i] * c.w_fin[i];
  return l;
}

int check_case(bool reset_after, bool go_backwards) {
  Case c = make_case(reset_after, go_backwards, 7);
  const auto& d = c.dims;
  Run<double> run;
  forward(c, run);
  rgru::GruGradientArrays<double> grads(d, true, reset_after);
  const rgru::GruGradients<double> g = grads.gradients(c.w_seq.data(), c.w_fin.data());
  rgru::gru_backward<double>(run.tape, g);

  int failures = 0;
  auto check = [&](std::vector<double> Case::*field, const std::vector<double>& analytic,
                   const char* name) {
    double worst = 0;
    for (size_t i = 0; i < analytic.size(); ++i) {
      Case up = c, down = c;
      (up.*field)[i] += 1e-6;
      (down.*field)[i] -= 1e-6;
      const double numeric = (loss(up) - loss(down)) / 2e-6;
      worst = std::max(worst, std::abs(numeric - analytic[i]) / std::max(1.0, std::abs(numeric)));
    }
    const bool ok = worst < 1e-6;
    failures += !ok;
    std::printf("%s reset_after=%d go_backwards=%d d_%s: max rel. error %.2e\n", ok ? "ok  " : "FAIL",
                reset_after, go_backwards, name, worst);
  };
  check(&Case::x, grads.d_x, "x");
  check(&Case::h0, grads.d_initial_state, "initial_state");
  check(&Case::kernel, grads.d_kernel, "kernel");
  check(&Case::recurrent, grads.d_recurrent_kernel, "recurrent_kernel");
  check(&Case::bias_in, grads.d_input_bias, "input_bias");
  if (reset_after) check(&Case::bias_rec, grads.d_recurrent_bias, "recurrent_bias");

  Run<float> single;
  forward(c, single);
  double worst = 0;
  for (size_t i = 0; i < run.seq.size(); ++i)
    worst = std::max(worst, std::abs(single.seq[i] - run.seq[i]) / std::max(1.0, std::abs(run.seq[i])));
  const bool ok = worst < 1e-5;
  failures += !ok;
  std::printf("%s reset_after=%d go_backwards=%d float vs double: max rel. difference %.2e\n",
              ok ? "ok  " : "FAIL", reset_after, go_backwards, worst);
  return failures;
}

// A multithreaded call, then fork(): the child's call must finish (GNU OpenMP waits
// forever for the parent's threads in a forked child that enters a parallel region).
int check_fork() {
#if defined(_OPENMP) && !defined(_WIN32)
  auto big_call = [] {
    rgru::GruDims d{128, 4, 8, 256};
    std::vector<double> x(d.batch * d.timesteps * d.input_dim, 0.1),
        k(d.input_dim * 3 * d.units, 0.01), u(d.units * 3 * d.units, 0.01),
        seq(d.batch * d.timesteps * d.units), fin(d.batch * d.units);
    rgru::GruWeights<double> w{k.data(), u.data(), nullptr, nullptr};
    rgru::GruInputs<double> in;
    in.x = x.data();
    rgru::EngineOptions opt;
    opt.num_threads = 2;
    rgru::gru_forward<double>(d, rgru::GruConfig(), w, in, {seq.data(), fin.data()}, nullptr, opt);
  };
  big_call();
  const pid_t child = fork();
  if (child == 0) {
    alarm(60);
    big_call();
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("%s multithreaded call in a forked child\n", ok ? "ok  " : "FAIL");
  return ok ? 0 : 1;
#else
  return 0;
#endif
}

}  // namespace

int main() {
#ifdef RGRU_CPU_SETUP
  rgru::cpu::set_up_engine();
  rgru::cpu::install_blas_gemm();
#endif
  int failures = 0;
  for (bool after : {true, false})
    for (bool backwards : {false, true}) failures += check_case(after, backwards);
  try {
    rgru::GruDims bad{0, 1, 1, 1};
    rgru::check_dims(bad);
    std::printf("FAIL zero batch accepted\n");
    ++failures;
  } catch (const rgru::invalid_argument&) {
    std::printf("ok   zero batch rejected with rgru::invalid_argument\n");
  }
  failures += check_fork();
  std::printf("%s (%s GEMM, %s kernels)\n", failures ? "FAILED" : "all checks passed",
              rgru::default_gemm_backend() == rgru::GemmBackend::blas ? "BLAS" : "Eigen",
              rgru::activation_kernels<double>().name);
  return failures ? 1 : 0;
}
