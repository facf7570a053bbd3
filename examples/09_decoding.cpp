// 09_decoding.cpp — turning the trained reversal model's next-token probabilities into an
// answer. Greedy decoding against beam search on an input where they differ, token by token
// with each token's probability; what length normalisation changes, on an input longer than
// any the model was trained on; and the key/value cache: cached and uncached decoding give
// the same tokens, the work each does, and the speed-up measured (the lines that end with
// "(measured)" are wall-clock times, different on every run).
// Walked through in docs/09-decoding.md.
// Run from the repository's top folder: build/09_decoding
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batch.h"
#include "data/tasks.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

// A hypothesis's tokens as text, EOS written out: "8416303319998 EOS".
std::string spelled(const Vocab& vocab, const nn::Hypothesis& h) {
  std::string text = vocab.decode(h.tokens);
  if (!h.tokens.empty() && h.tokens.back() == EOS) text += " EOS";
  return text;
}

// log p(token | source, tokens before it) for every token of h, teacher-forced in one
// forward pass: (T, V) log-probabilities, row t the distribution token t was chosen from.
Tensor step_log_probs(nn::Seq2SeqTransformer& model, const TokenMatrix& src, const nn::Hypothesis& h) {
  TokenMatrix tgt_in(1, h.tokens.size(), PAD);
  tgt_in.at(0, 0) = BOS;
  for (std::size_t t = 1; t < h.tokens.size(); ++t) tgt_in.at(0, t) = h.tokens[t - 1];
  NoGradGuard no_grad;
  return model.forward(src, tgt_in).log_softmax(-1).squeeze(0);  // (1, T, V) -> (T, V)
}

// The most likely token of row t other than `except` (PAD and BOS are never generated).
std::int64_t best_other(const Tensor& log_probs, std::size_t t, std::int64_t except) {
  std::int64_t best = -1;
  for (std::int64_t v = EOS; v < std::int64_t(log_probs.size(1)); ++v)
    if (v != except && (best < 0 || log_probs.at({t, std::size_t(v)}) > log_probs.at({t, std::size_t(best)})))
      best = v;
  return best;
}

std::string symbol(const Vocab& vocab, std::int64_t id) {
  return id == EOS ? "EOS" : vocab.symbol(id);
}

