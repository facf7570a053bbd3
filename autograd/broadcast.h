// broadcast.h — walking two broadcast operands together, for elementwise ops.
// for_each_broadcast(out, a, b, f) calls f(i, ia, ib) for every output element i with the
// flat indices ia, ib of the elements of a and b it reads. A backward that adds into
// da[ia] over all i sums the gradient over broadcast dimensions for free.
// Read next: ops_reduce.cpp.
#pragma once

#include "autograd/shape.h"

namespace crossgrad {

// numel(in) when `in`, without its leading 1s, equals the trailing dims of `out` (so `in` is
// read as a block repeated along out's leading dims); 0 otherwise.
inline std::size_t trailing_period(const Shape& in, const Shape& out) {
  std::size_t first = 0;
  while (first < in.size() && in[first] == 1) ++first;
  const std::size_t kept = in.size() - first;
  if (kept > out.size() || numel(in) == 0) return 0;
  for (std::size_t i = 0; i < kept; ++i)
    if (in[first + i] != out[out.size() - kept + i]) return 0;
  return numel(in);
}

template <class F>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, F f) {
  const std::size_t n = numel(out);
  if (a == out && b == out) {  // the common case: no broadcasting at all
    for (std::size_t i = 0; i < n; ++i) f(i, i, i);
    return;
  }
  // The next most common: a bias, (D) or (T, D), repeated over the leading dims of the other.
  const std::size_t period_b = trailing_period(b, out), period_a = trailing_period(a, out);
  if (a == out && period_b) {
    for (std::size_t start = 0; start < n; start += period_b)
      for (std::size_t j = 0; j < period_b; ++j) f(start + j, start + j, j);
    return;
  }
  if (b == out && period_a) {
    for (std::size_t start = 0; start < n; start += period_a)
      for (std::size_t j = 0; j < period_a; ++j) f(start + j, j, start + j);
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
