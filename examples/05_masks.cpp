// 05_masks.cpp — the two masks of attention, on a real batch of two reversal examples.
// The causal mask hides every key that lies in a query's future (s > t), so position t
// cannot read the token it must predict; the padding mask hides padding *keys* (columns)
// only, so padded query rows still attend to real tokens and produce outputs, which the loss
// must ignore. Both are checked: changing a token changes no earlier output, and logits at
// positions labelled PAD get no gradient.
// Walked through in docs/05-attention-from-primitives.md.
// Run: build/05_masks   (make pictures also draws the masks)
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

// softmax(q kᵀ / √Dh) v with hidden keys at -inf: q (T, Dh), k and v (S, Dh), mask (T, S)
// with 1 where query t may not see key s (or undefined) -> (T, Dh). Also the weights (T, S).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                 Tensor* weights = nullptr) {
  Tensor scores = q.matmul(k.t()) / real(std::sqrt(double(q.size(-1))));
  if (mask.defined()) scores = scores.masked_fill(mask, -INFINITY);
  const Tensor w = scores.softmax(-1);
  if (weights) *weights = w;
  return w.matmul(v);
}

// (T, T): 1 where key s lies in the future of query t (s > t). Row t may see 0..t.
Tensor causal_mask(std::size_t length) {
  std::vector<real> mask(length * length);
  for (std::size_t t = 0; t < length; ++t)
    for (std::size_t s = 0; s < length; ++s) mask[t * length + s] = s > t;
  return Tensor::from(std::move(mask), {length, length});
}

// Row `row` of a (B, L) padding mask, stretched down T query rows: (T, L). Every query row
// gets the same hidden columns; no row is hidden.
Tensor padding_rows(const Tensor& key_padding_mask, std::size_t row, std::size_t queries) {
  const std::size_t keys = key_padding_mask.size(1);
  return key_padding_mask.slice(0, row, row + 1).expand({queries, keys});
}

void print_mask(const std::string& title, const Tensor& mask,
                const std::vector<std::string>& labels) {
  std::cout << title << "\n       ";
  for (const std::string& label : labels) std::printf("%4s", label.c_str());
  std::cout << "   <- key s\n";
  for (std::size_t t = 0; t < mask.size(0); ++t) {
    std::printf("  %4s ", labels[t].c_str());
    for (std::size_t s = 0; s < mask.size(1); ++s)
      std::printf("%4s", mask.at({t, s}) != 0 ? "x" : ".");
    std::cout << "\n";
  }
}

