// attention.h — multi-head scaled dot-product attention, for self- and cross-attention.
// Queries come from one sequence (B, T, D); keys and values from another (B, S, D): the
// same one for self-attention, the encoder's output ("memory") for cross-attention.
// Parameters and their names are PyTorch's nn.MultiheadAttention: in_proj_weight (3D, D)
// holds the Q, K and V projections stacked by rows, in_proj_bias (3D), out_proj (D -> D).
// Legend: B batch, T query length, S key length, D d_model, H heads, Dh = D / H.
// Read next: nn/transformer.h (the layers that use it).
#pragma once

#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "nn/layers.h"

namespace crossgrad::nn {

// Keys and values already projected, kept across decoding steps: the source's for
// cross-attention (projected once), the prefix's for self-attention (one position appended
// per step). N live rows, L positions; head h is columns [h·Dh, (h+1)·Dh) of each row.
struct KeyValueCache {
  Tensor key;    // (N, L, D)
  Tensor value;  // (N, L, D)
  std::size_t length() const { return value.defined() ? value.size(1) : 0; }
};

// One (batch row, head) block of attention weights as a weight edit sees it: (T, S),
// row-major, after the softmax and before they mix the values, to change in place. Query row
// t is position first_query + t of its sequence (decoding with the cache feeds one position a
// step, so T is 1 and first_query the step); key s is padding where key_padding[s] != 0
// (key_padding is nullptr without a mask); each row sums to 1 over the other keys.
struct WeightBlock {
  std::size_t row, head, first_query;
  real* weights;
  std::size_t T, S;
  const real* key_padding;
};
using WeightEdit = std::function<void(const WeightBlock&)>;

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
  // The attention itself is one fused op (scaled_dot_product_attention in autograd/ops.h).
  Tensor forward(const Tensor& query, const Tensor& key_value,
                 const Tensor& key_padding_mask = Tensor(), bool causal = false);

  // The same on packed rows (training; see Seq2SeqTransformer::forward_packed): query (Nq, D)
  // and key_value (Nk, D) hold only real tokens, sequence b being rows [query_offsets[b],
  // query_offsets[b + 1]) and [key_offsets[b], key_offsets[b + 1]); no padding, so no mask.
  Tensor forward_packed(const Tensor& query, const Tensor& key_value,
                        const std::vector<std::size_t>& query_offsets,
                        const std::vector<std::size_t>& key_offsets, bool causal = false);

  // Incremental decoding (inference; see nn/decode.h): the same parameters and the same ops
  // as forward, split so that keys and values can be projected once and kept.
  // key_value (N, S, D) -> its keys and values, (N, S, D) each.
  KeyValueCache project_key_value(const Tensor& key_value) const;
  // Projects new_key_value (N, 1, D) and appends it to cache along L (self-attention).
  void append_key_value(KeyValueCache& cache, const Tensor& new_key_value) const;
  // query (N, T, D) attends to every cached key (none lies in its future) -> (N, T, D).
  // key_padding_mask: undefined or (N, L), as in forward. first_query: the position of query
  // row 0 in its sequence, which only a weight edit reads (WeightBlock::first_query).
  Tensor forward_cached(const Tensor& query, const KeyValueCache& cache,
                        const Tensor& key_padding_mask = Tensor(), std::size_t first_query = 0);

  // The edit point, for inference (steering): every later forward, forward_cached and
  // forward_packed hands each (row, head) block of weights to `edit` between the softmax and
  // weights · v, and last_attention_weights() then holds the edited weights. An empty
  // function clears it; while one is set, a forward that records a graph is refused (the
  // backward assumes the softmax's weights). Without an edit nothing changes on any path.
  void set_weight_edit(WeightEdit edit) { weight_edit_ = std::move(edit); }
  void clear_weight_edit() { weight_edit_ = nullptr; }
  bool has_weight_edit() const { return bool(weight_edit_); }

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
  // x Wᵀ + b with row block `block` (0: q, 1: k, 2: v) of in_proj_weight and in_proj_bias,
  // sliced as views (no copy): (B, L, D) -> (B, L, D).
  Tensor project(const Tensor& x, std::size_t block) const;
  // softmax(q kᵀ / √Dh, masked) v per head, then out_proj: q (B, T, D) -> (B, T, D).
  // first_query: the position of q's row 0, for the weight edit.
  Tensor attend(const Tensor& q, const KeyValueCache& keys_values, AttentionOptions options,
                std::size_t first_query = 0);

  std::size_t d_model_, num_heads_;
  real dropout_;
  Generator* dropout_gen_;
  Tensor in_proj_weight_, in_proj_bias_;
  Linear out_proj_;
  Tensor last_weights_;
  WeightEdit weight_edit_;
};

}  // namespace crossgrad::nn
