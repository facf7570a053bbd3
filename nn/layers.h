// layers.h — the small layers: Linear, Embedding, LayerNorm, Dropout, PositionalEncoding.
// Each forward is one hop to the math in autograd/ops.h; each is initialised like its
// PyTorch namesake, from a seeded Generator so that a model is reproducible.
// Legend: B batch, T sequence length, D d_model, V vocabulary.
// Read next: nn/attention.h (MultiHeadAttention).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/token_matrix.h"
#include "nn/module.h"

namespace crossgrad::nn {

// y = x Wᵀ + b; weight (out_features, in_features), bias (out_features). Both start as
// U(-1/√in, 1/√in), PyTorch's default.
class Linear : public Module {
 public:
  Linear(std::size_t in_features, std::size_t out_features, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& x) const;  // (..., in) -> (..., out)

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }  // undefined when built without bias
  std::size_t in_features() const { return in_features_; }
  std::size_t out_features() const { return out_features_; }
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

 private:
  std::size_t in_features_, out_features_;
  Tensor weight_, bias_;
};

// A lookup table: row id of weight (V, D), which starts as N(0, 1) like PyTorch's.
class Embedding : public Module {
 public:
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen);
  Tensor forward(const TokenMatrix& ids) const;  // (B, T) -> (B, T, D)
  // ids of any shape -> ids_shape + (D). An id outside [0, V) is an error naming it (the
  // embedding op's).
  Tensor forward(const std::vector<std::int64_t>& ids, const Shape& ids_shape) const;

  Tensor weight() const { return weight_; }
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

 private:
  std::size_t num_embeddings_, embedding_dim_;
  Tensor weight_;
};

// Normalises over the last dimension, then scales and shifts: weight ones, bias zeros.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::size_t normalized_size, real eps = real(1e-5));
  Tensor forward(const Tensor& x) const;  // (..., D) -> (..., D)

  Tensor weight() const { return weight_; }
  Tensor bias() const { return bias_; }
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

 private:
  std::size_t normalized_size_;
  real eps_;
  Tensor weight_, bias_;
};

// In training mode zeroes each element with probability p and scales the rest by 1/(1-p);
// the identity in eval mode. Draws from `gen`, which must outlive the module (a model
// shares one generator among its dropouts so that its state can be checkpointed).
class Dropout : public Module {
 public:
  explicit Dropout(real p, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const;

  real p() const { return p_; }
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;

 private:
  real p_;
  Generator* gen_;
};

// Adds fixed sinusoids to a (B, T, D) input, as the reference's PosEnc:
//   pe[pos, 2i] = sin(pos · e^(-2i·ln(10000)/D)),  pe[pos, 2i+1] = cos(same).
// The table (max_len, D) is a buffer, not a parameter: it is never trained or saved.
class PositionalEncoding : public Module {
 public:
  explicit PositionalEncoding(std::size_t d_model, std::size_t max_len = 512);
  Tensor forward(const Tensor& x) const;  // x + pe[:T]
  // Packed rows x (N, D), row i at position positions[i] of its sequence: x + pe[positions].
  Tensor forward_packed(const Tensor& x, const std::vector<std::int64_t>& positions) const;

  const Tensor& table() const { return table_; }
  std::string type_name() const override { return "PositionalEncoding"; }
  std::string extra_repr() const override;

 private:
  std::size_t d_model_, max_len_;
  Tensor table_;  // (max_len, D)
};

}  // namespace crossgrad::nn
