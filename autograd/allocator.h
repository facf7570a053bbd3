// allocator.h — where tensor memory comes from: the Buffer that owns one block of reals, and
// the Span that views one. Read next: tensor.h (a Tensor's values live in a Storage that
// holds one Buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "autograd/shape.h"

namespace crossgrad {

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
