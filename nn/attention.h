// attention.h — multi-head scaled dot-product attention, for self- and cross-attention.
// Queries come from one sequence (B, T, D); keys and values from another (B, S, D): the
// same one for self-attention, the encoder's output ("memory") for cross-attention.
// Parameters and their names are PyTorch's nn.MultiheadAttention: in_proj_weight (3D, D)
// holds the Q, K and V projections stacked by rows, in_proj_bias (3D), out_proj (D -> D).
// Legend: B batch, T query length, S key length, D d_model, H heads, Dh = D / H.
// Read next: nn/transformer.h (the layers that use it).
#pragma once

#include "nn/layers.h"

namespace crossgrad::nn {

// Keys and values already projected and split into heads, kept across decoding steps:
// the source's for cross-attention (projected once), the prefix's for self-attention
// (one position appended per step). N live rows, L positions.
struct KeyValueCache {
  Tensor key_t;  // (N, H, Dh, L): the keys, kept transposed, ready for q kᵀ
  Tensor value;  // (N, H, L, Dh)
  std::size_t length() const { return value.defined() ? value.size(2) : 0; }
};

class MultiHeadAttention : public Module {
 public:
  // dropout applies to the attention weights while training, like PyTorch's; it draws from
  // dropout_gen, which must outlive the module.
  MultiHeadAttention(std::size_t d_model, std::size_t num_heads, Generator& gen,
                     real dropout = 0, Generator& dropout_gen = default_generator());

  // query (B, T, D), key_value (B, S, D) -> (B, T, D).
  // key_padding_mask: undefined, or (B, S) of 0/1 where 1 marks a padding key that no query
  // may attend to (PyTorch's True). causal: query t may only attend to keys s <= t (needs
  // T == S). A query row with every key masked is an error: softmax would give NaN.
  Tensor forward(const Tensor& query, const Tensor& key_value,
                 const Tensor& key_padding_mask = Tensor(), bool causal = false);

  // Incremental decoding (inference; see nn/decode.h): the same parameters and the same ops
  // as forward, split so that keys and values can be projected once and kept.
  // key_value (N, S, D) -> its keys (N, H, Dh, S) and values (N, H, S, Dh).
  KeyValueCache project_key_value(const Tensor& key_value) const;
  // Projects new_key_value (N, 1, D) and appends it to cache along L (self-attention).
  void append_key_value(KeyValueCache& cache, const Tensor& new_key_value) const;
  // query (N, T, D) attends to every cached key (none lies in its future) -> (N, T, D).
  // key_padding_mask: undefined or (N, L), as in forward.
  Tensor forward_cached(const Tensor& query, const KeyValueCache& cache,
                        const Tensor& key_padding_mask = Tensor());

  // The attention weights of the last forward (or forward_cached), per head: (B, H, T, S),
  // detached, taken before dropout. Rows sum to 1; masked keys get exactly 0. Undefined
  // before a forward.
  const Tensor& last_attention_weights() const { return last_weights_; }

  Tensor in_proj_weight() const { return in_proj_weight_; }
  Tensor in_proj_bias() const { return in_proj_bias_; }
  Linear& out_proj() { return out_proj_; }
  std::size_t num_heads() const { return num_heads_; }
  std::string type_name() const override { return "MultiHeadAttention"; }
  std::string extra_repr() const override;

 private:
  // The (B or 1, 1, T, S) 0/1 mask combining padding and causality, or undefined if none.
  Tensor combined_mask(const Tensor& key_padding_mask, bool causal, std::size_t batch,
                       std::size_t query_length, std::size_t key_length) const;
  // q = query Wqᵀ + bq, split into heads and scaled by 1/√Dh: (B, T, D) -> (B, H, T, Dh).
  Tensor project_query(const Tensor& query) const;
  // softmax(q kᵀ, masked) v, heads merged, then out_proj: -> (B, T, D).
  Tensor attend(const Tensor& q_heads, const KeyValueCache& keys_values, const Tensor& mask);
  // (B, L, D) -> (B, H, L, Dh), and back.
  Tensor split_heads(const Tensor& x) const;
  Tensor merge_heads(const Tensor& x) const;

  std::size_t d_model_, num_heads_, head_dim_;
  real dropout_;
  Generator* dropout_gen_;
  Tensor in_proj_weight_, in_proj_bias_;
  Linear out_proj_;
  Tensor last_weights_;
};

}  // namespace crossgrad::nn
