// A heap array for the engine's large caches, not zero-filled on allocation: every
// element is written before it is read, and the fill (plus the page faults it takes
// first) was a visible share of a training step at batch 256.
#ifndef RGRU_BUFFER_HPP
#define RGRU_BUFFER_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace rgru {

// Asks the kernel to back [p, p + bytes) with transparent huge pages where it may
// ("madvise" mode, the Debian/Ubuntu default). A fresh 4 KiB page costs a page fault
// on first write, ~10 us on virtual machines: for a 13 MB result that was a third of a
// GRU call; a 2 MiB page takes one fault for 512 of them. Only whole huge pages inside
// the range are advised, so memory outside it is never affected.
inline void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t huge = std::uintptr_t(2) << 20;
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(p) + huge - 1) & ~(huge - 1);
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(huge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) { resize(n); }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }

  // Contents are unspecified after a resize that changes the size.
  void resize(std::size_t n) {
    if (n == size_) return;
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    if (n == 0) return;
    data_ = static_cast<T*>(allocate(n * sizeof(T)));
    size_ = n;
  }
  void assign(const T* first, const T* last) {
    resize(static_cast<std::size_t>(last - first));
    std::copy(first, last, data_);
  }
  void clear() { resize(0); }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  static void* allocate(std::size_t bytes) {
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    if (bytes >= (std::size_t(4) << 20)) advise_huge_pages(p, bytes);
    return p;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace rgru

#endif  // RGRU_BUFFER_HPP
