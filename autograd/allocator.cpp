// allocator.cpp — the caching allocator behind Buffer and CachingAllocator (see allocator.h).
#include "autograd/allocator.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

namespace crossgrad {

namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kSmallStep = 64;     // classes of 64, 128, ..., 1024 bytes
constexpr std::size_t kSmallLimit = 1024;  // above: four classes per power of two

// The class of a request: its index, and the bytes every block of the class holds.
struct SizeClass {
  std::size_t index, bytes;
};

SizeClass size_class(std::size_t bytes) {
  if (bytes <= kSmallLimit) {
    const std::size_t steps = std::max<std::size_t>((bytes + kSmallStep - 1) / kSmallStep, 1);
    return {steps - 1, steps * kSmallStep};
  }
  // 2^p < bytes <= 2^(p+1): quarters of 2^p, rounded up.
  std::size_t power = kSmallLimit;
  std::size_t index = kSmallLimit / kSmallStep;
  while (power * 2 < bytes) {
    power *= 2;
    index += 4;
  }
  const std::size_t quarter = power / 4;
  const std::size_t quarters = (bytes - power + quarter - 1) / quarter;  // 1..4
  return {index + quarters - 1, power + quarters * quarter};
}

struct Cache {
  std::mutex mutex;
  std::vector<std::vector<void*>> free_lists;  // by class index
  AllocatorStats stats;

  void release() {
    for (std::vector<void*>& list : free_lists) {
      for (void* block : list) ::operator delete(block, std::align_val_t(kAlignment));
      list.clear();
    }
    stats.cached_bytes = 0;
  }
};

// Never destroyed: a Buffer in a static object may be freed after main returns.
Cache& cache() {
  static Cache* instance = new Cache;
  return *instance;
}

// Under AddressSanitizer every block goes straight back to the system, so that a read of a
// freed buffer is reported instead of landing in a block the cache handed to someone else.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kKeepFreedBlocks = false;
#else
constexpr bool kKeepFreedBlocks = true;
#endif

}  // namespace

void* allocate_block(std::size_t bytes) {
  const SizeClass c = size_class(bytes);
  Cache& cache = crossgrad::cache();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    ++cache.stats.requests;
    cache.stats.requested_bytes += bytes;
    cache.stats.live_bytes += c.bytes;
    if (c.index < cache.free_lists.size() && !cache.free_lists[c.index].empty()) {
      void* block = cache.free_lists[c.index].back();
      cache.free_lists[c.index].pop_back();
      cache.stats.cached_bytes -= c.bytes;
      return block;
    }
    ++cache.stats.heap_allocations;
    cache.stats.heap_bytes += c.bytes;
  }
  return ::operator new(c.bytes, std::align_val_t(kAlignment));
}

void free_block(void* block, std::size_t bytes) noexcept {
  if (!block) return;
  const SizeClass c = size_class(bytes);
  Cache& cache = crossgrad::cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.stats.live_bytes -= c.bytes;
  if (!kKeepFreedBlocks) {
    ::operator delete(block, std::align_val_t(kAlignment));
    return;
  }
  try {
    if (c.index >= cache.free_lists.size()) cache.free_lists.resize(c.index + 1);
    cache.free_lists[c.index].push_back(block);
    cache.stats.cached_bytes += c.bytes;
  } catch (...) {  // no memory even for the list: give the block back to the system
    ::operator delete(block, std::align_val_t(kAlignment));
  }
}

bool allocator_keeps_freed_blocks() { return kKeepFreedBlocks; }

AllocatorStats allocator_stats() {
  Cache& cache = crossgrad::cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  return cache.stats;
}

void reset_allocator_counts() {
  Cache& cache = crossgrad::cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.stats.requests = cache.stats.requested_bytes = 0;
  cache.stats.heap_allocations = cache.stats.heap_bytes = 0;
}

void release_cached_blocks() {
  Cache& cache = crossgrad::cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.release();
}

// --- Buffer ---

Buffer::Buffer(std::size_t size) : size_(size) {
  if (size == 0) return;
  if (size > std::size_t(-1) / sizeof(real))
    fail("Buffer: " + std::to_string(size) + " elements are more than memory can address");
  data_ = static_cast<real*>(allocate_block(size * sizeof(real)));
}

Buffer Buffer::zeros(std::size_t size) {
  Buffer buffer(size);
  if (size > 0) std::memset(buffer.data_, 0, size * sizeof(real));
  return buffer;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset();
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }
  return *this;
}

void Buffer::reset() {
  free_block(data_, size_ * sizeof(real));
  data_ = nullptr;
  size_ = 0;
}

}  // namespace crossgrad
