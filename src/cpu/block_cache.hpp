// The allocator the R package installs for the engine (rgru/memory.hpp): large blocks
// recycled across calls, so that a call does not pay a page fault per 4 KiB of workspace
// again (bench/README.md). The R result arrays come from it too
// (src/rcpp_result_arrays.cpp).
//
// What it keeps is bounded by what recent calls took: at most the bytes the last 16 engine
// calls took (and 512 MiB). Memory that a result held for long (the R glue says which:
// src/rcpp_result_arrays.cpp) goes straight back to the system when it is freed: it is not
// memory that cycles through the calls. Blocks come from mmap(), not malloc(), so that
// releasing one returns it: glibc keeps large freed blocks in its heap once its mmap
// threshold has grown.
#ifndef RGRU_CPU_BLOCK_CACHE_HPP
#define RGRU_CPU_BLOCK_CACHE_HPP

#include <cstddef>

namespace rgru {
namespace cpu {

// Smaller blocks are plain malloc()/free(), never kept.
constexpr std::size_t kMinCachedBytes = std::size_t(64) << 10;

// A block of at least `bytes` (its size in *got): a kept one where there is one that fits,
// else fresh memory readied for writing. Throws std::bad_alloc.
void* allocate_block(std::size_t bytes, std::size_t* got);

// Takes back a block from allocate_block() with the size it reported; with `reuse` false
// it goes straight back to the system.
void release_block(void* block, std::size_t bytes, bool reuse = true);

// An engine call has finished: the bound on what is kept moves on.
void engine_call_finished();

// Bytes kept for reuse now.
std::size_t cached_bytes();

// Returns every kept block to the system; the bytes released.
std::size_t empty_block_cache();

// Makes the functions above the engine's allocator.
void install_block_cache();

}  // namespace cpu
}  // namespace rgru

#endif  // RGRU_CPU_BLOCK_CACHE_HPP
