// decode_internal.h — what greedy decoding (decode.cpp) and beam search (beam_search.cpp)
// share: the argument checks, the step limit, evaluation mode while decoding, and Stepper,
// which runs the encoder once and extends live prefixes one token at a time.
// Not part of the library's interface. Read next: nn/decode.cpp (Stepper's body).
// Legend: B batch, S source length, T generated length, N live prefixes, V vocabulary.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/decode.h"

namespace crossgrad::nn::decode_internal {

// Evaluation mode (dropout off) while alive, then the caller's mode again.
struct EvalScope {
  explicit EvalScope(Module& m) : module(m), was_training(m.is_training()) { m.eval(); }
  ~EvalScope() { module.train(was_training); }
  Module& module;
  bool was_training;
};

// Fails unless the vocabulary leaves something to generate, every source id lies in [0, V)
// and no source row is all PAD; errors start with `op`.
void check_source(const Seq2SeqTransformer& model, const TokenMatrix& src, const char* op);

// The most tokens a row may generate: options.max_len, or 2·S + 10 capped by the positional
// table (the last step feeds BOS + max_len - 1 tokens, at positions 0 .. max_len - 1).
std::size_t step_limit(const Seq2SeqTransformer& model, const TokenMatrix& src,
                       const DecodeOptions& options, const char* op);

// PAD and BOS are never generated: they are not outputs.
inline bool generable(std::size_t id) {
  return std::int64_t(id) != PAD && std::int64_t(id) != BOS;
}

// The next-token distribution for a set of live prefixes (BOS + tokens so far, all the same
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
  // Live prefix i's tokens without BOS.
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
  TokenMatrix prefixes_;            // (N, t+1): BOS + tokens so far
  std::vector<Tensor> history_;     // per decoder layer, (N, H, t+1, S)
};

}  // namespace crossgrad::nn::decode_internal
