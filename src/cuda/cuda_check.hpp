// CUDA/cuDNN status checking and RAII owners for every handle and buffer.
//
// Every failing status becomes an rgru::cuda::error (a std::runtime_error) carrying
// the failing call and the library's own message; the R glue turns it into an R
// error. Destructors never throw: a failure while releasing is ignored because there
// is nothing better to do with it.
#ifndef RGRU_CUDA_CUDA_CHECK_HPP
#define RGRU_CUDA_CUDA_CHECK_HPP

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "errors.hpp"
#include "stream_wait.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace rgru {
namespace cuda {

std::string format_bytes(std::size_t bytes);

[[noreturn]] void throw_cuda(cudaError_t status, const char* call, const char* what = nullptr);
[[noreturn]] void throw_cudnn(cudnnStatus_t status, const char* call);

inline void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw_cuda(status, call);
}

inline void check_cudnn(cudnnStatus_t status, const char* call) {
  if (status != CUDNN_STATUS_SUCCESS) throw_cudnn(status, call);
}

#define RGRU_CUDA(call) ::rgru::cuda::check_cuda((call), #call)
#define RGRU_CUDNN(call) ::rgru::cuda::check_cudnn((call), #call)

// A move-only owner of a cuDNN descriptor or handle.
template <typename Handle, cudnnStatus_t (*Destroy)(Handle)>
class Owned {
 public:
  Owned() = default;
  explicit Owned(Handle h) : h_(h) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  Owned(Owned&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Owned& operator=(Owned&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~Owned() { reset(); }
  Handle get() const { return h_; }
  void reset() {
    if (h_ != nullptr) Destroy(h_);
    h_ = nullptr;
  }

 private:
  Handle h_ = nullptr;
};

using CudnnHandle = Owned<cudnnHandle_t, cudnnDestroy>;
using RnnDescriptor = Owned<cudnnRNNDescriptor_t, cudnnDestroyRNNDescriptor>;
using RnnDataDescriptor = Owned<cudnnRNNDataDescriptor_t, cudnnDestroyRNNDataDescriptor>;
using TensorDescriptor = Owned<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using DropoutDescriptor = Owned<cudnnDropoutDescriptor_t, cudnnDestroyDropoutDescriptor>;

CudnnHandle make_cudnn_handle();
RnnDescriptor make_rnn_descriptor();
RnnDataDescriptor make_rnn_data_descriptor();
TensorDescriptor make_tensor_descriptor();
DropoutDescriptor make_dropout_descriptor();

// A CUDA stream owned by us. synchronize() throws `interrupted`, after the stream is idle,
// when the interrupt check said yes while it waited.
class Stream {
 public:
  Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream();
  cudaStream_t get() const { return s_; }
  void synchronize() const;

 private:
  cudaStream_t s_ = nullptr;
};

// Device memory from the current device's pool. Allocation failures throw
// device_out_of_memory naming the size and purpose.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::size_t bytes, const char* purpose);
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)),
        bytes_(std::exchange(o.bytes_, 0)),
        pool_(std::exchange(o.pool_, nullptr)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
      pool_ = std::exchange(o.pool_, nullptr);
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  void* get() const { return p_; }
  template <typename T>
  T* as() const { return static_cast<T*>(p_); }
  std::size_t bytes() const { return bytes_; }
  // Grows (never shrinks) to at least `bytes`; contents are not kept.
  void reserve(std::size_t bytes, const char* purpose);
  // Back to the pool (the memory stays cached on the device).
  void release();

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
  DevicePool* pool_ = nullptr;
};

}  // namespace cuda
}  // namespace rgru

#endif  // RGRU_CUDA_CUDA_CHECK_HPP
