// predict_input.h — what build/predict does with one input (an argument or a line of stdin):
// checks it against the checkpoint (not empty, every symbol known, short enough for the
// model's positional table), warns once per symbol the model met only in training targets,
// and decodes inputs in batches. Factored out of examples/predict.cpp so that the fuzz target
// tests/fuzz/fuzz_predict_line.cpp runs the very code the program runs.
// Read next: examples/predict.cpp (the program around it).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "data/vocab.h"
#include "nn/decode.h"

namespace crossgrad::cli {

// One sequence to decode or score: its text, where it came from (for messages) and its ids.
struct Input {
  std::string text, where;  // where: "argument 2", "line 7" or "pairs.tsv:7: target"
  std::vector<std::int64_t> ids;
};

class InputReader {
 public:
  // `source_vocab`: the symbols the training sources held, when the checkpoint records them
  // (training::Checkpoint::source_vocab); without it no symbol can be warned about.
  // `positions` is the model's max_len. Warnings go to `warnings`, one line each.
  InputReader(const Vocab& vocab, std::optional<Vocab> source_vocab, std::size_t positions,
              std::ostream& warnings);

  // The ids of text, or an Error "<where>: <problem>": empty input, an unknown symbol, more
  // tokens than the model reads. A source symbol that training met only in targets is
  // accepted with a warning, once per symbol; `is_source` false (a --score target) skips it.
  Input read(std::string text, std::string where, bool is_source = true);

 private:
  const Vocab& vocab_;
  std::optional<Vocab> source_vocab_;
  std::size_t positions_;
  std::ostream& warnings_;
  std::set<std::string> warned_;  // symbols already warned about
};

// Decodes in batches of 64 sources, so the encoder runs once per batch: greedy decoding when
// options.beam is 0 or 1 and `beam_search` is false, beam search otherwise.
std::vector<nn::Hypothesis> decode_inputs(nn::Seq2SeqTransformer& model,
                                          const std::vector<Input>& inputs,
                                          const nn::DecodeOptions& options, bool beam_search);

}  // namespace crossgrad::cli
