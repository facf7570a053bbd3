// allocator.h — where tensor memory comes from: a caching allocator and the Buffer that owns
// one block of it. A training step makes and frees the same few hundred buffers every step;
// asking the system for each one (and zero-filling it) cost a fifth of a step. Here a freed
// block goes on a free list for its size class and the next request of that class takes it
// back, so after the first step a step asks the system for almost nothing.
// Read next: tensor.h (a Tensor's values live in a Storage that holds one Buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "autograd/shape.h"

namespace crossgrad {

// --- The cache ---
// Requests are rounded up to a size class: multiples of 64 bytes up to 1 KB, then four
// classes per power of two (1 KB, 1.25 KB, 1.5 KB, 1.75 KB, 2 KB, ...), so a block wastes at
// most a fifth of itself. A freed block waits on its class's free list until a request of
// the same class takes it; nothing is returned to the system until release_cached_blocks().
// Blocks are 64-byte aligned (a cache line; whole vectors for the kernels).
// Thread-safe: one mutex guards the lists, so any thread (a pool worker included) may
// allocate and free; a training step takes it about a thousand times, uncontended.

// Counts since the program started (or since reset_allocator_counts()).
struct AllocatorStats {
  std::uint64_t requests = 0;          // blocks handed out (cached or new)
  std::uint64_t requested_bytes = 0;   // their sizes, as asked for
  std::uint64_t heap_allocations = 0;  // requests the cache could not serve: new system blocks
  std::uint64_t heap_bytes = 0;        // bytes of those new blocks
  std::uint64_t live_bytes = 0;        // in blocks handed out and not yet freed (now)
  std::uint64_t cached_bytes = 0;      // in blocks waiting on free lists (now)
};
AllocatorStats allocator_stats();
void reset_allocator_counts();  // zeroes the four counts; live and cached bytes stay true
// Gives every cached block back to the system (live blocks are untouched).
void release_cached_blocks();
// False under AddressSanitizer, which must see every free to catch a use after it: there
// every freed block goes straight back to the system.
bool allocator_keeps_freed_blocks();

// Raw blocks of at least `bytes` bytes, 64-byte aligned; free with the same size. For
// Buffer, and for CachingAllocator (std::allocate_shared of graph nodes).
void* allocate_block(std::size_t bytes);
void free_block(void* block, std::size_t bytes) noexcept;

// A standard allocator over the cache, so that std::allocate_shared can make graph nodes
// and storages without a trip to the system after the first step.
template <class T>
struct CachingAllocator {
  using value_type = T;
  CachingAllocator() = default;
  template <class U>
  CachingAllocator(const CachingAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_block(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { free_block(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const CachingAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const CachingAllocator<U>&) const { return false; }
};

// --- Buffer: one block of `size` reals, owned ---
// Move-only. Made uninitialised (Buffer(n)) for outputs whose every element is about to be
// written, or zero-filled (Buffer::zeros(n)) for gradients that are accumulated into.
// Reads like a std::vector<real>: data(), size(), empty(), [i], begin()/end().
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t size);
  static Buffer zeros(std::size_t size);
  ~Buffer() { reset(); }
  Buffer(Buffer&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  real* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  real& operator[](std::size_t i) const { return data_[i]; }
  real* begin() const { return data_; }
  real* end() const { return data_ + size_; }
  void reset();  // gives the block back to the cache; the buffer becomes empty

 private:
  real* data_ = nullptr;
  std::size_t size_ = 0;
};

// --- Span: a view of `size` reals that someone else owns ---
// What Node::data is: a tensor's values inside its storage, at its offset. Like C++20's
// std::span<real>: copying a Span copies the view, not the values.
class Span {
 public:
  Span() = default;
  Span(real* data, std::size_t size) : data_(data), size_(size) {}
  real* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  real& operator[](std::size_t i) const { return data_[i]; }
  real* begin() const { return data_; }
  real* end() const { return data_ + size_; }

 private:
  real* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace crossgrad
