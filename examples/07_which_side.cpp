// 07_which_side.cpp — cross-attention's contract, checked like a test. Which side gives
// what: queries from the decoder (T rows), keys and values from the encoder's final output
// (S rows), projected afresh by each decoder layer's own parameters; swapping the inputs
// changes the output's shape. The mask: rectangular, T x S, source padding only, never
// causal. A padded source position changes nothing, whatever it holds. Shown on an
// addition batch, where the source and target lengths differ.
// Walked through in docs/07-cross-attention.md.
// Run: build/07_which_side   (make pictures also draws the mask)
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batch.h"
#include "data/tasks.h"
#include "examples/common/attention_view.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

double max_difference(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  return worst;
}

std::vector<std::string> labels(const Vocab& vocab, const TokenMatrix& ids, std::size_t row) {
  std::vector<std::string> out;
  for (std::size_t c = 0; c < ids.cols; ++c)
    out.push_back(view::token_label(vocab.symbol(ids.at(row, c))));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 7: which side gives what, and the mask.");

  // An untrained standard-size model for the addition task (V = 14: digits and '+').
  const Vocab vocab = task_vocab(Task::add);
  nn::TransformerConfig config;
  config.vocab_size = vocab.size();
  nn::Seq2SeqTransformer model(config, /*seed=*/0);
  model.eval();

  // 1. Every decoder layer has its own cross-attention parameters.
  std::cout << "cross-attention parameters (each decoder layer has its own):\n";
  for (const auto& [name, parameter] : model.named_parameters())
    if (name.find("multihead_attn") != std::string::npos)
      std::printf("  %-60s %s\n", name.c_str(), to_string(parameter.shape()).c_str());

  // A batch where S != T: sources "702+464" and "5+8", targets "1166" and "13".
  const Batch batch = make_batch({{"702+464", "1166"}, {"5+8", "13"}}, vocab);
  const std::size_t S = batch.src.cols, T = batch.tgt_in.cols;
  std::printf("\nbatch: src (B, S) = %s, tgt_in (B, T) = %s\n", to_string(batch.src.shape()).c_str(),
              to_string(batch.tgt_in.shape()).c_str());
  for (std::size_t b = 0; b < 2; ++b) {
    std::printf("  row %zu  src:", b);
    for (const std::string& token : labels(vocab, batch.src, b)) std::printf(" %s", token.c_str());
    std::printf("   tgt_in:");
    for (const std::string& token : labels(vocab, batch.tgt_in, b)) std::printf(" %s", token.c_str());
    std::printf("\n");
  }

  // 2. Which side gives what, at the level of one attention module: the first decoder
  // layer's cross-attention, called with the decoder's states and the encoder's memory.
  NoGradGuard no_grad;
  const Tensor memory = model.encode(batch.src);  // (B, S, D): the encoder's final output
  Generator gen(1);
  const Tensor decoder_states = Tensor::randn({2, T, config.d_model}, gen);  // (B, T, D)
  const Tensor source_padding = nn::padding_mask(batch.src, config.pad_id);   // (B, S)
  nn::MultiHeadAttention& cross = model.transformer().decoder().layer(0).multihead_attn();
  const Tensor out = cross.forward(decoder_states, memory, source_padding);
  std::printf("\nmultihead_attn.forward(query = decoder states %s, key_value = memory %s)\n",
              to_string(decoder_states.shape()).c_str(), to_string(memory.shape()).c_str());
  std::printf("  output %s: one row per decoder position (B, T, D)\n", to_string(out.shape()).c_str());
  std::printf("  weights %s: (B, H, T, S)\n", to_string(cross.last_attention_weights().shape()).c_str());
  const Tensor swapped = cross.forward(memory, decoder_states);
  std::printf("swapped, forward(query = memory, key_value = decoder states)\n");
  std::printf("  output %s: one row per source position, not what the decoder needs\n",
              to_string(swapped.shape()).c_str());
  const bool shapes_ok = out.shape() == Shape{2, T, config.d_model} &&
                         swapped.shape() == Shape{2, S, config.d_model};

  // 3. The mask: rectangular (T x S), source padding only, the same for every decoder row.
  std::printf("\ncross-attention mask of row 1, x = hidden (T = %zu rows, S = %zu columns):\n", T, S);
  const std::vector<std::string> source_labels = labels(vocab, batch.src, 1);
  const std::vector<std::string> query_labels = labels(vocab, batch.tgt_in, 1);
  std::printf("        ");
  for (const std::string& token : source_labels) std::printf("%4s", token.c_str());
  std::printf("   <- source token s\n");
  for (std::size_t t = 0; t < T; ++t) {
    std::printf("  %4s  ", query_labels[t].c_str());
    for (std::size_t s = 0; s < S; ++s) {
      const bool hidden = source_padding.at({1, s}) != 0;
      std::printf("%4s", hidden ? "x" : ".");
    }
    std::printf("\n");
  }

  // The whole model: its cross-attention weights at padded source columns are exactly 0.
  model.forward(batch.src, batch.tgt_in);
  bool padded_zero = true;
  for (const Tensor& layer : model.cross_attention_weights())
    for (std::size_t h = 0; h < config.num_heads; ++h)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < S; ++s)
          if (source_padding.at({1, s}) != 0 && layer.at({1, h, t, s}) != 0) padded_zero = false;
  std::printf("model.forward: every layer's and head's weight on row 1's PAD columns is 0: %s\n",
              padded_zero ? "yes" : "NO");

  // 4. A masked source position changes nothing: overwrite the memory there with noise.
  Tensor noisy_memory = memory.detach().clone();  // a copy: memory itself stays
  for (std::size_t s = 0; s < S; ++s)
    if (source_padding.at({1, s}) != 0)
      for (std::size_t d = 0; d < config.d_model; ++d) noisy_memory.set({1, s, d}, 100 * gen.normal());
  const Tensor noisy = cross.forward(decoder_states, noisy_memory, source_padding);
  std::printf("\nnoise written into the memory at row 1's PAD positions: output moved by %.1e\n",
              max_difference(noisy, out));
  // And the whole model: "5+8" decoded alone or padded in a batch gives the same logits.
  const Batch alone = make_batch({{"5+8", "13"}}, vocab);
  const Tensor batched_logits = model.forward(batch.src, batch.tgt_in).slice(0, 1, 2);
  const Tensor alone_logits = model.forward(alone.src, alone.tgt_in);
  const double batch_difference =
      max_difference(batched_logits.slice(1, 0, alone.tgt_in.cols), alone_logits);
  std::printf("\"5+8\" alone (S = %zu) against padded in the batch (S = %zu): logits differ by "
              "less than 1e-5: %s\n",
              alone.src.cols, S, batch_difference < 1e-5 ? "yes" : "NO");

  // The picture: both rows' masks. Row 0 has no padding, so nothing is hidden at all.
  std::vector<plot::Heatmap> panels;
  for (std::size_t b = 0; b < 2; ++b) {
    plot::Heatmap map;
    map.title = "row " + std::to_string(b);
    map.rows = T, map.cols = S;
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t s = 0; s < S; ++s) map.values.push_back(source_padding.at({b, s}));
    map.row_names = labels(vocab, batch.tgt_in, b);
    map.col_names = labels(vocab, batch.src, b);
    map.y_label = "decoder position t";
    map.x_label = "source position s";
    map.low = 0, map.high = 1;
    map.cell = 30;
    map.colour_bar = false;
    panels.push_back(map);
  }
  pictures.save("07-cross-attention-mask.svg",
                plot::heatmaps_svg("Cross-attention masks (T x S, dark = hidden): source padding only",
                                   panels));
  const bool ok = shapes_ok && padded_zero && max_difference(noisy, out) == 0 && batch_difference < 1e-5;
  return ok ? 0 : 1;
}
