// Solution to exercise 5.3 (docs/05-attention-from-primitives.md): merging the heads
// without the permute. The context of the heads is (B, H, T, Dh); reshaping it straight to
// (B, T, D) gives the right shape and the wrong numbers: reshape keeps the memory order, in
// which all of head 0's positions come before head 1's, so "row t" of the result mixes
// several positions of one head. Nothing complains about the shape; only a comparison with a
// reference does. The right merge first brings T back before H: permute(0, 2, 1, 3).
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"
#include "examples/common/check.h"
#include "nn/attention.h"

using namespace crossgrad;

namespace {

// query = key_value = x (B, T, D), no mask -> (B, T, D); permute_before_merge chooses the
// right merge or the broken one.
Tensor composed_self_attention(nn::MultiHeadAttention& mha, const Tensor& x,
                               bool permute_before_merge) {
  const long B = long(x.size(0)), T = long(x.size(1)), D = long(x.size(2));
  const long H = long(mha.num_heads()), Dh = D / H;
  const std::size_t d = std::size_t(D);
  const Tensor w = mha.in_proj_weight(), b = mha.in_proj_bias();
  const auto heads = [&](std::size_t block) {  // (B, T, D) -> (B, H, T, Dh)
    const Tensor projected = x.matmul(w.slice(0, block * d, (block + 1) * d).t()) +
                             b.slice(0, block * d, (block + 1) * d);
    return projected.reshape({B, T, H, Dh}).permute({0, 2, 1, 3});
  };
  const Tensor q = heads(0), k = heads(1), v = heads(2);
  const Tensor weights = (q.matmul(k.transpose(-2, -1)) / real(std::sqrt(double(Dh)))).softmax(-1);
  const Tensor context = weights.matmul(v);  // (B, H, T, Dh)
  const Tensor merged = permute_before_merge ? context.permute({0, 2, 1, 3}).reshape({B, T, D})
                                             : context.reshape({B, T, D});  // WRONG order
  return mha.out_proj().forward(merged);
}

}  // namespace

int main() {
  Generator gen(0);
  nn::MultiHeadAttention mha(/*d_model=*/12, /*num_heads=*/3, gen);
  const Tensor x = Tensor::randn({2, 5, 12}, gen);
  const Tensor reference = mha.forward(x, x);
  std::printf("merge without permute, against nn::MultiHeadAttention:\n");
  const bool broken_agrees = compare("  output", composed_self_attention(mha, x, false), reference);
  std::printf("merge with permute(0, 2, 1, 3):\n");
  const bool right_agrees = compare("  output", composed_self_attention(mha, x, true), reference);
  return right_agrees && !broken_agrees ? 0 : 1;
}
