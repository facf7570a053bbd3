// 12_steer_reversal.cpp — steering the trained reversal model by editing its cross-attention
// while it decodes (examples/common/steering.h). Forcing the diagonal asks it to read the
// source in order: does it copy instead of reversing, and which decoder layer must be edited
// for that? Then one head at a time, and prompt weighting: one source position's weight
// multiplied by a factor (0 blocks it). Every number is measured over held-out inputs by
// greedy decoding; the pictures are the maps before and after.
// Walked through in docs/steering-cross-attention.md.
// Run from the repository's top folder: build/12_steer_reversal   (make pictures draws them)
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/tasks.h"
#include "examples/common/attention_view.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"
#include "examples/common/steering.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

// Greedy outputs of every source, decoded with `steering` installed (none: the model as is).
std::vector<std::string> decode(nn::Seq2SeqTransformer& model, const Vocab& vocab,
                                const std::vector<std::string>& sources,
                                const steer::Steering& steering) {
  steer::install(steering, model);
  std::vector<std::string> out;
  for (std::size_t start = 0; start < sources.size(); start += 100) {
    std::vector<std::vector<std::int64_t>> ids;
    for (std::size_t i = start; i < std::min(start + 100, sources.size()); ++i)
      ids.push_back(vocab.encode(sources[i]));
    for (const nn::Hypothesis& h : nn::greedy_decode(model, make_source_batch(ids)))
      out.push_back(vocab.decode(h.tokens));
  }
  model.clear_cross_attention_edits();
  return out;
}

steer::Steering diagonal(std::vector<std::size_t> layers, std::optional<std::size_t> head = {}) {
  steer::Steering s;
  s.force = steer::Force::diagonal;
  s.layers = std::move(layers);
  s.head = head;
  return s;
}

std::string reversed(const std::string& s) { return {s.rbegin(), s.rend()}; }

// (H, T, S) -> a mean-of-heads panel labelled with the tokens.
plot::Heatmap panel(const std::string& title, const Tensor& layer,
                    const std::vector<std::string>& source,
                    const std::vector<std::string>& output) {
  const Tensor mean = view::head_mean(layer.slice(2, 0, source.size()));
  plot::Heatmap heatmap = view::attention_heatmap(title, mean, output, source, 16);
  heatmap.colour_bar = false;
  return heatmap;
}

