// attention.cpp — MultiHeadAttention composed from ops: matmul, slice, reshape, permute,
// masked_fill and softmax. No backward here: every step is a differentiable op.
// Legend: B batch, T query length, S key length, D d_model, H heads, Dh = D / H.
#include "nn/attention.h"

#include <cmath>
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
      head_dim_(d_model / num_heads),
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
  const std::size_t batch = query.size(0), query_length = query.size(1);
  const std::size_t key_length = key_value.size(1);
  const Tensor mask = combined_mask(key_padding_mask, causal, batch, query_length, key_length);
  const Tensor q_heads = project_query(query);
  return attend(q_heads, project_key_value(key_value), mask);
}

Tensor MultiHeadAttention::project_query(const Tensor& query) const {
  // q = query Wqᵀ + bq: (B, T, D), the first row block of in_proj_weight and in_proj_bias.
  const std::size_t D = d_model_;
  const Tensor q =
      query.matmul(in_proj_weight_.slice(0, 0, D).t()) + in_proj_bias_.slice(0, 0, D);
  // q / √Dh: (B, H, T, Dh). Scaling q before q kᵀ, as PyTorch does, keeps the two
  // bit-identical when √Dh is a power of two.
  return split_heads(q) / real(std::sqrt(double(head_dim_)));
}

KeyValueCache MultiHeadAttention::project_key_value(const Tensor& key_value) const {
  // k, v = key_value Wkᵀ + bk, key_value Wvᵀ + bv: (B, S, D) -> (B, H, S, Dh); k is kept
  // transposed, (B, H, Dh, S), so that a cache transposes each key once, not every step
  const Tensor& w = in_proj_weight_;
  const Tensor& b = in_proj_bias_;
  const std::size_t D = d_model_;
  const Tensor k = key_value.matmul(w.slice(0, D, 2 * D).t()) + b.slice(0, D, 2 * D);
  const Tensor v = key_value.matmul(w.slice(0, 2 * D, 3 * D).t()) + b.slice(0, 2 * D, 3 * D);
  return {split_heads(k).transpose(-2, -1), split_heads(v)};
}

Tensor MultiHeadAttention::attend(const Tensor& q_heads, const KeyValueCache& keys_values,
                                  const Tensor& mask) {
  // scores = (q / √Dh) kᵀ: (B, H, T, Dh) @ (B, H, Dh, S) -> (B, H, T, S)
  Tensor scores = q_heads.matmul(keys_values.key_t);
  // Masked keys get -inf, so softmax gives them weight exactly 0.
  if (mask.defined()) scores = scores.masked_fill(mask, -INFINITY);
  Tensor weights = scores.softmax(-1);  // (B, H, T, S), rows sum to 1
  last_weights_ = weights.detach();
  if (dropout_ > 0) weights = crossgrad::dropout(weights, dropout_, is_training(), *dropout_gen_);

  // context = weights v: (B, H, T, S) @ (B, H, S, Dh) -> (B, H, T, Dh) -> (B, T, D)
  const Tensor context = merge_heads(weights.matmul(keys_values.value));
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
  cache.key_t = concat({cache.key_t, added.key_t}, 3);    // (N, H, Dh, L + 1)
  cache.value = concat({cache.value, added.value}, 2);  // (N, H, L + 1, Dh)
}

Tensor MultiHeadAttention::forward_cached(const Tensor& query, const KeyValueCache& cache,
                                          const Tensor& key_padding_mask) {
  const std::size_t rows = cache.length() > 0 ? cache.value.size(0) : 0;
  if (query.dim() != 3 || query.size(2) != d_model_ || cache.length() == 0 ||
      query.size(0) != rows)
    fail("MultiHeadAttention::forward_cached(d_model=" + std::to_string(d_model_) +
         "): query " + to_string(query.shape()) + " must be (N, T, " +
         std::to_string(d_model_) + ") for a non-empty cache of N=" + std::to_string(rows) +
         " rows");
  // Every cached key precedes the query, so only padding can hide one.
  const Tensor mask = combined_mask(key_padding_mask, false, rows, query.size(1), cache.length());
  return attend(project_query(query), cache, mask);
}

Tensor MultiHeadAttention::combined_mask(const Tensor& key_padding_mask, bool causal,
                                         std::size_t batch, std::size_t query_length,
                                         std::size_t key_length) const {
  const bool padded = key_padding_mask.defined();
  if (padded && key_padding_mask.shape() != Shape{batch, key_length})
    fail("MultiHeadAttention: key_padding_mask shape " + to_string(key_padding_mask.shape()) +
         " must be (B, S) = " + to_string(Shape{batch, key_length}));
  if (causal && query_length != key_length)
    fail("MultiHeadAttention: a causal mask needs as many queries as keys, got T=" +
         std::to_string(query_length) + " and S=" + std::to_string(key_length));
  if (!padded && !causal) return Tensor();

  // mask[b, 0, t, s] = 1 where key s is padding or lies in query t's future.
  const std::size_t rows = padded ? batch : 1;
  std::vector<real> mask(rows * query_length * key_length, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t t = 0; t < query_length; ++t) {
      bool any_visible = false;
      for (std::size_t s = 0; s < key_length; ++s) {
        const bool hidden = (padded && key_padding_mask.data()[r * key_length + s] != 0) ||
                            (causal && s > t);
        mask[(r * query_length + t) * key_length + s] = hidden;
        any_visible = any_visible || !hidden;
      }
      if (!any_visible)
        fail("MultiHeadAttention: query " + std::to_string(t) + " of batch row " +
             std::to_string(r) + " has every key masked; softmax would be NaN");
    }
  }
  return Tensor::from(std::move(mask), {rows, 1, query_length, key_length});
}

Tensor MultiHeadAttention::split_heads(const Tensor& x) const {
  // (B, L, D) -> (B, L, H, Dh) -> (B, H, L, Dh)
  const long batch = long(x.size(0)), length = long(x.size(1));
  return x.reshape({batch, length, long(num_heads_), long(head_dim_)}).permute({0, 2, 1, 3});
}

Tensor MultiHeadAttention::merge_heads(const Tensor& x) const {
  // (B, H, L, Dh) -> (B, L, H, Dh) -> (B, L, D)
  const long batch = long(x.size(0)), length = long(x.size(2));
  return x.permute({0, 2, 1, 3}).reshape({batch, length, long(d_model_)});
}

std::string MultiHeadAttention::extra_repr() const {
  char text[96];
  std::snprintf(text, sizeof text, "d_model=%zu, num_heads=%zu, dropout=%g", d_model_,
                num_heads_, double(dropout_));
  return text;
}

}  // namespace crossgrad::nn