// Milliseconds of the fastest of `runs` calls of f: the minimum is the least disturbed by
// other work on the machine.
template <class F>
double best_milliseconds(int runs, F f) {
  double best = 1e300;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    f();
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count());
  }
  return best;
}

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  bool as_expected = true;

  // --- 1. Greedy against beam search, on an input where they differ ---
  const std::string input = "8999133036148";
  const std::string reversed(input.rbegin(), input.rend());
  const TokenMatrix src = make_source_batch({vocab.encode(input)});
  nn::DecodeOptions beam4;
  beam4.beam = 4;
  const nn::Hypothesis greedy = nn::greedy_decode(model, src)[0];
  const nn::Hypothesis beam = nn::beam_search(model, src, beam4)[0];
  std::printf("input %s (%zu digits), reversed: %s\n\n", input.c_str(), input.size(), reversed.c_str());
  std::printf("greedy decoding:     %s   log p = %.4f   %s\n", spelled(vocab, greedy).c_str(),
              greedy.log_prob, vocab.decode(greedy.tokens) == reversed ? "right" : "wrong");
  std::printf("beam search, 4 beams: %s   log p = %.4f   %s\n\n", spelled(vocab, beam).c_str(),
              beam.log_prob, vocab.decode(beam.tokens) == reversed ? "right" : "wrong");
  as_expected &= vocab.decode(greedy.tokens) != reversed && vocab.decode(beam.tokens) == reversed;

  // Token by token: what each chose, with what probability, and greedy's runner-up.
  const Tensor greedy_steps = step_log_probs(model, src, greedy);
  const Tensor beam_steps = step_log_probs(model, src, beam);
  std::printf("step   greedy: token  p       runner-up  p       beam: token  p       sum of log p\n");
  std::printf("                                                                   greedy     beam\n");
  double greedy_sum = 0, beam_sum = 0;
  bool parted = false;
  for (std::size_t t = 0; t < std::max(greedy.tokens.size(), beam.tokens.size()); ++t) {
    const std::int64_t g = greedy.tokens[t], b = beam.tokens[t];
    const std::int64_t other = best_other(greedy_steps, t, g);
    const double g_log = greedy_steps.at({t, std::size_t(g)}), b_log = beam_steps.at({t, std::size_t(b)});
    greedy_sum += g_log, beam_sum += b_log;
    std::printf("%4zu           %3s    %.4f  %3s        %.4f        %3s    %.4f  %8.4f %8.4f%s\n", t,
                symbol(vocab, g).c_str(), std::exp(g_log), symbol(vocab, other).c_str(),
                std::exp(double(greedy_steps.at({t, std::size_t(other)}))), symbol(vocab, b).c_str(),
                std::exp(b_log), greedy_sum, beam_sum, g == b || parted ? "" : "   <- they part");
    parted |= g != b;
  }

  // --- 2. Where beam search ends below greedy: a wider beam is not always better ---
  const std::string short_input = "2333";
  const TokenMatrix short_src = make_source_batch({vocab.encode(short_input)});
  std::printf("\ninput %s, reversed: %s\n", short_input.c_str(),
              std::string(short_input.rbegin(), short_input.rend()).c_str());
  std::printf("  decoding                  answer     length  log p      log p / length\n");
  const auto show_short = [&](const std::string& name, const nn::Hypothesis& h) {
    std::printf("  %-24s  %-9s  %4zu   %9.4f   %9.4f\n", name.c_str(), spelled(vocab, h).c_str(),
                h.tokens.size(), h.log_prob, h.log_prob / double(h.tokens.size()));
  };
  show_short("greedy", nn::greedy_decode(model, short_src)[0]);
  for (const std::size_t width : {2, 3, 4, 5, 8})
    for (const double penalty : {1.0, 0.0}) {
      if (penalty == 0 && width != 4) continue;
      nn::DecodeOptions options;
      options.beam = width;
      options.length_penalty = penalty;
      const nn::Hypothesis h = nn::beam_search(model, short_src, options)[0];
      show_short("beam " + std::to_string(width) + (penalty == 0 ? ", penalty 0" : ""), h);
      if (width == 4) as_expected &= vocab.decode(h.tokens) != "3332";
    }

  // --- 3. Length normalisation, on an input longer than any seen in training (1..16) ---
  const std::string long_input = "421329636872917331";
  const TokenMatrix long_src = make_source_batch({vocab.encode(long_input)});
  std::printf("\ninput %s (%zu digits, longer than any in training), reversed: %s\n",
              long_input.c_str(), long_input.size(),
              std::string(long_input.rbegin(), long_input.rend()).c_str());
  std::printf("  decoding                  answer                   length  log p     log p / length\n");
  const auto show = [&](const char* name, const nn::Hypothesis& h) {
    const double length = double(h.tokens.size());  // EOS included, as beam_search counts it
    std::printf("  %-24s  %-23s  %4zu   %8.4f   %8.4f\n", name, spelled(vocab, h).c_str(),
                h.tokens.size(), h.log_prob, h.log_prob / length);
  };
  nn::DecodeOptions plain = beam4, normalised = beam4;
  plain.length_penalty = 0;
  normalised.length_penalty = 1;
  const nn::Hypothesis by_sum = nn::beam_search(model, long_src, plain)[0];
  const nn::Hypothesis by_mean = nn::beam_search(model, long_src, normalised)[0];
  show("greedy", nn::greedy_decode(model, long_src)[0]);
  show("beam 4, penalty 0 (sum)", by_sum);
  show("beam 4, penalty 1 (mean)", by_mean);
  as_expected &= by_sum.tokens.size() < by_mean.tokens.size();

  // --- 4. The key/value cache ---
  // Same tokens and log-probabilities with and without it, on 64 held-out inputs.
  const std::vector<Pair> held_out = make_held_out(default_spec(Task::reverse), 64, 0);
  std::vector<std::vector<std::int64_t>> sources;
  for (const Pair& pair : held_out) sources.push_back(vocab.encode(pair.source));
  const TokenMatrix batch = make_source_batch(sources);
  nn::DecodeOptions cached, uncached;
  uncached.use_cache = false;
  const std::vector<nn::Hypothesis> fast = nn::greedy_decode(model, batch, cached);
  const std::vector<nn::Hypothesis> slow = nn::greedy_decode(model, batch, uncached);
  std::size_t same_tokens = 0;
  double worst = 0;
  for (std::size_t r = 0; r < fast.size(); ++r) {
    same_tokens += fast[r].tokens == slow[r].tokens;
    worst = std::max(worst, std::abs(fast[r].log_prob - slow[r].log_prob));
  }
  std::printf("\nthe key/value cache, greedy decoding of %zu held-out inputs (1 to 16 digits):\n",
              fast.size());
  std::printf("  same tokens with and without the cache: %zu of %zu rows\n", same_tokens, fast.size());
  std::printf("  largest |log p difference|: %s\n", worst < 1e-4 ? "below 1e-4" : "ABOVE 1e-4");
  as_expected &= same_tokens == fast.size() && worst < 1e-4;

  // The work: decoder positions computed to write n digits and EOS (n + 1 steps).
  std::printf("\ndecoder positions computed to write n digits and EOS (n + 1 steps):\n");
  std::printf("   n   with the cache   without (1 + 2 + ... + (n+1))   ratio\n");
  for (const std::size_t n : {4, 8, 16}) {
    const std::size_t steps = n + 1, recomputed = steps * (steps + 1) / 2;
    std::printf("  %2zu   %14zu   %29zu   %5.1f\n", n, steps, recomputed, double(recomputed) / double(steps));
  }

  // The time: 32 inputs of n digits at once, the fastest of 3 runs.
  std::printf("\ngreedy decoding of 32 inputs of n digits, fastest of 3 runs:\n");
  for (const std::size_t n : {4, 8, 16}) {
    TokenMatrix digits = make_source_batch(std::vector<std::vector<std::int64_t>>(
        32, vocab.encode(std::string("3141592653589793").substr(0, n))));
    const double with_cache = best_milliseconds(3, [&] { nn::greedy_decode(model, digits, cached); });
    const double without = best_milliseconds(3, [&] { nn::greedy_decode(model, digits, uncached); });
    std::printf("  n = %2zu: %7.1f ms with the cache, %7.1f ms without, %5.1fx faster (measured)\n", n,
                with_cache, without, without / with_cache);
  }
  return as_expected ? 0 : 1;
}
