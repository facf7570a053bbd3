// predict_input.cpp — checking one input and decoding batches of them (see predict_input.h).
#include "examples/common/predict_input.h"

#include <algorithm>
#include <ostream>

#include "data/batch.h"

namespace crossgrad::cli {

InputReader::InputReader(const Vocab& vocab, std::optional<Vocab> source_vocab,
                         std::size_t positions, std::ostream& warnings)
    : vocab_(vocab),
      source_vocab_(std::move(source_vocab)),
      positions_(positions),
      warnings_(warnings) {}

Input InputReader::read(std::string text, std::string where, bool is_source) {
  Input input{std::move(text), std::move(where), {}};
  std::vector<std::string> tokens;
  try {
    tokens = vocab_.tokenize(input.text);  // malformed UTF-8 is an Error naming the byte
    input.ids = vocab_.encode(input.text);
  } catch (const Error& error) {
    fail(input.where + ": " + error.what());
  }
  // Nothing to decode: an empty line in a file is a mistake, not a request for the output of
  // an empty source (which a model still produces, e.g. "1").
  if (input.ids.empty())
    fail(input.where + ": empty input" +
         (input.text.empty() ? "" : " (only whitespace, which a words vocabulary splits on)"));
  if (input.ids.size() + 1 > positions_)  // + 1: the EOS every sequence ends with
    fail(input.where + ": " + std::to_string(input.ids.size()) +
         " tokens; this model reads at most " + std::to_string(positions_ - 1) +
         " (its positional table has " + std::to_string(positions_) + " positions)");
  if (is_source && source_vocab_)
    for (const std::string& token : tokens)
      if (!source_vocab_->contains(token) && warned_.insert(token).second)
        warnings_ << "predict: warning: " << input.where << ": " << describe_symbol(token)
                  << " appeared only in training targets, never in a source: the model never"
                     " saw it as input, so its output means little\n";
  return input;
}

std::vector<nn::Hypothesis> decode_inputs(nn::Seq2SeqTransformer& model,
                                          const std::vector<Input>& inputs,
                                          const nn::DecodeOptions& options, bool beam_search) {
  std::vector<nn::Hypothesis> out;
  for (std::size_t start = 0; start < inputs.size(); start += 64) {
    std::vector<std::vector<std::int64_t>> sources;
    for (std::size_t i = start; i < std::min(start + 64, inputs.size()); ++i)
      sources.push_back(inputs[i].ids);
    const TokenMatrix src = make_source_batch(sources);
    for (nn::Hypothesis& hypothesis : beam_search ? nn::beam_search(model, src, options)
                                                  : nn::greedy_decode(model, src, options))
      out.push_back(std::move(hypothesis));
  }
  return out;
}

}  // namespace crossgrad::cli
