// attention.cpp — MultiHeadAttention: three projections (linear with row blocks of
// in_proj_weight, as views), the fused scaled_dot_product_attention op, and out_proj.
// No backward here: every step is a differentiable op. The same attention composed from
// matmul, masked_fill and softmax is scaled_dot_product_attention_composed (ops_attention.cpp).
// Legend: B batch, T query length, S key length, D d_model, H heads, Dh = D / H.
#include "nn/attention.h"

#include <cstdio>

#include "autograd/ops.h"

namespace crossgrad::nn {

namespace {

// Checked before any member is built, so out_proj never sees a bad size.
std::size_t checked_d_model(std::size_t d_model, std::size_t num_heads) {
  if (d_model == 0 || num_heads == 0 || d_model % num_heads != 0)
    fail("MultiHeadAttention: d_model " + std::to_string(d_model) +
         " must be a positive multiple of num_heads " + std::to_string(num_heads));
  return d_model;
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(std::size_t d_model, std::size_t num_heads,
                                       Generator& gen, real dropout, Generator& dropout_gen)
    : d_model_(checked_d_model(d_model, num_heads)),
      num_heads_(num_heads),
      dropout_(dropout),
      dropout_gen_(&dropout_gen),
      out_proj_(d_model, d_model, gen) {
  if (!(dropout >= 0 && dropout <= 1))
    fail("MultiHeadAttention: dropout must be in [0, 1], got " + std::to_string(dropout));
  // PyTorch's _reset_parameters: Xavier on the stacked projections, zero biases.
  in_proj_weight_ = register_parameter("in_proj_weight", Tensor::zeros({3 * d_model, d_model}));
  xavier_uniform_(in_proj_weight_, gen);
  in_proj_bias_ = register_parameter("in_proj_bias", Tensor::zeros({3 * d_model}));
  Tensor out_bias = out_proj_.bias();
  constant_(out_bias, 0);
  register_module("out_proj", out_proj_);
}

Tensor MultiHeadAttention::forward(const Tensor& query, const Tensor& key_value,
                                   const Tensor& key_padding_mask, bool causal) {
  if (query.dim() != 3 || key_value.dim() != 3 || query.size(0) != key_value.size(0) ||
      query.size(2) != d_model_ || key_value.size(2) != d_model_)
    fail("MultiHeadAttention(d_model=" + std::to_string(d_model_) + "): query " +
         to_string(query.shape()) + " and key_value " + to_string(key_value.shape()) +
         " must be (B, T, " + std::to_string(d_model_) + ") and (B, S, " +
         std::to_string(d_model_) + ")");
  AttentionOptions options;
  options.key_padding_mask = key_padding_mask;
  options.causal = causal;
  return attend(project(query, 0), project_key_value(key_value), options);
}

Tensor MultiHeadAttention::forward_packed(const Tensor& query, const Tensor& key_value,
                                          const std::vector<std::size_t>& query_offsets,
                                          const std::vector<std::size_t>& key_offsets,
                                          bool causal) {
  if (query.dim() != 2 || key_value.dim() != 2 || query.size(1) != d_model_ ||
      key_value.size(1) != d_model_)
    fail("MultiHeadAttention(d_model=" + std::to_string(d_model_) + ")::forward_packed: query " +
         to_string(query.shape()) + " and key_value " + to_string(key_value.shape()) +
         " must be (Nq, " + std::to_string(d_model_) + ") and (Nk, " +
         std::to_string(d_model_) + ")");
  AttentionOptions options;
  options.query_offsets = query_offsets;
  options.key_offsets = key_offsets;
  options.causal = causal;
  return attend(project(query, 0), project_key_value(key_value), options);
}

Tensor MultiHeadAttention::project(const Tensor& x, std::size_t block) const {
  // x W_blockᵀ + b_block, where W_block is rows [block·D, (block+1)·D) of in_proj_weight:
  // a slice along dim 0 is one contiguous block, so it is a view, not a copy
  const std::size_t D = d_model_, begin = block * D;
  return linear(x, in_proj_weight_.slice(0, begin, begin + D),
                in_proj_bias_.slice(0, begin, begin + D));
}

KeyValueCache MultiHeadAttention::project_key_value(const Tensor& key_value) const {
  // k, v = key_value Wkᵀ + bk, key_value Wvᵀ + bv: (B, S, D) each
  return {project(key_value, 1), project(key_value, 2)};
}

Tensor MultiHeadAttention::attend(const Tensor& q, const KeyValueCache& keys_values,
                                  AttentionOptions options, std::size_t first_query) {
  // context = softmax(q kᵀ / √Dh, masked) v for each head's Dh columns: (B, T, D), one op.
  // Masked keys get weight exactly 0; the weights (B, H, T, S) are kept for pictures.
  options.heads = num_heads_;
  options.dropout = is_training() ? dropout_ : 0;
  options.dropout_gen = dropout_gen_;
  options.weights = &last_weights_;
  if (weight_edit_) {  // the op calls it for each (b, h) block between softmax and weights · v
    const real* padding =
        options.key_padding_mask.defined() ? options.key_padding_mask.data() : nullptr;
    options.edit_weights = [this, padding, first_query](std::size_t b, std::size_t h, real* w,
                                                        std::size_t T, std::size_t S) {
      weight_edit_({b, h, first_query, w, T, S, padding ? padding + b * S : nullptr});
    };
  }
  const Tensor context =
      scaled_dot_product_attention(q, keys_values.key, keys_values.value, options);
  return out_proj_.forward(context);
}

// --- Incremental decoding ---

void MultiHeadAttention::append_key_value(KeyValueCache& cache,
                                          const Tensor& new_key_value) const {
  KeyValueCache added = project_key_value(new_key_value);  // one position: L = 1
  if (cache.length() == 0) {
    cache = std::move(added);
    return;
  }
  if (cache.value.size(0) != added.value.size(0))
    fail("MultiHeadAttention::append_key_value: cache " + to_string(cache.value.shape()) +
         " and new values " + to_string(added.value.shape()) + " differ in N");
  cache.key = concat({cache.key, added.key}, 1);        // (N, L + 1, D)
  cache.value = concat({cache.value, added.value}, 1);  // (N, L + 1, D)
}

Tensor MultiHeadAttention::forward_cached(const Tensor& query, const KeyValueCache& cache,
                                          const Tensor& key_padding_mask,
                                          std::size_t first_query) {
  const std::size_t rows = cache.length() > 0 ? cache.value.size(0) : 0;
  if (query.dim() != 3 || query.size(2) != d_model_ || cache.length() == 0 ||
      query.size(0) != rows)
    fail("MultiHeadAttention::forward_cached(d_model=" + std::to_string(d_model_) +
         "): query " + to_string(query.shape()) + " must be (N, T, " +
         std::to_string(d_model_) + ") for a non-empty cache of N=" + std::to_string(rows) +
         " rows");
  // Every cached key precedes the query, so only padding can hide one.
  AttentionOptions options;
  options.key_padding_mask = key_padding_mask;
  return attend(project(query, 0), cache, options, first_query);
}

std::string MultiHeadAttention::extra_repr() const {
  char text[96];
  std::snprintf(text, sizeof text, "d_model=%zu, num_heads=%zu, dropout=%g", d_model_,
                num_heads_, double(dropout_));
  return text;
}

}  // namespace crossgrad::nn
