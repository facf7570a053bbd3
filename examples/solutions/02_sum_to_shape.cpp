// Solution to exercise 2.1 (docs/02-tensors-and-broadcasting.md): sum_to_shape(grad, shape)
// turns the gradient of a broadcast result back into the gradient of the input that was
// broadcast. Two steps, undoing the two ways an input is stretched:
//   1. dimensions the input did not have (added on the left): sum them away;
//   2. dimensions where the input had size 1: sum them, keeping the size-1 dimension.
// Checked against what autograd computes for x.expand(shape).
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"

using namespace crossgrad;

namespace {

Tensor sum_to_shape(Tensor grad, const Shape& shape) {
  while (grad.dim() > shape.size()) grad = grad.sum(0);  // 1. leading dimensions
  for (std::size_t d = 0; d < shape.size(); ++d)          // 2. stretched size-1 dimensions
    if (shape[d] == 1 && grad.size(int(d)) != 1) grad = grad.sum(int(d), /*keepdim=*/true);
  return grad;
}

// One case: x of shape `from` broadcast to `to`, a gradient dy of shape `to`.
bool check_case(const Shape& from, const Shape& to, std::uint64_t seed) {
  Generator gen(seed);
  Tensor x = Tensor::randn(from, gen, /*requires_grad=*/true);
  const Tensor dy = Tensor::randn(to, gen);
  x.expand(to).backward(dy);
  return compare(to_string(from) + "->" + to_string(to), sum_to_shape(dy, from), x.grad());
}

}  // namespace

int main() {
  bool ok = check_case({3}, {2, 3}, 1);            // a bias added to every row
  ok = check_case({2, 1}, {2, 3}, 2) && ok;        // a column stretched across
  ok = check_case({1, 3, 1}, {4, 3, 5}, 3) && ok;  // both kinds at once
  ok = check_case({}, {2, 2}, 4) && ok;            // a scalar used everywhere
  ok = check_case({2, 3}, {2, 3}, 5) && ok;        // nothing to undo
  return ok ? 0 : 1;
}
