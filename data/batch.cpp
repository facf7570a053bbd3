// batch.cpp — batching and the shuffling iterator (see batch.h).
#include "data/batch.h"

#include <algorithm>
#include <cstddef>
#include <sstream>

namespace crossgrad {

namespace {

using Sequences = std::vector<std::vector<std::int64_t>>;

// Sequences hold symbols only; the specials are placed by batching itself.
void check_symbols(const Sequences& sequences, const char* role) {
  for (std::size_t row = 0; row < sequences.size(); ++row)
    for (std::size_t col = 0; col < sequences[row].size(); ++col)
      if (sequences[row][col] <= EOS)
        fail(std::string("make_batch: ") + role + " " + std::to_string(row) + " position " +
             std::to_string(col) + " holds id " + std::to_string(sequences[row][col]) +
             ", a special id (PAD=0, BOS=1, EOS=2); sequences hold symbol ids >= 3 only");
}

std::size_t longest(const Sequences& sequences) {
  std::size_t length = 0;
  for (const auto& sequence : sequences) length = std::max(length, sequence.size());
  return length;
}

std::vector<std::int64_t>::iterator row_start(TokenMatrix& tokens, std::size_t row) {
  return tokens.ids.begin() + std::ptrdiff_t(row * tokens.cols);
}

}  // namespace

TokenMatrix make_source_batch(const Sequences& sources) {
  if (sources.empty()) fail("make_batch: no sequences: a batch needs at least one row");
  check_symbols(sources, "source");
  TokenMatrix src(sources.size(), longest(sources) + 1, PAD);  // (B, S)
  for (std::size_t row = 0; row < sources.size(); ++row) {
    std::copy(sources[row].begin(), sources[row].end(), row_start(src, row));
    src.at(row, sources[row].size()) = EOS;
  }
  return src;
}

Batch make_batch(const Sequences& sources, const Sequences& targets) {
  if (sources.size() != targets.size())
    fail("make_batch: " + std::to_string(sources.size()) + " sources but " +
         std::to_string(targets.size()) + " targets");
  Batch batch;
  batch.src = make_source_batch(sources);
  check_symbols(targets, "target");
  // The full row BOS t1 .. tn EOS PAD.. is longest + 2 wide; tgt_in and labels are that row
  // without its last and without its first column: (B, T) with T = longest + 1.
  const std::size_t width = longest(targets) + 1;
  batch.tgt_in = TokenMatrix(targets.size(), width, PAD);
  batch.labels = TokenMatrix(targets.size(), width, PAD);
  for (std::size_t row = 0; row < targets.size(); ++row) {
    const std::vector<std::int64_t>& target = targets[row];
    batch.tgt_in.at(row, 0) = BOS;
    std::copy(target.begin(), target.end(), row_start(batch.tgt_in, row) + 1);
    if (target.size() + 1 < width) batch.tgt_in.at(row, target.size() + 1) = EOS;
    std::copy(target.begin(), target.end(), row_start(batch.labels, row));
    batch.labels.at(row, target.size()) = EOS;
  }
  batch.label_tokens = count_non_pad(batch.labels);
  return batch;
}

Batch make_batch(const std::vector<Pair>& pairs, const Vocab& vocab) {
  Sequences sources, targets;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    try {
      sources.push_back(vocab.encode(pairs[i].source));
      targets.push_back(vocab.encode(pairs[i].target));
    } catch (const Error& error) {
      fail("make_batch: pair " + std::to_string(i) + " ('" + pairs[i].source + "' -> '" +
           pairs[i].target + "'): " + error.what());
    }
  }
  return make_batch(sources, targets);
}

std::size_t count_non_pad(const TokenMatrix& tokens) {
  return std::size_t(std::count_if(tokens.ids.begin(), tokens.ids.end(),
                                   [](std::int64_t id) { return id != PAD; }));
}

std::vector<std::uint8_t> padding_mask(const TokenMatrix& tokens) {
  std::vector<std::uint8_t> mask(tokens.ids.size());
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = tokens.ids[i] == PAD ? 1 : 0;
  return mask;
}

