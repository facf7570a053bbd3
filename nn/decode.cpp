// decode.cpp — greedy decoding, scoring and beam search (see decode.h), all over Stepper:
// the encoder once, then live prefixes extended a token at a time. It runs under NoGradGuard
// in eval mode and restores the caller's mode; training is elsewhere. Read next: nn/optim.h.
// Legend: B batch, S source length, T generated length, N live prefixes, V vocabulary.
#include "nn/decode.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "autograd/ops.h"

namespace crossgrad::nn {

namespace {

// --- Checks and limits ---

// Evaluation mode (dropout off) while alive, then the caller's mode again.
struct EvalScope {
  explicit EvalScope(Module& m) : module(m), was_training(m.is_training()) { m.eval(); }
  ~EvalScope() { module.train(was_training); }
  Module& module;
  bool was_training;
};

// Every id of `ids` must lie in [0, V); `what` names the op and the argument.
void check_ids(const TokenMatrix& ids, std::size_t vocab_size, const std::string& what) {
  if (ids.rows == 0 || ids.cols == 0 || ids.ids.size() != ids.rows * ids.cols)
    fail(what + " must be a non-empty (rows, cols) batch, got " + to_string(ids.shape()) +
         " holding " + std::to_string(ids.ids.size()) + " ids");
  for (std::size_t i = 0; i < ids.ids.size(); ++i)
    if (ids.ids[i] < 0 || std::size_t(ids.ids[i]) >= vocab_size)
      fail(what + ": id " + std::to_string(ids.ids[i]) + " at (row " +
           std::to_string(i / ids.cols) + ", col " + std::to_string(i % ids.cols) +
           ") is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
}

// Fails unless the special ids lie in [0, V), every source id does, and no source row is all
// padding; errors start with `op`.
void check_source(const Seq2SeqTransformer& model, const TokenMatrix& src, const char* op) {
  const TransformerConfig& config = model.config();
  for (const std::int64_t id : {config.pad_id, config.bos_id, config.eos_id})
    if (id < 0 || std::size_t(id) >= config.vocab_size)
      fail(std::string(op) + ": the special ids (pad_id " + std::to_string(config.pad_id) +
           ", bos_id " + std::to_string(config.bos_id) + ", eos_id " +
           std::to_string(config.eos_id) + ") must lie in the vocabulary [0, " +
           std::to_string(config.vocab_size) + ")");
  check_ids(src, config.vocab_size, std::string(op) + ": source " + to_string(src.shape()));
  const auto is_pad = [&config](std::int64_t id) { return id == config.pad_id; };
  for (std::size_t r = 0; r < src.rows; ++r) {
    const auto row = src.ids.begin() + long(r * src.cols);
    if (std::all_of(row, row + long(src.cols), is_pad))
      fail(std::string(op) + ": source row " + std::to_string(r) + " of " +
           to_string(src.shape()) + " is all PAD (pad_id " + std::to_string(config.pad_id) +
           "); there is nothing to attend to");
  }
}

// The most tokens a row may generate: options.max_len, or 2·S + 10 capped by the positional
// table (the last step feeds bos_id + max_len - 1 tokens, at positions 0 .. max_len - 1).
std::size_t step_limit(const Seq2SeqTransformer& model, const TokenMatrix& src,
                       const DecodeOptions& options, const char* op) {
  const std::size_t table = model.config().max_len;
  if (options.max_len > table)
    fail(std::string(op) + ": max_len " + std::to_string(options.max_len) +
         " exceeds the model's positional table of " + std::to_string(table) + " positions");
  if (options.max_len > 0) return options.max_len;
  return std::min(2 * src.cols + 10, table);
}

// pad_id and bos_id are never generated: they are not outputs.
bool generable(std::size_t id, const TransformerConfig& config) {
  return std::int64_t(id) != config.pad_id && std::int64_t(id) != config.bos_id;
}

TokenMatrix select_rows(const TokenMatrix& ids, const std::vector<std::int64_t>& rows) {
  TokenMatrix out(rows.size(), ids.cols);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t c = 0; c < ids.cols; ++c) out.at(i, c) = ids.at(std::size_t(rows[i]), c);
  return out;
}

// --- Stepper ---

// The next-token distribution for a set of live prefixes (bos_id + tokens so far, all the same
// length), each tied to one source row; at first one prefix per source row. The encoder runs
// once, here. With the cache, each step feeds only the newest token through the decoder;
// without it, the whole prefix (the reference the cache is tested against).
class Stepper {
 public:
  Stepper(Seq2SeqTransformer& model, const TokenMatrix& src, const DecodeOptions& options);

