// Times the cuDNN backend on device-resident data (what PyTorch's nn.GRU timing in
// torch_bench.py measures too): float32, input_dim = units, no mask, TF32 off, for
// batch {32, 256, 1024} x timesteps {100, 500} x units {128, 512, 1024}; the standard
// algorithm everywhere, and the persistent kernel where cuDNN accepts it.
// Prints CSV rows: impl,algo,batch,timesteps,units,mode,ms
//
// Usage: gpu_bench [--quick]   (--quick: the smallest shapes only, for a smoke test)
#include "../../src/cuda/cudnn_gru.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct DeviceArray {
  float* ptr = nullptr;
  explicit DeviceArray(std::size_t n) {
    void* raw = nullptr;
    if (cudaMalloc(&raw, n * sizeof(float) + 16) != cudaSuccess) {
      throw std::runtime_error("cudaMalloc of " + std::to_string(n * sizeof(float)) +
                               " bytes failed");
    }
    ptr = static_cast<float*>(raw);
    fill(n);
  }
  ~DeviceArray() { cudaFree(ptr); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  // Values in [-1, 1] from a small random block repeated, so huge arrays fill fast.
  void fill(std::size_t n) {
    static std::vector<float> block = [] {
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      std::vector<float> b(1 << 20);
      for (auto& v : b) v = u(rng);
      return b;
    }();
    for (std::size_t at = 0; at < n; at += block.size()) {
      const std::size_t count = std::min(block.size(), n - at);
      cudaMemcpy(ptr + at, block.data(), count * sizeof(float), cudaMemcpyHostToDevice);
    }
  }
};

// Mean milliseconds per call: one warm-up call, then enough calls for ~0.5 s (2..50).
template <typename F>
double time_ms(F&& run, rgru::cuda::DeviceCall<float>& call) {
  run();
  call.synchronize();
  auto t0 = Clock::now();
  run();
  call.synchronize();
  const double first = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  int reps = static_cast<int>(500.0 / std::max(first, 1e-3));
  reps = std::max(2, std::min(50, reps));
  t0 = Clock::now();
  for (int i = 0; i < reps; ++i) run();
  call.synchronize();
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / reps;
}

void bench(int batch, int steps, int units, const char* algo) {
  const rgru::GruDims d{batch, steps, units, units};
  rgru::GruConfig c;
  c.return_sequences = true;
  rgru::cuda::Options o;
  o.algorithm = rgru::cuda::algorithm_from_name(algo);
  rgru::cuda::DeviceCall<float> call(d, c, o, {});

  std::mt19937 rng(11);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  auto host = [&](std::size_t n, float sd) {
    std::vector<float> v(n);
    for (auto& e : v) e = sd * n01(rng);
    return v;
  };
  const std::size_t U3 = 3 * static_cast<std::size_t>(units);
  const auto k = host(units * U3, 1.0f / std::sqrt(float(units)));
  const auto rk = host(units * U3, 1.0f / std::sqrt(float(units)));
  const auto ib = host(U3, 0.1f), rb = host(U3, 0.1f);
  call.set_weights({k.data(), rk.data(), ib.data(), rb.data()});

  const std::size_t seq = static_cast<std::size_t>(batch) * steps * units;
  const std::size_t state = static_cast<std::size_t>(batch) * units;
  DeviceArray x(seq), h0(state), y(seq), hy(state);
  const double fwd = time_ms([&] { call.forward(x.ptr, h0.ptr, y.ptr, hy.ptr, false); }, call);
  std::printf("rgru,%s,%d,%d,%d,fwd,%.4f\n", algo, batch, steps,
              units, fwd);
  std::fflush(stdout);

  DeviceArray dy(seq), dhy(state), dx(seq), dh0(state), dw(call.weight_elements());
  const double both = time_ms(
      [&] {
        call.forward(x.ptr, h0.ptr, y.ptr, hy.ptr, true);
        call.backward(dy.ptr, dhy.ptr, dx.ptr, dh0.ptr, dw.ptr);
      },
      call);
  std::printf("rgru,%s,%d,%d,%d,fwdbwd,%.4f\n", algo, batch, steps,
              units, both);
  std::fflush(stdout);

  // The host path R takes: R-layout arrays in host memory in and out (copies, layout
  // kernels and the synchronisation included), forward in inference mode, and a
  // training forward plus backward.
  auto& engine = rgru::cuda::Engine::instance();
  const rgru::GruWeights<float> w{k.data(), rk.data(), ib.data(), rb.data()};
  const std::uint64_t key = rgru::cuda::weights_key(d, w);
  const auto hx = host(seq, 1.0f), hh0 = host(state, 0.5f), hdy = host(seq, 1.0f);
  std::vector<float> hy_seq(seq), hy_fin(state);
  rgru::GruGradientArrays<float> grads(d);
  rgru::GruInputs<float> in;
  in.x = hx.data();
  in.initial_state = hh0.data();
  const rgru::GruOutputs<float> out{hy_seq.data(), hy_fin.data()};
  const rgru::GruGradients<float> g = grads.gradients(hdy.data(), nullptr);
  const double host_fwd = time_ms(
      [&] { engine.forward<float>(d, c, o, w, key, in, out, false); }, call);
  std::printf("rgru_host,%s,%d,%d,%d,fwd,%.4f\n", algo, batch, steps, units, host_fwd);
  const double host_both = time_ms(
      [&] {
        auto tape = engine.forward<float>(d, c, o, w, key, in, out, true);
        rgru::cuda::Engine::backward<float>(*tape, g);
      },
      call);
  std::printf("rgru_host,%s,%d,%d,%d,fwdbwd,%.4f\n", algo, batch, steps, units, host_both);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const rgru::cuda::RuntimeInfo info = rgru::cuda::runtime_info();
  if (info.gpu_count == 0) {
    std::fprintf(stderr, "gpu_bench: no GPU visible (%s)\n", info.error.c_str());
    return 2;
  }
  std::fprintf(stderr, "gpu_bench on %s, cuDNN %s\n", info.gpu_names[0].c_str(),
               rgru::cuda::format_cudnn_version(info.cudnn_loaded).c_str());
  std::printf("impl,algo,batch,timesteps,units,mode,ms\n");
  const std::vector<int> batches = quick ? std::vector<int>{32} : std::vector<int>{32, 256, 1024};
  const std::vector<int> steps = quick ? std::vector<int>{100} : std::vector<int>{100, 500};
  const std::vector<int> units = quick ? std::vector<int>{128} : std::vector<int>{128, 512, 1024};
  for (int b : batches) {
    for (int t : steps) {
      for (int u : units) {
        for (const char* algo : {"standard", "persist_static", "auto"}) {
          // Persistent kernels keep the recurrent weights in registers/shared memory:
          // only small batches and hidden sizes qualify.
          if (std::strcmp(algo, "persist_static") == 0 && (b > 256 || u > 512)) continue;
          try {
            bench(b, t, u, algo);
          } catch (const std::exception& e) {
            std::fprintf(stderr, "B=%d T=%d U=%d %s: %s\n", b, t, u, algo, e.what());
            rgru::cuda::Engine::instance().release_caches();
          }
        }
        rgru::cuda::Engine::instance().release_caches();
      }
    }
  }
  return 0;
}
