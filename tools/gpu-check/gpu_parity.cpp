// cuDNN backend vs the CPU engine on a grid of shapes: forward outputs and every
// gradient, float32 (1e-4 relative) and float64 (1e-9), with right-padded masks,
// initial states, go_backwards and return_sequences; then the paths R takes: inference
// mode with shapes and masks changing between calls, a gradient on only the sequence
// or only the final state, two backwards through one tape, every algorithm with and
// without a mask, input dropout applied to x before cuDNN, an interrupted wait, and the
// size of the TF32 error. Every wait polls with an interrupt check, as in R. Prints one
// table row per case. Exit status 0 only if all pass; 2 when no GPU
// is visible.
#include "../../src/cuda/cudnn_gru.hpp"
#include "../../src/cuda/errors.hpp"
#include "common.hpp"

#include <cuda_runtime_api.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <new>
#include <string>

namespace {

using gpu_check::Problem;
using gpu_check::Result;
using gpu_check::relative_error;
using rgru::index_t;

int failures = 0;
int checks = 0;

// R's interrupt check stands in here: counts the times it is asked, and says yes while
// `interrupt_now` is set.
std::atomic<int> interrupt_checks{0};
std::atomic<bool> interrupt_now{false};
bool interrupt_check() {
  interrupt_checks++;
  return interrupt_now.load();
}

template <typename T>
Result<T> run_gpu(const Problem<T>& p, const rgru::cuda::Options& o) {
  auto& engine = rgru::cuda::Engine::instance();
  Result<T> r(p.dims, p.config.return_sequences);
  const auto w = p.weights();
  auto tape = engine.forward<T>(p.dims, p.config, o, w, rgru::cuda::weights_key(p.dims, w),
                                p.inputs(), r.outputs(), true);
  rgru::cuda::Engine::backward<T>(*tape, r.gradients(p));
  return r;
}

template <typename T>
void compare(const char* what, const std::vector<T>& got, const std::vector<T>& want,
             double tol, std::string& worst_name, double& worst) {
  const double e = relative_error(got, want);
  ++checks;
  if (!(e <= tol)) ++failures;
  if (!(e <= worst)) {
    worst = e;
    worst_name = what;
  }
}

template <typename T>
bool check_case(const rgru::GruDims& d, bool padded, bool h0, bool backwards, bool sequences,
                std::uint64_t seed) {
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
  const Problem<T> p = gpu_check::make_problem<T>(d, padded, h0, backwards, sequences, seed);
  const Result<T> cpu = gpu_check::run_cpu(p);
  const Result<T> gpu = run_gpu(p, rgru::cuda::Options{});
  std::string worst_name = "-";
  double worst = 0.0;
  const int before = failures;
  if (sequences) compare("sequence", gpu.sequence, cpu.sequence, tol, worst_name, worst);
  compare("final_state", gpu.final_state, cpu.final_state, tol, worst_name, worst);
  compare("d_x", gpu.d_x, cpu.d_x, tol, worst_name, worst);
  compare("d_initial_state", gpu.d_initial_state, cpu.d_initial_state, tol, worst_name, worst);
  compare("d_kernel", gpu.d_kernel, cpu.d_kernel, tol, worst_name, worst);
  compare("d_recurrent_kernel", gpu.d_recurrent_kernel, cpu.d_recurrent_kernel, tol,
          worst_name, worst);
  compare("d_input_bias", gpu.d_input_bias, cpu.d_input_bias, tol, worst_name, worst);
  compare("d_recurrent_bias", gpu.d_recurrent_bias, cpu.d_recurrent_bias, tol, worst_name,
          worst);
  const bool ok = failures == before;
  std::printf("%-7s B=%-4lld T=%-4lld I=%-4lld U=%-4lld mask=%d h0=%d back=%d seq=%d  "
              "worst %-18s %.2e  %s\n",
              sizeof(T) == 4 ? "float32" : "float64", (long long)d.batch,
              (long long)d.timesteps, (long long)d.input_dim, (long long)d.units, padded, h0,
              backwards, sequences, worst_name.c_str(), worst, ok ? "ok" : "FAIL");
  return ok;
}

// Weights changed in place between calls must be re-uploaded (content digest), and
// the device-pointer path used by the benchmark must agree with the host path.
template <typename T>
void check_cache_and_device_path() {
  const rgru::GruDims d{5, 9, 4, 6};
  Problem<T> p = gpu_check::make_problem<T>(d, true, true, false, true, 77);
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
  run_gpu(p, rgru::cuda::Options{});
  for (auto& k : p.kernel) k = static_cast<T>(k * 0.5);
  const Result<T> gpu = run_gpu(p, rgru::cuda::Options{});
  const Result<T> cpu = gpu_check::run_cpu(p);
  std::string name = "-";
  double worst = 0.0;
  compare("sequence after weight change", gpu.sequence, cpu.sequence, tol, name, worst);
  compare("d_kernel after weight change", gpu.d_kernel, cpu.d_kernel, tol, name, worst);

  // DeviceCall: the same problem from device memory.
  rgru::cuda::DeviceCall<T> call(d, p.config, rgru::cuda::Options{}, p.lengths);
  call.set_weights(p.weights());
  auto upload = [](const std::vector<T>& v) {
    void* ptr = nullptr;
    if (cudaMalloc(&ptr, v.size() * sizeof(T) + 1) != cudaSuccess) throw std::bad_alloc();
    cudaMemcpy(ptr, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice);
    return static_cast<T*>(ptr);
  };
  auto download = [](const T* ptr, std::size_t n) {
    std::vector<T> v(n);
    cudaMemcpy(v.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost);
    return v;
  };
  T* x = upload(p.x);
  T* h0 = upload(p.initial_state);
  T* seq = upload(std::vector<T>(cpu.sequence.size()));
  T* fin = upload(std::vector<T>(cpu.final_state.size()));
  T* dseq = upload(p.d_sequence);
  T* dfin = upload(p.d_final_state);
  T* dx = upload(std::vector<T>(cpu.d_x.size()));
  T* dh0 = upload(std::vector<T>(cpu.d_initial_state.size()));
  T* dw = upload(std::vector<T>(call.weight_elements()));
  // cudaMemcpy runs on the legacy default stream, which the engine's non-blocking stream
  // does not wait for: the uploads must be complete before the engine reads them.
  if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error("upload failed");
  call.forward(x, h0, seq, fin, true);
  call.backward(dseq, dfin, dx, dh0, dw);
  call.synchronize();
  std::vector<T> dk(cpu.d_kernel.size()), drk(cpu.d_recurrent_kernel.size()),
      dib(cpu.d_input_bias.size()), drb(cpu.d_recurrent_bias.size());
  call.gradients_to_keras(dw, dk.data(), drk.data(), dib.data(), drb.data());
  compare("device sequence", download(seq, cpu.sequence.size()), cpu.sequence, tol, name, worst);
  compare("device final_state", download(fin, cpu.final_state.size()), cpu.final_state, tol,
          name, worst);
  compare("device d_x", download(dx, cpu.d_x.size()), cpu.d_x, tol, name, worst);
  compare("device d_initial_state", download(dh0, cpu.d_initial_state.size()),
          cpu.d_initial_state, tol, name, worst);
  compare("device d_kernel", dk, cpu.d_kernel, tol, name, worst);
  compare("device d_recurrent_kernel", drk, cpu.d_recurrent_kernel, tol, name, worst);
  compare("device d_input_bias", dib, cpu.d_input_bias, tol, name, worst);
  compare("device d_recurrent_bias", drb, cpu.d_recurrent_bias, tol, name, worst);
  for (T* ptr : {x, h0, seq, fin, dseq, dfin, dx, dh0, dw}) cudaFree(ptr);
  std::printf("%-7s weight re-upload and device-pointer path: worst %s %.2e  %s\n",
              sizeof(T) == 4 ? "float32" : "float64", name.c_str(), worst,
              worst <= tol ? "ok" : "FAIL");
}

const char* type_name(std::size_t bytes) { return bytes == 4 ? "float32" : "float64"; }

void report(const char* type, const char* what, const std::string& worst_name, double worst,
            double tol) {
  std::printf("%-7s %-52s worst %-18s %.2e  %s\n", type, what, worst_name.c_str(), worst,
              worst <= tol ? "ok" : "FAIL");
}

// Only the sequence, or only the final state, has a gradient (cuDNN then gets a zero
// dhy or dy); and a second backward through the same tape.
template <typename T>
void check_partial_gradients_and_replay() {
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
  const rgru::GruDims d{6, 11, 5, 7};
  for (int which = 0; which < 2; ++which) {
    Problem<T> p = gpu_check::make_problem<T>(d, true, true, false, true, 300 + which);
    if (which == 0) p.d_final_state.clear(); else p.d_sequence.clear();
    auto null_missing = [&](Result<T>& r) {
      rgru::GruGradients<T> g = r.gradients(p);
      if (p.d_final_state.empty()) g.d_final_state = nullptr;
      return g;
    };
    Result<T> cpu(p.dims, true), gpu(p.dims, true);
    rgru::GruTape<T> cpu_tape;
    rgru::gru_forward<T>(p.dims, p.config, p.weights(), p.inputs(), cpu.outputs(), &cpu_tape);
    rgru::gru_backward<T>(cpu_tape, null_missing(cpu));
    auto& engine = rgru::cuda::Engine::instance();
    const auto w = p.weights();
    auto tape = engine.forward<T>(p.dims, p.config, rgru::cuda::Options{}, w,
                                  rgru::cuda::weights_key(p.dims, w), p.inputs(), gpu.outputs(),
                                  true);
    std::string name = "-";
    double worst = 0.0;
    for (int pass = 0; pass < 2; ++pass) {
      rgru::cuda::Engine::backward<T>(*tape, null_missing(gpu));
      compare("d_x", gpu.d_x, cpu.d_x, tol, name, worst);
      compare("d_initial_state", gpu.d_initial_state, cpu.d_initial_state, tol, name, worst);
      compare("d_kernel", gpu.d_kernel, cpu.d_kernel, tol, name, worst);
      compare("d_recurrent_kernel", gpu.d_recurrent_kernel, cpu.d_recurrent_kernel, tol, name,
              worst);
      compare("d_recurrent_bias", gpu.d_recurrent_bias, cpu.d_recurrent_bias, tol, name, worst);
    }
    report(type_name(sizeof(T)),
           which == 0 ? "d_final_state = NULL (zero dhy), two backwards"
                      : "d_sequence = NULL (zero dy), two backwards",
           name, worst, tol);
  }
}

// Inference mode (no tape) against the CPU as the batch, length and mask change between
// calls, as predict() and evaluate() make them.
template <typename T>
void check_inference_sequence() {
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
  const rgru::GruDims shapes[] = {{4, 9, 3, 8}, {17, 3, 3, 8}, {4, 9, 3, 8}, {1, 30, 3, 8},
                                  {33, 12, 3, 8}};
  std::string name = "-";
  double worst = 0.0;
  std::uint64_t seed = 500;
  for (const auto& d : shapes) {
    for (int padded = 0; padded < 2; ++padded) {
      const Problem<T> p = gpu_check::make_problem<T>(d, padded, padded, false, true, seed++);
      Result<T> cpu(p.dims, true), gpu(p.dims, true);
      rgru::gru_forward<T>(p.dims, p.config, p.weights(), p.inputs(), cpu.outputs(), nullptr);
      const auto w = p.weights();
      auto tape = rgru::cuda::Engine::instance().forward<T>(
          p.dims, p.config, rgru::cuda::Options{}, w, rgru::cuda::weights_key(p.dims, w),
          p.inputs(), gpu.outputs(), false);
      if (tape) ++failures;  // inference keeps no tape
      compare("sequence", gpu.sequence, cpu.sequence, tol, name, worst);
      compare("final_state", gpu.final_state, cpu.final_state, tol, name, worst);
    }
  }
  report(type_name(sizeof(T)), "inference mode, shapes and masks changing", name, worst, tol);
}

// Each algorithm with and without a mask (a mask always runs the standard one); a
// persistent kernel the GPU lacks is reported as refused, not as a failure.
template <typename T>
void check_algorithms() {
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
  for (const char* algo :
       {"auto", "standard", "persist_static", "persist_dynamic", "persist_static_small_h"}) {
    for (int padded = 0; padded < 2; ++padded) {
      const rgru::GruDims d{8, 10, 16, 32};
      const Problem<T> p = gpu_check::make_problem<T>(d, padded, true, false, true, 600);
      const Result<T> cpu = gpu_check::run_cpu(p);
      rgru::cuda::Options o;
      o.algorithm = rgru::cuda::algorithm_from_name(algo);
      std::string what = std::string("algorithm ") + algo + (padded ? ", mask" : ", no mask");
      try {
        const Result<T> gpu = run_gpu(p, o);
        std::string name = "-";
        double worst = 0.0;
        compare("sequence", gpu.sequence, cpu.sequence, tol, name, worst);
        compare("d_x", gpu.d_x, cpu.d_x, tol, name, worst);
        compare("d_kernel", gpu.d_kernel, cpu.d_kernel, tol, name, worst);
        compare("d_recurrent_kernel", gpu.d_recurrent_kernel, cpu.d_recurrent_kernel, tol, name,
                worst);
        report(type_name(sizeof(T)), what.c_str(), name, worst, tol);
      } catch (const std::exception& e) {
        const bool refused = std::string(e.what()).find("NOT_SUPPORTED") != std::string::npos;
        if (!refused) ++failures;
        std::printf("%-7s %-52s %s: %s\n", type_name(sizeof(T)), what.c_str(),
                    refused ? "refused by cuDNN" : "FAIL", e.what());
      }
    }
  }
}

// Keras's cuDNN dropout: x times the (batch, features) keep mask, then cuDNN, against the
// CPU engine's own input dropout; d_x is cuDNN's times the mask.
template <typename T>
void check_input_dropout() {
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
  const rgru::GruDims d{5, 8, 6, 7};
  Problem<T> p = gpu_check::make_problem<T>(d, true, true, false, true, 700);
  std::mt19937_64 rng(701);
  std::bernoulli_distribution keep(0.7);
  std::vector<T> mask(d.batch * d.input_dim);
  for (auto& m : mask) m = keep(rng) ? static_cast<T>(1 / 0.7) : T(0);
  Result<T> cpu(p.dims, true);
  rgru::GruTape<T> tape;
  rgru::GruInputs<T> in = p.inputs();
  in.input_dropout = mask.data();
  rgru::gru_forward<T>(p.dims, p.config, p.weights(), in, cpu.outputs(), &tape);
  rgru::gru_backward<T>(tape, cpu.gradients(p));
  Problem<T> masked = p;
  for (index_t b = 0; b < d.batch; ++b)
    for (index_t t = 0; t < d.timesteps; ++t)
      for (index_t f = 0; f < d.input_dim; ++f)
        masked.x[b + d.batch * (t + d.timesteps * f)] *= mask[b + d.batch * f];
  Result<T> gpu = run_gpu(masked, rgru::cuda::Options{});
  for (index_t b = 0; b < d.batch; ++b)
    for (index_t t = 0; t < d.timesteps; ++t)
      for (index_t f = 0; f < d.input_dim; ++f)
        gpu.d_x[b + d.batch * (t + d.timesteps * f)] *= mask[b + d.batch * f];
  std::string name = "-";
  double worst = 0.0;
  compare("sequence", gpu.sequence, cpu.sequence, tol, name, worst);
  compare("d_x", gpu.d_x, cpu.d_x, tol, name, worst);
  compare("d_kernel", gpu.d_kernel, cpu.d_kernel, tol, name, worst);
  report(type_name(sizeof(T)), "input dropout applied to x before cuDNN", name, worst, tol);
}

// Ctrl-C during a long call: the wait goes on until the stream is idle, then the call
// throws `interrupted`; the engine gives the same results on the next call.
template <typename T>
void check_interrupted_wait() {
  // Long enough to outlast the first interrupt check (50 ms); only the final state is
  // returned, so the host buffers stay small.
  const rgru::GruDims d{64, 4000, 128, 512};
  const Problem<T> p = gpu_check::make_problem<T>(d, false, true, false, false, 900);
  const auto w = p.weights();
  Result<T> r(p.dims, false);
  interrupt_now = true;
  const int asked_before = interrupt_checks.load();
  const auto start = std::chrono::steady_clock::now();
  bool interrupted = false;
  try {
    rgru::cuda::Engine::instance().forward<T>(p.dims, p.config, rgru::cuda::Options{}, w,
                                              rgru::cuda::weights_key(p.dims, w), p.inputs(),
                                              r.outputs(), false);
  } catch (const rgru::cuda::interrupted&) {
    interrupted = true;
  }
  interrupt_now = false;
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start).count();
  // The wait went on until the stream was idle: nothing of the call is still running.
  const bool idle = cudaDeviceSynchronize() == cudaSuccess;
  const bool asked = interrupt_checks.load() > asked_before;
  ++checks;
  if (asked != interrupted || !idle) ++failures;
  std::printf("%-7s %-52s %s (%.0f ms; %s)\n", type_name(sizeof(T)),
              "interrupted wait (B=64 T=4000 I=128 U=512)",
              asked == interrupted && idle ? "ok" : "FAIL", ms,
              interrupted ? "interrupt honoured once the stream was idle"
                          : "the call ended before the first interrupt check");
  check_case<T>({4, 9, 5, 6}, true, true, false, true, 901);  // the engine goes on working
}

