// Solution to exercise 8.3 (docs/08-training-a-seq2seq-model.md): a loss that is too good.
// A data bug: the labels are the decoder input itself, not the input shifted by one. Each
// position is then asked to predict the token it already holds, which even the causal mask
// allows, so the training loss collapses towards 0 within a few dozen steps, far faster
// than a correct run. But nothing was learned about reversing: greedy decoding, which has
// no answer to read, fails. The symptoms to look for: a loss that drops suspiciously fast or
// far below what the task should allow, and a teacher-forced accuracy that the decoded
// accuracy does not follow. The fix is the shift (exercise 8.1).
#include <cstdio>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/tasks.h"
#include "nn/decode.h"
#include "nn/optim.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

struct Outcome {
  double loss = 0, exact_match = 0;
};

Outcome train(bool shifted, const Vocab& vocab) {
  nn::TransformerConfig config;
  config.d_model = 32, config.num_heads = 2, config.d_ff = 64;
  config.num_encoder_layers = config.num_decoder_layers = 1;
  nn::Seq2SeqTransformer model(config, 0);
  optim::Adam adam(model.parameters(), {3e-3, 0.9, 0.98, 1e-9});
  const TaskSpec spec{Task::reverse, 1, 5};
  Generator data(0);
  Outcome outcome;
  for (int step = 0; step < 80; ++step) {
    Batch batch = make_batch(make_examples(spec, 32, data), vocab);
    if (!shifted) {  // THE BUG: labels = decoder input (BOS replaced, since it is never a label)
      batch.labels = batch.tgt_in;
      for (std::size_t row = 0; row < batch.labels.rows; ++row) batch.labels.at(row, 0) = PAD;
    }
    const Tensor loss = nn::sequence_cross_entropy(model.forward(batch.src, batch.tgt_in), batch.labels);
    adam.zero_grad();
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.0);
    adam.step();
    outcome.loss = loss.item();
  }
  model.eval();
  const std::vector<Pair> held_out = make_held_out(spec, 200, 0);
  std::vector<std::vector<std::int64_t>> sources;
  for (const Pair& pair : held_out) sources.push_back(vocab.encode(pair.source));
  const std::vector<nn::Hypothesis> decoded = nn::greedy_decode(model, make_source_batch(sources));
  for (std::size_t i = 0; i < held_out.size(); ++i)
    outcome.exact_match += vocab.decode(decoded[i].tokens) == held_out[i].target;
  outcome.exact_match /= double(held_out.size());
  return outcome;
}

}  // namespace

int main() {
  const Vocab vocab = task_vocab(Task::reverse);
  const Outcome buggy = train(false, vocab), correct = train(true, vocab);
  std::printf("after 80 steps           training loss   held-out exact match (greedy)\n");
  std::printf("labels = decoder input   %13.4f   %28.1f%%\n", buggy.loss, 100 * buggy.exact_match);
  std::printf("labels shifted by one    %13.4f   %28.1f%%\n", correct.loss, 100 * correct.exact_match);
  // The bug shows as a loss far lower than the correct run's, with nothing to show for it.
  return buggy.loss < correct.loss / 5 && buggy.exact_match <= correct.exact_match ? 0 : 1;
}
