// broadcast.h — walking two broadcast operands together, for elementwise ops.
// for_each_broadcast(out, a, b, f) calls f(i, ia, ib) for every output element i with the
// flat indices ia, ib of the elements of a and b it reads. A backward that adds into
// da[ia] over all i sums the gradient over broadcast dimensions for free.
#pragma once

#include "autograd/shape.h"

namespace crossgrad {

template <class F>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, F f) {
  const std::size_t n = numel(out);
  if (a == out && b == out) {  // the common case: no broadcasting at all
    for (std::size_t i = 0; i < n; ++i) f(i, i, i);
    return;
  }
  const std::size_t ndim = out.size();
  const std::vector<std::size_t> stride_a = broadcast_strides(a, out);
  const std::vector<std::size_t> stride_b = broadcast_strides(b, out);
  std::vector<std::size_t> coord(ndim, 0);
  std::size_t ia = 0, ib = 0;
  for (std::size_t i = 0; i < n; ++i) {
    f(i, ia, ib);
    // Odometer step: bump the last coordinate, carrying into earlier ones.
    for (std::size_t d = ndim; d-- > 0;) {
      ia += stride_a[d];
      ib += stride_b[d];
      if (++coord[d] < out[d]) break;
      ia -= stride_a[d] * out[d];
      ib -= stride_b[d] * out[d];
      coord[d] = 0;
    }
  }
}

}  // namespace crossgrad
