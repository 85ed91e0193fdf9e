#include "block_cache.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#include "rgru/memory.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define RGRU_HAVE_MMAP 1
#endif

// Under AddressSanitizer every block is an exact malloc(), so that reads and writes past
// a request are caught (tools/sanitize/).
#if defined(__SANITIZE_ADDRESS__)
#define RGRU_RECYCLE_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RGRU_RECYCLE_BLOCKS 0
#endif
#endif
#ifndef RGRU_RECYCLE_BLOCKS
#define RGRU_RECYCLE_BLOCKS 1
#endif

namespace rgru {
namespace cpu {

namespace {

constexpr std::size_t kHugePage = std::size_t(2) << 20;

#if defined(__linux__)
// madvise(advice) on the whole `unit`-aligned blocks inside [p, p + bytes), so that
// memory outside the range is never affected.
void advise_inside(void* p, std::size_t bytes, std::uintptr_t unit, int advice) {
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(p) + unit - 1) & ~(unit - 1);
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(unit - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, advice);
}
#endif

// Readies memory just mapped that will be written whole. Transparent huge pages where
// 2 MiB runs fit ("madvise" mode, the Debian/Ubuntu default): a fresh 4 KiB page costs
// a page fault on first write, and a 2 MiB page takes one fault for 512 of them. Then
// every page populated in one call (Linux 5.14+) instead of one fault per page. Advised
// first, so that populating maps huge pages.
void prepare_fresh_memory(void* p, std::size_t bytes) {
#if defined(__linux__)
#if defined(MADV_HUGEPAGE)
  if (bytes >= kHugePage) advise_inside(p, bytes, kHugePage, MADV_HUGEPAGE);
#endif
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;
#endif
  advise_inside(p, bytes, 4096, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)bytes;
#endif
}

#if RGRU_HAVE_MMAP
std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// Whole pages for at least `bytes`, 2 MiB aligned from 2 MiB on (so that huge pages fit).
void* map_block(std::size_t bytes, std::size_t* got) {
  const std::size_t page = page_size();
  const std::size_t size = (bytes + page - 1) / page * page;
  const std::size_t align = size >= kHugePage ? kHugePage : page;
  const std::size_t span = size + align - page;
  if (span < bytes) throw std::bad_alloc();
  void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  char* base = static_cast<char*>(p);
  char* block = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(base) + align - 1) & ~(align - 1));
  if (block > base) munmap(base, static_cast<std::size_t>(block - base));
  if (base + span > block + size) munmap(block + size, static_cast<std::size_t>(base + span - (block + size)));
  *got = size;
  return block;
}

void unmap_block(void* block, std::size_t bytes) { munmap(block, bytes); }
#else
void* map_block(std::size_t bytes, std::size_t* got) {
  void* p = std::malloc(bytes);
  if (!p) throw std::bad_alloc();
  *got = bytes;
  return p;
}

void unmap_block(void* block, std::size_t) { std::free(block); }
#endif

// Freed blocks kept for reuse, at most kMaxBlocks of them and limit() bytes in all (the
// oldest are released first). A request takes the smallest kept block that holds it
// without wasting more than half of it. Thread-safe.
class BlockCache {
 public:
  static constexpr std::size_t kMaxBytes = std::size_t(512) << 20;
  static constexpr int kMaxBlocks = 256;
  // Calls from R free their results only at R's next garbage collection, which may come
  // several calls later (about 8 to 16 in a loop of inference calls with 1 MB results);
  // kept blocks should cover those calls, or each would take fresh memory.
  static constexpr int kCalls = 16;

  // Never destroyed: blocks in other static objects may come back after it would be.
  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache();
    return *cache;
  }

  void* allocate(std::size_t bytes, std::size_t* got) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (void* kept = take(bytes, got)) {
        taken_now_ += *got;
        return kept;
      }
    }
    void* p = map_block(bytes, got);
    prepare_fresh_memory(p, *got);
    std::lock_guard<std::mutex> lock(mutex_);
    taken_now_ += *got;
    return p;
  }

  void give(void* p, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t keep = limit();
    if (bytes > keep) {
      unmap_block(p, bytes);
      return;
    }
    while (count_ > 0 && (count_ == kMaxBlocks || total_ + bytes > keep)) release_oldest();
    blocks_[count_++] = Block{p, bytes};
    total_ += bytes;
  }

  void call_finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    taken_[next_] = taken_now_;
    next_ = (next_ + 1) % kCalls;
    taken_now_ = 0;
    const std::size_t keep = limit();
    while (count_ > 0 && total_ > keep) release_oldest();
  }

  std::size_t held() {
    std::lock_guard<std::mutex> lock(mutex_);
    return total_;
  }

  std::size_t release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t released = total_;
    while (count_ > 0) release_oldest();
    return released;
  }

 private:
  struct Block {
    void* data;
    std::size_t bytes;
  };

  // Newest first among equal sizes: its pages are the likeliest still in the caches and
  // the TLB.
  void* take(std::size_t bytes, std::size_t* got) {
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

  // What the running call and the last kCalls calls took.
  std::size_t limit() const {
    std::size_t taken = taken_now_;
    for (std::size_t t : taken_) taken += t;
    return std::min(taken, kMaxBytes);
  }

  void release_oldest() {
    unmap_block(blocks_[0].data, blocks_[0].bytes);
    total_ -= blocks_[0].bytes;
    remove(0);
  }

  void remove(int i) {
    for (int j = i + 1; j < count_; ++j) blocks_[j - 1] = blocks_[j];
    --count_;
  }

  std::mutex mutex_;
  Block blocks_[kMaxBlocks] = {};
  int count_ = 0;
  std::size_t total_ = 0;
  std::size_t taken_[kCalls] = {};  // bytes each of the last kCalls calls took, a ring
  int next_ = 0;                    // where the next finished call goes
  std::size_t taken_now_ = 0;       // since the last call finished
};

void* allocate_any(std::size_t bytes, std::size_t* got) {
  if (bytes < kMinCachedBytes) return detail::malloc_block(bytes, got);
  return allocate_block(bytes, got);
}

void release_any(void* block, std::size_t bytes) {
  if (bytes < kMinCachedBytes) std::free(block);
  else release_block(block, bytes);
}

}  // namespace

#if RGRU_RECYCLE_BLOCKS
void* allocate_block(std::size_t bytes, std::size_t* got) {
  return BlockCache::instance().allocate(bytes, got);
}

void release_block(void* block, std::size_t bytes, bool reuse) {
  if (!block) return;
  if (reuse) BlockCache::instance().give(block, bytes);
  else unmap_block(block, bytes);
}

void engine_call_finished() { BlockCache::instance().call_finished(); }

std::size_t cached_bytes() { return BlockCache::instance().held(); }

std::size_t empty_block_cache() { return BlockCache::instance().release_all(); }
#else
void* allocate_block(std::size_t bytes, std::size_t* got) { return detail::malloc_block(bytes, got); }

void release_block(void* block, std::size_t, bool) { std::free(block); }

void engine_call_finished() {}

std::size_t cached_bytes() { return 0; }

std::size_t empty_block_cache() { return 0; }
#endif

void install_block_cache() {
  allocator() = Allocator{&allocate_any, &release_any, &engine_call_finished};
}

}  // namespace cpu
}  // namespace rgru
