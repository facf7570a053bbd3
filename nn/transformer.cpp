// transformer.cpp — encoder and decoder layers, their stacks, and Seq2SeqTransformer.
// Children are registered in the order PyTorch's __init__ creates them, so that
// named_parameters() comes out in state_dict order. Dropouts sit where PyTorch puts them.
// Legend: B batch, S source length, T target length, D d_model, F d_ff, V vocabulary.
#include "nn/transformer.h"

#include <cmath>
#include <cstdio>

#include "autograd/ops.h"

namespace crossgrad::nn {

namespace {

// ff(x) = linear2(dropout(relu(linear1(x)))): (..., D) -> (..., F) -> (..., D)
Tensor feed_forward(const Linear& linear1, const Dropout& dropout, const Linear& linear2,
                    const Tensor& x) {
  return linear2.forward(dropout.forward(linear1.forward(x).relu()));
}

}  // namespace

// --- EncoderLayer ---

EncoderLayer::EncoderLayer(const TransformerConfig& config, Generator& gen,
                           Generator& dropout_gen)
    : self_attn_(config.d_model, config.num_heads, gen, config.dropout, dropout_gen),
      linear1_(config.d_model, config.d_ff, gen),
      dropout_(config.dropout, dropout_gen),
      linear2_(config.d_ff, config.d_model, gen),
      norm1_(config.d_model, config.layer_norm_eps),
      norm2_(config.d_model, config.layer_norm_eps),
      dropout1_(config.dropout, dropout_gen),
      dropout2_(config.dropout, dropout_gen) {
  register_module("self_attn", self_attn_);
  register_module("linear1", linear1_);
  register_module("dropout", dropout_);
  register_module("linear2", linear2_);
  register_module("norm1", norm1_);
  register_module("norm2", norm2_);
  register_module("dropout1", dropout1_);
  register_module("dropout2", dropout2_);
}

Tensor EncoderLayer::forward(const Tensor& x, const Tensor& padding_mask) {
  // x = x + dropout1(self_attn(norm1(x))): every source position attends to the source
  const Tensor normed = norm1_.forward(x);  // (B, S, D)
  const Tensor h = x + dropout1_.forward(self_attn_.forward(normed, normed, padding_mask));
  // x = x + dropout2(ff(norm2(x)))
  return h + dropout2_.forward(feed_forward(linear1_, dropout_, linear2_, norm2_.forward(h)));
}

Tensor EncoderLayer::forward_packed(const Tensor& x, const std::vector<std::size_t>& offsets) {
  // forward's two blocks on packed rows (N, D): only attention needs to know the sequences
  const Tensor normed = norm1_.forward(x);
  const Tensor h =
      x + dropout1_.forward(self_attn_.forward_packed(normed, normed, offsets, offsets));
  return h + dropout2_.forward(feed_forward(linear1_, dropout_, linear2_, norm2_.forward(h)));
}

// --- DecoderLayer ---

DecoderLayer::DecoderLayer(const TransformerConfig& config, Generator& gen,
                           Generator& dropout_gen)
    : self_attn_(config.d_model, config.num_heads, gen, config.dropout, dropout_gen),
      multihead_attn_(config.d_model, config.num_heads, gen, config.dropout, dropout_gen),
      linear1_(config.d_model, config.d_ff, gen),
      dropout_(config.dropout, dropout_gen),
      linear2_(config.d_ff, config.d_model, gen),
      norm1_(config.d_model, config.layer_norm_eps),
      norm2_(config.d_model, config.layer_norm_eps),
      norm3_(config.d_model, config.layer_norm_eps),
      dropout1_(config.dropout, dropout_gen),
      dropout2_(config.dropout, dropout_gen),
      dropout3_(config.dropout, dropout_gen) {
  register_module("self_attn", self_attn_);
  register_module("multihead_attn", multihead_attn_);
  register_module("linear1", linear1_);
  register_module("dropout", dropout_);
  register_module("linear2", linear2_);
  register_module("norm1", norm1_);
  register_module("norm2", norm2_);
  register_module("norm3", norm3_);
  register_module("dropout1", dropout1_);
  register_module("dropout2", dropout2_);
  register_module("dropout3", dropout3_);
}

Tensor DecoderLayer::forward(const Tensor& x, const Tensor& memory,
                             const Tensor& tgt_padding_mask, const Tensor& memory_padding_mask) {
  // x = x + dropout1(self_attn(norm1(x))): target position t sees targets 0..t only
  const Tensor normed = norm1_.forward(x);  // (B, T, D)
  Tensor h = x + dropout1_.forward(
                     self_attn_.forward(normed, normed, tgt_padding_mask, /*causal=*/true));
  // x = x + dropout2(multihead_attn(norm2(x), memory)): queries from the target,
  // keys and values from the encoder's memory (B, S, D) — the cross-attention
  h = h + dropout2_.forward(
              multihead_attn_.forward(norm2_.forward(h), memory, memory_padding_mask));
  // x = x + dropout3(ff(norm3(x)))
  return h + dropout3_.forward(feed_forward(linear1_, dropout_, linear2_, norm3_.forward(h)));
}

Tensor DecoderLayer::forward_packed(const Tensor& x, const Tensor& memory,
                                   const std::vector<std::size_t>& tgt_offsets,
                                   const std::vector<std::size_t>& src_offsets) {
  // forward's three blocks on packed rows: target rows (Nt, D), memory rows (Ns, D)
  const Tensor normed = norm1_.forward(x);
  Tensor h = x + dropout1_.forward(self_attn_.forward_packed(normed, normed, tgt_offsets,
                                                             tgt_offsets, /*causal=*/true));
  h = h + dropout2_.forward(
              multihead_attn_.forward_packed(norm2_.forward(h), memory, tgt_offsets, src_offsets));
  return h + dropout3_.forward(feed_forward(linear1_, dropout_, linear2_, norm3_.forward(h)));
}

Tensor DecoderLayer::forward_step(const Tensor& x, DecoderLayerCache& cache,
                                  const Tensor& memory_padding_mask, std::size_t position) {
  // forward's three blocks for the newest position only: its self-attention keys/values
  // join the cache, and it attends to them all (every one is in its past, so no causal mask)
  const Tensor normed = norm1_.forward(x);  // (N, 1, D)
  self_attn_.append_key_value(cache.self_attn, normed);
  Tensor h = x + dropout1_.forward(self_attn_.forward_cached(normed, cache.self_attn, Tensor(),
                                                            position));
  // cross-attention over the source keys/values projected once by start_decoding
  h = h + dropout2_.forward(multihead_attn_.forward_cached(norm2_.forward(h), cache.cross_attn,
                                                           memory_padding_mask, position));
  return h + dropout3_.forward(feed_forward(linear1_, dropout_, linear2_, norm3_.forward(h)));
}

void DecoderCache::select(const std::vector<std::int64_t>& parents) {
  bool identity = parents.size() == rows();
  for (std::size_t i = 0; identity && i < parents.size(); ++i) identity = parents[i] == long(i);
  if (identity) return;  // nothing moved: skip the copies
  memory_padding_mask = index_select(memory_padding_mask, 0, parents);
  for (DecoderLayerCache& layer : layers)
    for (KeyValueCache* kv : {&layer.self_attn, &layer.cross_attn})
      for (Tensor* t : {&kv->key, &kv->value})
        if (t->defined()) *t = index_select(*t, 0, parents);
}

// --- Encoder and Decoder stacks ---

Encoder::Encoder(const TransformerConfig& config, Generator& gen, Generator& dropout_gen)
    : norm_(config.d_model, config.layer_norm_eps) {
  for (std::size_t i = 0; i < config.num_encoder_layers; ++i) {
    layers_.push_back(std::make_unique<EncoderLayer>(config, gen, dropout_gen));
    register_module("layers." + std::to_string(i), *layers_.back());
  }
  register_module("norm", norm_);
}

Tensor Encoder::forward(const Tensor& x, const Tensor& padding_mask) {
  Tensor h = x;  // (B, S, D)
  for (auto& layer : layers_) h = layer->forward(h, padding_mask);
  return norm_.forward(h);
}

Tensor Encoder::forward_packed(const Tensor& x, const std::vector<std::size_t>& offsets) {
  Tensor h = x;  // (N, D)
  for (auto& layer : layers_) h = layer->forward_packed(h, offsets);
  return norm_.forward(h);
}

std::string Encoder::extra_repr() const { return "num_layers=" + std::to_string(layers_.size()); }

Decoder::Decoder(const TransformerConfig& config, Generator& gen, Generator& dropout_gen)
    : norm_(config.d_model, config.layer_norm_eps) {
  for (std::size_t i = 0; i < config.num_decoder_layers; ++i) {
    layers_.push_back(std::make_unique<DecoderLayer>(config, gen, dropout_gen));
    register_module("layers." + std::to_string(i), *layers_.back());
  }
  register_module("norm", norm_);
}

Tensor Decoder::forward(const Tensor& x, const Tensor& memory, const Tensor& tgt_padding_mask,
                        const Tensor& memory_padding_mask) {
  Tensor h = x;  // (B, T, D)
  for (auto& layer : layers_) h = layer->forward(h, memory, tgt_padding_mask, memory_padding_mask);
  return norm_.forward(h);
}

Tensor Decoder::forward_packed(const Tensor& x, const Tensor& memory,
                               const std::vector<std::size_t>& tgt_offsets,
                               const std::vector<std::size_t>& src_offsets) {
  Tensor h = x;  // (Nt, D)
  for (auto& layer : layers_) h = layer->forward_packed(h, memory, tgt_offsets, src_offsets);
  return norm_.forward(h);
}

Tensor Decoder::forward_step(const Tensor& x, DecoderCache& cache) {
  if (cache.layers.size() != layers_.size())
    fail("Decoder::forward_step: the cache has " + std::to_string(cache.layers.size()) +
         " layers, the decoder " + std::to_string(layers_.size()));
  Tensor h = x;  // (N, 1, D)
  for (std::size_t i = 0; i < layers_.size(); ++i)
    h = layers_[i]->forward_step(h, cache.layers[i], cache.memory_padding_mask, cache.length);
  return norm_.forward(h);
}

std::string Decoder::extra_repr() const { return "num_layers=" + std::to_string(layers_.size()); }

// --- Transformer ---

Transformer::Transformer(const TransformerConfig& config, Generator& gen, Generator& dropout_gen)
    : encoder_(config, gen, dropout_gen), decoder_(config, gen, dropout_gen) {
  register_module("encoder", encoder_);
  register_module("decoder", decoder_);
  // nn.Transformer._reset_parameters: Xavier-uniform on every matrix, after the layers'
  // own initialisation (biases and LayerNorms keep theirs).
  for (auto& [name, parameter] : named_parameters())
    if (parameter.dim() > 1) xavier_uniform_(parameter, gen);
}

// --- Seq2SeqTransformer ---

Tensor padding_mask(const TokenMatrix& ids, std::int64_t pad_id) {
  std::vector<real> mask(ids.ids.size());
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = ids.ids[i] == pad_id;
  return Tensor::from(std::move(mask), ids.shape());
}

// Row r's ids before its first PAD (pad_id); PAD after it only.
std::size_t row_length(const TokenMatrix& ids, std::size_t r, std::int64_t pad_id) {
  std::size_t length = 0;
  while (length < ids.cols && ids.at(r, length) != pad_id) ++length;
  for (std::size_t c = length; c < ids.cols; ++c)
    if (ids.at(r, c) != pad_id)
      fail("pack_tokens: row " + std::to_string(r) + " has PAD at position " +
           std::to_string(length) + " before a token at " + std::to_string(c) +
           "; packing needs PAD only at the end of a row");
  return length;
}

PackedTokens pack_tokens(const TokenMatrix& ids, std::int64_t pad_id,
                         const std::vector<std::size_t>* lengths) {
  if (ids.ids.size() != ids.rows * ids.cols || (lengths && lengths->size() != ids.rows))
    fail("pack_tokens: a (" + std::to_string(ids.rows) + ", " + std::to_string(ids.cols) +
         ") batch holding " + std::to_string(ids.ids.size()) + " ids" +
         (lengths ? " and " + std::to_string(lengths->size()) + " lengths" : std::string()));
  PackedTokens packed;
  packed.offsets.push_back(0);
  for (std::size_t r = 0; r < ids.rows; ++r) {
    std::size_t length = row_length(ids, r, pad_id);
    if (lengths && (*lengths)[r] > length)
      fail("pack_tokens: row " + std::to_string(r) + " has " + std::to_string(length) +
           " ids, fewer than the " + std::to_string((*lengths)[r]) + " asked for");
    if (lengths) length = (*lengths)[r];
    for (std::size_t c = 0; c < length; ++c) {
      packed.ids.push_back(ids.at(r, c));
      packed.positions.push_back(std::int64_t(c));
    }
    packed.offsets.push_back(packed.ids.size());
  }
  return packed;
}

Seq2SeqTransformer::Seq2SeqTransformer(const TransformerConfig& config, Generator& gen)
    : config_(config),
      dropout_gen_(gen.next_u64()),
      src_embed_(config.vocab_size, config.d_model, gen),
      tgt_embed_(config.vocab_size, config.d_model, gen),
      pos_(config.d_model, config.max_len),
      transformer_(config, gen, dropout_gen_),
      generator_(config.d_model, config.vocab_size, gen) {
  register_module("src_embed", src_embed_);
  register_module("tgt_embed", tgt_embed_);
  register_module("pos", pos_);
  register_module("transformer", transformer_);
  register_module("generator", generator_);
}

Seq2SeqTransformer::Seq2SeqTransformer(const TransformerConfig& config, std::uint64_t seed)
    : Seq2SeqTransformer(config, Generator(seed)) {}

Tensor Seq2SeqTransformer::embed(const Embedding& table, const TokenMatrix& ids) const {
  if (ids.rows == 0 || ids.cols == 0 || ids.ids.size() != ids.rows * ids.cols)
    fail("Seq2SeqTransformer: a token batch must be non-empty with rows * cols ids, got " +
         to_string(ids.shape()) + " holding " + std::to_string(ids.ids.size()) + " ids");
  // x = E[ids] · √D + pe: (B, L, D). The √D is the original transformer's convention; it
  // does not make the two parts comparable here (chapter 6 measures the token's part at
  // about eleven times the position's), and the model learns anyway: attention's
  // projections can amplify either part.
  return pos_.forward(table.forward(ids) * real(std::sqrt(double(config_.d_model))));
}

Tensor Seq2SeqTransformer::encode(const TokenMatrix& src) {
  return transformer_.encoder().forward(embed(src_embed_, src),
                                        padding_mask(src, config_.pad_id));
}

Tensor Seq2SeqTransformer::decode(const Tensor& memory, const TokenMatrix& src,
                                  const TokenMatrix& tgt_in) {
  if (memory.shape() != Shape{src.rows, src.cols, config_.d_model} || tgt_in.rows != src.rows)
    fail("Seq2SeqTransformer::decode: memory " + to_string(memory.shape()) + ", src " +
         to_string(src.shape()) + " and tgt_in " + to_string(tgt_in.shape()) +
         " must be (B, S, D), (B, S) and (B, T) with D=" + std::to_string(config_.d_model));
  const Tensor h = transformer_.decoder().forward(embed(tgt_embed_, tgt_in), memory,
                                                  padding_mask(tgt_in, config_.pad_id),
                                                  padding_mask(src, config_.pad_id));
  return generator_.forward(h);  // (B, T, D) -> (B, T, V)
}

Tensor Seq2SeqTransformer::forward(const TokenMatrix& src, const TokenMatrix& tgt_in) {
  if (src.rows != tgt_in.rows)
    fail("Seq2SeqTransformer: src " + to_string(src.shape()) + " and tgt_in " +
         to_string(tgt_in.shape()) + " must have the same number of rows (B)");
  return decode(encode(src), src, tgt_in);
}

Tensor Seq2SeqTransformer::forward_packed(const TokenMatrix& src, const TokenMatrix& tgt_in,
                                          const TokenMatrix& labels) {
  if (src.rows != tgt_in.rows || labels.shape() != tgt_in.shape())
    fail("Seq2SeqTransformer::forward_packed: src " + to_string(src.shape()) + ", tgt_in " +
         to_string(tgt_in.shape()) + " and labels " + to_string(labels.shape()) +
         " must be (B, S), (B, T) and (B, T)");
  std::vector<std::size_t> labelled(labels.rows);  // each row's labels: the positions to run
  for (std::size_t r = 0; r < labels.rows; ++r) labelled[r] = row_length(labels, r, config_.pad_id);
  const PackedTokens source = pack_tokens(src, config_.pad_id),
                     target = pack_tokens(tgt_in, config_.pad_id, &labelled);
  // x = E[ids] · √D + pe[positions]: (N, D) for the N real tokens of each side
  const real scale = real(std::sqrt(double(config_.d_model)));
  const auto embed_packed = [&](const Embedding& table, const PackedTokens& tokens) {
    const Tensor rows = table.forward(tokens.ids, {tokens.ids.size()}) * scale;
    return pos_.forward_packed(rows, tokens.positions);
  };
  const Tensor memory =
      transformer_.encoder().forward_packed(embed_packed(src_embed_, source), source.offsets);
  const Tensor h = transformer_.decoder().forward_packed(embed_packed(tgt_embed_, target), memory,
                                                         target.offsets, source.offsets);
  return generator_.forward(h);  // (Nt, D) -> (Nt, V)
}

DecoderCache Seq2SeqTransformer::start_decoding(const Tensor& memory, const TokenMatrix& src) {
  if (memory.shape() != Shape{src.rows, src.cols, config_.d_model})
    fail("Seq2SeqTransformer::start_decoding: memory " + to_string(memory.shape()) +
         " and src " + to_string(src.shape()) + " must be (B, S, D) and (B, S) with D=" +
         std::to_string(config_.d_model));
  NoGradGuard no_grad;
  DecoderCache cache;
  Decoder& decoder = transformer_.decoder();
  for (std::size_t i = 0; i < decoder.num_layers(); ++i) {
    cache.layers.emplace_back();
    cache.layers.back().cross_attn = decoder.layer(i).multihead_attn().project_key_value(memory);
  }
  cache.memory_padding_mask = padding_mask(src, config_.pad_id);
  return cache;
}

Tensor Seq2SeqTransformer::decode_step(DecoderCache& cache,
                                       const std::vector<std::int64_t>& tokens) {
  if (tokens.size() != cache.rows() || cache.length >= config_.max_len)
    fail("Seq2SeqTransformer::decode_step: " + std::to_string(tokens.size()) +
         " tokens for a cache of " + std::to_string(cache.rows()) + " rows at position " +
         std::to_string(cache.length) + " (max_len " + std::to_string(config_.max_len) + ")");
  NoGradGuard no_grad;
  TokenMatrix ids(tokens.size(), 1);
  ids.ids = tokens;
  // x = E[ids] · √D + pe[t]: (N, 1, D), as embed() computes position t of a whole prefix
  const std::size_t t = cache.length;
  const Tensor x = tgt_embed_.forward(ids) * real(std::sqrt(double(config_.d_model))) +
                   pos_.table().slice(0, t, t + 1);
  const Tensor h = transformer_.decoder().forward_step(x, cache);
  ++cache.length;
  return generator_.forward(h).reshape({long(tokens.size()), long(config_.vocab_size)});
}

std::vector<Tensor> Seq2SeqTransformer::cross_attention_weights() {
  std::vector<Tensor> maps;
  Decoder& decoder = transformer_.decoder();
  for (std::size_t i = 0; i < decoder.num_layers(); ++i)
    maps.push_back(decoder.layer(i).multihead_attn().last_attention_weights());
  return maps;
}

void Seq2SeqTransformer::set_cross_attention_edit(std::size_t layer, WeightEdit edit) {
  Decoder& decoder = transformer_.decoder();
  if (layer >= decoder.num_layers())
    fail("Seq2SeqTransformer::set_cross_attention_edit: decoder layer " + std::to_string(layer) +
         " does not exist; the model has " + std::to_string(decoder.num_layers()) +
         " (0.." + std::to_string(decoder.num_layers() - 1) + ")");
  decoder.layer(layer).multihead_attn().set_weight_edit(std::move(edit));
}

void Seq2SeqTransformer::clear_cross_attention_edits() {
  Decoder& decoder = transformer_.decoder();
  for (std::size_t i = 0; i < decoder.num_layers(); ++i)
    decoder.layer(i).multihead_attn().clear_weight_edit();
}

std::string Seq2SeqTransformer::extra_repr() const {
  char text[192];
  std::snprintf(text, sizeof text,
                "vocab_size=%zu, d_model=%zu, num_heads=%zu, d_ff=%zu, num_encoder_layers=%zu, "
                "num_decoder_layers=%zu, dropout=%g",
                config_.vocab_size, config_.d_model, config_.num_heads, config_.d_ff,
                config_.num_encoder_layers, config_.num_decoder_layers, double(config_.dropout));
  return text;
}

Tensor sequence_cross_entropy(const Tensor& logits, const TokenMatrix& labels,
                              real label_smoothing, std::int64_t pad_id) {
  if (logits.dim() != 3 || logits.size(0) != labels.rows || logits.size(1) != labels.cols)
    fail("sequence_cross_entropy: logits " + to_string(logits.shape()) +
         " must be (B, T, V) for labels " + to_string(labels.shape()));
  // (B, T, V) -> (B·T, V), one row per target position; padding rows add nothing
  const Tensor rows = logits.reshape({-1, long(logits.size(2))});
  CrossEntropyOptions options;
  options.ignore_index = pad_id;
  options.label_smoothing = label_smoothing;
  return cross_entropy(rows, labels.ids, options);
}

Tensor packed_cross_entropy(const Tensor& logits, const TokenMatrix& labels,
                            real label_smoothing, std::int64_t pad_id) {
  std::vector<std::int64_t> targets;  // the non-PAD labels, row after row
  for (std::int64_t id : labels.ids)
    if (id != pad_id) targets.push_back(id);
  if (logits.dim() != 2 || logits.size(0) != targets.size())
    fail("packed_cross_entropy: logits " + to_string(logits.shape()) + " must be (N, V) for the " +
         std::to_string(targets.size()) + " non-PAD labels of " + to_string(labels.shape()));
  CrossEntropyOptions options;
  options.ignore_index = pad_id;
  options.label_smoothing = label_smoothing;
  return cross_entropy(logits, targets, options);
}

}  // namespace crossgrad::nn