// How far TF32 takes float32 from the CPU (reported, not judged: it is opt-in).
void report_tf32_error() {
  const rgru::GruDims d{64, 50, 256, 256};
  const Problem<float> p = gpu_check::make_problem<float>(d, false, true, false, true, 800);
  const Result<float> cpu = gpu_check::run_cpu(p);
  rgru::cuda::Options o;
  o.allow_tf32 = true;
  const Result<float> gpu = run_gpu(p, o);
  std::printf("float32 TF32 allowed (B=64 T=50 I=256 U=256): sequence %.2e, d_kernel %.2e "
              "relative to the CPU (FMA float32 is within 1e-4)\n",
              relative_error(gpu.sequence, cpu.sequence),
              relative_error(gpu.d_kernel, cpu.d_kernel));
}

template <typename T>
void run_grid() {
  const rgru::GruDims shapes[] = {
      {1, 1, 1, 1}, {2, 3, 1, 2}, {3, 7, 5, 4}, {16, 12, 8, 32}, {7, 33, 32, 64},
      {32, 50, 64, 128}, {64, 20, 100, 256},
  };
  std::uint64_t seed = 1;
  for (const auto& d : shapes) {
    for (int variant = 0; variant < 8; ++variant) {
      const bool padded = variant & 1, h0 = variant & 2, backwards = variant & 4;
      check_case<T>(d, padded, h0, backwards, true, seed++);
    }
    check_case<T>(d, true, true, false, false, seed++);  // return_sequences = FALSE
    check_case<T>(d, true, false, true, false, seed++);
  }
  check_cache_and_device_path<T>();
  check_partial_gradients_and_replay<T>();
  check_inference_sequence<T>();
  check_algorithms<T>();
  check_input_dropout<T>();
  check_interrupted_wait<T>();
}

}  // namespace

