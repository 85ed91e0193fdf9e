// The cuDNN GRU backend behind a plain C++ interface (no R, no CUDA types), so the R
// glue and the R-free tools/gpu-check harness drive the same code.
//
// Host-memory calls take and return R layouts (see rgru/gru.hpp); the device-memory
// calls (DeviceCall) take the same layouts already on the GPU, which is what a
// benchmark against a framework holding its tensors on the device should time.
#ifndef RGRU_CUDA_CUDNN_GRU_HPP
#define RGRU_CUDA_CUDNN_GRU_HPP

#include <rgru/gru.hpp>

#include "algorithm_policy.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rgru {
namespace cuda {

struct RuntimeInfo {
  int runtime_compiled = 0;  // CUDART_VERSION, e.g. 13000
  int runtime_loaded = 0;    // cudaRuntimeGetVersion, 0 if unknown
  long cudnn_compiled = 0;   // CUDNN_VERSION, e.g. 91900
  long cudnn_loaded = 0;     // cudnnGetVersion()
  int driver_version = 0;    // cudaDriverGetVersion, 0 without a driver
  int gpu_count = 0;
  std::vector<std::string> gpu_names;
  std::string error;  // empty, or why the GPU query failed (then gpu_count is 0)
};

// Never throws and never needs a GPU or a driver.
RuntimeInfo runtime_info();

// Just the number of visible GPUs (cheap enough to ask before every call); on failure
// 0, with the reason in *why when given.
int visible_gpu_count(std::string* why = nullptr);

// "13.0" from 13000, "9.19.0" from 91900 (cuDNN 9 numbering: major*10000+minor*100+patch;
// cuDNN 8: major*1000+minor*100+patch).
std::string format_cuda_version(int version);
std::string format_cudnn_version(long version);

// "auto", "standard", "persist_static", "persist_dynamic", "persist_static_small_h".
AlgorithmRequest algorithm_from_name(const std::string& name);

struct Options {
  // TF32 tensor cores for float32 (faster, ~1e-3 relative error); off matches the CPU.
  bool allow_tf32 = false;
  AlgorithmRequest algorithm = AlgorithmRequest::automatic;
};

// How many times packed weights were copied to a device (process-wide): the test that an
// unchanged model is not uploaded again reads it.
std::size_t weight_upload_count();

class Tape;  // one call's device state: what backward needs (opaque)

// Digest of host weights for Engine::forward's weights_key (dims and type included), for
// callers without a version of their weights (R passes its weights' version counters).
template <typename T>
std::uint64_t weights_key(const GruDims& d, const GruWeights<T>& w);

class Engine {
 public:
  // The engine of a device (-1: the caller's current device); created on first use
  // (that is when CUDA initialises), and never destroyed, because CUDA may already be
  // torn down when static objects are. Every call binds the engine's device and gives
  // the caller's current device back on return.
  static Engine& instance(int device = -1);
  int device() const;

  // Whether weights under `weights_key` are on the device for this shape and options,
  // so forward() may be given null weight pointers (sparing the caller a conversion).
  // `mask` and `training` as the forward will be given them (they choose the plan).
  template <typename T>
  bool has_weights(const GruDims& d, const Options& o, std::uint64_t weights_key,
                   const int* mask, bool training);

  // Forward from host memory. `weights_key` identifies the weights' content (see
  // weights_key()); weights already on the device under that key are not re-uploaded,
  // and `w` may then hold null pointers.
  // With keep_tape a training-mode pass is run and its tape returned; else an
  // inference-mode pass keeps nothing (no reserve space; its buffers go back to the
  // pool) and nullptr is returned.
  template <typename T>
  std::shared_ptr<Tape> forward(const GruDims& d, const GruConfig& c, const Options& o,
                                const GruWeights<T>& w, std::uint64_t weights_key,
                                const GruInputs<T>& in, const GruOutputs<T>& out,
                                bool keep_tape);

  // Backward to host memory, on the tape's own engine. d_sequence / d_final_state may be
  // null (zero); every non-null output pointer of g is written. A tape can be used more
  // than once (a second backward reruns the forward: cuDNN's backward overwrites the
  // reserve space).
  template <typename T>
  static void backward(Tape& tape, const GruGradients<T>& g);

  // Drops cached weights, descriptors and workspace (live tapes keep their own); the
  // memory goes back to the device pool (empty_device_caches() frees it).
  void release_caches();

  struct Impl;
  Impl& impl() { return *impl_; }

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

 private:
  explicit Engine(int device);
  ~Engine();
  std::unique_ptr<Impl> impl_;
};

// release_caches() on every device's engine.
void release_engine_caches();

// Forward and backward on device-resident data in R layouts, reusing one set of
// buffers: what a benchmark against a framework holding its tensors on the GPU times.
template <typename T>
class DeviceCall {
 public:
  // `lengths`: per-sample valid steps (right-padded mask); empty means all timesteps.
  DeviceCall(const GruDims& d, const GruConfig& c, const Options& o, std::vector<int> lengths);
  ~DeviceCall();
  void set_weights(const GruWeights<T>& host_weights);
  // Device pointers; initial_state and sequence may be null.
  void forward(const T* x, const T* initial_state, T* sequence, T* final_state, bool training);
  // Device pointers; d_sequence/d_final_state may be null. d_weights receives the
  // weight gradient in cuDNN's layout (weight_elements() long); see gradients_to_keras.
  void backward(const T* d_sequence, const T* d_final_state, T* d_x, T* d_initial_state,
                T* d_weights);
  std::size_t weight_elements() const;
  // Weight gradient copied from the device, in Keras layout (null outputs skipped).
  void gradients_to_keras(const T* d_weights_device, T* d_kernel, T* d_recurrent_kernel,
                          T* d_input_bias, T* d_recurrent_bias) const;
  void synchronize() const;

 private:
  std::shared_ptr<Tape> tape_;
};

}  // namespace cuda
}  // namespace rgru

#endif  // RGRU_CUDA_CUDNN_GRU_HPP
