// batch.h — pairs of text into the matrices the model reads: padding, the teacher-forcing
// shift and padding masks; and a seeded shuffling iterator whose position can be saved, so
// a resumed run sees exactly the batches an uninterrupted one would.
// Legend: B batch, S source length (longest source + EOS), T target length (longest target
// + 1). Read next: nn/transformer.h (how the matrices are read), examples/train.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "autograd/token_matrix.h"
#include "data/vocab.h"

namespace crossgrad {

// Exactly the reference's batchify() followed by tgt[:, :-1] and tgt[:, 1:]: the full target
// row is BOS + target + EOS + PAD..., tgt_in drops its last column and labels its first.
// So rows shorter than the longest still carry their EOS in tgt_in; its label is PAD, which
// the loss ignores, and causal masking hides it from earlier positions.
struct Batch {
  TokenMatrix src;     // (B, S): source ids, EOS, then PAD
  TokenMatrix tgt_in;  // (B, T): BOS, target ids, (EOS), then PAD: the decoder's input
  TokenMatrix labels;  // (B, T): target ids, EOS, then PAD: what each position should predict
  std::size_t label_tokens = 0;  // non-PAD labels: what the loss averages over; for tokens/s
};

// Rows in the order given; an unknown symbol is an error naming the pair.
Batch make_batch(const std::vector<Pair>& pairs, const Vocab& vocab);
// The same from ids already encoded (symbol ids only: no PAD/BOS/EOS inside a sequence).
Batch make_batch(const std::vector<std::vector<std::int64_t>>& sources,
                 const std::vector<std::vector<std::int64_t>>& targets);
// Just the (B, S) source matrix, for decoding inputs that have no target.
TokenMatrix make_source_batch(const std::vector<std::vector<std::int64_t>>& sources);

std::size_t count_non_pad(const TokenMatrix& tokens);
// (rows, cols), 1 where tokens holds PAD: PyTorch's `src == PAD` key_padding_mask.
std::vector<std::uint8_t> padding_mask(const TokenMatrix& tokens);

// Where a BatchIterator stands: batch `index` of the shuffled order of `epoch`, which was
// shuffled by a Generator in state `epoch_start_state` (Generator::state()). Replaying that
// shuffle rebuilds the order, so the position stays small however large the dataset.
struct BatchPosition {
  std::size_t epoch = 0, index = 0;  // index: pairs of this epoch already handed out
  std::string epoch_start_state;
};

// Hands out the indices of a dataset of `dataset_size` pairs in batches of `batch_size`,
// reshuffling at each epoch. The last batch of an epoch is smaller when batch_size does not
// divide the dataset, unless drop_last skips it.
class BatchIterator {
 public:
  BatchIterator(std::size_t dataset_size, std::size_t batch_size, std::uint64_t seed,
                bool drop_last = false);

  std::vector<std::size_t> next();
  std::size_t batches_per_epoch() const;

  BatchPosition position() const;
  void restore(const BatchPosition& position);
  // The position and the iterator's settings as one string for a checkpoint, and back;
  // load refuses a position saved for another dataset size or batch size.
  std::string save() const;
  void load(const std::string& text);

 private:
  void start_epoch(std::size_t epoch);

  std::size_t size_, batch_size_;
  bool drop_last_;
  Generator gen_;
  std::size_t epoch_ = 0, index_ = 0;
  std::string epoch_start_state_;
  std::vector<std::size_t> order_;  // this epoch's permutation of 0 .. size_-1
};

// pairs[indices[0]], pairs[indices[1]], ...: the examples of a BatchIterator's batch.
std::vector<Pair> pick_examples(const std::vector<Pair>& pairs,
                                const std::vector<std::size_t>& indices);

}  // namespace crossgrad
