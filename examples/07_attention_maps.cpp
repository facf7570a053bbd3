// 07_attention_maps.cpp — what the trained reversal model's cross-attention looks like, and
// how to read it. Rows are decoder positions: row t holds decoder input token t (BOS first)
// and predicts the next token; columns are source positions. Every label comes from the
// batch the model read, never typed by hand. Prints the last layer's mean-of-heads map for
// one input, where each row's peak falls, and over 300 held-out inputs how often each head
// peaks on the digit being written and how often one cell to the right of it.
// Walked through in docs/07-cross-attention.md.
// Run from the repository's top folder: build/07_attention_maps   (make pictures draws them)
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
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

std::string label(const Vocab& vocab, std::int64_t id) {
  return view::token_label(vocab.symbol(id));
}

// The row labels of one batch row: "BOS→8" is the position holding BOS, predicting 8.
std::vector<std::string> row_labels(const Vocab& vocab, const Batch& batch, std::size_t row) {
  std::vector<std::string> out;
  for (std::size_t t = 0; t < batch.tgt_in.cols; ++t)
    out.push_back(label(vocab, batch.tgt_in.at(row, t)) + "\u2192" +
                  label(vocab, batch.labels.at(row, t)));
  return out;
}

std::vector<std::string> column_labels(const Vocab& vocab, const Batch& batch, std::size_t row) {
  std::vector<std::string> out;
  for (std::size_t s = 0; s < batch.src.cols; ++s) out.push_back(label(vocab, batch.src.at(row, s)));
  return out;
}

// (B, H, T, S) weights -> (H, T, S) of batch row b.
Tensor batch_row(const Tensor& weights, std::size_t b) {
  return weights.slice(0, b, b + 1).squeeze(0);
}

std::size_t peak(const Tensor& map, std::size_t t) {  // map (T, S): the heaviest column of row t
  std::size_t best = 0;
  for (std::size_t s = 1; s < map.size(1); ++s)
    if (map.at({t, s}) > map.at({t, best})) best = s;
  return best;
}

