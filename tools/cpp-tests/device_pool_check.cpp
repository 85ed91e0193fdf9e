// The caching device allocator's bookkeeping (src/cuda/device_pool.hpp) on a fake device
// layer that hands out host memory up to a fixed capacity, so no GPU is needed. Prints
// one line per check; exits non-zero on failure.
#include "cuda/device_pool.hpp"

#include <cstdio>
#include <cstdlib>
#include <set>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) failures++;
}

// A device of `capacity` bytes; counts calls and catches double frees.
class FakeDevice : public rgru::cuda::DeviceLayer {
 public:
  explicit FakeDevice(std::size_t capacity) : capacity_(capacity) {}
  void* allocate(std::size_t bytes) override {
    allocate_calls++;
    if (used_ + bytes > capacity_) return nullptr;
    void* p = std::malloc(bytes);
    used_ += bytes;
    sizes_[p] = bytes;
    return p;
  }
  void deallocate(void* p) override {
    auto it = sizes_.find(p);
    if (it == sizes_.end()) {
      bad_frees++;
      return;
    }
    used_ -= it->second;
    sizes_.erase(it);
    std::free(p);
  }
  std::pair<std::size_t, std::size_t> memory_info() override {
    return {capacity_ - used_, capacity_};
  }
  std::size_t used() const { return used_; }
  std::size_t live() const { return sizes_.size(); }
  int allocate_calls = 0;
  int bad_frees = 0;

 private:
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::unordered_map<void*, std::size_t> sizes_;
};

}  // namespace

int main() {
  using rgru::cuda::DevicePool;
  {
    FakeDevice device(1 << 20);
    DevicePool pool(device);
    check(pool.acquire(0, "nothing") == nullptr && device.allocate_calls == 0,
          "a zero-byte request allocates nothing");
    void* a = pool.acquire(1000, "a");
    check(pool.stats().bytes_in_use == 1024 && device.used() == 1024,
          "requests are rounded up to the 512-byte granule");
    pool.give_back(a);
    check(pool.stats().bytes_in_use == 0 && pool.stats().bytes_cached == 1024 &&
              device.used() == 1024,
          "a block given back stays cached on the device");
    void* b = pool.acquire(900, "b");
    check(b == a && pool.stats().reuses == 1 && device.allocate_calls == 1,
          "a request the cached block fits reuses it without a device call");
    void* c = pool.acquire(100, "c");
    check(c != b && device.allocate_calls == 2,
          "a request a quarter of a cached block's size gets its own block");
    pool.give_back(b);
    pool.give_back(c);
    void* d = pool.acquire(400, "d");
    check(d == c, "the smallest cached block that fits is chosen");
    pool.give_back(d);
    pool.give_back(d);
    pool.give_back(nullptr);
    int stray = 0;
    pool.give_back(&stray);
    check(pool.stats().bytes_cached == 1536 && pool.stats().bytes_in_use == 0,
          "double, null and unknown give-backs are ignored");
    const std::size_t freed = pool.empty_cache();
    check(freed == 1536 && device.used() == 0 && device.live() == 0 &&
              pool.stats().device_frees == 2 && device.bad_frees == 0,
          "empty_cache() frees every cached block and nothing else");
  }
  {
    FakeDevice device(4096);
    DevicePool pool(device);
    void* a = pool.acquire(3000, "a");
    pool.give_back(a);
    // 1024 fits in the 1024 bytes left; the cached 3072 would waste more than half.
    void* b = pool.acquire(1024, "b");
    check(b != a && pool.stats().oom_retries == 0, "a fitting allocation needs no retry");
    pool.give_back(b);
    pool.empty_cache();
    a = pool.acquire(3000, "a");
    pool.give_back(a);
    void* small = pool.acquire(512, "small");  // device has 1024 left: fits, no retry
    // 512 left, and the cached 3072 is too big to hand out: empty it and retry.
    void* big = pool.acquire(1000, "big");
    check(big != nullptr && pool.stats().oom_retries == 1 && pool.stats().bytes_cached == 0,
          "out of memory empties the cache and retries once");
    bool threw = false;
    std::size_t asked = 0;
    std::string message;
    try {
      pool.acquire(4096, "the test's reserve space");
    } catch (const rgru::cuda::device_out_of_memory& e) {
      threw = true;
      asked = e.requested();
      message = e.what();
    }
    check(threw && asked == 4096, "still out of memory: an error that says how much was asked");
    check(message.find("4096 bytes") != std::string::npos &&
              message.find("the test's reserve space") != std::string::npos &&
              message.find("free of 4096 bytes") != std::string::npos,
          "the message names the size, the purpose and the device's free memory");
    pool.give_back(small);
    pool.give_back(big);
  }
  {
    FakeDevice device(1 << 20);
    {
      DevicePool pool(device);
      pool.give_back(pool.acquire(2048, "x"));
    }
    check(device.live() == 0, "a pool frees its cache when destroyed");
  }
  std::printf("%s: %d failure(s)\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}
