// Where the engine keeps its caches and workspaces: Buffer<T>, on blocks from one
// replaceable allocator.
//
// The allocator is plain malloc/free unless a program installs its own, once, before its
// first engine call. The R package installs a cache that recycles large blocks across
// calls (src/cpu/block_cache.cpp): fresh pages cost a page fault each on first write, and
// the engine asks for the same sizes call after call.
#ifndef RGRU_MEMORY_HPP
#define RGRU_MEMORY_HPP

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace rgru {

struct Allocator {
  // A block of at least `bytes` (> 0), its usable size in *got; throws std::bad_alloc.
  void* (*allocate)(std::size_t bytes, std::size_t* got);
  // Takes back a block from allocate(), with the size allocate() reported.
  void (*release)(void* block, std::size_t bytes);
  // Told when an engine call has finished (may be null): a caching allocator can size
  // what it keeps to what calls use.
  void (*call_finished)();
};

namespace detail {

inline void* malloc_block(std::size_t bytes, std::size_t* got) {
  void* p = std::malloc(bytes);
  if (!p) throw std::bad_alloc();
  *got = bytes;
  return p;
}

inline void free_block(void* block, std::size_t) { std::free(block); }

}  // namespace detail

// The allocator in use; a program may replace it once, before its first engine call.
inline Allocator& allocator() {
  static Allocator in_use{&detail::malloc_block, &detail::free_block, nullptr};
  return in_use;
}

namespace detail {

// Tells the allocator that an engine call (a GRU's, a convolution's) is over.
inline void call_finished() {
  if (allocator().call_finished) allocator().call_finished();
}

}  // namespace detail

// A heap array that is not zero-filled on allocation: the engine writes every element
// before it reads it, and a fill (with the page faults it takes first) was a visible share
// of a training step at batch 256.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) { resize(n); }
  ~Buffer() { release(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_), bytes_(o.bytes_) {
    o.data_ = nullptr;
    o.size_ = 0;
    o.bytes_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }

  // Contents are unspecified after a resize that changes the size.
  void resize(std::size_t n) {
    if (n == size_) return;
    release();
    if (n == 0) return;
    data_ = static_cast<T*>(allocator().allocate(n * sizeof(T), &bytes_));
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
  void release() {
    if (data_) allocator().release(data_, bytes_);
    data_ = nullptr;
    size_ = 0;
    bytes_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;  // of the block behind data_, which may exceed size_
};

}  // namespace rgru

#endif  // RGRU_MEMORY_HPP
