// ops_reduce.cpp — STUB, being written.
#include "autograd/ops.h"

namespace crossgrad {
Tensor sum(const Tensor&) { fail("sum: not implemented yet"); }
Tensor sum(const Tensor&, int, bool) { fail("sum: not implemented yet"); }
Tensor mean(const Tensor&) { fail("mean: not implemented yet"); }
Tensor mean(const Tensor&, int, bool) { fail("mean: not implemented yet"); }
Tensor max(const Tensor&) { fail("max: not implemented yet"); }
Tensor max(const Tensor&, int, bool) { fail("max: not implemented yet"); }
std::vector<std::int64_t> argmax(const Tensor&, int) { fail("argmax: not implemented yet"); }
}  // namespace crossgrad
