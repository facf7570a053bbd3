// ops_shape.cpp — STUB, being written.
#include "autograd/ops.h"

namespace crossgrad {
Tensor reshape(const Tensor&, const std::vector<long>&) { fail("reshape: not implemented yet"); }
Tensor transpose(const Tensor&, int, int) { fail("transpose: not implemented yet"); }
Tensor permute(const Tensor&, const std::vector<int>&) { fail("permute: not implemented yet"); }
Tensor unsqueeze(const Tensor&, int) { fail("unsqueeze: not implemented yet"); }
Tensor squeeze(const Tensor&, int) { fail("squeeze: not implemented yet"); }
Tensor expand(const Tensor&, const Shape&) { fail("expand: not implemented yet"); }
Tensor slice(const Tensor&, int, std::size_t, std::size_t) { fail("slice: not implemented yet"); }
Tensor concat(const std::vector<Tensor>&, int) { fail("concat: not implemented yet"); }
std::vector<Tensor> split(const Tensor&, std::size_t, int) { fail("split: not implemented yet"); }
}  // namespace crossgrad
