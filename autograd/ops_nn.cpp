// ops_nn.cpp — STUB, being written.
#include "autograd/ops.h"

namespace crossgrad {
Tensor softmax(const Tensor&, int) { fail("softmax: not implemented yet"); }
Tensor log_softmax(const Tensor&, int) { fail("log_softmax: not implemented yet"); }
Tensor cross_entropy(const Tensor&, const std::vector<std::int64_t>&, const CrossEntropyOptions&) { fail("cross_entropy: not implemented yet"); }
Tensor layer_norm(const Tensor&, const Tensor&, const Tensor&, real) { fail("layer_norm: not implemented yet"); }
Tensor dropout(const Tensor&, real, bool, Generator&) { fail("dropout: not implemented yet"); }
}  // namespace crossgrad
