#include "cuda_check.hpp"

#include <cstdio>

namespace rgru {
namespace cuda {

std::string format_bytes(std::size_t bytes) {
  char buf[64];
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  std::snprintf(buf, sizeof(buf), "%zu bytes (%.1f MiB)", bytes, mib);
  return buf;
}

void throw_cuda(cudaError_t status, const char* call, const char* what) {
  std::string msg = std::string("CUDA error in ") + call + ": " + cudaGetErrorName(status) +
                    " (" + cudaGetErrorString(status) + ")";
  if (what != nullptr) msg += what;
  // Reset the runtime's last-error slot so a later check does not report this failure.
  cudaGetLastError();
  if (status == cudaErrorMemoryAllocation) throw out_of_memory(msg);
  throw error(msg);
}

void throw_cudnn(cudnnStatus_t status, const char* call) {
  std::string msg = std::string("cuDNN error in ") + call + ": " + cudnnGetErrorString(status);
#if CUDNN_MAJOR >= 9
  char detail[1024] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));
  if (detail[0] != '\0') msg += std::string(" (") + detail + ")";
#endif
  if (status == CUDNN_STATUS_ALLOC_FAILED) throw out_of_memory(msg);
  throw error(msg);
}

namespace {
template <typename Owner, typename Handle>
Owner create_with(cudnnStatus_t (*create)(Handle*), const char* call) {
  Handle h = nullptr;
  check_cudnn(create(&h), call);
  return Owner(h);
}
}  // namespace

CudnnHandle make_cudnn_handle() {
  return create_with<CudnnHandle>(cudnnCreate, "cudnnCreate");
}
RnnDescriptor make_rnn_descriptor() {
  return create_with<RnnDescriptor>(cudnnCreateRNNDescriptor, "cudnnCreateRNNDescriptor");
}
RnnDataDescriptor make_rnn_data_descriptor() {
  return create_with<RnnDataDescriptor>(cudnnCreateRNNDataDescriptor,
                                        "cudnnCreateRNNDataDescriptor");
}
TensorDescriptor make_tensor_descriptor() {
  return create_with<TensorDescriptor>(cudnnCreateTensorDescriptor,
                                       "cudnnCreateTensorDescriptor");
}
DropoutDescriptor make_dropout_descriptor() {
  return create_with<DropoutDescriptor>(cudnnCreateDropoutDescriptor,
                                        "cudnnCreateDropoutDescriptor");
}

Stream::Stream() { RGRU_CUDA(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }

Stream::~Stream() {
  if (s_ != nullptr) cudaStreamDestroy(s_);
}

void Stream::synchronize() const { RGRU_CUDA(cudaStreamSynchronize(s_)); }

DeviceBuffer::DeviceBuffer(std::size_t bytes, const char* purpose) { reserve(bytes, purpose); }

void DeviceBuffer::reserve(std::size_t bytes, const char* purpose) {
  if (bytes <= bytes_) return;
  release();
  if (bytes == 0) return;
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status != cudaSuccess) {
    std::string what = std::string("; asked for ") + format_bytes(bytes) + " for " + purpose;
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      std::size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
        what += "; the GPU has " + format_bytes(free_bytes) + " free of " +
                format_bytes(total_bytes);
      }
    }
    throw_cuda(status, "cudaMalloc", what.c_str());
  }
  p_ = p;
  bytes_ = bytes;
}

void DeviceBuffer::release() {
  if (p_ != nullptr) cudaFree(p_);
  p_ = nullptr;
  bytes_ = 0;
}

}  // namespace cuda
}  // namespace rgru
