// Solution to exercise 2.2 (docs/02-tensors-and-broadcasting.md): the flat position of an
// element from its index and the shape's strides, checked against Tensor::at for every
// element of a (2, 3, 4) tensor; then a transpose written with that arithmetic alone,
// checked against x.transpose(0, 2).
#include <cstdio>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"

using namespace crossgrad;

namespace {

// Row-major strides: the last dimension moves by 1, each earlier one by the product of the
// sizes after it. (2, 3, 4) -> (12, 4, 1).
std::vector<std::size_t> strides(const Shape& shape) {
  std::vector<std::size_t> result(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) result[d - 1] = result[d] * shape[d];
  return result;
}

std::size_t flat_index(const std::vector<std::size_t>& index, const Shape& shape) {
  const std::vector<std::size_t> s = strides(shape);
  std::size_t flat = 0;
  for (std::size_t d = 0; d < index.size(); ++d) flat += index[d] * s[d];
  return flat;
}

}  // namespace

int main() {
  const Shape shape{2, 3, 4};
  const Tensor x = Tensor::arange(24).reshape({2, 3, 4}) * 1.5;
  bool ok = strides(shape) == strides_of(shape);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k)
        mismatches += x.data()[flat_index({i, j, k}, shape)] != x.at({i, j, k});
  std::printf("flat_index: %zu of 24 elements disagree with Tensor::at\n", mismatches);
  ok = ok && mismatches == 0;

  // Transposing dims 0 and 2: element (i, j, k) of x goes to (k, j, i) of a (4, 3, 2) result.
  const Shape transposed{4, 3, 2};
  std::vector<real> values(24);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k)
        values[flat_index({k, j, i}, transposed)] = x.data()[flat_index({i, j, k}, shape)];
  ok = compare("transpose", Tensor::from(values, transposed), x.transpose(0, 2)) && ok;
  return ok ? 0 : 1;
}
