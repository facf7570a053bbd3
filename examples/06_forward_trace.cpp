// 06_forward_trace.cpp — one forward pass of the trained standard model on a real batch of
// three reversal examples, step by step with every shape: embeddings and positions, the
// encoder's layers and final norm (the memory), the decoder's layers with their
// self-attention and cross-attention maps, the generator's logits and the loss. The layers
// are the model's own EncoderLayer and DecoderLayer modules, called one by one; embeddings,
// final norms and generator are ops on the model's parameters, found by name; the logits
// are checked against model.forward(). Then the 236,237 parameters, counted by hand and checked.
// Walked through in docs/06-the-transformer.md.
// Run from the repository's top folder: build/06_forward_trace
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batch.h"
#include "data/tasks.h"
#include "examples/common/attention_view.h"
#include "examples/training/checkpoint.h"
#include "nn/model_checkpoint.h"

using namespace crossgrad;

namespace {

void step(const std::string& what, const Shape& shape, const std::string& legend) {
  std::printf("  %-44s %-12s %s\n", what.c_str(), to_string(shape).c_str(), legend.c_str());
}

Tensor parameter(const nn::Module& module, const std::string& name) {
  for (const auto& [parameter_name, tensor] : module.named_parameters())
    if (parameter_name == name) return tensor;
  fail("no parameter named " + name);
}

std::string row_text(const Vocab& vocab, const TokenMatrix& ids, std::size_t row) {
  std::string text;
  for (std::size_t c = 0; c < ids.cols; ++c)
    text += " " + view::token_label(vocab.symbol(ids.at(row, c)));
  return text;
}

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const nn::TransformerConfig& config = model.config();
  const std::size_t D = config.d_model;

  // A real batch: three held-out reversal examples of different lengths.
  const Batch batch = make_batch({{"60521", "12506"}, {"847", "748"}, {"39", "93"}}, vocab);
  std::printf("the batch (B = %zu):\n", batch.src.rows);
  for (std::size_t b = 0; b < batch.src.rows; ++b)
    std::printf("  src%s   tgt_in%s   labels%s\n", row_text(vocab, batch.src, b).c_str(),
                row_text(vocab, batch.tgt_in, b).c_str(), row_text(vocab, batch.labels, b).c_str());

  NoGradGuard no_grad;  // inference: no graph needed
  nn::Encoder& encoder = model.transformer().encoder();
  nn::Decoder& decoder = model.transformer().decoder();
  const nn::PositionalEncoding positions(D, config.max_len);
  const real scale = real(std::sqrt(double(D)));
  std::printf("\nthe forward pass, step by step:\n");

  // Encoder: ids -> vectors -> layers -> final LayerNorm: the memory.
  step("src ids", batch.src.shape(), "(B, S)");
  const Tensor src_tokens = embedding(parameter(model, "src_embed.weight"), batch.src.ids,
                                      batch.src.shape());
  step("src_embed: E[src]", src_tokens.shape(), "(B, S, D)");
  Tensor h = positions.forward(src_tokens * scale);
  step("* sqrt(D) + pe[:S]", h.shape(), "(B, S, D)");
  const Tensor src_padding = nn::padding_mask(batch.src, config.pad_id);
  step("source padding mask (1 at PAD)", src_padding.shape(), "(B, S)");
  for (std::size_t i = 0; i < encoder.num_layers(); ++i) {
    h = encoder.layer(i).forward(h, src_padding);
    step("encoder layer " + std::to_string(i), h.shape(), "(B, S, D)");
    step("  its self-attention weights", encoder.layer(i).self_attn().last_attention_weights().shape(),
         "(B, H, S, S)");
  }
  const Tensor memory = layer_norm(h, parameter(model, "transformer.encoder.norm.weight"),
                                   parameter(model, "transformer.encoder.norm.bias"),
                                   config.layer_norm_eps);
  step("final LayerNorm: the memory", memory.shape(), "(B, S, D)");

