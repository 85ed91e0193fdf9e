// The CPU engine alone, without R: forward (inference) or forward + backward
// (training) of one case, float32 or float64, on warm buffers. It separates the engine's
// own time from what a call from R adds (converting arrays, fresh result memory); see
// README.md. bench/engine-vs-torch.sh builds it (x86-64, OpenBLAS as the GEMM, the
// AVX-512 activation kernels as the R package picks them on such a CPU) into
// ${TMPDIR:-/tmp}/rgru-engine-vs-torch/ and times it against PyTorch; for one case alone:
//
//   OPENBLAS_NUM_THREADS=1 /tmp/rgru-engine-vs-torch/engine_only B T F H MODE DTYPE REPS
//
// with MODE inference or training and DTYPE float32 or float64.
//
// Prints milliseconds per call (process CPU time, one thread).
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "rgru/engine.hpp"
#include "simd/kernels.h"

namespace {

double cpu_seconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

template <typename T>
double ms_per_call(long B, long TT, long F, long H, bool training, int reps) {
  rgru::activation_kernels<T>() = rgru_simd::avx512_kernels(T());
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
  std::vector<T> dx(B * TT * F), dh0(B * H), dk(F * 3 * H), du(H * 3 * H), dbi(3 * H), dbr(3 * H);
  rgru::GruWeights<T> w;
  w.kernel = kernel.data();
  w.recurrent_kernel = recurrent.data();
  w.input_bias = bias_in.data();
  w.recurrent_bias = bias_rec.data();
  rgru::GruInputs<T> in;
  in.x = x.data();
  rgru::GruOutputs<T> out;
  out.sequence = seq.data();
  out.final_state = fin.data();
  rgru::GruGradients<T> g;
  g.d_sequence = upstream.data();
  g.d_x = dx.data();
  g.d_initial_state = dh0.data();
  g.d_kernel = dk.data();
  g.d_recurrent_kernel = du.data();
  g.d_input_bias = dbi.data();
  g.d_recurrent_bias = dbr.data();
  auto call = [&] {
    if (!training) return rgru::gru_forward<T>(d, config, w, in, out, nullptr);
    rgru::GruTape<T> tape;
    tape.borrow_x = true;
    rgru::gru_forward<T>(d, config, w, in, out, &tape);
    rgru::gru_backward<T>(tape, g);
  };
  call();
  const double start = cpu_seconds();
  for (int i = 0; i < reps; ++i) call();
  return 1e3 * (cpu_seconds() - start) / reps;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: engine_only B T F H inference|training float32|float64 REPS\n");
    return 2;
  }
  const long B = std::atol(argv[1]), TT = std::atol(argv[2]), F = std::atol(argv[3]), H = std::atol(argv[4]);
  const bool training = std::string(argv[5]) == "training";
  const bool f64 = std::string(argv[6]) == "float64";
  const int reps = std::atoi(argv[7]);
  const double ms = f64 ? ms_per_call<double>(B, TT, F, H, training, reps)
                        : ms_per_call<float>(B, TT, F, H, training, reps);
  std::printf("%s %s B=%ld T=%ld F=%ld H=%ld: %.3f ms per call\n", argv[6], argv[5], B, TT, F, H, ms);
  return 0;
}
