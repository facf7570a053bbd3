// decode.h — turning a trained Seq2SeqTransformer into outputs: greedy decoding, beam search
// and scoring. The encoder runs once per source batch; with the cache on, each decoder
// layer projects the cross-attention keys/values once per source and keeps its
// self-attention keys/values across steps, so each step costs one new token's work.
// The special ids (named PAD, BOS and EOS below) are the model's config().pad_id, bos_id and
// eos_id. Legend: B batch, S source length, T generated length, H heads, L decoder layers.
// Read next: nn/decode.cpp (the checks, Stepper, greedy decoding, beam search).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/token_matrix.h"
#include "nn/transformer.h"

namespace crossgrad::nn {

struct DecodeOptions {
  std::size_t max_len = 0;   // most tokens generated per row (EOS included); 0: 2·S + 10
  bool use_cache = true;     // false recomputes the whole prefix each step (the reference)
  bool keep_attention = false;  // fill Hypothesis::cross_attention
  std::size_t beam = 1;         // beam_search only
  double length_penalty = 1.0;  // beam_search: score = log p / length^penalty (0: none)
};

// Decoding never generates PAD or BOS (they are not outputs): the best token is the best of
// the others, while log_prob still uses the full softmax, so score() of the tokens equals it.
struct Hypothesis {
  std::vector<std::int64_t> tokens;  // generated ids without BOS; ends with EOS if produced
  double log_prob = 0;               // Σ log p(token | source, previous tokens)
  // With keep_attention: for each decoder layer, (H, tokens.size(), S) cross-attention
  // weights — row t says where output token t looked in the source. S is the batch's padded
  // source width; this row's PAD columns hold exactly 0.
  std::vector<Tensor> cross_attention;
};

// One hypothesis per source row, always taking the most likely next token.
std::vector<Hypothesis> greedy_decode(Seq2SeqTransformer& model, const TokenMatrix& src,
                                      const DecodeOptions& options = {});

// One hypothesis per source row: the best of `options.beam` beams by length-normalised
// log-probability. beam == 1 gives exactly greedy_decode's tokens and scores.
// The convention is fairseq's: of the 2K best (beam, token) extensions by total log p, an
// EOS among the first K finishes a hypothesis and the first K others stay live; a row stops
// with K finished hypotheses (or at max_len, where live beams finish without EOS); the
// answer maximises log p / length^length_penalty, length counting EOS. Only the sum log p
// is searched; the normalisation picks among finished hypotheses. Like any beam search it
// can miss the most likely output, and even end below greedy, unless K covers every prefix.
std::vector<Hypothesis> beam_search(Seq2SeqTransformer& model, const TokenMatrix& src,
                                    const DecodeOptions& options = {});

// log p(target | source) for each row, teacher-forced: tgt_in = BOS + target, labels =
// target + EOS (PAD where padded), as data/batch.h makes them; PAD labels add nothing.
std::vector<double> score(Seq2SeqTransformer& model, const TokenMatrix& src,
                          const TokenMatrix& tgt_in, const TokenMatrix& labels);

}  // namespace crossgrad::nn
