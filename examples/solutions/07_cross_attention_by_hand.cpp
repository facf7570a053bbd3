// Solution to exercise 7.1 (docs/07-cross-attention.md): cross-attention composed from ops,
// checked against a decoder layer's multihead_attn on the same weights, with a source
// length S different from the target length T and a padded source. The only differences
// from chapter 5's self-attention: the queries are projected from the decoder's states
// (T rows), the keys and values from the encoder's memory (S rows), so the scores are
// (B, H, T, S), rectangular; and the mask hides padded source columns, with no causal part.
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

// query (B, T, D) from the decoder, memory (B, S, D) from the encoder, source_padding (B, S)
// with 1 at PAD -> (B, T, D), with mha's parameters.
Tensor cross_attention(nn::MultiHeadAttention& mha, const Tensor& query, const Tensor& memory,
                       const Tensor& source_padding) {
  const long B = long(query.size(0)), T = long(query.size(1)), S = long(memory.size(1));
  const long D = long(query.size(2)), H = long(mha.num_heads()), Dh = D / H;
  const std::size_t d = std::size_t(D);
  const Tensor w = mha.in_proj_weight(), b = mha.in_proj_bias();
  const auto split = [&](const Tensor& x, long length) {  // (B, L, D) -> (B, H, L, Dh)
    return x.reshape({B, length, H, Dh}).permute({0, 2, 1, 3});
  };
  const Tensor q = split(query.matmul(w.slice(0, 0, d).t()) + b.slice(0, 0, d), T);
  const Tensor k = split(memory.matmul(w.slice(0, d, 2 * d).t()) + b.slice(0, d, 2 * d), S);
  const Tensor v = split(memory.matmul(w.slice(0, 2 * d, 3 * d).t()) + b.slice(0, 2 * d, 3 * d), S);
  // The mask (B, 1, 1, S): the same hidden columns for every head and every query row.
  const Tensor mask = source_padding.reshape({B, 1, 1, S});
  const Tensor scores = q.matmul(k.transpose(-2, -1)) / real(std::sqrt(double(Dh)));
  const Tensor weights = scores.masked_fill(mask, -INFINITY).softmax(-1);  // (B, H, T, S)
  const Tensor context = weights.matmul(v).permute({0, 2, 1, 3}).reshape({B, T, D});
  return mha.out_proj().forward(context);
}

}  // namespace

int main() {
  nn::TransformerConfig config;
  nn::Seq2SeqTransformer model(config, 0);
  nn::MultiHeadAttention& mha = model.transformer().decoder().layer(1).multihead_attn();
  Generator gen(2);
  const std::size_t B = 2, T = 3, S = 7;
  Tensor decoder_states = Tensor::randn({B, T, config.d_model}, gen, /*requires_grad=*/true);
  Tensor memory = Tensor::randn({B, S, config.d_model}, gen, true);
  const Tensor source_padding = Tensor::from({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, {B, S});

  const Tensor mine = cross_attention(mha, decoder_states, memory, source_padding);
  const Tensor library = mha.forward(decoder_states, memory, source_padding);
  bool ok = compare("output", mine, library);
  std::printf("shape %s: (B, T, D), one row per decoder position\n", to_string(mine.shape()).c_str());

  // The gradients agree too, into both sides.
  const Tensor dy = Tensor::randn(library.shape(), gen);
  mine.backward(dy);
  const Tensor d_states = decoder_states.grad(), d_memory = memory.grad();
  decoder_states.zero_grad();
  memory.zero_grad();
  library.backward(dy);
  ok = compare("d states", d_states, decoder_states.grad()) && ok;
  ok = compare("d memory", d_memory, memory.grad()) && ok;
  // Padded memory positions get no gradient: nothing read them.
  double padded = 0;
  for (std::size_t s = 4; s < S; ++s)
    for (std::size_t d = 0; d < config.d_model; ++d) padded += std::abs(memory.grad().at({1, s, d}));
  std::printf("gradient reaching row 1's padded memory positions: %g\n", padded);

  // Swapped sides: queries from the memory give S rows, not T.
  const Tensor swapped = cross_attention(mha, memory, decoder_states, Tensor::zeros({B, T}));
  std::printf("swapped: shape %s, (B, S, D)\n", to_string(swapped.shape()).c_str());
  ok = ok && padded == 0 && swapped.shape() == Shape{B, S, config.d_model};
  return ok ? 0 : 1;
}