// --quick: one small case of each path, for compute-sanitizer (make memcheck).
int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const rgru::cuda::RuntimeInfo info = rgru::cuda::runtime_info();
  std::printf("CUDA runtime %s (driver %s), cuDNN %s; GPUs: %d%s%s\n",
              rgru::cuda::format_cuda_version(info.runtime_loaded).c_str(),
              rgru::cuda::format_cuda_version(info.driver_version).c_str(),
              rgru::cuda::format_cudnn_version(info.cudnn_loaded).c_str(), info.gpu_count,
              info.gpu_count > 0 ? " " : "", info.gpu_count > 0 ? info.gpu_names[0].c_str() : "");
  if (info.gpu_count == 0) {
    std::printf("no GPU visible (%s): nothing to check\n", info.error.c_str());
    return 2;
  }
  rgru::cuda::set_interrupt_check(interrupt_check);
  try {
    if (quick) {
      check_case<float>({3, 5, 4, 6}, true, true, false, true, 1);
      check_partial_gradients_and_replay<float>();
      check_inference_sequence<float>();
      check_input_dropout<float>();
    } else {
      run_grid<double>();
      run_grid<float>();
      report_tf32_error();
    }
  } catch (const std::exception& e) {
    std::printf("ERROR: %s\n", e.what());
    return 1;
  }
  std::printf("gpu_parity: %d of %d comparisons within tolerance, %d failed; the waits "
              "asked about interrupts %d times\n",
              checks - failures, checks, failures, interrupt_checks.load());
  return failures == 0 ? 0 : 1;
}
