// shape.h — the element type, shapes, broadcasting rules and the error type.
// Everything here is plain data and arithmetic on shapes; no tensors, no graph.
// Read next: tensor.h (the Tensor and its graph node).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace crossgrad {

// One alias for the element type: float for training, double for gradient checks.
// The Makefile builds every source twice, the second time with -DCROSSGRAD_DOUBLE.
#ifdef CROSSGRAD_DOUBLE
using real = double;
#else
using real = float;
#endif
inline constexpr bool kDoublePrecision = sizeof(real) == sizeof(double);

using Shape = std::vector<std::size_t>;

// Every mistake a caller can make (a bad shape, a bad argument) throws this, with a message
// that names the op and the shapes or values involved.
class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

[[noreturn]] void fail(const std::string& message);

// "(2,3)": a shape, or any list of sizes or dims (a reshape request, a permutation); the
// shape of a scalar is "()".
template <class Int>
std::string to_string(const std::vector<Int>& values) {
  std::string text = "(";
  for (std::size_t i = 0; i < values.size(); ++i)
    text += (i ? "," : "") + std::to_string(values[i]);
  return text + ")";
}
std::size_t numel(const Shape& shape);  // product of the sizes; 1 for a scalar

// NumPy broadcasting: align trailing dimensions; sizes must match or one of them must be 1.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Maps a possibly negative dim (-1 is the last) into [0, ndim), or throws naming the op.
std::size_t normalize_dim(int dim, std::size_t ndim, const char* op);

// A shape seen along one dimension, as (outer, size, inner) in row-major order: outer·inner
// lanes of `size` elements each, element k of lane (o, i) at (o·size + k)·inner + i.
// Softmax normalises each lane, sum(dim) adds it up, slice keeps part of it.
struct Lanes {
  std::size_t outer, size, inner;
};
Lanes lanes_along(const Shape& shape, std::size_t dim);

// Row-major strides of a shape, and the strides with which `from` is read when broadcast
// to `to` (0 along broadcast dimensions); used by elementwise ops and by reduce_to.
std::vector<std::size_t> strides_of(const Shape& shape);
std::vector<std::size_t> broadcast_strides(const Shape& from, const Shape& to);

}  // namespace crossgrad
