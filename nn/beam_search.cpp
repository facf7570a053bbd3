// beam_search.cpp — beam search over a Seq2SeqTransformer, fairseq's convention (decode.h):
// each step ranks the 2K best (beam, token) extensions of a source row's live beams, finishes
// those ending in EOS and keeps K live. The prefix loop it drives, Stepper, is shared with
// greedy decoding (decode_internal.h, decode.cpp). Read next: examples/predict.cpp (--beam).
// Legend: B batch, S source length, T generated length, N live prefixes, V vocabulary.
#include "nn/decode.h"

#include <algorithm>
#include <cmath>

#include "nn/decode_internal.h"

namespace crossgrad::nn {

using namespace decode_internal;

namespace {

// One proposal: live beam `parent` extended by `token`, with total log p `total`.
struct Candidate {
  double total;
  std::size_t beam_rank, token_rank;  // tie-breakers: earlier beam, then better token
  std::int64_t parent, token;
};

bool ranks_before(const Candidate& a, const Candidate& b) {
  if (a.total != b.total) return a.total > b.total;
  if (a.beam_rank != b.beam_rank) return a.beam_rank < b.beam_rank;
  return a.token_rank < b.token_rank;
}

// The `count` generable ids with the highest log p (ties: lower id), best first.
std::vector<std::size_t> top_tokens(const real* log_probs, std::size_t vocab, std::size_t count) {
  std::vector<std::size_t> ids;
  for (std::size_t id = 0; id < vocab; ++id)
    if (generable(id)) ids.push_back(id);
  count = std::min(count, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + long(count), ids.end(),
                    [log_probs](std::size_t a, std::size_t b) {
                      return log_probs[a] != log_probs[b] ? log_probs[a] > log_probs[b] : a < b;
                    });
  ids.resize(count);
  return ids;
}

// The finished hypotheses of every source row, and the total log p of every live beam.
struct BeamRows {
  BeamRows(std::size_t rows, const DecodeOptions& options)
      : width(options.beam), length_penalty(options.length_penalty),
        keep_attention(options.keep_attention), live_log_probs(rows, 0), finished(rows) {}

  // Ranks the proposals of live beams [first, end) (one source row) and finishes or keeps
  // them; kept ones are appended to parents/tokens/totals.
  void extend(const Stepper& stepper, const Tensor& log_probs, std::size_t first,
              std::size_t end, bool last_step, std::vector<std::int64_t>& parents,
              std::vector<std::int64_t>& tokens, std::vector<double>& totals) {
    const std::size_t vocab = log_probs.size(1), row = stepper.source_row(first);
    std::vector<Candidate> candidates;
    for (std::size_t i = first; i < end; ++i) {
      const real* row_log_probs = log_probs.data() + i * vocab;
      const std::vector<std::size_t> best = top_tokens(row_log_probs, vocab, 2 * width);
      for (std::size_t k = 0; k < best.size(); ++k)
        candidates.push_back({live_log_probs[i] + double(row_log_probs[best[k]]), i - first, k,
                              std::int64_t(i), std::int64_t(best[k])});
    }
    std::sort(candidates.begin(), candidates.end(), ranks_before);
    std::size_t kept = 0;
    for (std::size_t rank = 0; rank < candidates.size() && rank < 2 * width; ++rank) {
      const Candidate& c = candidates[rank];
      if (c.token == EOS || last_step) {
        if (rank < width) finish(stepper, c, row);
      } else if (kept < width) {
        parents.push_back(c.parent);
        tokens.push_back(c.token);
        totals.push_back(c.total);
        ++kept;
      }
    }
    if (finished[row].size() >= width) {  // the row is done: drop what it just kept
      parents.resize(parents.size() - kept);
      tokens.resize(tokens.size() - kept);
      totals.resize(totals.size() - kept);
    }
  }

  void finish(const Stepper& stepper, const Candidate& c, std::size_t row) {
    Hypothesis hypothesis;
    hypothesis.tokens = stepper.tokens(std::size_t(c.parent));
    hypothesis.tokens.push_back(c.token);
    hypothesis.log_prob = c.total;
    if (keep_attention) hypothesis.cross_attention = stepper.attention(std::size_t(c.parent));
    finished[row].push_back(std::move(hypothesis));
  }

  // Per row, the finished hypothesis with the best log p / length^α (the earliest on a tie).
  std::vector<Hypothesis> best() {
    const auto normalised = [this](const Hypothesis& h) {
      return h.log_prob / std::pow(double(h.tokens.size()), length_penalty);  // x^0 = 1
    };
    std::vector<Hypothesis> out;
    for (std::vector<Hypothesis>& row : finished) {
      std::size_t best_index = 0;
      for (std::size_t i = 1; i < row.size(); ++i)
        if (normalised(row[i]) > normalised(row[best_index])) best_index = i;
      out.push_back(std::move(row.at(best_index)));
    }
    return out;
  }

  std::size_t width;
  double length_penalty;
  bool keep_attention;
  std::vector<double> live_log_probs;             // per live beam, Σ log p so far
  std::vector<std::vector<Hypothesis>> finished;  // per source row
};

}  // namespace

// fairseq's convention (decode.h), row by row; ties rank the earlier beam, then the better
// token, so K = 1 is greedy decoding: the same tokens, the same sums in the same order.
std::vector<Hypothesis> beam_search(Seq2SeqTransformer& model, const TokenMatrix& src,
                                    const DecodeOptions& options) {
  if (options.beam == 0) fail("beam_search: beam must be at least 1, got 0");
  check_source(model, src, "beam_search");
  const std::size_t max_len = step_limit(model, src, options, "beam_search");
  NoGradGuard no_grad;
  EvalScope eval(model);
  Stepper stepper(model, src, options);
  BeamRows beams(src.rows, options);
  for (std::size_t step = 0; step < max_len && stepper.live() > 0; ++step) {
    const Tensor log_probs = stepper.log_probs();  // (N, V)
    std::vector<std::int64_t> parents, tokens;
    std::vector<double> totals;
    for (std::size_t first = 0; first < stepper.live();) {  // one source row's live beams
      std::size_t end = first;
      while (end < stepper.live() && stepper.source_row(end) == stepper.source_row(first)) ++end;
      beams.extend(stepper, log_probs, first, end, step + 1 == max_len, parents, tokens, totals);
      first = end;
    }
    stepper.advance(parents, tokens);
    beams.live_log_probs = std::move(totals);
  }
  return beams.best();
}

}  // namespace crossgrad::nn
