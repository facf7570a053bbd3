// transformer.h — the pre-LN encoder-decoder transformer with cross-attention, module for
// module PyTorch's nn.Transformer(batch_first=True, norm_first=True) inside a Seq2Seq model
// (tests/export_reference.py builds the PyTorch twin). Names follow its state_dict exactly,
// so named_parameters() is the checkpoint's table of contents, in the same order. It reads
// token ids and knows no vocabulary: the special ids are part of its config.
// Legend: B batch, S source length, T target length, D d_model, F d_ff, V vocabulary.
// Read next: nn/decode.h (turning a trained model into outputs).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/token_matrix.h"
#include "nn/attention.h"

namespace crossgrad::nn {

// The standard model by default (docs/architecture.md): 236,237 parameters.
struct TransformerConfig {
  std::size_t vocab_size = 13;
  std::size_t d_model = 64;
  std::size_t num_heads = 4;
  std::size_t d_ff = 256;
  std::size_t num_encoder_layers = 2;
  std::size_t num_decoder_layers = 2;
  real dropout = 0;
  std::size_t max_len = 512;  // longest sequence the positional table covers
  real layer_norm_eps = real(1e-5);
  // The vocabulary's special ids, which the model treats apart: pad_id is masked out of
  // attention and ignored by the loss, bos_id starts every decoded output, eos_id ends it.
  // The model does not choose them; whoever pairs it with a vocabulary sets them.
  std::int64_t pad_id = 0, bos_id = 1, eos_id = 2;
};

// What incremental decoding keeps between steps (nn/decode.h), for N live rows: per decoder
// layer, the cross-attention keys/values of the source, projected once, and the
// self-attention keys/values of every position fed so far, one appended per step.
struct DecoderLayerCache {
  KeyValueCache self_attn, cross_attn;
};
struct DecoderCache {
  std::vector<DecoderLayerCache> layers;
  Tensor memory_padding_mask;  // (N, S), 1 at source padding (pad_id)
  std::size_t length = 0;      // positions fed so far: the next token's position
  std::size_t rows() const {
    return memory_padding_mask.defined() ? memory_padding_mask.size(0) : 0;
  }
  // Keeps row parents[i] as row i (beam search reorders; finished rows drop out).
  void select(const std::vector<std::int64_t>& parents);
};

// Pre-LN: x = x + dropout1(self_attn(norm1(x))); x = x + dropout2(ff(norm2(x))),
// with ff(x) = linear2(dropout(relu(linear1(x)))).
class EncoderLayer : public Module {
 public:
  EncoderLayer(const TransformerConfig& config, Generator& gen, Generator& dropout_gen);
  // x (B, S, D), padding_mask (B, S) 1 at padding or undefined -> (B, S, D)
  Tensor forward(const Tensor& x, const Tensor& padding_mask = Tensor());
  // The same on packed rows x (N, D), sequence b being rows [offsets[b], offsets[b + 1]).
  Tensor forward_packed(const Tensor& x, const std::vector<std::size_t>& offsets);

  MultiHeadAttention& self_attn() { return self_attn_; }
  std::string type_name() const override { return "EncoderLayer"; }

 private:
  MultiHeadAttention self_attn_;
  Linear linear1_;
  Dropout dropout_;
  Linear linear2_;
  LayerNorm norm1_, norm2_;
  Dropout dropout1_, dropout2_;
};

// Pre-LN with three blocks: causal self-attention over the target, cross-attention whose
// queries come from the target and keys/values from the encoder's memory, feed-forward:
//   x = x + dropout1(self_attn(norm1(x), causal, target padding))
//   x = x + dropout2(multihead_attn(norm2(x), memory, source padding))
//   x = x + dropout3(ff(norm3(x)))
class DecoderLayer : public Module {
 public:
  DecoderLayer(const TransformerConfig& config, Generator& gen, Generator& dropout_gen);
  // x (B, T, D), memory (B, S, D), masks (B, T) and (B, S) or undefined -> (B, T, D)
  Tensor forward(const Tensor& x, const Tensor& memory, const Tensor& tgt_padding_mask = Tensor(),
                 const Tensor& memory_padding_mask = Tensor());
  // The same on packed rows: x (Nt, D) and memory (Ns, D), their sequences at the offsets.
  Tensor forward_packed(const Tensor& x, const Tensor& memory,
                        const std::vector<std::size_t>& tgt_offsets,
                        const std::vector<std::size_t>& src_offsets);
  // forward for one new position: x (N, 1, D) at `position` -> (N, 1, D), keys/values from
  // the cache (its self-attention ones grow by this position). Same parameters, same ops.
  Tensor forward_step(const Tensor& x, DecoderLayerCache& cache,
                      const Tensor& memory_padding_mask, std::size_t position);

