// ops_matmul.cpp — STUB, being written.
#include "autograd/ops.h"

namespace crossgrad {
Tensor matmul(const Tensor&, const Tensor&) { fail("matmul: not implemented yet"); }
}  // namespace crossgrad
