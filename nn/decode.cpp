// decode.cpp — greedy decoding and teacher-forced scoring over a Seq2SeqTransformer, and
// Stepper (decode_internal.h), the prefix-extending loop that beam search (beam_search.cpp)
// shares. All of it runs under NoGradGuard in evaluation mode (dropout off); the caller's
// train/eval mode is restored afterwards. Read next: nn/beam_search.cpp.
// Legend: B batch, S source length, T generated length, N live prefixes, V vocabulary.
#include "nn/decode.h"

#include <algorithm>
#include <string>

#include "autograd/ops.h"
#include "nn/decode_internal.h"

namespace crossgrad::nn {

using namespace decode_internal;

namespace {

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

TokenMatrix select_rows(const TokenMatrix& ids, const std::vector<std::int64_t>& rows) {
  TokenMatrix out(rows.size(), ids.cols);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t c = 0; c < ids.cols; ++c) out.at(i, c) = ids.at(std::size_t(rows[i]), c);
  return out;
}

// Among the generable ids, the one with the highest log-probability, the lowest id on a tie
// (argmax's first maximum).
std::int64_t best_token(const real* log_probs, std::size_t vocab) {
  std::size_t best = vocab;
  for (std::size_t id = 0; id < vocab; ++id)
    if (generable(id) && (best == vocab || log_probs[id] > log_probs[best])) best = id;
  return std::int64_t(best);
}

}  // namespace

namespace decode_internal {

void check_source(const Seq2SeqTransformer& model, const TokenMatrix& src, const char* op) {
  if (model.config().vocab_size <= std::size_t(EOS))
    fail(std::string(op) + ": vocab_size " + std::to_string(model.config().vocab_size) +
         " leaves nothing to generate; it must include PAD, BOS, EOS and symbols");
  check_ids(src, model.config().vocab_size,
            std::string(op) + ": source " + to_string(src.shape()));
  for (std::size_t r = 0; r < src.rows; ++r) {
    const auto row = src.ids.begin() + long(r * src.cols);
    if (std::all_of(row, row + long(src.cols), [](std::int64_t id) { return id == PAD; }))
      fail(std::string(op) + ": source row " + std::to_string(r) + " of " +
           to_string(src.shape()) + " is all PAD; there is nothing to attend to");
  }
}

std::size_t step_limit(const Seq2SeqTransformer& model, const TokenMatrix& src,
                       const DecodeOptions& options, const char* op) {
  const std::size_t table = model.config().max_len;
  if (options.max_len > table)
    fail(std::string(op) + ": max_len " + std::to_string(options.max_len) +
         " exceeds the model's positional table of " + std::to_string(table) + " positions");
  if (options.max_len > 0) return options.max_len;
  return std::min(2 * src.cols + 10, table);
}

// --- Stepper ---

Stepper::Stepper(Seq2SeqTransformer& model, const TokenMatrix& src, const DecodeOptions& options)
    : model_(model), src_(src), use_cache_(options.use_cache),
      keep_attention_(options.keep_attention), memory_(model.encode(src)),
      rows_(src.rows), prefixes_(src.rows, 1, BOS) {
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

}  // namespace decode_internal

// --- Greedy decoding and scoring ---

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
      const std::int64_t token = best_token(row_log_probs, vocab);
      Hypothesis& hypothesis = hypotheses[stepper.source_row(i)];
      hypothesis.tokens.push_back(token);
      hypothesis.log_prob += double(row_log_probs[token]);
      if (token != EOS && step + 1 < max_len) {
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
      if (labels.at(b, t) != PAD)
        scores[b] += double(log_probs.data()[(b * labels.cols + t) * vocab +
                                             std::size_t(labels.at(b, t))]);
  return scores;
}

}  // namespace crossgrad::nn