  // Decoder: BOS + target -> vectors -> layers reading the memory -> final LayerNorm.
  step("tgt_in ids", batch.tgt_in.shape(), "(B, T)");
  Tensor x = positions.forward(embedding(parameter(model, "tgt_embed.weight"), batch.tgt_in.ids,
                                         batch.tgt_in.shape()) * scale);
  step("tgt_embed * sqrt(D) + pe[:T]", x.shape(), "(B, T, D)");
  const Tensor tgt_padding = nn::padding_mask(batch.tgt_in, config.pad_id);
  for (std::size_t i = 0; i < decoder.num_layers(); ++i) {
    x = decoder.layer(i).forward(x, memory, tgt_padding, src_padding);
    step("decoder layer " + std::to_string(i), x.shape(), "(B, T, D)");
    step("  its self-attention weights (causal)",
         decoder.layer(i).self_attn().last_attention_weights().shape(), "(B, H, T, T)");
    step("  its cross-attention weights",
         decoder.layer(i).multihead_attn().last_attention_weights().shape(), "(B, H, T, S)");
  }
  x = layer_norm(x, parameter(model, "transformer.decoder.norm.weight"),
                 parameter(model, "transformer.decoder.norm.bias"), config.layer_norm_eps);
  step("final LayerNorm", x.shape(), "(B, T, D)");
  const Tensor logits = x.matmul(parameter(model, "generator.weight").t()) +
                        parameter(model, "generator.bias");
  step("generator: x W^T + b", logits.shape(), "(B, T, V)");
  const Tensor loss = nn::sequence_cross_entropy(logits, batch.labels);
  step("loss over the non-PAD labels", loss.shape(), "()");

  double difference = 0;
  const Tensor reference = model.forward(batch.src, batch.tgt_in);
  for (std::size_t i = 0; i < logits.numel(); ++i)
    difference = std::max(difference, double(std::abs(logits.data()[i] - reference.data()[i])));
  std::printf("\nthese logits against model.forward(src, tgt_in): max difference %.1e\n", difference);
  std::printf("loss %.4f; the most likely token at each position of row 0:", double(loss.item()));
  const std::vector<std::int64_t> best = argmax(logits, -1);
  for (std::size_t t = 0; t < batch.tgt_in.cols; ++t)
    std::printf(" %s", view::token_label(vocab.symbol(best[t])).c_str());
  std::printf("\n");

  // The parameters, by hand. Linear(in, out): in*out + out; LayerNorm(D): 2D;
  // attention: 4D^2 + 4D (chapter 5); Embedding(V, D): V*D.
  const std::size_t V = config.vocab_size, F = config.d_ff;
  const std::size_t attention = 4 * D * D + 4 * D, feed_forward = (D * F + F) + (F * D + D);
  const std::size_t norm = 2 * D;
  const std::size_t encoder_layer = attention + feed_forward + 2 * norm;
  const std::size_t decoder_layer = 2 * attention + feed_forward + 3 * norm;
  const std::size_t embeddings = 2 * V * D, generator = D * V + V;
  const std::size_t total = embeddings + config.num_encoder_layers * encoder_layer + norm +
                            config.num_decoder_layers * decoder_layer + norm + generator;
  std::printf("\nparameters, by hand (D = %zu, F = %zu, V = %zu):\n", D, F, V);
  std::printf("  attention         4D^2 + 4D                        = %7zu\n", attention);
  std::printf("  feed-forward      (D*F + F) + (F*D + D)            = %7zu\n", feed_forward);
  std::printf("  LayerNorm         2D                               = %7zu\n", norm);
  std::printf("  encoder layer     attention + ff + 2 LayerNorms    = %7zu\n", encoder_layer);
  std::printf("  decoder layer     2 attentions + ff + 3 LayerNorms = %7zu\n", decoder_layer);
  std::printf("  embeddings        2 * V*D (source and target)      = %7zu\n", embeddings);
  std::printf("  generator         D*V + V                          = %7zu\n", generator);
  std::printf("  total: embeddings + 2 encoder layers + LayerNorm\n");
  std::printf("         + 2 decoder layers + LayerNorm + generator  = %7zu\n", total);
  std::printf("model.num_parameters()                               = %7zu\n", model.num_parameters());
  std::printf("nn::count_parameters(config)                         = %7zu\n",
              nn::count_parameters(config));
  return total == model.num_parameters() && difference < 1e-4 ? 0 : 1;
}
