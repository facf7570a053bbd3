// Solution to exercise 5.2 (docs/05-attention-from-primitives.md): the causal mask written
// the wrong way round. The right mask hides keys in the query's future (s > t); the wrong one
// hides the past (s < t), so each position sees itself and everything after it. The check
// of the chapter (change the input at one position; no output before it may move) catches
// it at once: with the wrong mask the outputs *before* the change move, and the ones after
// it do not. A model trained that way would learn to read the very token it must predict.
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/ops.h"

using namespace crossgrad;

namespace {

// hidden(t, s) says whether query t may not see key s.
Tensor make_mask(std::size_t length, bool (*hidden)(std::size_t t, std::size_t s)) {
  std::vector<real> mask(length * length);
  for (std::size_t t = 0; t < length; ++t)
    for (std::size_t s = 0; s < length; ++s) mask[t * length + s] = hidden(t, s);
  return Tensor::from(std::move(mask), {length, length});
}

// Self-attention over x (T, D) with fixed projections, masked.
Tensor self_attention(const Tensor& x, const Tensor& w_q, const Tensor& w_k, const Tensor& w_v,
                      const Tensor& mask) {
  const Tensor q = x.matmul(w_q), k = x.matmul(w_k), v = x.matmul(w_v);
  const Tensor scores = q.matmul(k.t()) / real(std::sqrt(double(q.size(-1))));
  return scores.masked_fill(mask, -INFINITY).softmax(-1).matmul(v);
}

// The causality check: for every position j, change the input there and verify that no
// output at t < j moves. Prints the outputs that moved when they should not have.
bool is_causal(const Tensor& x, const Tensor& w_q, const Tensor& w_k, const Tensor& w_v,
               const Tensor& mask) {
  const Tensor out = self_attention(x, w_q, w_k, w_v, mask);
  const std::size_t T = x.size(0), D = x.size(1);
  bool causal = true;
  for (std::size_t j = 0; j < T; ++j) {
    Tensor changed_x = x.detach().clone();  // detach() alone would share x's storage
    for (std::size_t d = 0; d < D; ++d) changed_x.set({j, d}, x.at({j, d}) + 1);
    const Tensor changed = self_attention(changed_x, w_q, w_k, w_v, mask);
    for (std::size_t t = 0; t < j; ++t)
      for (std::size_t d = 0; d < out.size(1); ++d)
        if (changed.at({t, d}) != out.at({t, d})) {
          std::printf("    changing position %zu moved the output at %zu\n", j, t);
          causal = false;
          break;
        }
  }
  return causal;
}

}  // namespace

int main() {
  const std::size_t T = 5, D = 6, Dh = 4;
  Generator gen(3);
  const Tensor x = Tensor::randn({T, D}, gen);
  const real init = real(1 / std::sqrt(double(D)));
  const Tensor w_q = Tensor::randn({D, Dh}, gen) * init, w_k = Tensor::randn({D, Dh}, gen) * init;
  const Tensor w_v = Tensor::randn({D, Dh}, gen) * init;

  const Tensor right = make_mask(T, [](std::size_t t, std::size_t s) { return s > t; });
  const Tensor wrong = make_mask(T, [](std::size_t t, std::size_t s) { return s < t; });
  std::printf("right mask (s > t hidden):\n");
  const bool right_ok = is_causal(x, w_q, w_k, w_v, right);
  std::printf("  causal: %s\n", right_ok ? "yes" : "no");
  std::printf("wrong mask (s < t hidden):\n");
  const bool wrong_ok = is_causal(x, w_q, w_k, w_v, wrong);
  std::printf("  causal: %s\n", wrong_ok ? "yes" : "no");
  return right_ok && !wrong_ok ? 0 : 1;  // the check must pass one and catch the other
}
