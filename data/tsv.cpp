// tsv.cpp — TsvDataset and the train/validation split (see tsv.h).
#include "data/tsv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "autograd/random.h"

namespace crossgrad {

TsvDataset TsvDataset::load(const std::string& path, TokenMode mode) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) fail(path + ": cannot read: no such file");
  if (std::filesystem::is_directory(path, error))
    fail(path + ": cannot read: it is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path + ": cannot read: " + std::strerror(errno));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path + ": cannot read: an input error occurred while reading");
  return parse(text, path, mode);
}

TsvDataset TsvDataset::parse(const std::string& text, const std::string& name, TokenMode mode) {
  // A UTF-8 byte-order mark, which some editors write, is not part of the first source.
  const std::size_t first = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  if (text.size() == first)
    fail(name + ":1: empty file: expected one source<TAB>target pair a line");
  TsvDataset dataset(name, mode);
  std::size_t number = 0;
  for (std::size_t start = first; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    dataset.add_line(text.substr(start, end - start), ++number);
    start = end + 1;
  }
  if (dataset.pairs_.empty())
    fail(name + ":" + std::to_string(number) + ": no source<TAB>target pairs: all " +
         std::to_string(number) + " lines are empty");
  return dataset;
}

void TsvDataset::add_line(const std::string& raw_line, std::size_t number) {
  std::string line = raw_line;
  if (!line.empty() && line.back() == '\r') line.pop_back();  // a Windows line end
  if (line.empty()) return;
  const std::string where = name_ + ":" + std::to_string(number) + ": ";
  const std::size_t bad = find_malformed_utf8(line);
  if (bad != std::string::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", unsigned(static_cast<unsigned char>(line[bad])));
    fail(where + "malformed UTF-8 at byte offset " + std::to_string(bad) + " of the line (byte " +
         byte + ")");
  }
  const std::size_t tabs = std::size_t(std::count(line.begin(), line.end(), '\t'));
  if (tabs != 1)
    fail(where + "expected exactly one tab, found " + std::to_string(tabs) +
         " (a line is source<TAB>target)");
  const std::size_t tab = line.find('\t');
  Pair pair{line.substr(0, tab), line.substr(tab + 1)};
  if (pair.source.empty()) fail(where + "empty source (nothing before the tab)");
  if (pair.target.empty()) fail(where + "empty target (nothing after the tab)");
  if (mode_ == TokenMode::words && split_words(pair.source).empty())
    fail(where + "empty source: no words before the tab, only spaces");
  if (mode_ == TokenMode::words && split_words(pair.target).empty())
    fail(where + "empty target: no words after the tab, only spaces");
  pairs_.push_back(std::move(pair));
  lines_.push_back(number);
}

Vocab TsvDataset::build_vocab() const {
  std::vector<std::string> texts;
  texts.reserve(2 * pairs_.size());
  for (const Pair& pair : pairs_) {
    texts.push_back(pair.source);
    texts.push_back(pair.target);
  }
  return Vocab::from_texts(texts, mode_);
}

void TsvDataset::check_vocab(const Vocab& vocab) const {
  for (std::size_t i = 0; i < pairs_.size(); ++i) {
    const std::string where = name_ + ":" + std::to_string(lines_[i]) + ": ";
    try {
      vocab.encode(pairs_[i].source);
    } catch (const Error& error) {
      fail(where + "source: " + error.what());
    }
    try {
      vocab.encode(pairs_[i].target);
    } catch (const Error& error) {
      fail(where + "target: " + error.what());
    }
  }
}

TrainValidationSplit split_train_validation(const std::vector<Pair>& pairs,
                                            double validation_fraction, std::uint64_t seed) {
  const std::string what = "split_train_validation: ";
  char fraction[32];
  std::snprintf(fraction, sizeof fraction, "%g", validation_fraction);
  if (!(validation_fraction > 0 && validation_fraction < 1))
    fail(what + "the validation fraction must lie strictly between 0 and 1, got " + fraction);
  const std::size_t count = pairs.size();
  const auto validation_count = std::size_t(std::llround(validation_fraction * double(count)));
  if (validation_count == 0 || validation_count == count)
    fail(what + "a validation fraction of " + fraction + " of " + std::to_string(count) +
         " pairs leaves " + std::to_string(count - validation_count) + " for training and " +
         std::to_string(validation_count) +
         " for validation; both need at least one (change the fraction or add data)");
  // Fisher-Yates on the indices, then each part in file order, so reports read like the file.
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = i;
  Generator gen(seed);
  for (std::size_t i = count - 1; i > 0; --i) std::swap(order[i], order[gen.below(i + 1)]);
  std::vector<bool> is_validation(count, false);
  for (std::size_t i = 0; i < validation_count; ++i) is_validation[order[i]] = true;
  TrainValidationSplit split;
  for (std::size_t i = 0; i < count; ++i)
    (is_validation[i] ? split.validation : split.train).push_back(pairs[i]);
  return split;
}

}  // namespace crossgrad