  MultiHeadAttention& self_attn() { return self_attn_; }
  MultiHeadAttention& multihead_attn() { return multihead_attn_; }  // the cross-attention
  std::string type_name() const override { return "DecoderLayer"; }

 private:
  MultiHeadAttention self_attn_, multihead_attn_;
  Linear linear1_;
  Dropout dropout_;
  Linear linear2_;
  LayerNorm norm1_, norm2_, norm3_;
  Dropout dropout1_, dropout2_, dropout3_;
};

// layers.0 ... layers.{N-1}, then a final LayerNorm (pre-LN leaves the last residual
// stream unnormalised otherwise).
class Encoder : public Module {
 public:
  Encoder(const TransformerConfig& config, Generator& gen, Generator& dropout_gen);
  Tensor forward(const Tensor& x, const Tensor& padding_mask = Tensor());
  Tensor forward_packed(const Tensor& x, const std::vector<std::size_t>& offsets);

  std::size_t num_layers() const { return layers_.size(); }
  EncoderLayer& layer(std::size_t i) { return *layers_.at(i); }
  std::string type_name() const override { return "Encoder"; }
  std::string extra_repr() const override;

 private:
  std::vector<std::unique_ptr<EncoderLayer>> layers_;
  LayerNorm norm_;
};

class Decoder : public Module {
 public:
  Decoder(const TransformerConfig& config, Generator& gen, Generator& dropout_gen);
  Tensor forward(const Tensor& x, const Tensor& memory, const Tensor& tgt_padding_mask = Tensor(),
                 const Tensor& memory_padding_mask = Tensor());
  Tensor forward_packed(const Tensor& x, const Tensor& memory,
                        const std::vector<std::size_t>& tgt_offsets,
                        const std::vector<std::size_t>& src_offsets);
  // x (N, 1, D) at position cache.length -> (N, 1, D); see DecoderLayer::forward_step.
  Tensor forward_step(const Tensor& x, DecoderCache& cache);

  std::size_t num_layers() const { return layers_.size(); }
  DecoderLayer& layer(std::size_t i) { return *layers_.at(i); }
  std::string type_name() const override { return "Decoder"; }
  std::string extra_repr() const override;

 private:
  std::vector<std::unique_ptr<DecoderLayer>> layers_;
  LayerNorm norm_;
};

// nn.Transformer: the two stacks, with Xavier-uniform on every matrix (_reset_parameters).
class Transformer : public Module {
 public:
  Transformer(const TransformerConfig& config, Generator& gen, Generator& dropout_gen);
  Encoder& encoder() { return encoder_; }
  Decoder& decoder() { return decoder_; }
  std::string type_name() const override { return "Transformer"; }

 private:
  Encoder encoder_;
  Decoder decoder_;
};

// (B, L) ids -> (B, L) tensor with 1 where the id is pad_id: the key_padding_mask.
Tensor padding_mask(const TokenMatrix& ids, std::int64_t pad_id);

// A batch of token rows without their PAD, for the packed training path: half the positions
// of a batch of lengths 1..16 are PAD, and every row-wise layer (embeddings, Linear,
// LayerNorm, the feed-forward) would spend half its time on them. PAD must only end rows.
struct PackedTokens {
  std::vector<std::int64_t> ids;        // the N non-PAD ids, row after row
  std::vector<std::int64_t> positions;  // each one's position in its row
  std::vector<std::size_t> offsets;     // B + 1: row b is ids [offsets[b], offsets[b + 1])
};
// Row b keeps its first lengths[b] ids when `lengths` is given (B of them), else all its
// non-PAD ones.
PackedTokens pack_tokens(const TokenMatrix& ids, std::int64_t pad_id,
                         const std::vector<std::size_t>* lengths = nullptr);

class Seq2SeqTransformer : public Module {
 public:
  // Initialised from `gen` (PyTorch's defaults, then Xavier on the transformer's matrices);
  // dropout draws from the model's own generator, seeded from `gen`.
  Seq2SeqTransformer(const TransformerConfig& config, Generator& gen);
  explicit Seq2SeqTransformer(const TransformerConfig& config = {}, std::uint64_t seed = 0);

