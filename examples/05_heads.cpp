// 05_heads.cpp — multi-head attention composed from ops, traced shape by shape: project
// q, k and v with the three row blocks of in_proj_weight (3D, D), split d_model into H
// heads of Dh, attend in every head at once, merge the heads back and project with
// out_proj. Then the composition is checked against nn::MultiHeadAttention on the same
// weights: outputs and gradients, with a causal and a padding mask.
// Walked through in docs/05-attention-from-primitives.md. Run: build/05_heads
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/attention.h"

using namespace crossgrad;

namespace {

bool trace = false;  // print each step's shape (the first call only)

const Tensor& show(const char* step, const Tensor& t, const char* legend) {
  if (trace) std::printf("  %-34s %-14s %s\n", step, to_string(t.shape()).c_str(), legend);
  return t;
}

// The mask for scores (B, H, T, S): (B, 1, T, S), 1 where query t may not see key s because
// key s is padding (key_padding (B, S)) or, with causal, lies in t's future.
Tensor attention_mask(const Tensor& key_padding, std::size_t T, bool causal) {
  const std::size_t B = key_padding.size(0), S = key_padding.size(1);
  std::vector<real> mask(B * T * S);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t s = 0; s < S; ++s)
        mask[(b * T + t) * S + s] = key_padding.at({b, s}) != 0 || (causal && s > t);
  return Tensor::from(std::move(mask), {B, 1, T, S});
}

// Multi-head attention from ops, reading the module's parameters.
// query (B, T, D), key_value (B, S, D) -> (B, T, D).
Tensor composed_attention(nn::MultiHeadAttention& mha, const Tensor& query,
                          const Tensor& key_value, const Tensor& mask) {
  const long B = long(query.size(0)), T = long(query.size(1)), S = long(key_value.size(1));
  const long D = long(query.size(2)), H = long(mha.num_heads()), Dh = D / H;
  const Tensor w = mha.in_proj_weight(), b = mha.in_proj_bias();  // (3D, D), (3D)
  const std::size_t d = std::size_t(D);

  // 1. Project: three row blocks of in_proj_weight, Q first, then K, then V.
  const Tensor q = show("q = query Wq^T + bq",
                        query.matmul(w.slice(0, 0, d).t()) + b.slice(0, 0, d), "(B, T, D)");
  const Tensor k = show("k = key_value Wk^T + bk",
                        key_value.matmul(w.slice(0, d, 2 * d).t()) + b.slice(0, d, 2 * d),
                        "(B, S, D)");
  const Tensor v = key_value.matmul(w.slice(0, 2 * d, 3 * d).t()) + b.slice(0, 2 * d, 3 * d);
  // 2. Split D into H heads of Dh consecutive features, then bring H before the positions.
  const Tensor q_split = show("q.reshape(B, T, H, Dh)", q.reshape({B, T, H, Dh}), "(B, T, H, Dh)");
  const Tensor q_heads = show("  .permute(0, 2, 1, 3)", q_split.permute({0, 2, 1, 3}),
                              "(B, H, T, Dh)");
  const Tensor k_heads = show("k, split the same way", k.reshape({B, S, H, Dh}).permute({0, 2, 1, 3}),
                              "(B, H, S, Dh)");
  const Tensor v_heads = v.reshape({B, S, H, Dh}).permute({0, 2, 1, 3});
  // 3. Every head attends at once: the matmuls batch over (B, H).
  Tensor scores = show("scores = q k^T / sqrt(Dh)",
                       q_heads.matmul(k_heads.transpose(-2, -1)) / real(std::sqrt(double(Dh))),
                       "(B, H, T, S)");
  if (mask.defined()) scores = scores.masked_fill(show("mask", mask, "(B, 1, T, S)"), -INFINITY);
  const Tensor weights = show("weights = softmax(scores, -1)", scores.softmax(-1), "(B, H, T, S)");
  const Tensor context = show("context = weights v", weights.matmul(v_heads), "(B, H, T, Dh)");
  // 4. Merge: positions back before heads, then the H blocks of Dh side by side again.
  const Tensor merged_split = show("context.permute(0, 2, 1, 3)", context.permute({0, 2, 1, 3}),
                                   "(B, T, H, Dh)");
  const Tensor merged = show("  .reshape(B, T, D)", merged_split.reshape({B, T, D}), "(B, T, D)");
  // 5. Mix the heads: out_proj.
  return show("out = merged Wo^T + bo", mha.out_proj().forward(merged), "(B, T, D)");
}

double max_difference(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  return worst;
}

}  // namespace

int main() {
  const std::size_t B = 2, T = 5, D = 12, H = 3;  // all different, so every shape says which is which
  Generator gen(0);
  nn::MultiHeadAttention mha(D, H, gen);
  std::printf("MultiHeadAttention(d_model %zu, heads %zu): head size Dh = %zu\n", D, H, D / H);
  for (const auto& [name, parameter] : mha.named_parameters())
    std::printf("  %-16s %s\n", name.c_str(), to_string(parameter.shape()).c_str());
  std::printf("  %zu parameters = 3D*D + 3D + D*D + D = 4D^2 + 4D\n\n", mha.num_parameters());

  // Self-attention over a batch of two; the second row's last position is padding.
  Tensor x = Tensor::randn({B, T, D}, gen, /*requires_grad=*/true);
  const Tensor key_padding = Tensor::from({0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {B, T});
  std::printf("self-attention, B = %zu, T = S = %zu, D = %zu, H = %zu, Dh = %zu:\n", B, T, D, H,
              D / H);
  std::printf("  %-34s %-14s %s\n", "x", to_string(x.shape()).c_str(), "(B, T, D)");
  trace = true;
  const Tensor composed = composed_attention(mha, x, x, attention_mask(key_padding, T, true));
  trace = false;

  // The same weights through the library: equal outputs, equal gradients.
  const Tensor library = mha.forward(x, x, key_padding, /*causal=*/true);
  const Tensor dy = Tensor::randn({B, T, D}, gen);  // any gradient arriving at the output
  composed.backward(dy);
  const Tensor composed_dx = x.grad(), composed_dw = mha.in_proj_weight().grad();
  x.zero_grad();
  mha.zero_grad();
  library.backward(dy);
  const double output_difference = max_difference(composed, library);
  const double dx_difference = max_difference(composed_dx, x.grad());
  const double dw_difference = max_difference(composed_dw, mha.in_proj_weight().grad());
  std::printf("\ncomposed against mha.forward(x, x, key_padding, causal), max differences:\n");
  std::printf("  output            %.1e\n  d x               %.1e\n  d in_proj_weight  %.1e\n",
              output_difference, dx_difference, dw_difference);
  const bool same = output_difference < 1e-5 && dx_difference < 1e-5 && dw_difference < 1e-5;
  std::printf("the same function: %s\n", same ? "yes" : "NO");

  // Which features does a head read? Head h works on q[..., h*Dh : (h+1)*Dh].
  const Tensor q = x.matmul(mha.in_proj_weight().slice(0, 0, D).t()) +
                   mha.in_proj_bias().slice(0, 0, D);
  const Tensor head_1 = q.reshape({long(B), long(T), long(H), long(D / H)})
                            .permute({0, 2, 1, 3})
                            .slice(1, 1, 2)
                            .reshape({long(B), long(T), long(D / H)});
  const std::size_t Dh = D / H;
  std::printf("head 1's queries are features %zu..%zu of q: %s\n", Dh, 2 * Dh - 1,
              max_difference(head_1, q.slice(2, Dh, 2 * Dh)) == 0 ? "yes" : "no");
  return same ? 0 : 1;
}
