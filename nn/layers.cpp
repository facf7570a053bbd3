// layers.cpp — Linear, Embedding, LayerNorm, Dropout, PositionalEncoding.
// The shape checks here name the layer, so a mistake reads "Linear(64 -> 13): ..." rather
// than surfacing as a matmul error three calls down.
#include "nn/layers.h"

#include <cmath>
#include <cstdio>

#include "autograd/ops.h"

namespace crossgrad::nn {

// --- Linear ---

Linear::Linear(std::size_t in_features, std::size_t out_features, Generator& gen, bool bias)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features == 0 || out_features == 0)
    fail("Linear: sizes must be positive, got in_features=" + std::to_string(in_features) +
         ", out_features=" + std::to_string(out_features));
  // PyTorch's kaiming_uniform_(a=√5) on the weight works out to U(-1/√in, 1/√in), the same
  // bound as the bias.
  const real bound = real(1 / std::sqrt(double(in_features)));
  weight_ = register_parameter("weight", Tensor::uniform({out_features, in_features}, -bound,
                                                          bound, gen));
  if (bias) bias_ = register_parameter("bias", Tensor::uniform({out_features}, -bound, bound, gen));
}

Tensor Linear::forward(const Tensor& x) const {
  if (x.dim() == 0 || x.size(-1) != in_features_)
    fail("Linear(" + std::to_string(in_features_) + " -> " + std::to_string(out_features_) +
         "): input shape " + to_string(x.shape()) + ": last dimension must be " +
         std::to_string(in_features_));
  // y = x Wᵀ + b: (..., in) @ (in, out) -> (..., out), one gemm that reads W as stored
  return linear(x, weight_, bias_);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features_) + ", out_features=" +
         std::to_string(out_features_) + ", bias=" + (bias_.defined() ? "True" : "False");
}

// --- Embedding ---

Embedding::Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen)
    : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  if (num_embeddings == 0 || embedding_dim == 0)
    fail("Embedding: sizes must be positive, got (" + std::to_string(num_embeddings) + ", " +
         std::to_string(embedding_dim) + ")");
  weight_ = register_parameter("weight", Tensor::randn({num_embeddings, embedding_dim}, gen));
}

Tensor Embedding::forward(const TokenMatrix& ids) const {
  return forward(ids.ids, ids.shape());
}

Tensor Embedding::forward(const std::vector<std::int64_t>& ids, const Shape& ids_shape) const {
  // out[..., :] = weight[id, :]; the backward adds each row's gradient into weight[id]. The
  // op checks the ids (count and range [0, V)), so a bad id is reported once, by it.
  return embedding(weight_, ids, ids_shape);
}

std::string Embedding::extra_repr() const {
  return std::to_string(num_embeddings_) + ", " + std::to_string(embedding_dim_);
}

// --- LayerNorm ---

LayerNorm::LayerNorm(std::size_t normalized_size, real eps)
    : normalized_size_(normalized_size), eps_(eps) {
  if (normalized_size == 0) fail("LayerNorm: the normalized size must be positive");
  weight_ = register_parameter("weight", Tensor::ones({normalized_size}));
  bias_ = register_parameter("bias", Tensor::zeros({normalized_size}));
}

Tensor LayerNorm::forward(const Tensor& x) const {
  if (x.dim() == 0 || x.size(-1) != normalized_size_)
    fail("LayerNorm(" + std::to_string(normalized_size_) + "): input shape " +
         to_string(x.shape()) + ": last dimension must be " + std::to_string(normalized_size_));
  // y = (x - mean) / √(var + eps) · weight + bias, over the last dimension (fused op)
  return layer_norm(x, weight_, bias_, eps_);
}

std::string LayerNorm::extra_repr() const {
  char eps[32];
  std::snprintf(eps, sizeof eps, "%g", double(eps_));
  return "(" + std::to_string(normalized_size_) + ",), eps=" + eps;
}

// --- Dropout ---

Dropout::Dropout(real p, Generator& gen) : p_(p), gen_(&gen) {
  if (!(p >= 0 && p <= 1)) fail("Dropout: p must be in [0, 1], got " + std::to_string(p));
}

Tensor Dropout::forward(const Tensor& x) const {
  if (p_ == 0) return x;  // no draws, so p = 0 leaves the generator untouched
  return dropout(x, p_, is_training(), *gen_);
}

std::string Dropout::extra_repr() const {
  char text[32];
  std::snprintf(text, sizeof text, "p=%g", double(p_));
  return text;
}

// --- PositionalEncoding ---

PositionalEncoding::PositionalEncoding(std::size_t d_model, std::size_t max_len)
    : d_model_(d_model), max_len_(max_len) {
  if (d_model == 0 || max_len == 0)
    fail("PositionalEncoding: d_model and max_len must be positive");
  std::vector<real> table(max_len * d_model, 0);
  // In `real` arithmetic step by step, as the reference does in float32, so that the
  // float build reproduces its table.
  const real rate = real(-std::log(10000.0) / double(d_model));
  for (std::size_t i = 0; 2 * i < d_model; ++i) {
    const real frequency = std::exp(real(2 * i) * rate);
    for (std::size_t pos = 0; pos < max_len; ++pos) {
      const real angle = real(pos) * frequency;
      table[pos * d_model + 2 * i] = std::sin(angle);
      if (2 * i + 1 < d_model) table[pos * d_model + 2 * i + 1] = std::cos(angle);
    }
  }
  table_ = Tensor::from(std::move(table), {max_len, d_model});
}

Tensor PositionalEncoding::forward(const Tensor& x) const {
  if (x.dim() != 3 || x.size(2) != d_model_)
    fail("PositionalEncoding(d_model=" + std::to_string(d_model_) + "): input shape " +
         to_string(x.shape()) + ": expected (B, T, " + std::to_string(d_model_) + ")");
  const std::size_t length = x.size(1);
  if (length > max_len_)
    fail("PositionalEncoding: sequence length " + std::to_string(length) +
         " exceeds max_len " + std::to_string(max_len_));
  // x: (B, T, D) + pe[:T]: (T, D), broadcast over the batch
  return x + table_.slice(0, 0, length);
}

Tensor PositionalEncoding::forward_packed(const Tensor& x,
                                          const std::vector<std::int64_t>& positions) const {
  if (x.dim() != 2 || x.size(1) != d_model_ || positions.size() != x.size(0))
    fail("PositionalEncoding(d_model=" + std::to_string(d_model_) + ")::forward_packed: input " +
         to_string(x.shape()) + " and " + std::to_string(positions.size()) +
         " positions: expected (N, " + std::to_string(d_model_) + ") and N positions");
  for (std::int64_t position : positions)
    if (position < 0 || std::size_t(position) >= max_len_)
      fail("PositionalEncoding: position " + std::to_string(position) + " exceeds max_len " +
           std::to_string(max_len_));
  // x: (N, D) + pe[positions]: (N, D), each row its own position's sinusoids
  return x + index_select(table_, 0, positions);
}

std::string PositionalEncoding::extra_repr() const {
  return "d_model=" + std::to_string(d_model_) + ", max_len=" + std::to_string(max_len_);
}

}  // namespace crossgrad::nn
