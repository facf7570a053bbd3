// tsv.h — your own data: a text file with one `source<TAB>target` pair a line.
// The rules, chosen to lose nothing silently:
//   - UTF-8 text; a trailing '\r' (Windows line ends) is dropped from each line.
//   - Empty lines are skipped. There are no comments: in character mode '#' is a symbol
//     like any other, so a line starting with '#' is data (and must hold its one tab).
//   - Every other line holds exactly one tab, with a non-empty source before it and a
//     non-empty target after it (in words mode: at least one word each).
// Anything else is an Error reading "FILE:LINE: problem". Read next: data/batch.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/vocab.h"

namespace crossgrad {

class TsvDataset {
 public:
  // Reads and checks path; the error names the file (and the line, where there is one).
  static TsvDataset load(const std::string& path, TokenMode mode = TokenMode::characters);
  // The same rules on text already in memory; name stands for the file in messages.
  static TsvDataset parse(const std::string& text, const std::string& name,
                          TokenMode mode = TokenMode::characters);

  const std::vector<Pair>& pairs() const { return pairs_; }
  std::size_t size() const { return pairs_.size(); }
  // lines()[i] is the 1-based line number of pairs()[i] in the file.
  const std::vector<std::size_t>& lines() const { return lines_; }
  const std::string& name() const { return name_; }
  TokenMode mode() const { return mode_; }

  // Every symbol of every source and target (sorted, see Vocab::from_texts).
  Vocab build_vocab() const;
  // Throws "FILE:LINE: unknown symbol ..." for the first pair vocab cannot encode, e.g. when
  // scoring a file against a checkpoint's vocabulary.
  void check_vocab(const Vocab& vocab) const;

 private:
  TsvDataset(std::string name, TokenMode mode) : name_(std::move(name)), mode_(mode) {}
  void add_line(const std::string& line, std::size_t number);

  std::string name_;
  TokenMode mode_;
  std::vector<Pair> pairs_;
  std::vector<std::size_t> lines_;
};

// A seeded shuffle of pairs cut into a training part and a validation part of
// round(validation_fraction * size) pairs; an error if either part would be empty.
struct TrainValidationSplit {
  std::vector<Pair> train, validation;
};
TrainValidationSplit split_train_validation(const std::vector<Pair>& pairs,
                                            double validation_fraction, std::uint64_t seed);

}  // namespace crossgrad
