// Solution to exercise 6.2 (docs/06-the-transformer.md): the number of parameters of any
// configuration, as a formula. Every piece is a Linear (in·out + out), a LayerNorm (2D), an
// attention (4D² + 4D: in_proj (3D, D) and its bias, out_proj (D, D) and its bias) or an
// embedding table (V·D); the positional encoding is a fixed table, not a parameter.
// Checked against the models themselves for several configurations.
#include <cstdio>

#include "nn/model_checkpoint.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

std::size_t by_formula(const nn::TransformerConfig& c) {
  const std::size_t D = c.d_model, F = c.d_ff, V = c.vocab_size;
  const std::size_t attention = 4 * D * D + 4 * D;
  const std::size_t feed_forward = D * F + F + F * D + D;
  const std::size_t norm = 2 * D;
  const std::size_t encoder = c.num_encoder_layers * (attention + feed_forward + 2 * norm) + norm;
  const std::size_t decoder = c.num_decoder_layers * (2 * attention + feed_forward + 3 * norm) + norm;
  return 2 * V * D + encoder + decoder + (D * V + V);
}

}  // namespace

int main() {
  struct Case {
    std::size_t vocab, d_model, heads, d_ff, encoder_layers, decoder_layers;
  };
  bool ok = true;
  std::printf("   V     D   H     F  enc  dec   formula     model\n");
  for (const Case& k : {Case{13, 64, 4, 256, 2, 2}, Case{14, 64, 4, 256, 2, 2},
                        Case{13, 128, 8, 512, 3, 3}, Case{100, 32, 2, 64, 1, 4},
                        Case{13, 64, 1, 256, 2, 2}}) {
    nn::TransformerConfig config;
    config.vocab_size = k.vocab, config.d_model = k.d_model, config.num_heads = k.heads;
    config.d_ff = k.d_ff, config.num_encoder_layers = k.encoder_layers;
    config.num_decoder_layers = k.decoder_layers;
    const nn::Seq2SeqTransformer model(config, 0);
    const std::size_t formula = by_formula(config), actual = model.num_parameters();
    std::printf("%4zu  %4zu  %2zu  %4zu  %3zu  %3zu  %8zu  %8zu  %s\n", k.vocab, k.d_model, k.heads,
                k.d_ff, k.encoder_layers, k.decoder_layers, formula, actual,
                formula == actual ? "ok" : "DIFFERENT");
    ok = ok && formula == actual && formula == nn::count_parameters(config);
  }
  // The number of heads never appears in the formula: 4 heads or 1, the same count.
  return ok ? 0 : 1;
}
