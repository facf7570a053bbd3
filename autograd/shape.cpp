// shape.cpp — shape arithmetic and broadcasting (see shape.h).
#include "autograd/shape.h"

#include <algorithm>
#include <limits>

namespace crossgrad {

void fail(const std::string& message) { throw Error(message); }

std::size_t numel(const Shape& shape) {
  std::size_t n = 1;
  for (std::size_t size : shape) {
    if (size != 0 && n > std::numeric_limits<std::size_t>::max() / size) {
      for (std::size_t other : shape)
        if (other == 0) return 0;  // a zero anywhere makes the product 0, whatever the rest
      fail("shape " + to_string(shape) + " has more elements than a size_t can count");
    }
    n *= size;
  }
  return n;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (std::size_t i = 0; i < ndim; ++i) {
    // Walk from the last dimension; a missing leading dimension acts as size 1.
    const std::size_t size_a = i < a.size() ? a[a.size() - 1 - i] : 1;
    const std::size_t size_b = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (size_a != size_b && size_a != 1 && size_b != 1)
      fail(std::string(op) + ": shapes " + to_string(a) + " and " + to_string(b) +
           " cannot be broadcast: sizes " + std::to_string(size_a) + " and " +
           std::to_string(size_b) + " differ in dimension " + std::to_string(ndim - 1 - i));
    out[ndim - 1 - i] = size_a == 1 ? size_b : size_a;  // so 0 against 1 gives 0
  }
  return out;
}

std::size_t normalize_dim(int dim, std::size_t ndim, const char* op) {
  const long n = static_cast<long>(ndim);
  if (dim < -n || dim >= n || ndim == 0)
    fail(std::string(op) + ": dim " + std::to_string(dim) + " is out of range for a " +
         std::to_string(ndim) + "-d tensor");
  return static_cast<std::size_t>(dim < 0 ? dim + n : dim);
}

Lanes lanes_along(const Shape& shape, std::size_t dim) {
  Lanes s{1, shape[dim], 1};
  for (std::size_t i = 0; i < dim; ++i) s.outer *= shape[i];
  for (std::size_t i = dim + 1; i < shape.size(); ++i) s.inner *= shape[i];
  return s;
}

std::vector<std::size_t> strides_of(const Shape& shape) {
  std::vector<std::size_t> strides(shape.size());
  std::size_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

std::vector<std::size_t> broadcast_strides(const Shape& from, const Shape& to) {
  // `from` is aligned to the right of `to`; leading and size-1 dimensions read stride 0.
  std::vector<std::size_t> strides(to.size(), 0);
  const std::vector<std::size_t> own = strides_of(from);
  const std::size_t offset = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i)
    strides[offset + i] = from[i] == 1 ? 0 : own[i];
  return strides;
}

}  // namespace crossgrad
