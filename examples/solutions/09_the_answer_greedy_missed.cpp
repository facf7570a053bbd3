// Solution to exercise 9.2 (docs/09-decoding.md): the answer greedy decoding missed.
// nn::score gives log p(target | source) of any target in one teacher-forced pass. Greedy's
// answer to 8999133036148 scores exactly its own log p, and the right reversal scores higher:
// greedy did not find the most likely output. Every output one edit away from greedy's
// (another digit at one position, EOS earlier or one digit later, two neighbours swapped) is
// scored in one batch; the most likely of them is the right reversal, which beam search
// found: greedy's answer has the last two digits the wrong way round.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "data/batch.h"
#include "examples/common/check.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const std::string input = "8999133036148", right(input.rbegin(), input.rend());
  const std::vector<std::int64_t> source = vocab.encode(input);

  // log p of each target (symbol ids, without EOS: make_batch appends it).
  const auto scores = [&](const std::vector<std::vector<std::int64_t>>& targets) {
    const Batch batch = make_batch(std::vector<std::vector<std::int64_t>>(targets.size(), source), targets);
    return nn::score(model, batch.src, batch.tgt_in, batch.labels);
  };

  const nn::Hypothesis greedy = nn::greedy_decode(model, make_source_batch({source}))[0];
  const std::vector<std::int64_t> greedy_digits(greedy.tokens.begin(), greedy.tokens.end() - 1);  // EOS off
  const std::vector<double> two = scores({greedy_digits, vocab.encode(right)});
  std::printf("greedy %s: log p %.4f (score() says %.4f)\n", vocab.decode(greedy.tokens).c_str(),
              greedy.log_prob, two[0]);
  std::printf("right  %s: log p %.4f\n", right.c_str(), two[1]);
  bool ok = compare("score(greedy's answer) against greedy's log p", two[0], greedy.log_prob);
  ok &= two[1] > greedy.log_prob;

  // Every output one edit away from greedy's: another symbol at position t, EOS at t (the
  // output ends early), one more digit before EOS, or positions t and t+1 swapped.
  std::vector<std::vector<std::int64_t>> variants;
  for (std::size_t t = 0; t < greedy_digits.size(); ++t) {
    variants.emplace_back(greedy_digits.begin(), greedy_digits.begin() + long(t));  // EOS at t
    for (std::int64_t v = EOS + 1; v < std::int64_t(vocab.size()); ++v)
      if (v != greedy_digits[t]) {
        variants.push_back(greedy_digits);
        variants.back()[t] = v;
      }
  }
  variants.push_back(greedy_digits);  // EOS later: one more digit before it
  variants.back().push_back(greedy_digits.back());
  for (std::size_t t = 0; t + 1 < greedy_digits.size(); ++t)
    if (greedy_digits[t] != greedy_digits[t + 1]) {
      variants.push_back(greedy_digits);
      std::swap(variants.back()[t], variants.back()[t + 1]);
    }
  const std::vector<double> variant_scores = scores(variants);
  const std::size_t best = std::size_t(std::max_element(variant_scores.begin(), variant_scores.end()) -
                                       variant_scores.begin());
  nn::DecodeOptions beam4;
  beam4.beam = 4;
  const nn::Hypothesis beam = nn::beam_search(model, make_source_batch({source}), beam4)[0];
  std::printf("%zu outputs one edit away from greedy's; the most likely: %s, log p %.4f\n",
              variants.size(), vocab.decode(variants[best]).c_str(), variant_scores[best]);
  std::printf("beam search, 4 beams: %s\n", vocab.decode(beam.tokens).c_str());
  ok &= vocab.decode(variants[best]) == right && vocab.decode(beam.tokens) == right;
  return ok ? 0 : 1;
}