plot::Heatmap panel(const std::string& title, const Tensor& map, const std::vector<std::string>& rows,
                    const std::vector<std::string>& columns, double cell) {
  plot::Heatmap heatmap = view::attention_heatmap(title, map, rows, columns, cell);
  heatmap.y_label = "decoder input -> next token";
  return heatmap;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 7: the trained reversal model's cross-attention.");
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const std::size_t layers = model.config().num_decoder_layers, heads = model.config().num_heads;

  // The model's own answer, by greedy decoding.
  const std::string input = "384920175638";
  const std::vector<nn::Hypothesis> decoded =
      nn::greedy_decode(model, make_source_batch({vocab.encode(input)}));
  const std::string answer = vocab.decode(decoded[0].tokens);
  std::printf("input %s, greedy decoding gives %s (%s)\n\n", input.c_str(), answer.c_str(),
              answer == std::string(input.rbegin(), input.rend()) ? "right" : "wrong");

  // Teacher-forced on its own answer: the same rows decoding computed, all at once.
  const Batch batch = make_batch({{input, answer}}, vocab);
  NoGradGuard no_grad;
  model.forward(batch.src, batch.tgt_in);
  const std::vector<Tensor> maps = model.cross_attention_weights();  // per layer (B, H, T, S)
  const std::vector<std::string> rows = row_labels(vocab, batch, 0);
  const std::vector<std::string> columns = column_labels(vocab, batch, 0);
  const Tensor last = view::head_mean(batch_row(maps[layers - 1], 0));  // (T, S)
  view::HeatmapOptions options;
  options.title = "cross-attention, decoder layer " + std::to_string(layers - 1) + " of " +
                  std::to_string(layers) + ", mean of " + std::to_string(heads) + " heads";
  std::cout << view::render_heatmap(last, columns, rows, options);

  // Where each row's peak falls. Row t holds output token t-1 (BOS for t = 0) and predicts
  // output token t, which is source digit n-1-t; the digit it holds is source digit n-t.
  const std::size_t n = input.size();
  std::printf("\nrow   holds  predicts   peak at source   its weight   which is\n");
  for (std::size_t t = 0; t <= n; ++t) {
    const std::size_t s = peak(last, t);
    const std::string where = t == n ? "(the end: EOS is predicted)"
                              : s == n - 1 - t ? "the digit it writes"
                              : t > 0 && s == n - t ? "the digit it holds, one cell right"
                                                    : "elsewhere";
    const std::string at = std::to_string(s) + " (" + columns[s] + ")";
    std::printf("%3zu   %5s  %8s   %-14s   %10.2f   %s\n", t,
                label(vocab, batch.tgt_in.at(0, t)).c_str(), label(vocab, batch.labels.at(0, t)).c_str(),
                at.c_str(), double(last.at({t, s})), where.c_str());
  }

  // Over 300 held-out inputs: for the digit rows t >= 1 of each layer, each head and their
  // mean, where the peak falls and how much weight each of the two cells gets on average.
  const std::vector<Pair> held_out = make_held_out(default_spec(Task::reverse), 300, 0);
  std::vector<std::vector<double>> on_written(layers, std::vector<double>(heads + 1)),
      on_held = on_written, weight_written = on_written, weight_held = on_written;
  double counted = 0;
  for (const Pair& example : held_out) {
    const Batch one = make_batch({example}, vocab);
    model.forward(one.src, one.tgt_in);
    const std::vector<Tensor> example_maps = model.cross_attention_weights();
    const std::size_t length = one.src.cols - 1;
    for (std::size_t t = 1; t < length; ++t) {
      counted += 1;
      for (std::size_t l = 0; l < layers; ++l) {
        const Tensor per_head = batch_row(example_maps[l], 0);
        for (std::size_t h = 0; h <= heads; ++h) {
          const Tensor map = h == heads ? view::head_mean(per_head) : view::head_slice(per_head, h);
          const std::size_t s = peak(map, t);
          on_written[l][h] += s == length - 1 - t;
          on_held[l][h] += s == length - t;
          weight_written[l][h] += map.at({t, length - 1 - t});
          weight_held[l][h] += map.at({t, length - t});
        }
      }
    }
  }
  std::printf("\n%d digit rows (t >= 1) of 300 held-out inputs: where the peak falls, and the\n"
              "mean weight on the digit being written and on the digit held (one cell right)\n",
              int(counted));
  std::printf("                      peak on   peak on    weight on   weight on\n");
  std::printf("                      written   held       written     held\n");
  for (std::size_t l = 0; l < layers; ++l)
    for (std::size_t h = 0; h <= heads; ++h)
      std::printf("  layer %zu %-11s  %5.1f%%   %5.1f%%     %5.2f       %5.2f\n", l,
                  h == heads ? "mean" : ("head " + std::to_string(h)).c_str(),
                  100 * on_written[l][h] / counted, 100 * on_held[l][h] / counted,
                  weight_written[l][h] / counted, weight_held[l][h] / counted);

  // Pictures: the last layer's mean, large; then every head of every layer, with the mean.
  plot::Heatmap mean_panel = panel(options.title, last, rows, columns, 30);
  pictures.save("07-cross-attention.svg", plot::heatmap_svg(mean_panel));
  for (std::size_t l = 0; l < layers; ++l) {
    const Tensor per_head = batch_row(maps[l], 0);
    std::vector<plot::Heatmap> panels;
    for (std::size_t h = 0; h <= heads; ++h) {
      const bool mean = h == heads;
      plot::Heatmap heatmap = panel(mean ? "mean of heads" : "head " + std::to_string(h),
                                    mean ? view::head_mean(per_head) : view::head_slice(per_head, h),
                                    rows, columns, 14);
      heatmap.colour_bar = mean;
      panels.push_back(heatmap);
    }
    pictures.save("07-cross-attention-layer-" + std::to_string(l) + ".svg",
                  plot::heatmaps_svg("Cross-attention of decoder layer " + std::to_string(l) +
                                         " for the input " + input,
                                     panels));
  }
  return answer == std::string(input.rbegin(), input.rend()) ? 0 : 1;
}
