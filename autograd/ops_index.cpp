// ops_index.cpp — STUB, being written.
#include "autograd/ops.h"

namespace crossgrad {
Tensor index_select(const Tensor&, int, const std::vector<std::int64_t>&) { fail("index_select: not implemented yet"); }
Tensor embedding(const Tensor&, const std::vector<std::int64_t>&, const Shape&) { fail("embedding: not implemented yet"); }
Tensor masked_fill(const Tensor&, const Tensor&, real) { fail("masked_fill: not implemented yet"); }
}  // namespace crossgrad
