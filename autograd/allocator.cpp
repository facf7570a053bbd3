// allocator.cpp — Buffer's blocks (see allocator.h).
#include "autograd/allocator.h"

#include <algorithm>
#include <cstring>

namespace crossgrad {

namespace {
constexpr std::size_t kAlignment = 64;
}  // namespace

Buffer::Buffer(std::size_t size) : size_(size) {
  if (size == 0) return;
  if (size > std::size_t(-1) / sizeof(real))
    fail("Buffer: " + std::to_string(size) + " elements are more than memory can address");
  data_ = static_cast<real*>(::operator new(size * sizeof(real), std::align_val_t(kAlignment)));
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
  if (data_) ::operator delete(data_, std::align_val_t(kAlignment));
  data_ = nullptr;
  size_ = 0;
}

}  // namespace crossgrad
