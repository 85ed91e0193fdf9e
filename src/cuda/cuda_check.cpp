#include "cuda_check.hpp"

#include "stream_wait.hpp"

#include <atomic>
#include <cstdio>
#include <map>

namespace rgru {
namespace cuda {

std::string format_bytes(std::size_t bytes) { return format_byte_count(bytes); }

void throw_cuda(cudaError_t status, const char* call, const char* what) {
  std::string msg = std::string("CUDA error in ") + call + ": " + cudaGetErrorName(status) +
                    " (" + cudaGetErrorString(status) + ")";
  if (what != nullptr) msg += what;
  // Reset the runtime's last-error slot so a later check does not report this failure.
  cudaGetLastError();
  if (status == cudaErrorMemoryAllocation) throw out_of_memory(msg, cudaGetErrorName(status));
  throw error(msg, cudaGetErrorName(status));
}

void throw_cudnn(cudnnStatus_t status, const char* call) {
  std::string msg = std::string("cuDNN error in ") + call + ": " + cudnnGetErrorString(status);
#if CUDNN_MAJOR >= 9
  char detail[1024] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));
  if (detail[0] != '\0') msg += std::string(" (") + detail + ")";
#endif
  if (status == CUDNN_STATUS_ALLOC_FAILED) throw out_of_memory(msg, cudnnGetErrorString(status));
  throw error(msg, cudnnGetErrorString(status));
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

namespace {
std::atomic<InterruptCheck> interrupt_check{nullptr};
}  // namespace

void set_interrupt_check(InterruptCheck check) { interrupt_check.store(check); }

void Stream::synchronize() const {
  const InterruptCheck check = interrupt_check.load();
  if (check == nullptr) {
    RGRU_CUDA(cudaStreamSynchronize(s_));
    return;
  }
  auto idle = [this] {
    const cudaError_t status = cudaStreamQuery(s_);
    if (status == cudaSuccess) return true;
    if (status != cudaErrorNotReady) throw_cuda(status, "cudaStreamQuery");
    cudaGetLastError();  // "not ready" is an answer, not a failure to remember
    return false;
  };
  if (wait_until_done(idle, check)) throw interrupted();
}

namespace {

// cudaMalloc/cudaFree on the device that is current when they run (the engine binds its
// device around every call).
class CudaDeviceLayer : public DeviceLayer {
 public:
  void* allocate(std::size_t bytes) override {
    void* p = nullptr;
    const cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    if (status != cudaSuccess) throw_cuda(status, "cudaMalloc");
    return p;
  }
  void deallocate(void* p) override { cudaFree(p); }
  std::pair<std::size_t, std::size_t> memory_info() override {
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
      cudaGetLastError();
      return {0, 0};
    }
    return {free_bytes, total_bytes};
  }
};

class PinnedHostLayer : public DeviceLayer {
 public:
  void* allocate(std::size_t bytes) override {
    void* p = nullptr;
    const cudaError_t status = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    if (status != cudaSuccess) throw_cuda(status, "cudaHostAlloc");
    return p;
  }
  void deallocate(void* p) override { cudaFreeHost(p); }
};

struct Pools {
  CudaDeviceLayer layer;
  std::map<int, DevicePool*> by_device;
  PinnedHostLayer pinned_layer;
  DevicePool pinned{pinned_layer};
};

Pools& pools() {
  static Pools* p = new Pools();
  return *p;
}

}  // namespace

DevicePool& device_pool(int device) {
  Pools& p = pools();
  auto it = p.by_device.find(device);
  if (it != p.by_device.end()) return *it->second;
  DevicePool* pool = new DevicePool(p.layer);
  p.by_device.emplace(device, pool);
  return *pool;
}

std::size_t empty_device_caches() {
  std::size_t freed = 0;
  int previous = -1;
  if (cudaGetDevice(&previous) != cudaSuccess) {
    cudaGetLastError();
    previous = -1;
  }
  for (auto& entry : pools().by_device) {
    if (cudaSetDevice(entry.first) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    freed += entry.second->empty_cache();
  }
  if (previous >= 0) cudaSetDevice(previous);
  return freed + pools().pinned.empty_cache();
}

void* pinned_allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  return pools().pinned.acquire(bytes, "pinned host staging");
}

void pinned_free(void* p) noexcept { pools().pinned.give_back(p); }

DevicePool::Stats device_pool_totals() {
  DevicePool::Stats total;
  for (auto& entry : pools().by_device) {
    const DevicePool::Stats& s = entry.second->stats();
    total.bytes_in_use += s.bytes_in_use;
    total.bytes_cached += s.bytes_cached;
    total.device_allocations += s.device_allocations;
    total.device_frees += s.device_frees;
    total.reuses += s.reuses;
    total.oom_retries += s.oom_retries;
  }
  return total;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes, const char* purpose) { reserve(bytes, purpose); }

void DeviceBuffer::reserve(std::size_t bytes, const char* purpose) {
  if (bytes <= bytes_) return;
  release();
  if (bytes == 0) return;
  int device = 0;
  RGRU_CUDA(cudaGetDevice(&device));
  DevicePool& pool = device_pool(device);
  p_ = pool.acquire(bytes, purpose);
  pool_ = &pool;
  bytes_ = bytes;
}

void DeviceBuffer::release() {
  if (pool_ != nullptr) pool_->give_back(p_);
  p_ = nullptr;
  bytes_ = 0;
  pool_ = nullptr;
}

}  // namespace cuda
}  // namespace rgru
