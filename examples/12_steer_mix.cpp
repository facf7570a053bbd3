// 12_steer_mix.cpp — one model, three tasks: the mix model reads an instruction symbol before
// the digits (R reverse, C copy, S sort) and does what it says. How well does it do each?
// Where does its cross-attention look, and how much at the instruction? Then the experiment
// that shows conditioning: edit the attention to the instruction (block it, or weight it)
// and see which task the model does then. Loads docs/models/mix.safetensors (made by
// build/train, docs/models/README.md says how); every number is measured by greedy decoding.
// Walked through in docs/steering-cross-attention.md.
// Run from the repository's top folder: build/12_steer_mix   (make pictures draws them)
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

const Task kInstructions[] = {Task::reverse, Task::copy, Task::sort};

// What `task` makes of `digits`.
std::string apply(Task task, std::string digits) {
  if (task == Task::reverse) std::reverse(digits.begin(), digits.end());
  if (task == Task::sort) std::sort(digits.begin(), digits.end());
  return digits;
}

// Greedy decoding of every source with `steering` installed; with `maps`, each one's
// cross-attention per decoder layer (H, T, S) too.
std::vector<nn::Hypothesis> decode(nn::Seq2SeqTransformer& model, const Vocab& vocab,
                                   const std::vector<std::string>& sources,
                                   const steer::Steering& steering, bool maps = false) {
  steer::install(steering, model);
  nn::DecodeOptions options;
  options.keep_attention = maps;
  std::vector<nn::Hypothesis> out;
  for (std::size_t start = 0; start < sources.size(); start += 100) {
    std::vector<std::vector<std::int64_t>> ids;
    for (std::size_t i = start; i < std::min(start + 100, sources.size()); ++i)
      ids.push_back(vocab.encode(sources[i]));
    for (nn::Hypothesis& h : nn::greedy_decode(model, make_source_batch(ids), options))
      out.push_back(std::move(h));
  }
  model.clear_cross_attention_edits();
  return out;
}

steer::Steering on_instruction(double factor, std::vector<std::size_t> layers) {
  steer::Steering s;
  s.factors = {{0, factor}};  // the instruction is source position 0
  s.layers = std::move(layers);
  return s;
}

