// A heap array for the engine's caches and workspaces, not zero-filled on allocation:
// every element is written before it is read, and the fill (plus the page faults it
// takes first) was a visible share of a training step at batch 256.
//
// Large blocks are recycled across calls (BlockCache): glibc returns freed large blocks
// to the kernel, so every call paid a page fault per 4 KiB of workspace again. Measured
// on the development VM before the cache: page faults were 35-45% of a float32
// inference call at batch 32-256 with 64 units.
#ifndef RGRU_BUFFER_HPP
#define RGRU_BUFFER_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace rgru {

#if defined(__linux__)
// madvise(advice) on the whole `unit`-aligned blocks inside [p, p + bytes), so that
// memory outside the range is never affected.
inline void advise_inside(void* p, std::size_t bytes, std::uintptr_t unit, int advice) {
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(p) + unit - 1) & ~(unit - 1);
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(unit - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, advice);
}
#endif

// Asks the kernel to back [p, p + bytes) with transparent huge pages where it may
// ("madvise" mode, the Debian/Ubuntu default). A fresh 4 KiB page costs a page fault
// on first write, ~10 us on virtual machines: for a 13 MB result that was a third of a
// GRU call; a 2 MiB page takes one fault for 512 of them. Only whole huge pages inside
// the range are advised.
inline void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  advise_inside(p, bytes, std::uintptr_t(2) << 20, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

// Freed blocks of at least kMinBytes kept for reuse, at most kMaxBlocks of them and
// kMaxBytes in all (the oldest are released first). A request takes the smallest kept
// block that holds it without wasting more than half of it. Thread-safe.
class BlockCache {
 public:
  static constexpr std::size_t kMinBytes = std::size_t(64) << 10;
  static constexpr std::size_t kMaxBytes = std::size_t(512) << 20;
  static constexpr int kMaxBlocks = 256;

  // Never destroyed: Buffers in other static objects may be freed after it would be.
  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache();
    return *cache;
  }

  // A block of at least `bytes` (its size in *got), or nullptr when none is kept.
  void* take(std::size_t bytes, std::size_t* got) {
    if (bytes < kMinBytes) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    // Newest first among equal sizes: its pages are the likeliest still in the caches
    // and the TLB.
    int best = -1;
    for (int i = count_ - 1; i >= 0; --i) {
      const std::size_t b = blocks_[i].bytes;
      if (b >= bytes && b / 2 <= bytes && (best < 0 || b < blocks_[best].bytes)) best = i;
    }
    if (best < 0) return nullptr;
    void* p = blocks_[best].data;
    *got = blocks_[best].bytes;
    total_ -= *got;
    remove(best);
    return p;
  }

  // Keeps the block for reuse, or frees it.
  void give(void* p, std::size_t bytes) {
    if (!p) return;
    if (bytes < kMinBytes || bytes > kMaxBytes) {
      std::free(p);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    while (count_ > 0 && (count_ == kMaxBlocks || total_ + bytes > kMaxBytes)) {
      std::free(blocks_[0].data);
      total_ -= blocks_[0].bytes;
      remove(0);
    }
    blocks_[count_++] = Block{p, bytes};
    total_ += bytes;
  }

  // Returns every kept block to the system (for a library about to be unloaded).
  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int i = 0; i < count_; ++i) std::free(blocks_[i].data);
    count_ = 0;
    total_ = 0;
  }

 private:
  struct Block {
    void* data;
    std::size_t bytes;
  };
  void remove(int i) {
    for (int j = i + 1; j < count_; ++j) blocks_[j - 1] = blocks_[j];
    --count_;
  }

  std::mutex mutex_;
  Block blocks_[kMaxBlocks] = {};
  int count_ = 0;
  std::size_t total_ = 0;
};

// Makes the kernel back every whole page of [p, p + bytes) now, in one call, instead of
// one page fault per 4 KiB on first write (Linux 5.14+; elsewhere a no-op). For blocks
// the cache could not supply: on our development VM a fault cost ~11 us and a populated
// page ~4 us.
inline void prefault(void* p, std::size_t bytes) {
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;
#endif
  advise_inside(p, bytes, 4096, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)bytes;
#endif
}

// Readies memory just allocated that will be written whole: huge pages where 2 MiB runs
// fit (advised first, so that populating maps them 2 MiB at a time), then populated,
// for blocks of BlockCache::kMinBytes or more.
inline void prepare_fresh_memory(void* p, std::size_t bytes) {
  if (bytes >= (std::size_t(2) << 20)) advise_huge_pages(p, bytes);
  if (bytes >= BlockCache::kMinBytes) prefault(p, bytes);
}

// A block of at least `bytes` (its size in *got): a recycled one where the cache has one,
// else fresh memory readied for writing. Hand it back with release_block().
inline void* allocate_block(std::size_t bytes, std::size_t* got) {
  if (void* kept = BlockCache::instance().take(bytes, got)) return kept;
  void* p = std::malloc(bytes);
  if (!p) throw std::bad_alloc();
  prepare_fresh_memory(p, bytes);
  *got = bytes;
  return p;
}

inline void release_block(void* p, std::size_t bytes) { BlockCache::instance().give(p, bytes); }

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
    data_ = static_cast<T*>(allocate_block(n * sizeof(T), &bytes_));
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
    release_block(data_, bytes_);
    data_ = nullptr;
    size_ = 0;
    bytes_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;  // of the block behind data_, which may exceed size_
};

}  // namespace rgru

#endif  // RGRU_BUFFER_HPP
