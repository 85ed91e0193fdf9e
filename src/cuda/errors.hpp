// The cuDNN backend's failures and its device memory, as the R glue sees them (no CUDA
// headers: the glue is compiled as plain C++).
#ifndef RGRU_CUDA_ERRORS_HPP
#define RGRU_CUDA_ERRORS_HPP

#include "device_pool.hpp"
#include "stream_wait.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace rgru {
namespace cuda {

// `status` is the library's name for the failure ("CUDNN_STATUS_NOT_SUPPORTED",
// "cudaErrorNoKernelImageForDevice"): R decides from it whether to fall back to the CPU
// engine (R/cudnn.R's cudnn_failure_action()).
struct error : std::runtime_error {
  error(const std::string& message, std::string status_name = "")
      : std::runtime_error(message), status(std::move(status_name)) {}
  std::string status;
};

// Out of device memory inside a library call (cuDNN's own allocations).
struct out_of_memory : error {
  using error::error;
};

// The caching pool of a device (created on first use, never destroyed: CUDA may be torn
// down before static destructors run), and emptying every pool (rgru_cuda_empty_cache()
// and the package's unload); returns the bytes freed.
DevicePool& device_pool(int device);
std::size_t empty_device_caches();
// Bytes in use and cached over all pools, and how many cudaMalloc calls they took.
DevicePool::Stats device_pool_totals();

// Page-locked host memory for staging R's arrays: copies from and to it run
// asynchronously at full bus speed (pageable memory is staged by the driver in chunks).
// Blocks come from a pool (cudaHostAlloc costs milliseconds) emptied with the device
// pools. Used only while the engine's stream is synchronised before the block is freed.
void* pinned_allocate(std::size_t bytes);
void pinned_free(void* p) noexcept;

// The check every wait for the GPU (Stream::synchronize()) makes for a user interrupt:
// the R glue sets R's; with none (the default) waits are plain synchronisations.
void set_interrupt_check(InterruptCheck check);

// A std::vector allocator on pinned_allocate().
template <typename T>
struct PinnedAllocator {
  using value_type = T;
  PinnedAllocator() = default;
  template <typename U>
  PinnedAllocator(const PinnedAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(pinned_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { pinned_free(p); }
  template <typename U>
  bool operator==(const PinnedAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const PinnedAllocator<U>&) const { return false; }
};

}  // namespace cuda
}  // namespace rgru

#endif  // RGRU_CUDA_ERRORS_HPP
