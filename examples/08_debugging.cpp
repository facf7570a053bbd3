// 08_debugging.cpp — four checks that tell a broken training run from a slow one, in
// seconds: the loss at initialisation (about ln V for a model that knows nothing); the size
// of the gradients, in total and per part, and what clipping does to them; whether the model
// can overfit one small batch (if it cannot, something is wrong in the model, the data or
// the loss, not in the recipe); and finding the op that made a NaN with DetectAnomalyGuard.
// Walked through in docs/08-training-a-seq2seq-model.md. Run: build/08_debugging
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "autograd/ops.h"
#include "data/batch.h"
#include "data/tasks.h"
#include "nn/optim.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

// The L2 norm of the gradients of the parameters whose names start with `prefix`.
double gradient_norm(const nn::Module& model, const std::string& prefix) {
  double sum = 0;
  for (const auto& [name, parameter] : model.named_parameters())
    if (name.compare(0, prefix.size(), prefix) == 0 && parameter.grad_data())
      for (std::size_t i = 0; i < parameter.numel(); ++i)
        sum += double(parameter.grad_data()[i]) * parameter.grad_data()[i];
  return std::sqrt(sum);
}

}  // namespace

int main() {
  const Vocab vocab = task_vocab(Task::reverse);
  Generator data(0);
  const Batch batch = make_batch(make_examples(default_spec(Task::reverse), 64, data), vocab);

  // 1. The loss at initialisation: a model that knows nothing spreads its probability
  // evenly over the V tokens, and -log(1/V) = ln V.
  nn::Seq2SeqTransformer model;  // the standard model, seed 0
  const Tensor loss = nn::sequence_cross_entropy(model.forward(batch.src, batch.tgt_in), batch.labels);
  std::printf("1. loss of the untrained standard model on a batch of 64: %.4f   (ln %zu = %.4f)\n",
              double(loss.item()), vocab.size(), std::log(double(vocab.size())));

  // 2. Gradient norms at initialisation, by part of the model.
  loss.backward();
  std::printf("\n2. gradient norms of that first backward, by part:\n");
  for (const char* part : {"src_embed", "tgt_embed", "transformer.encoder", "transformer.decoder",
                           "generator"})
    std::printf("   %-22s %8.4f\n", part, gradient_norm(model, part));
  const double total = optim::clip_grad_norm(model.parameters(), 1.0);
  std::printf("   %-22s %8.4f   (what clip_grad_norm returns: the norm before clipping)\n",
              "all parameters", total);
  std::printf("   after clip_grad_norm(parameters, 1.0): %.4f (%s)\n", gradient_norm(model, ""),
              total > 1 ? "scaled down to 1" : "below 1, left alone");

  // 3. Overfit one batch: a small model, 8 fixed examples, many steps on the same batch.
  nn::TransformerConfig small;
  small.d_model = 32, small.num_heads = 2, small.d_ff = 64;
  small.num_encoder_layers = small.num_decoder_layers = 1;
  nn::Seq2SeqTransformer tiny(small, /*seed=*/0);
  optim::Adam adam(tiny.parameters(), {3e-3, 0.9, 0.98, 1e-9});
  Generator few(1);
  const Batch one = make_batch(make_examples(TaskSpec{Task::reverse, 1, 6}, 8, few), vocab);
  std::printf("\n3. overfitting one batch of 8 examples (a model with %zu parameters):\n",
              tiny.num_parameters());
  std::printf("   step    loss   right labels\n");
  for (int step = 0; step <= 80; ++step) {
    const Tensor logits = tiny.forward(one.src, one.tgt_in);
    const Tensor batch_loss = nn::sequence_cross_entropy(logits, one.labels);
    std::size_t right = 0;
    const std::vector<std::int64_t> best = argmax(logits, -1);
    for (std::size_t i = 0; i < best.size(); ++i)
      right += one.labels.ids[i] != PAD && best[i] == one.labels.ids[i];
    adam.zero_grad();
    batch_loss.backward();
    optim::clip_grad_norm(tiny.parameters(), 1.0);
    if (step % 20 == 0)
      std::printf("   %4d  %6.3f   %6zu / %zu\n", step, double(batch_loss.item()), right,
                  one.label_tokens);
    adam.step();
  }

  // 4. A NaN's origin. A loss written as -log(softmax(logits)) breaks when the model is
  // sure: the softmax of the other tokens rounds to exactly 0, and log(0) = -inf.
  const Tensor logits = Tensor::from({0, 200, 0, 0}, {1, 4}, /*requires_grad=*/true);
  std::printf("\n4. logits (0, 200, 0, 0), label 0:\n");
  const Tensor by_hand = -(logits.softmax(-1).log().slice(1, 0, 1).sum());
  std::printf("   -log(softmax(logits))[0]   = %g\n", double(by_hand.item()));
  by_hand.backward();
  std::printf("   its gradient               =");
  for (std::size_t i = 0; i < 4; ++i)  // printed by hand: printf's NaN spelling varies
    std::printf(" %s", std::isnan(logits.grad().at({0, i})) ? "NaN" : "a number");
  std::printf("\n");
  try {
    DetectAnomalyGuard detect_anomaly;
    const Tensor again = -(logits.softmax(-1).log().slice(1, 0, 1).sum());
    std::printf("   no anomaly found\n");
  } catch (const Error& error) {
    std::printf("   under DetectAnomalyGuard:\n   %s\n", error.what());
  }
  std::printf("   cross_entropy(logits, {0}) = %g (log_softmax in one op, never log(0))\n",
              double(cross_entropy(logits.detach(), {0}).item()));
  return 0;
}
