// Solution to exercise 9.3 (docs/09-decoding.md): sampling with a temperature. Each step
// draws the next token from softmax(logits / τ) instead of taking the most likely one (PAD
// and BOS get probability 0: they are not outputs). 200 samples of 8999133036148 run as one
// batch of 200 prefixes, a whole-prefix forward pass a step; rows that have written EOS are
// carried along and ignored.
// Result: at τ = 0.01 every sample is greedy's answer (dividing by a small τ makes the
// largest logit dominate: sampling becomes argmax). At τ = 1 the samples follow the model's
// own distribution: the right reversal and greedy's answer each come out about 40-45% of the
// time, as their probabilities e^(log p) = 0.438 and 0.437 say.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batch.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

// `count` outputs for one source, each drawn token by token at temperature tau.
std::vector<std::string> sample(nn::Seq2SeqTransformer& model, const Vocab& vocab, const std::string& input,
                                std::size_t count, double tau, std::uint32_t seed) {
  NoGradGuard no_grad;
  std::mt19937 random(seed);
  const TokenMatrix src = make_source_batch(std::vector<std::vector<std::int64_t>>(count, vocab.encode(input)));
  std::vector<std::vector<std::int64_t>> outputs(count);
  std::vector<bool> done(count, false);
  TokenMatrix prefix(count, 1, BOS);
  const std::size_t max_len = 2 * src.cols + 10;
  for (std::size_t step = 0; step < max_len; ++step) {
    const Tensor logits = model.forward(src, prefix);  // (count, t+1, V)
    const std::size_t vocab_size = logits.size(2), last = prefix.cols - 1;
    TokenMatrix longer(count, prefix.cols + 1, PAD);
    bool all_done = true;
    for (std::size_t r = 0; r < count; ++r) {
      for (std::size_t c = 0; c < prefix.cols; ++c) longer.at(r, c) = prefix.at(r, c);
      if (done[r]) continue;
      std::vector<double> weights(vocab_size, 0.0);  // softmax(logits / tau), unnormalised
      double largest = -1e300;
      for (std::size_t v = EOS; v < vocab_size; ++v) largest = std::max(largest, double(logits.at({r, last, v})));
      for (std::size_t v = EOS; v < vocab_size; ++v)
        weights[v] = std::exp((double(logits.at({r, last, v})) - largest) / tau);  // <= 1: no overflow
      const std::int64_t token = std::discrete_distribution<std::int64_t>(weights.begin(), weights.end())(random);
      longer.at(r, prefix.cols) = token;
      outputs[r].push_back(token);
      done[r] = token == EOS;
      all_done &= done[r];
    }
    prefix = longer;
    if (all_done) break;
  }
  std::vector<std::string> texts;
  for (const auto& tokens : outputs) texts.push_back(vocab.decode(tokens));
  return texts;
}

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const std::string input = "8999133036148", right(input.rbegin(), input.rend());
  const nn::Hypothesis greedy = nn::greedy_decode(model, make_source_batch({vocab.encode(input)}))[0];
  const std::string greedy_text = vocab.decode(greedy.tokens);
  const Batch right_batch = make_batch({{input, right}}, vocab);
  const double right_log_p = nn::score(model, right_batch.src, right_batch.tgt_in, right_batch.labels)[0];

  bool ok = true;
  for (const double tau : {0.01, 1.0}) {
    const std::vector<std::string> samples = sample(model, vocab, input, tau < 0.1 ? 20 : 200, tau, 2024);
    double as_greedy = 0, as_right = 0;
    for (const std::string& s : samples) as_greedy += s == greedy_text, as_right += s == right;
    as_greedy /= double(samples.size()), as_right /= double(samples.size());
    std::printf("tau %.2f: %5.1f%% are greedy's %s (p %.3f), %5.1f%% the right %s (p %.3f)\n", tau,
                100 * as_greedy, greedy_text.c_str(), std::exp(greedy.log_prob), 100 * as_right,
                right.c_str(), std::exp(right_log_p));
    if (tau < 0.1) ok &= as_greedy == 1.0;
    // 200 samples: the standard error of a fraction near 0.44 is 0.035; allow 3 of them.
    else ok &= std::abs(as_greedy - std::exp(greedy.log_prob)) < 0.105 &&
               std::abs(as_right - std::exp(right_log_p)) < 0.105;
  }
  return ok ? 0 : 1;
}
