// A small caching allocator for device memory, written against a two-function device
// layer so that its bookkeeping is tested without a GPU (tools/cpp-tests/device_pool_check.cpp
// drives it with a fake layer). No CUDA headers here.
//
// Why: cudaMalloc and cudaFree synchronise the device and cost tens of microseconds; a
// training step allocates a dozen buffers. Blocks given back are kept, keyed by size, and
// handed out again to a request they fit without wasting more than half of them.
// Everything that uses one pool runs on one stream (the engine's), so a block given back
// after its last use is safe to hand out at once: the stream orders the new use after
// the old one.
#ifndef RGRU_CUDA_DEVICE_POOL_HPP
#define RGRU_CUDA_DEVICE_POOL_HPP

#include <cstddef>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace rgru {
namespace cuda {

// What the pool needs from a device: raw allocation (nullptr when out of memory, any
// other failure thrown) and release.
class DeviceLayer {
 public:
  virtual ~DeviceLayer() = default;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* p) = 0;
  // Free and total bytes, for the out-of-memory message; {0, 0} when unknown.
  virtual std::pair<std::size_t, std::size_t> memory_info() { return {0, 0}; }
};

// Out of device memory even after the cache was emptied: says how much was asked for.
class device_out_of_memory : public std::runtime_error {
 public:
  device_out_of_memory(const std::string& message, std::size_t requested)
      : std::runtime_error(message), requested_(requested) {}
  std::size_t requested() const { return requested_; }

 private:
  std::size_t requested_;
};

inline std::string format_byte_count(std::size_t bytes) {
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%zu bytes (%.1f MiB)", bytes, mib);
  return buf;
}

class DevicePool {
 public:
  struct Stats {
    std::size_t bytes_in_use = 0;
    std::size_t bytes_cached = 0;
    std::size_t device_allocations = 0;  // calls to the layer's allocate that succeeded
    std::size_t device_frees = 0;
    std::size_t reuses = 0;               // requests served from the cache
    std::size_t oom_retries = 0;          // allocations retried after emptying the cache
  };

  // Requests are rounded up to this, so near sizes share blocks.
  static constexpr std::size_t kGranule = 512;

  explicit DevicePool(DeviceLayer& layer) : layer_(layer) {}
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;
  // Blocks still in use are the owners' to give back; the cache is freed here.
  ~DevicePool() { empty_cache(); }

  static std::size_t rounded(std::size_t bytes) {
    return (bytes + kGranule - 1) / kGranule * kGranule;
  }

  // A block of at least `bytes` (0 gives nullptr). `purpose` names it in errors.
  void* acquire(std::size_t bytes, const char* purpose) {
    if (bytes == 0) return nullptr;
    const std::size_t size = rounded(bytes);
    // The smallest cached block that fits, unless it would waste more than half.
    auto fit = free_.lower_bound(size);
    if (fit != free_.end() && fit->first <= 2 * size) {
      void* p = fit->second;
      const std::size_t block = fit->first;
      free_.erase(fit);
      stats_.bytes_cached -= block;
      stats_.bytes_in_use += block;
      stats_.reuses++;
      in_use_.emplace(p, block);
      return p;
    }
    void* p = layer_.allocate(size);
    if (p == nullptr && !free_.empty()) {
      // As PyTorch does: what we cache may be what the device lacks.
      stats_.oom_retries++;
      empty_cache();
      p = layer_.allocate(size);
    }
    if (p == nullptr) {
      std::string message = "Out of GPU memory: asked for " + format_byte_count(size) +
                            " for " + purpose;
      const auto info = layer_.memory_info();
      if (info.second > 0) {
        message += "; the GPU has " + format_byte_count(info.first) + " free of " +
                   format_byte_count(info.second);
      }
      throw device_out_of_memory(message + ".", size);
    }
    stats_.device_allocations++;
    stats_.bytes_in_use += size;
    in_use_.emplace(p, size);
    return p;
  }

  // Back into the cache (nullptr and unknown pointers are ignored: never throws).
  void give_back(void* p) noexcept {
    if (p == nullptr) return;
    auto it = in_use_.find(p);
    if (it == in_use_.end()) return;
    const std::size_t size = it->second;
    in_use_.erase(it);
    stats_.bytes_in_use -= size;
    stats_.bytes_cached += size;
    free_.emplace(size, p);
  }

  // Frees every cached block; blocks in use stay.
  std::size_t empty_cache() noexcept {
    std::size_t freed = 0;
    for (auto& block : free_) {
      layer_.deallocate(block.second);
      stats_.device_frees++;
      freed += block.first;
    }
    free_.clear();
    stats_.bytes_cached = 0;
    return freed;
  }

  const Stats& stats() const { return stats_; }

 private:
  DeviceLayer& layer_;
  std::multimap<std::size_t, void*> free_;
  std::unordered_map<void*, std::size_t> in_use_;
  Stats stats_;
};

}  // namespace cuda
}  // namespace rgru

#endif  // RGRU_CUDA_DEVICE_POOL_HPP
