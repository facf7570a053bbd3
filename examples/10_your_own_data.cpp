// 10_your_own_data.cpp — reading where a model trained on your own data fails. The model
// in docs/models/numbers.safetensors learnt to write numbers given in English words as digits
// ("seven thousand ninety eight" -> "7 0 9 8") from docs/data/numbers.tsv; this program
// decodes the 500 pairs of docs/data/numbers.test.tsv, which training never saw, prints the
// exact match by input length beside how often each length occurs in the training file,
// lists the wrong answers with their log-probabilities and the right answers', and shows the
// cross-attention of one wrong answer (as text, and with --pictures as an SVG).
// Walked through in docs/10-your-own-data.md.
// Run from the repository's top folder: build/10_your_own_data
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/tasks.h"
#include "data/tsv.h"
#include "examples/common/attention_view.h"
#include "examples/common/pictures.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

// The labels of one decoded input, for attention_view: source tokens + EOS, output tokens.
view::AttentionExample attention_example(const Vocab& vocab, const std::string& source,
                                         const nn::Hypothesis& h) {
  view::AttentionExample example;
  for (const std::string& token : vocab.tokenize(source)) example.source.push_back(token);
  example.source.push_back("EOS");
  for (const std::int64_t id : h.tokens) example.output.push_back(id == EOS ? "EOS" : vocab.symbol(id));
  example.layers = h.cross_attention;
  return example;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 10: where a model trained on a TSV file fails.");
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/numbers.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const TsvDataset train = TsvDataset::load("docs/data/numbers.tsv", TokenMode::words);
  const TsvDataset test = TsvDataset::load("docs/data/numbers.test.tsv", TokenMode::words);
  test.check_vocab(vocab);  // a word the model never saw is an error naming the line

  // Greedy decoding of every test source, 100 at a time.
  std::vector<std::string> predictions;
  std::vector<double> log_probs;
  for (std::size_t first = 0; first < test.size(); first += 100) {
    std::vector<std::vector<std::int64_t>> sources;
    for (std::size_t i = first; i < std::min(first + 100, test.size()); ++i)
      sources.push_back(vocab.encode(test.pairs()[i].source));
    for (const nn::Hypothesis& h : nn::greedy_decode(model, make_source_batch(sources))) {
      predictions.push_back(vocab.decode(h.tokens));
      log_probs.push_back(h.log_prob);
    }
  }

  // Exact match by length (the number of words in the source), and the training file's
  // share of each length.
  LengthAccuracy by_length;
  std::map<std::size_t, std::size_t> train_count;
  for (const Pair& pair : train.pairs()) train_count[vocab.tokenize(pair.source).size()] += 1;
  for (std::size_t i = 0; i < test.size(); ++i)
    by_length.record(vocab.tokenize(test.pairs()[i].source).size(), predictions[i] == test.pairs()[i].target);
  std::printf("%zu test pairs of %s: exact match %.1f%% (%zu right)\n\n", test.size(),
              test.name().c_str(), 100 * by_length.accuracy(), by_length.correct());
  std::printf("words in the source   test: right / pairs   exact match   training pairs\n");
  for (const auto& [length, counts] : by_length.by_length)
    std::printf("%19zu   %11zu / %-5zu   %10.1f%%   %14zu\n", length, counts.first, counts.second,
                100 * by_length.accuracy(length), train_count[length]);

  // The wrong answers, with the log p of what the model wrote and of the right answer.
  std::vector<Pair> wrong;
  std::vector<double> wrong_log_p;
  for (std::size_t i = 0; i < test.size(); ++i)
    if (predictions[i] != test.pairs()[i].target) {
      wrong.push_back({test.pairs()[i].source, predictions[i]});
      wrong_log_p.push_back(log_probs[i]);
    }
  std::printf("\nthe wrong answers (log p of the model's answer, and of the right one):\n");
  for (std::size_t i = 0, w = 0; i < test.size(); ++i) {
    if (predictions[i] == test.pairs()[i].target) continue;
    const Batch right = make_batch({test.pairs()[i]}, vocab);
    const double right_log_p = nn::score(model, right.src, right.tgt_in, right.labels)[0];
    std::printf("  %-38s -> %-10s want %-10s  %8.3f  %8.3f\n", test.pairs()[i].source.c_str(),
                predictions[i].c_str(), test.pairs()[i].target.c_str(), wrong_log_p[w++], right_log_p);
  }

  // One wrong answer's cross-attention: where each output token looked.
  const std::string source = "seven thousand ninety eight";
  nn::DecodeOptions options;
  options.keep_attention = true;
  const nn::Hypothesis h = nn::greedy_decode(model, make_source_batch({vocab.encode(source)}), options)[0];
  const view::AttentionExample example = attention_example(vocab, source, h);
  std::printf("\n%s -> %s\n", source.c_str(), vocab.decode(h.tokens).c_str());
  for (std::size_t l = 0; l < example.layers.size(); ++l) {
    view::HeatmapOptions heatmap;
    heatmap.title = "cross-attention, decoder layer " + std::to_string(l) + " of " +
                    std::to_string(example.layers.size()) + ", mean of " +
                    std::to_string(model.config().num_heads) + " heads";
    std::cout << view::render_heatmap(view::head_mean(example.layers[l]), example.source,
                                      example.output, heatmap);
  }
  pictures.save("10-wrong-answer.svg", view::render_svg({example}));

  // A right answer of the same shape, for comparison.
  const std::string similar = "seven thousand fifty eight";
  const nn::Hypothesis good = nn::greedy_decode(model, make_source_batch({vocab.encode(similar)}), options)[0];
  const view::AttentionExample good_example = attention_example(vocab, similar, good);
  std::printf("\n%s -> %s\n", similar.c_str(), vocab.decode(good.tokens).c_str());
  view::HeatmapOptions heatmap;
  heatmap.title = "cross-attention, decoder layer 1 of 2, mean of 2 heads";
  std::cout << view::render_heatmap(view::head_mean(good_example.layers.back()), good_example.source,
                                    good_example.output, heatmap);
  pictures.save("10-right-answer.svg", view::render_svg({good_example}));
  return wrong.empty() ? 1 : 0;  // the chapter needs wrong answers to read
}
