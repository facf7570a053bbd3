// fuzz_tsv.cpp — data/tsv.h's reader on arbitrary text, in the token mode the first byte picks.
// A dataset it accepts must hold what its rules promise (non-empty sources and targets, line
// numbers in order), its vocabulary must encode every pair and survive serialisation, and a
// train/validation split keeps every pair.
#include "data/tsv.h"
#include "fuzzing.h"

using namespace crossgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const TokenMode mode = data[0] & 1 ? TokenMode::words : TokenMode::characters;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const TsvDataset dataset = TsvDataset::parse(text, "fuzz.tsv", mode);
    fuzzing::require(dataset.size() > 0 && dataset.lines().size() == dataset.size(),
                     "tsv: a dataset without pairs, or without a line for each");
    for (std::size_t i = 0; i < dataset.size(); ++i) {
      const Pair& pair = dataset.pairs()[i];
      fuzzing::require(!pair.source.empty() && !pair.target.empty(), "tsv: an empty side");
      fuzzing::require(pair.source.find('\t') == std::string::npos &&
                           pair.target.find('\t') == std::string::npos,
                       "tsv: a tab inside a side");
      fuzzing::require(i == 0 || dataset.lines()[i] > dataset.lines()[i - 1],
                       "tsv: line numbers out of order");
    }
    const Vocab vocab = dataset.build_vocab();
    dataset.check_vocab(vocab);  // throws if the data's own vocabulary cannot encode it
    fuzzing::require(Vocab::deserialize(vocab.serialize()) == vocab, "tsv: vocab round trip");
    if (dataset.size() >= 2) {
      const TrainValidationSplit split = split_train_validation(dataset.pairs(), 0.5, size);
      fuzzing::require(split.train.size() + split.validation.size() == dataset.size(),
                       "tsv: the split lost pairs");
    }
  } catch (const Error&) {
  }
  return 0;
}
