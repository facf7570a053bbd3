// Solution to exercise 8.1 (docs/08-training-a-seq2seq-model.md): a batch made by hand.
// Each target row, in full, is BOS t1 .. tn EOS, padded with PAD to the longest; the
// decoder's input drops that row's last column and the labels drop its first, so the label
// at position t is the input at position t + 1: the shift of teacher forcing. Sources get
// EOS and are padded. Checked against data/batch.h's make_batch, matrix by matrix.
#include <cstdio>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/tasks.h"

using namespace crossgrad;

namespace {

Batch batch_by_hand(const std::vector<Pair>& pairs, const Vocab& vocab) {
  std::size_t longest_source = 0, longest_target = 0;
  for (const Pair& pair : pairs) {
    longest_source = std::max(longest_source, vocab.encode(pair.source).size());
    longest_target = std::max(longest_target, vocab.encode(pair.target).size());
  }
  Batch batch;
  batch.src = TokenMatrix(pairs.size(), longest_source + 1, PAD);      // + EOS
  batch.tgt_in = TokenMatrix(pairs.size(), longest_target + 1, PAD);   // BOS + target
  batch.labels = TokenMatrix(pairs.size(), longest_target + 1, PAD);   // target + EOS
  for (std::size_t row = 0; row < pairs.size(); ++row) {
    const std::vector<std::int64_t> source = vocab.encode(pairs[row].source);
    for (std::size_t s = 0; s < source.size(); ++s) batch.src.at(row, s) = source[s];
    batch.src.at(row, source.size()) = EOS;
    // The full row: BOS, the target, EOS, then PAD up to longest_target + 2 columns.
    std::vector<std::int64_t> full{BOS};
    for (std::int64_t id : vocab.encode(pairs[row].target)) full.push_back(id);
    full.push_back(EOS);
    full.resize(longest_target + 2, PAD);
    for (std::size_t t = 0; t + 1 < full.size(); ++t) {
      batch.tgt_in.at(row, t) = full[t];      // without the last column
      batch.labels.at(row, t) = full[t + 1];  // without the first column
    }
    for (std::size_t t = 0; t < batch.labels.cols; ++t) batch.label_tokens += batch.labels.at(row, t) != PAD;
  }
  return batch;
}

bool same(const char* what, const TokenMatrix& mine, const TokenMatrix& reference) {
  const bool ok = mine.shape() == reference.shape() && mine.ids == reference.ids;
  std::printf("%-8s %s %s\n", what, to_string(mine.shape()).c_str(), ok ? "same" : "DIFFERENT");
  return ok;
}

}  // namespace

int main() {
  const Vocab vocab = task_vocab(Task::reverse);
  const std::vector<Pair> pairs = make_examples(default_spec(Task::reverse), 16, /*seed=*/3);
  const Batch mine = batch_by_hand(pairs, vocab), reference = make_batch(pairs, vocab);
  bool ok = same("src", mine.src, reference.src);
  ok = same("tgt_in", mine.tgt_in, reference.tgt_in) && ok;
  ok = same("labels", mine.labels, reference.labels) && ok;
  ok = ok && mine.label_tokens == reference.label_tokens;
  // The shift itself: wherever a label is not PAD, it is the next column's input.
  for (std::size_t row = 0; row < mine.labels.rows; ++row)
    for (std::size_t t = 0; t + 1 < mine.labels.cols; ++t)
      if (mine.labels.at(row, t) != PAD && mine.labels.at(row, t) != EOS)
        ok = ok && mine.labels.at(row, t) == mine.tgt_in.at(row, t + 1);
  return ok ? 0 : 1;
}