  // src (B, S), tgt_in (B, T) -> logits (B, T, V)
  Tensor forward(const TokenMatrix& src, const TokenMatrix& tgt_in);
  // The training path: the same model on packed rows, computing nothing for PAD, nor for
  // decoder positions without a label (a short row's EOS in tgt_in: causal attention means
  // no labelled position reads it). -> logits (N, V) for the N non-PAD labels, row after
  // row: forward()'s logits at those positions (with dropout > 0 they draw other masks).
  Tensor forward_packed(const TokenMatrix& src, const TokenMatrix& tgt_in,
                        const TokenMatrix& labels);
  Tensor encode(const TokenMatrix& src);  // -> memory (B, S, D)
  // memory from encode(src); src gives the source padding mask. -> logits (B, T, V)
  Tensor decode(const Tensor& memory, const TokenMatrix& src, const TokenMatrix& tgt_in);

  // Incremental decoding, for inference (no graph is recorded; see nn/decode.h).
  // memory from encode(src) -> a cache with each decoder layer's cross-attention keys and
  // values projected once, and no position fed yet.
  DecoderCache start_decoding(const Tensor& memory, const TokenMatrix& src);
  // Feeds each cached row's newest token (N ids; bos_id first) at position cache.length, only
  // it, through the decoder -> logits (N, V) for the token after it. Equals the last
  // position of decode() on the whole prefix.
  Tensor decode_step(DecoderCache& cache, const std::vector<std::int64_t>& tokens);

  // The cross-attention weights (B, H, T, S) of each decoder layer from the last forward
  // (or (N, H, 1, S) from the last decode_step).
  std::vector<Tensor> cross_attention_weights();
  // Steering: `edit` changes decoder layer `layer`'s cross-attention weights in every later
  // forward, decode and decode_step, so greedy decoding, beam search and score, cached or
  // not, all see it (MultiHeadAttention::set_weight_edit; an empty function clears it).
  // The WeightBlock's query rows are output positions: 0 is the one fed BOS.
  void set_cross_attention_edit(std::size_t layer, WeightEdit edit);
  void clear_cross_attention_edits();

  const TransformerConfig& config() const { return config_; }
  Generator& dropout_generator() { return dropout_gen_; }  // saved with training state
  Transformer& transformer() { return transformer_; }
  std::string type_name() const override { return "Seq2SeqTransformer"; }
  std::string extra_repr() const override;

 private:
  Seq2SeqTransformer(const TransformerConfig& config, Generator&& gen)
      : Seq2SeqTransformer(config, gen) {}
  Tensor embed(const Embedding& table, const TokenMatrix& ids) const;  // √D · E[ids] + pe

  TransformerConfig config_;
  Generator dropout_gen_;
  Embedding src_embed_, tgt_embed_;
  PositionalEncoding pos_;
  Transformer transformer_;
  Linear generator_;
};

// Mean cross-entropy of logits (B, T, V) against labels (B, T), labels equal to pad_id
// ignored: the training loss (the reference's CrossEntropyLoss(ignore_index=PAD) on (B·T, V)).
// pad_id is the model's config().pad_id; the default is TransformerConfig's.
Tensor sequence_cross_entropy(const Tensor& logits, const TokenMatrix& labels,
                              real label_smoothing = 0,
                              std::int64_t pad_id = TransformerConfig().pad_id);
// The same loss for forward_packed's logits (N, V) and the N non-PAD labels of (B, T): the
// mean over them, as sequence_cross_entropy.
Tensor packed_cross_entropy(const Tensor& logits, const TokenMatrix& labels,
                            real label_smoothing = 0,
                            std::int64_t pad_id = TransformerConfig().pad_id);

}  // namespace crossgrad::nn
