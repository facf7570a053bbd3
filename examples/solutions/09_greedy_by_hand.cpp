// Solution to exercise 9.1 (docs/09-decoding.md): greedy decoding written by hand, the
// plain way, without a cache. Start from BOS; at every step run the whole model on the
// prefix, take the last position's distribution, append its most likely token (never PAD
// or BOS, which are not outputs), add that token's log-probability, and stop at EOS.
// Result: the same tokens as nn::greedy_decode with and without its cache, and the same
// log p to rounding; the hand loop computes every earlier position again at each step.
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batch.h"
#include "examples/common/check.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

nn::Hypothesis greedy_by_hand(nn::Seq2SeqTransformer& model, const TokenMatrix& src, std::size_t max_len) {
  NoGradGuard no_grad;
  nn::Hypothesis out;
  std::vector<std::int64_t> prefix{BOS};
  while (out.tokens.size() < max_len && (out.tokens.empty() || out.tokens.back() != EOS)) {
    TokenMatrix tgt_in(1, prefix.size());
    tgt_in.ids = prefix;
    const Tensor log_probs = model.forward(src, tgt_in).log_softmax(-1);  // (1, t+1, V)
    const std::size_t last = prefix.size() - 1, vocab = log_probs.size(2);
    std::int64_t best = EOS;  // PAD = 0 and BOS = 1 are never generated
    for (std::int64_t v = EOS; v < std::int64_t(vocab); ++v)
      if (log_probs.at({0, last, std::size_t(v)}) > log_probs.at({0, last, std::size_t(best)})) best = v;
    out.log_prob += log_probs.at({0, last, std::size_t(best)});
    out.tokens.push_back(best);
    prefix.push_back(best);
  }
  return out;
}

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  bool ok = true;
  for (const std::string input : {"7", "2333", "31415926", "8999133036148", "421329636872917331"}) {
    const TokenMatrix src = make_source_batch({vocab.encode(input)});
    const std::size_t max_len = 2 * src.cols + 10;  // greedy_decode's default
    const nn::Hypothesis mine = greedy_by_hand(model, src, max_len);
    std::printf("%-18s -> %-20s log p %.6f\n", input.c_str(), vocab.decode(mine.tokens).c_str(), mine.log_prob);
    for (const bool use_cache : {true, false}) {
      nn::DecodeOptions options;
      options.use_cache = use_cache;
      const nn::Hypothesis library = nn::greedy_decode(model, src, options)[0];
      const bool same_tokens = mine.tokens == library.tokens;
      std::printf("  against greedy_decode (%s): tokens %s\n", use_cache ? "cached" : "uncached",
                  same_tokens ? "the same" : "DIFFERENT");
      ok &= same_tokens && compare("  log p", mine.log_prob, library.log_prob);
    }
  }
  return ok ? 0 : 1;
}