plot::Heatmap panel(const std::string& title, const Tensor& values,
                    const std::vector<std::string>& labels, bool show_values) {
  plot::Heatmap map;
  map.title = title;
  map.rows = values.size(0), map.cols = values.size(1);
  map.values.assign(values.data(), values.data() + values.numel());
  map.row_names = map.col_names = labels;
  map.y_label = "query t";
  map.x_label = "key s";
  map.low = 0, map.high = 1;
  map.show_values = show_values;
  map.cell = 34;
  map.colour_bar = false;
  return map;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 5: the causal and the padding masks.");

  // A batch of two reversal examples, as build/train makes it: the shorter row is padded.
  const Vocab vocab = task_vocab(Task::reverse);
  const Batch batch = make_batch({{"3714", "4173"}, {"95", "59"}}, vocab);
  const std::size_t T = batch.tgt_in.cols;
  std::vector<std::vector<std::string>> tokens(2), labels(2);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t t = 0; t < T; ++t) {
      tokens[b].push_back(view::token_label(vocab.symbol(batch.tgt_in.at(b, t))));
      labels[b].push_back(view::token_label(vocab.symbol(batch.labels.at(b, t))));
    }
  for (std::size_t b = 0; b < 2; ++b) {
    std::printf("row %zu  decoder input:", b);
    for (const std::string& token : tokens[b]) std::printf("%4s", token.c_str());
    std::printf("\n        labels:       ");
    for (const std::string& label : labels[b]) std::printf("%4s", label.c_str());
    std::cout << "\n";
  }

  // The masks of the decoder's self-attention for row 1: a query row t, a key column s.
  const Tensor causal = causal_mask(T);
  const Tensor key_padding = nn::padding_mask(batch.tgt_in, PAD);  // (B, T): 1 at PAD
  const Tensor padding = padding_rows(key_padding, 1, T);
  const Tensor both = causal + padding - causal * padding;  // 1 where either is 1
  std::cout << "\nkey_padding_mask (B, T), 1 at PAD:";
  for (std::size_t b = 0; b < 2; ++b) {
    std::printf("  row %zu:", b);
    for (std::size_t t = 0; t < T; ++t) std::printf(" %g", double(key_padding.at({b, t})));
  }
  std::cout << "\n\n";
  print_mask("causal mask, x = hidden: query t sees keys 0..t", causal, tokens[1]);
  print_mask("\npadding mask of row 1: the PAD column is hidden from every query", padding,
             tokens[1]);
  print_mask("\nboth, as the decoder's self-attention uses them", both, tokens[1]);

  // Self-attention over row 1 with made-up projections: x (T, D) -> q, k, v (T, Dh). The
  // weights are drawn with variance 1/D, so that q, k and v have entries of variance ~1.
  Generator gen(0);
  const std::size_t D = 8, Dh = 4;
  const real init = real(1 / std::sqrt(double(D)));
  const Tensor w_q = Tensor::randn({D, Dh}, gen) * init, w_k = Tensor::randn({D, Dh}, gen) * init;
  const Tensor w_v = Tensor::randn({D, Dh}, gen) * init;
  const Tensor x = Tensor::randn({T, D}, gen);
  Tensor weights;
  const Tensor out = attention(x.matmul(w_q), x.matmul(w_k), x.matmul(w_v), both, &weights);
  std::cout << "\nattention weights of row 1 under both masks (rows sum to 1):\n" << weights << "\n";
  std::printf("the PAD query (t = %zu) is not hidden: its weights sum to %.4f\n", T - 1,
              double(weights.slice(0, T - 1, T).sum().item()));

  // Causality: change the token at position 2; outputs before it must not move.
  Tensor changed_x = x.detach().clone();  // detach() alone would share x's storage
  for (std::size_t d = 0; d < D; ++d) changed_x.set({2, d}, 0);
  const Tensor changed = attention(changed_x.matmul(w_q), changed_x.matmul(w_k),
                                   changed_x.matmul(w_v), both);
  std::cout << "\nchange the input at position 2; which outputs move?\n ";
  for (std::size_t t = 0; t < T; ++t) {
    double moved = 0;
    for (std::size_t d = 0; d < Dh; ++d)
      moved = std::max(moved, double(std::abs(changed.at({t, d}) - out.at({t, d}))));
    std::printf(" t=%zu %s", t, moved == 0 ? "same" : "moved");
  }
  std::cout << "\n";

  // The loss ignores positions whose label is PAD: their logits get no gradient.
  Tensor logits = Tensor::randn({2, T, vocab.size()}, gen, /*requires_grad=*/true);
  const Tensor loss = nn::sequence_cross_entropy(logits, batch.labels);
  loss.backward();
  std::printf("\nsequence_cross_entropy over %zu non-PAD labels = %.4f\n", batch.label_tokens,
              double(loss.item()));
  std::cout << "gradient reaching each position's logits (0 = ignored):\n";
  for (std::size_t b = 0; b < 2; ++b) {
    std::printf("  row %zu:", b);
    for (std::size_t t = 0; t < T; ++t) {
      double size = 0;
      for (std::size_t v = 0; v < vocab.size(); ++v)
        size += std::abs(logits.grad().at({b, t, v}));
      std::printf("  %s %.3f", labels[b][t].c_str(), size);
    }
    std::cout << "\n";
  }

  std::string row_text;
  for (const std::string& token : tokens[1]) row_text += " " + token;
  pictures.save("05-masks.svg",
                plot::heatmaps_svg("Self-attention over" + row_text +
                                       ": the masks (dark = hidden) and the weights they leave",
                                   {panel("causal (s > t)", causal, tokens[1], false),
                                    panel("padding (key is PAD)", padding, tokens[1], false),
                                    panel("both", both, tokens[1], false),
                                    panel("weights under both", weights, tokens[1], true)}));
  return 0;
}
