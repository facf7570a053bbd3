// Solution to exercise 8.2 (docs/08-training-a-seq2seq-model.md): the label-smoothed loss
// from its formula. The target distribution puts 1 - eps on the label and spreads eps evenly
// over all V tokens (the label included): q_c = (1 - eps)·[c = label] + eps/V. The loss of a
// position is the cross-entropy Σ_c q_c (-log p_c) = (1 - eps)(-log p_label) + eps·mean_c(-log p_c),
// averaged over the positions whose label is not PAD. Written with log_softmax and plain
// ops, it must agree with cross_entropy(..., {ignore_index PAD, label_smoothing eps}) in
// value and in gradient.
#include <cstdio>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "data/vocab.h"
#include "examples/common/check.h"

using namespace crossgrad;

namespace {

// logits (N, V), labels N ids (PAD ignored) -> the mean smoothed loss, shape ().
Tensor smoothed_loss(const Tensor& logits, const std::vector<std::int64_t>& labels, double eps) {
  const std::size_t N = logits.size(0), V = logits.size(1);
  std::vector<real> target(N * V, 0), keep(N, 0);
  double counted = 0;
  for (std::size_t n = 0; n < N; ++n) {
    if (labels[n] == PAD) continue;  // the row stays all zero: it adds nothing
    keep[n] = 1, counted += 1;
    for (std::size_t c = 0; c < V; ++c)
      target[n * V + c] = real(eps / double(V) + (std::int64_t(c) == labels[n] ? 1 - eps : 0));
  }
  const Tensor q = Tensor::from(target, {N, V});
  const Tensor per_position = -(q * logits.log_softmax(-1)).sum(-1);  // (N)
  return per_position.sum() / real(counted);
}

}  // namespace

int main() {
  Generator gen(4);
  const std::size_t N = 6, V = 13;
  Tensor logits = Tensor::randn({N, V}, gen, /*requires_grad=*/true);
  const std::vector<std::int64_t> labels{3, 7, PAD, 12, EOS, PAD};
  bool ok = true;
  for (const double eps : {0.0, 0.1, 0.5}) {
    CrossEntropyOptions options;
    options.ignore_index = PAD;
    options.label_smoothing = real(eps);
    const Tensor mine = smoothed_loss(logits, labels, eps);
    const Tensor reference = cross_entropy(logits, labels, options);
    std::printf("eps %.1f: loss %.6f\n", eps, double(mine.item()));
    ok = compare("  value", mine, reference) && ok;
    mine.backward();
    const Tensor my_grad = logits.grad();
    logits.zero_grad();
    reference.backward();
    ok = compare("  gradient", my_grad, logits.grad()) && ok;
    logits.zero_grad();
  }
  // And the gradient of the formula itself, against finite differences.
  const GradcheckResult check = gradcheck(
      [&](const std::vector<Tensor>& in) { return smoothed_loss(in[0], labels, 0.1); }, {logits});
  std::printf("gradcheck of the formula: %s\n", check.ok ? "passed" : check.report.c_str());
  return ok && check.ok ? 0 : 1;
}
