// The CPU engine alone, without R: forward (inference) or forward + backward
// (training) of one case, float32 or float64, on warm buffers. It separates the engine's
// own time from what a call from R adds (converting arrays, fresh result memory); see
// README.md. It runs the engine as the R package sets it up (src/cpu/setup.hpp: the
// fastest activation kernels and GEMM builds this CPU runs, the block cache), with
// OpenBLAS as the GEMM. bench/engine-vs-torch.sh builds it into
// ${TMPDIR:-/tmp}/rgru-engine-vs-torch/ and times it against PyTorch; for one case alone:
//
//   OPENBLAS_NUM_THREADS=1 /tmp/rgru-engine-vs-torch/engine_only B T F H MODE DTYPE REPS [THREADS]
//
// with MODE inference or training, DTYPE float32 or float64, THREADS the engine's threads
// (default 1).
//
// Prints milliseconds per call (process CPU time).
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "cpu/blas_gemm.hpp"
#include "cpu/setup.hpp"
#include "rgru/engine.hpp"

namespace {

double cpu_seconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

template <typename T>
double ms_per_call(long B, long TT, long F, long H, bool training, int reps, int threads) {
  rgru::GruDims d{B, TT, F, H};
  rgru::GruConfig config;
  config.return_sequences = true;
  std::mt19937 gen(1);
  std::normal_distribution<double> normal(0, 0.1);
  auto random = [&](size_t n) {
    std::vector<T> v(n);
    for (T& e : v) e = T(normal(gen));
    return v;
  };
  std::vector<T> x = random(B * TT * F), kernel = random(F * 3 * H), recurrent = random(H * 3 * H),
                 bias_in = random(3 * H), bias_rec = random(3 * H);
  std::vector<T> seq(B * TT * H), fin(B * H), upstream(B * TT * H, T(1));
  rgru::GruWeights<T> w{kernel.data(), recurrent.data(), bias_in.data(), bias_rec.data()};
  rgru::GruInputs<T> in;
  in.x = x.data();
  rgru::GruOutputs<T> out{seq.data(), fin.data()};
  rgru::GruGradientArrays<T> grads(d);
  const rgru::GruGradients<T> g = grads.gradients(upstream.data(), nullptr);
  rgru::EngineOptions opt;
  opt.num_threads = threads;
  auto call = [&] {
    if (!training) return rgru::gru_forward<T>(d, config, w, in, out, nullptr, opt);
    rgru::GruTape<T> tape;
    tape.borrow_x = true;
    rgru::gru_forward<T>(d, config, w, in, out, &tape, opt);
    rgru::gru_backward<T>(tape, g, opt);
  };
  call();
  const double start = cpu_seconds();
  for (int i = 0; i < reps; ++i) call();
  return 1e3 * (cpu_seconds() - start) / reps;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8 && argc != 9) {
    std::fprintf(stderr,
                 "usage: engine_only B T F H inference|training float32|float64 REPS [THREADS]\n");
    return 2;
  }
  rgru::cpu::set_up_engine();
  rgru::cpu::install_blas_gemm();
  const long B = std::atol(argv[1]), TT = std::atol(argv[2]), F = std::atol(argv[3]), H = std::atol(argv[4]);
  const bool training = std::string(argv[5]) == "training";
  const bool f64 = std::string(argv[6]) == "float64";
  const int reps = std::atoi(argv[7]);
  const int threads = argc == 9 ? std::atoi(argv[8]) : 1;
  const double ms = f64 ? ms_per_call<double>(B, TT, F, H, training, reps, threads)
                        : ms_per_call<float>(B, TT, F, H, training, reps, threads);
  std::printf("%s %s B=%ld T=%ld F=%ld H=%ld: %.3f ms per call\n", argv[6], argv[5], B, TT, F, H, ms);
  return 0;
}
