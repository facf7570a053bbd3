// Solution to exercise 5.1 (docs/05-attention-from-primitives.md): a head that attends only
// to the previous token. Masks choose what a query may see, so the mask can do it alone:
// hide every key except s = t - 1 (the first query, which has no previous token, sees only
// itself). Each row of weights is then one-hot, whatever the scores, and output row t is
// value row t - 1 exactly: the head shifts the sequence down by one position.
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"

using namespace crossgrad;

namespace {

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                 Tensor* weights) {
  Tensor scores = q.matmul(k.t()) / real(std::sqrt(double(q.size(-1))));
  scores = scores.masked_fill(mask, -INFINITY);
  *weights = scores.softmax(-1);
  return weights->matmul(v);
}

// (T, T): 0 only at s = t - 1 (and at s = 0 for t = 0), 1 everywhere else.
Tensor previous_token_mask(std::size_t length) {
  std::vector<real> mask(length * length, 1);
  for (std::size_t t = 0; t < length; ++t) mask[t * length + (t == 0 ? 0 : t - 1)] = 0;
  return Tensor::from(std::move(mask), {length, length});
}

}  // namespace

int main() {
  const std::size_t T = 6, Dh = 4;
  Generator gen(5);
  const Tensor q = Tensor::randn({T, Dh}, gen), k = Tensor::randn({T, Dh}, gen);
  const Tensor v = Tensor::randn({T, Dh}, gen);
  Tensor weights;
  const Tensor out = attention(q, k, v, previous_token_mask(T), &weights);
  std::printf("weights (each row one-hot, just below the diagonal):\n");
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t s = 0; s < T; ++s) std::printf(" %.0f", double(weights.at({t, s})));
    std::printf("\n");
  }
  // Expected: v shifted down one row, the first row repeated: rows 0, 0, 1, 2, ..., T-2.
  std::vector<std::int64_t> previous{0};
  for (std::size_t t = 1; t < T; ++t) previous.push_back(std::int64_t(t - 1));
  const bool ok = compare("output", out, index_select(v, 0, previous));
  return ok ? 0 : 1;
}