plot::Heatmap panel(const std::string& title, const Tensor& layer, const std::string& source,
                    const Vocab& vocab, const nn::Hypothesis& h) {
  std::vector<std::string> columns, rows;
  for (const char c : source) columns.push_back(std::string(1, c));
  columns.push_back("EOS");
  for (const std::int64_t id : h.tokens) rows.push_back(view::token_label(vocab.symbol(id)));
  const Tensor mean = view::head_mean(layer.slice(2, 0, columns.size()));
  plot::Heatmap heatmap = view::attention_heatmap(title, mean, rows, columns, 18);
  heatmap.colour_bar = false;
  return heatmap;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Steering the mix model: one model, three tasks.");
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/mix.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const std::size_t layers = model.config().num_decoder_layers, heads = model.config().num_heads;

  // Held-out examples of the lengths it was trained on, grouped by instruction.
  const std::vector<Pair> held_out = make_held_out({Task::mix, 1, 12}, 900, 0);
  std::vector<std::string> sources;
  for (const Pair& p : held_out) sources.push_back(p.source);
  const std::vector<nn::Hypothesis> plain = decode(model, vocab, sources, {});
  std::printf("Exact match on %zu held-out inputs of 1 to 12 digits, by instruction:\n",
              held_out.size());
  for (const Task task : kInstructions) {
    std::size_t right = 0, total = 0;
    for (std::size_t i = 0; i < held_out.size(); ++i)
      if (instruction_of(held_out[i]) == task) {
        ++total;
        right += vocab.decode(plain[i].tokens) == held_out[i].target;
      }
    std::printf("  %s %-8s %4zu/%-4zu %5.1f%%\n", instruction_symbol(task).c_str(),
                task_name(task).c_str(), right, total, 100.0 * double(right) / double(total));
  }

  // How much each output step looks at the instruction: the mean weight on source position 0,
  // per layer and head, over every output row of every held-out input.
  const std::vector<nn::Hypothesis> mapped = decode(model, vocab, sources, {}, true);
  std::printf("\nMean cross-attention weight on the instruction (source position 0), over every\n"
              "output step of those inputs; a uniform row would give 1/(digits + 2):\n");
  std::printf("  layer head ");
  for (const Task task : kInstructions) std::printf("  %8s", task_name(task).c_str());
  std::printf("\n");
  for (std::size_t l = 0; l < layers; ++l)
    for (std::size_t h = 0; h <= heads; ++h) {
      std::printf("  %5zu %-5s", l, h == heads ? "mean" : std::to_string(h).c_str());
      for (const Task task : kInstructions) {
        double weight = 0, rows = 0;
        for (std::size_t i = 0; i < held_out.size(); ++i) {
          if (instruction_of(held_out[i]) != task) continue;
          const Tensor& map = mapped[i].cross_attention[l];  // (H, T, S)
          for (std::size_t t = 0; t < map.size(1); ++t) {
            rows += 1;
            if (h < heads) {
              weight += double(map.at({h, t, 0}));
            } else {
              for (std::size_t k = 0; k < heads; ++k)
                weight += double(map.at({k, t, 0})) / double(heads);
            }
          }
        }
        std::printf("  %8.3f", weight / rows);
      }
      std::printf("\n");
    }

  // The experiment: change the weight on the instruction where it is read (source position 0
  // as a key): in the decoder's cross-attention, and in the encoder's self-attention, through
  // which every digit's encoding can carry it too. Which task's answer comes out then?
  // Only inputs whose three answers all differ count, so each output names one task.
  std::vector<bool> distinct(held_out.size());
  std::size_t distinct_count = 0;
  for (std::size_t i = 0; i < held_out.size(); ++i) {
    const std::string digits = held_out[i].source.substr(1);
    const std::string r = apply(Task::reverse, digits), s = apply(Task::sort, digits);
    distinct[i] = r != digits && s != digits && r != s;
    distinct_count += distinct[i];
  }
  std::printf("\nEditing the attention to the instruction: what the outputs are then, as %% of "
              "the\n"
              "%zu inputs whose reversal, copy and sort all differ, by instruction:\n",
              distinct_count);
  std::printf("  edit                        instruction   reverse     copy     sort   "
              "none of them\n");
  struct Edit {
    const char* name;
    double cross, self;  // factors on position 0: decoder cross-, encoder self-attention
  };
  const Edit edits[] = {{"none", 1, 1},
                        {"cross: blocked", 0, 1},
                        {"cross: x10", 10, 1},
                        {"encoder self: blocked", 1, 0},
                        {"both blocked", 0, 0}};
  for (const Edit& edit : edits) {
    const steer::Steering self_edit = on_instruction(edit.self, {});
    for (std::size_t l = 0; l < model.config().num_encoder_layers; ++l) {
      nn::MultiHeadAttention& self = model.transformer().encoder().layer(l).self_attn();
      if (edit.self == 1) self.clear_weight_edit();
      else self.set_weight_edit([&](const nn::WeightBlock& b) { steer::edit_block(self_edit, b); });
    }
    const std::vector<nn::Hypothesis> edited =
        edit.cross == 1 && edit.self == 1
            ? plain
            : decode(model, vocab, sources, on_instruction(edit.cross, {}));
    for (std::size_t l = 0; l < model.config().num_encoder_layers; ++l)
      model.transformer().encoder().layer(l).self_attn().clear_weight_edit();
    for (const Task task : kInstructions) {
      std::size_t total = 0, as[3] = {0, 0, 0};
      for (std::size_t i = 0; i < held_out.size(); ++i) {
        if (instruction_of(held_out[i]) != task || !distinct[i]) continue;
        ++total;
        const std::string output = vocab.decode(edited[i].tokens);
        const std::string digits = held_out[i].source.substr(1);
        for (std::size_t k = 0; k < 3; ++k) as[k] += output == apply(kInstructions[k], digits);
      }
      const auto percent = [total](std::size_t n) { return 100.0 * double(n) / double(total); };
      std::printf("  %-24s    %s %-8s    %5.1f%%   %5.1f%%   %5.1f%%    %5.1f%%\n",
                  task == Task::reverse ? edit.name : "", instruction_symbol(task).c_str(),
                  task_name(task).c_str(), percent(as[0]), percent(as[1]), percent(as[2]),
                  percent(total - as[0] - as[1] - as[2]));
    }
  }

  // The pictures: the same digits under each instruction, then with the instruction blocked.
  const std::string digits = "3841902";
  std::vector<std::string> three;
  for (const Task task : kInstructions) three.push_back(instruction_symbol(task) + digits);
  std::printf("\nThe digits %s under each instruction, unedited and with the instruction "
              "blocked:\n",
              digits.c_str());
  const std::vector<nn::Hypothesis> shown = decode(model, vocab, three, {}, true);
  const std::vector<nn::Hypothesis> blocked =
      decode(model, vocab, three, on_instruction(0, {}), true);
  for (std::size_t i = 0; i < 3; ++i)
    std::printf("  %s -> %-10s blocked: %s\n", three[i].c_str(),
                vocab.decode(shown[i].tokens).c_str(), vocab.decode(blocked[i].tokens).c_str());
  for (std::size_t l = 0; l < layers; ++l) {
    std::vector<plot::Heatmap> panels;
    for (std::size_t i = 0; i < 3; ++i)
      panels.push_back(panel(three[i] + " -> " + vocab.decode(shown[i].tokens),
                             shown[i].cross_attention[l], three[i], vocab, shown[i]));
    panels.back().colour_bar = true;
    pictures.save("12-steer-mix-layer-" + std::to_string(l) + ".svg",
                  plot::heatmaps_svg("The mix model's cross-attention, decoder layer " +
                                         std::to_string(l) + ", mean of heads",
                                     panels));
  }
  std::vector<plot::Heatmap> panels;
  for (std::size_t i = 0; i < 3; ++i)
    panels.push_back(panel(three[i] + ", blocked -> " + vocab.decode(blocked[i].tokens),
                           blocked[i].cross_attention[layers - 1], three[i], vocab, blocked[i]));
  panels.back().colour_bar = true;
  pictures.save("12-steer-mix-blocked.svg",
                plot::heatmaps_svg("The instruction blocked in every decoder layer (layer " +
                                       std::to_string(layers - 1) + " shown)",
                                   panels));
  return 0;
}