  // log p(next token | source, prefix) for every live prefix: (N, V). With keep_attention,
  // also appends each layer's cross-attention row of the newest position to the history.
  Tensor log_probs();
  // Live prefix parents[i] extended by tokens[i] becomes live prefix i.
  void advance(const std::vector<std::int64_t>& parents, const std::vector<std::int64_t>& tokens);

  std::size_t live() const { return rows_.size(); }
  std::size_t source_row(std::size_t i) const { return std::size_t(rows_[i]); }
  // Live prefix i's tokens without bos_id.
  std::vector<std::int64_t> tokens(std::size_t i) const;
  // Live prefix i's cross-attention so far, per decoder layer: (H, t+1, S).
  std::vector<Tensor> attention(std::size_t i) const;

 private:
  Seq2SeqTransformer& model_;
  const TokenMatrix& src_;
  bool use_cache_, keep_attention_;
  Tensor memory_;                   // (B, S, D), from the encoder's single run
  DecoderCache cache_;              // with use_cache
  std::vector<std::int64_t> rows_;  // the source row of each live prefix
  TokenMatrix prefixes_;            // (N, t+1): bos_id + tokens so far
  std::vector<Tensor> history_;     // per decoder layer, (N, H, t+1, S)
};

Stepper::Stepper(Seq2SeqTransformer& model, const TokenMatrix& src, const DecodeOptions& options)
    : model_(model), src_(src), use_cache_(options.use_cache),
      keep_attention_(options.keep_attention), memory_(model.encode(src)),
      rows_(src.rows), prefixes_(src.rows, 1, model.config().bos_id) {
  for (std::size_t r = 0; r < src.rows; ++r) rows_[r] = std::int64_t(r);
  if (use_cache_) cache_ = model.start_decoding(memory_, src);
}

Tensor Stepper::log_probs() {
  const std::size_t length = prefixes_.cols, live = rows_.size();
  Tensor logits;  // (N, V)
  if (use_cache_) {
    std::vector<std::int64_t> newest(live);
    for (std::size_t i = 0; i < live; ++i) newest[i] = prefixes_.at(i, length - 1);
    logits = model_.decode_step(cache_, newest);
  } else {
    const Tensor all = model_.decode(index_select(memory_, 0, rows_), select_rows(src_, rows_),
                                     prefixes_);  // (N, t+1, V)
    logits = all.slice(1, length - 1, length).reshape({long(live), -1});
  }
  if (keep_attention_) {
    const std::vector<Tensor> maps = model_.cross_attention_weights();  // (N, H, ·, S)
    history_.resize(maps.size());
    for (std::size_t l = 0; l < maps.size(); ++l) {
      const std::size_t last = maps[l].size(2);
      const Tensor newest = maps[l].slice(2, last - 1, last);  // (N, H, 1, S)
      history_[l] = history_[l].defined() ? concat({history_[l], newest}, 2) : newest;
    }
  }
  return logits.log_softmax(-1);
}

void Stepper::advance(const std::vector<std::int64_t>& parents,
                      const std::vector<std::int64_t>& tokens) {
  if (parents.empty()) {  // every prefix has finished
    rows_.clear();
    return;
  }
  TokenMatrix next(parents.size(), prefixes_.cols + 1);
  std::vector<std::int64_t> rows(parents.size());
  for (std::size_t i = 0; i < parents.size(); ++i) {
    const std::size_t parent = std::size_t(parents[i]);
    for (std::size_t c = 0; c < prefixes_.cols; ++c) next.at(i, c) = prefixes_.at(parent, c);
    next.at(i, prefixes_.cols) = tokens[i];
    rows[i] = rows_[parent];
  }
  for (Tensor& layer_history : history_) layer_history = index_select(layer_history, 0, parents);
  if (use_cache_) cache_.select(parents);
  prefixes_ = std::move(next);
  rows_ = std::move(rows);
}

std::vector<std::int64_t> Stepper::tokens(std::size_t i) const {
  return {prefixes_.ids.begin() + long(i * prefixes_.cols + 1),
          prefixes_.ids.begin() + long((i + 1) * prefixes_.cols)};
}

std::vector<Tensor> Stepper::attention(std::size_t i) const {
  std::vector<Tensor> maps;
  for (const Tensor& layer_history : history_)
    maps.push_back(index_select(layer_history, 0, {std::int64_t(i)}).squeeze(0));
  return maps;
}

// --- Greedy decoding and scoring ---

// Among the generable ids, the one with the highest log-probability, the lowest id on a tie
// (argmax's first maximum).
std::int64_t best_token(const real* log_probs, std::size_t vocab, const TransformerConfig& config) {
  std::size_t best = vocab;
  for (std::size_t id = 0; id < vocab; ++id)
    if (generable(id, config) && (best == vocab || log_probs[id] > log_probs[best])) best = id;
  return std::int64_t(best);
}

}  // namespace

std::vector<Hypothesis> greedy_decode(Seq2SeqTransformer& model, const TokenMatrix& src,
                                      const DecodeOptions& options) {
  check_source(model, src, "greedy_decode");
  const std::size_t max_len = step_limit(model, src, options, "greedy_decode");
  NoGradGuard no_grad;
  EvalScope eval(model);
  Stepper stepper(model, src, options);
  std::vector<Hypothesis> hypotheses(src.rows);
  for (std::size_t step = 0; step < max_len && stepper.live() > 0; ++step) {
    const Tensor log_probs = stepper.log_probs();  // (N, V)
    const std::size_t vocab = log_probs.size(1);
    std::vector<std::int64_t> parents, tokens;  // the rows that go on
    for (std::size_t i = 0; i < stepper.live(); ++i) {
      const real* row_log_probs = log_probs.data() + i * vocab;
      const std::int64_t token = best_token(row_log_probs, vocab, model.config());
      Hypothesis& hypothesis = hypotheses[stepper.source_row(i)];
      hypothesis.tokens.push_back(token);
      hypothesis.log_prob += double(row_log_probs[token]);
      if (token != model.config().eos_id && step + 1 < max_len) {
        parents.push_back(std::int64_t(i));
        tokens.push_back(token);
      } else if (options.keep_attention) {
        hypothesis.cross_attention = stepper.attention(i);
      }
    }
    stepper.advance(parents, tokens);
  }
  return hypotheses;
}

std::vector<double> score(Seq2SeqTransformer& model, const TokenMatrix& src,
                          const TokenMatrix& tgt_in, const TokenMatrix& labels) {
  check_source(model, src, "score");
  const std::size_t vocab = model.config().vocab_size;
  check_ids(tgt_in, vocab, "score: tgt_in " + to_string(tgt_in.shape()));
  check_ids(labels, vocab, "score: labels " + to_string(labels.shape()));
  if (tgt_in.rows != src.rows || labels.shape() != tgt_in.shape())
    fail("score: src " + to_string(src.shape()) + ", tgt_in " + to_string(tgt_in.shape()) +
         " and labels " + to_string(labels.shape()) + " must be (B, S), (B, T) and (B, T)");
  NoGradGuard no_grad;
  EvalScope eval(model);
  // log p(labels[b, t] | src, tgt_in[b, 0..t]) from one pass: log_softmax, then pick labels
  const Tensor log_probs = model.forward(src, tgt_in).log_softmax(-1);  // (B, T, V)
  std::vector<double> scores(src.rows, 0);
  for (std::size_t b = 0; b < labels.rows; ++b)
    for (std::size_t t = 0; t < labels.cols; ++t)
      if (labels.at(b, t) != model.config().pad_id)
        scores[b] += double(log_probs.data()[(b * labels.cols + t) * vocab +
                                             std::size_t(labels.at(b, t))]);
  return scores;
}

// --- Beam search ---

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
std::vector<std::size_t> top_tokens(const real* log_probs, std::size_t vocab, std::size_t count,
                                    const TransformerConfig& config) {
  std::vector<std::size_t> ids;
  for (std::size_t id = 0; id < vocab; ++id)
    if (generable(id, config)) ids.push_back(id);
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
  BeamRows(std::size_t rows, const DecodeOptions& options, const TransformerConfig& config)
      : config(config), width(options.beam), length_penalty(options.length_penalty),
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
      const std::vector<std::size_t> best = top_tokens(row_log_probs, vocab, 2 * width, config);
      for (std::size_t k = 0; k < best.size(); ++k)
        candidates.push_back({live_log_probs[i] + double(row_log_probs[best[k]]), i - first, k,
                              std::int64_t(i), std::int64_t(best[k])});
    }
    std::sort(candidates.begin(), candidates.end(), ranks_before);
    std::size_t kept = 0;
    for (std::size_t rank = 0; rank < candidates.size() && rank < 2 * width; ++rank) {
      const Candidate& c = candidates[rank];
      if (c.token == config.eos_id || last_step) {
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

  const TransformerConfig& config;  // the special ids
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
  BeamRows beams(src.rows, options, model.config());
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