// Both decoder layers' maps of one input, unedited and steered, as four panels.
std::string before_after(nn::Seq2SeqTransformer& model, const Vocab& vocab,
                         const std::string& input, const steer::Steering& steering,
                         const std::string& title) {
  std::vector<plot::Heatmap> panels;
  for (const bool steered : {false, true}) {
    steer::install(steered ? steering : steer::Steering(), model);
    nn::DecodeOptions options;
    options.keep_attention = true;
    const nn::Hypothesis h =
        nn::greedy_decode(model, make_source_batch({vocab.encode(input)}), options)[0];
    model.clear_cross_attention_edits();
    std::vector<std::string> source, output;
    for (const char c : input) source.push_back(std::string(1, c));
    source.push_back("EOS");
    for (const std::int64_t id : h.tokens) output.push_back(view::token_label(vocab.symbol(id)));
    for (std::size_t l = 0; l < h.cross_attention.size(); ++l)
      panels.push_back(panel((steered ? "steered, layer " : "unedited, layer ") +
                                 std::to_string(l) + ": " + vocab.decode(h.tokens),
                             h.cross_attention[l], source, output));
  }
  panels.back().colour_bar = true;
  return plot::heatmaps_svg(title, panels);
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Steering the reversal model's cross-attention.");
  const training::Checkpoint checkpoint =
      training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;

  const std::string input = "384920175638";
  std::printf("input %s\n", input.c_str());
  for (const auto& [name, steering] :
       std::vector<std::pair<std::string, steer::Steering>>{{"unedited", {}},
                                                            {"diagonal, layer 0", diagonal({0})},
                                                            {"diagonal, layer 1", diagonal({1})},
                                                            {"diagonal, both", diagonal({})}})
    std::printf("  %-18s -> %s\n", name.c_str(),
                decode(model, vocab, {input}, steering)[0].c_str());

  // Held-out inputs of 2 to 16 digits that are not palindromes, so that a copy and a reversal
  // are never the same output.
  std::vector<std::string> sources;
  for (const Pair& example : make_held_out({Task::reverse, 2, 16}, 400, 0))
    if (example.source != reversed(example.source) && sources.size() < 300)
      sources.push_back(example.source);
  const std::size_t n = sources.size();
  std::printf("\nForcing the diagonal (step t reads source position t), greedy decoding of %zu\n"
              "held-out inputs of 2 to 16 digits:\n", n);
  std::printf("  edited                     reversed   copied   other   digits in copy place\n");
  std::vector<std::pair<std::string, steer::Steering>> edits{
      {"nothing", {}},
      {"layer 0", diagonal({0})},
      {"layer 1", diagonal({1})},
      {"layers 0 and 1", diagonal({})}};
  for (std::size_t head = 0; head < model.config().num_heads; ++head)
    edits.push_back({"layer 1, head " + std::to_string(head) + " only", diagonal({1}, head)});
  std::vector<std::vector<std::string>> edited_outputs;
  for (const auto& [name, steering] : edits) {
    const std::vector<std::string> outputs = decode(model, vocab, sources, steering);
    edited_outputs.push_back(outputs);
    std::size_t reversals = 0, copies = 0, in_place = 0, digits = 0;
    for (std::size_t i = 0; i < n; ++i) {
      reversals += outputs[i] == reversed(sources[i]);
      copies += outputs[i] == sources[i];
      for (std::size_t t = 0; t < sources[i].size(); ++t)
        in_place += t < outputs[i].size() && outputs[i][t] == sources[i][t];
      digits += sources[i].size();
    }
    std::printf("  %-24s   %5.1f%%   %5.1f%%  %5.1f%%    %5.1f%%\n", name.c_str(),
                100.0 * double(reversals) / double(n), 100.0 * double(copies) / double(n),
                100.0 * double(n - reversals - copies) / double(n),
                100.0 * double(in_place) / double(digits));
  }

  // Where the one-layer edits fall short: copies by input length.
  const std::size_t buckets[][2] = {{2, 4}, {5, 8}, {9, 12}, {13, 16}};
  std::printf("\nCopies by input length (digits):\n  edited            ");
  for (const auto& b : buckets) std::printf("   %2zu-%-2zu", b[0], b[1]);
  std::printf("\n");
  for (std::size_t e = 1; e <= 3; ++e) {
    std::printf("  %-16s  ", edits[e].first.c_str());
    for (const auto& b : buckets) {
      std::size_t copies = 0, total = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (sources[i].size() >= b[0] && sources[i].size() <= b[1]) {
          ++total;
          copies += edited_outputs[e][i] == sources[i];
        }
      std::printf("  %5.1f%%", 100.0 * double(copies) / double(total));
    }
    std::printf("\n");
  }

  // How the layer-1-only edit fails: the copy cut short (EOS too early), the copy run on
  // (EOS too late), or digits that differ.
  std::size_t early = 0, late = 0, differ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& out = edited_outputs[2][i];
    if (out == sources[i]) continue;
    const bool shorter = out.size() < sources[i].size(), longer = out.size() > sources[i].size();
    if (shorter && sources[i].compare(0, out.size(), out) == 0) ++early;
    else if (longer && out.compare(0, sources[i].size(), sources[i]) == 0) ++late;
    else ++differ;
  }
  std::printf("\nThe %zu layer-1-only outputs that are not the copy: %zu stop early (a prefix of\n"
              "the copy), %zu run on past it, %zu have a wrong digit.\n",
              early + late + differ, early, late, differ);

  // Prompt weighting: source position 0's weight times a factor in layer 1 (0 blocks it).
  // How often is that digit written, compared with how often the source holds it?
  std::printf("\nWeighting source position 0 (the first digit) in layer 1, same inputs:\n");
  std::printf("  factor   reversed   that digit written (x its count in the source)   "
              "mean length\n");
  for (const double factor : {0.0, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0}) {
    steer::Steering weighting;
    weighting.factors = {{0, factor}};
    weighting.layers = {1};
    const std::vector<std::string> outputs = decode(model, vocab, sources, weighting);
    std::size_t reversals = 0, length = 0;
    double ratio = 0;
    for (std::size_t i = 0; i < n; ++i) {
      reversals += outputs[i] == reversed(sources[i]);
      const char digit = sources[i][0];
      ratio += double(std::count(outputs[i].begin(), outputs[i].end(), digit)) /
               double(std::count(sources[i].begin(), sources[i].end(), digit));
      length += outputs[i].size();
    }
    std::printf("  %6g   %5.1f%%     %4.2f                                            %5.2f\n",
                factor, 100.0 * double(reversals) / double(n), ratio / double(n),
                double(length) / double(n));
  }

  pictures.save("12-steer-diagonal.svg",
                before_after(model, vocab, input, diagonal({1}),
                             "Forcing the diagonal in decoder layer 1: the reversal model copies"));
  pictures.save("12-steer-diagonal-layer-0.svg",
                before_after(model, vocab, input, diagonal({0}),
                             "Forcing the diagonal in decoder layer 0 only: layer 1 follows, "
                             "blurred"));
  steer::Steering weighted;
  weighted.factors = {{2, 50.0}};
  weighted.layers = {1};
  pictures.save("12-steer-weight.svg",
                before_after(model, vocab, input, weighted,
                             "Source position 2 weighted x50 in decoder layer 1"));
  return 0;
}