BatchIterator::BatchIterator(std::size_t dataset_size, std::size_t batch_size, std::uint64_t seed,
                             bool drop_last)
    : size_(dataset_size), batch_size_(batch_size), drop_last_(drop_last), gen_(seed) {
  if (dataset_size == 0) fail("BatchIterator: the dataset is empty");
  if (batch_size == 0) fail("BatchIterator: batch size must be at least 1, got 0");
  if (drop_last && batch_size > dataset_size)
    fail("BatchIterator: batch size " + std::to_string(batch_size) + " with drop_last exceeds " +
         "the dataset's " + std::to_string(dataset_size) + " pairs: no batch would ever be made");
  start_epoch(0);
}

void BatchIterator::start_epoch(std::size_t epoch) {
  epoch_start_state_ = gen_.state();
  order_.resize(size_);
  for (std::size_t i = 0; i < size_; ++i) order_[i] = i;
  for (std::size_t i = size_ - 1; i > 0; --i) std::swap(order_[i], order_[gen_.below(i + 1)]);
  epoch_ = epoch;
  index_ = 0;
}

std::vector<std::size_t> BatchIterator::next() {
  const std::size_t remaining = size_ - index_;
  if (remaining == 0 || (drop_last_ && remaining < batch_size_)) start_epoch(epoch_ + 1);
  const std::size_t count = std::min(batch_size_, size_ - index_);
  std::vector<std::size_t> indices(order_.begin() + std::ptrdiff_t(index_),
                                   order_.begin() + std::ptrdiff_t(index_ + count));
  index_ += count;
  return indices;
}

std::size_t BatchIterator::batches_per_epoch() const {
  return drop_last_ ? size_ / batch_size_ : (size_ + batch_size_ - 1) / batch_size_;
}

BatchPosition BatchIterator::position() const { return {epoch_, index_, epoch_start_state_}; }

void BatchIterator::restore(const BatchPosition& position) {
  if (position.index > size_)
    fail("BatchIterator::restore: index " + std::to_string(position.index) +
         " is past the end of a dataset of " + std::to_string(size_) + " pairs");
  try {
    gen_.set_state(position.epoch_start_state);
  } catch (const Error& error) {
    fail(std::string("BatchIterator::restore: ") + error.what());
  }
  start_epoch(position.epoch);  // replays the epoch's shuffle from its starting state
  index_ = position.index;
}

std::string BatchIterator::save() const {
  std::ostringstream out;
  out << "crossgrad-batches 1 size " << size_ << " batch " << batch_size_ << " drop_last "
      << (drop_last_ ? 1 : 0) << " epoch " << epoch_ << " index " << index_ << "\n"
      << epoch_start_state_;
  return out.str();
}

void BatchIterator::load(const std::string& text) {
  const std::size_t newline = text.find('\n');
  std::istringstream header(text.substr(0, newline));
  std::string magic, size_key, batch_key, drop_key, epoch_key, index_key, rest;
  int version = 0, drop_last = 0;
  std::size_t size = 0, batch = 0;
  BatchPosition position;
  header >> magic >> version >> size_key >> size >> batch_key >> batch >> drop_key >> drop_last >>
      epoch_key >> position.epoch >> index_key >> position.index;
  if (header.fail() || (header >> rest) || newline == std::string::npos ||
      magic != "crossgrad-batches" || version != 1 || size_key != "size" || batch_key != "batch" ||
      drop_key != "drop_last" || epoch_key != "epoch" || index_key != "index")
    fail(
        "BatchIterator::load: not a saved batch position: expected a line 'crossgrad-batches 1 "
        "size N batch B drop_last 0|1 epoch E index I', then the generator state");
  if (size != size_ || batch != batch_size_ || (drop_last != 0) != drop_last_)
    fail("BatchIterator::load: the position was saved for " + std::to_string(size) +
         " pairs in batches of " + std::to_string(batch) + ", but this iterator has " +
         std::to_string(size_) + " pairs in batches of " + std::to_string(batch_size_) +
         ": resume with the same data and batch size");
  position.epoch_start_state = text.substr(newline + 1);
  restore(position);
}

std::vector<Pair> pick_examples(const std::vector<Pair>& pairs,
                                const std::vector<std::size_t>& indices) {
  std::vector<Pair> batch;
  batch.reserve(indices.size());
  for (const std::size_t index : indices) {
    if (index >= pairs.size())
      fail("pick_examples: index " + std::to_string(index) + " is out of range for " +
           std::to_string(pairs.size()) + " pairs");
    batch.push_back(pairs[index]);
  }
  return batch;
}

}  // namespace crossgrad
