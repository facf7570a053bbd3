// ops.h — the table of contents: every differentiable op in crossgrad, grouped by the file
// that defines it. Each op checks its inputs, computes its output and registers its
// backward right below, with the math in one comment line. Derived ops (sub, div, mean,
// gelu, embedding, ...) are composed from primitives and need no backward of their own.
// Legend for shapes in comments: B batch, S source length, T target length, D d_model,
// H heads, V vocabulary, N rows, C classes.
// Read next: ops_elementwise.cpp (the simplest ops, and the pattern every op follows).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "autograd/tensor.h"

namespace crossgrad {

// --- ops_elementwise.cpp: NumPy broadcasting on both operands ---
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);  // a + (-b)
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // a * b^-1
Tensor neg(const Tensor& x);
// The same values in storage of its own: a write to the copy is not seen by x (a view's is).
// Differentiable, as PyTorch's clone; x.detach().clone() is a leaf copy to change freely.
Tensor clone(const Tensor& x);
Tensor pow(const Tensor& x, real exponent);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
// Activations.
Tensor relu(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor gelu(const Tensor& x);  // tanh approximation, as PyTorch's approximate='tanh'

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, real b);
Tensor operator+(real a, const Tensor& b);
Tensor operator-(const Tensor& a, real b);
Tensor operator-(real a, const Tensor& b);
Tensor operator*(const Tensor& a, real b);
Tensor operator*(real a, const Tensor& b);
Tensor operator/(const Tensor& a, real b);
Tensor operator/(real a, const Tensor& b);

// --- ops_reduce.cpp ---
Tensor sum(const Tensor& x);                               // all elements -> shape ()
Tensor sum(const Tensor& x, int dim, bool keepdim = false);
Tensor mean(const Tensor& x);                              // sum / numel
Tensor mean(const Tensor& x, int dim, bool keepdim = false);
Tensor max(const Tensor& x);                               // gradient to the first maximum
Tensor max(const Tensor& x, int dim, bool keepdim = false);
// Not differentiable: the index of the first maximum along dim (for greedy decoding).
std::vector<std::int64_t> argmax(const Tensor& x, int dim);

// --- ops_matmul.cpp: (..., M, K) @ (..., K, N) -> (..., M, N), batch dims broadcast ---
Tensor matmul(const Tensor& a, const Tensor& b);
// x Wᵀ + b: x (..., in), weight (out, in), bias (out) or undefined -> (..., out). What
// matmul(x, weight.t()) + bias computes, without copying weight transposed.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// --- ops_shape.cpp: every result is contiguous; reshape, unsqueeze, squeeze and slices of one
// contiguous block are views on x's storage, the others fresh tensors ---
Tensor reshape(const Tensor& x, const std::vector<long>& shape);  // one size may be -1
Tensor transpose(const Tensor& x, int dim0, int dim1);
Tensor permute(const Tensor& x, const std::vector<int>& dims);
Tensor unsqueeze(const Tensor& x, int dim);
Tensor squeeze(const Tensor& x, int dim);           // dim must have size 1
Tensor expand(const Tensor& x, const Shape& shape);  // broadcast_to; backward sums
Tensor slice(const Tensor& x, int dim, std::size_t start, std::size_t end);  // [start, end)
Tensor concat(const std::vector<Tensor>& xs, int dim);
std::vector<Tensor> split(const Tensor& x, std::size_t split_size, int dim);  // last may be short

// --- ops_index.cpp ---
// Rows of x along dim picked by index; backward scatter-adds, so repeated ids accumulate.
Tensor index_select(const Tensor& x, int dim, const std::vector<std::int64_t>& index);
// weight: (V, D), ids of shape ids_shape -> ids_shape + (D).
Tensor embedding(const Tensor& weight, const std::vector<std::int64_t>& ids,
                 const Shape& ids_shape);
// Where mask (0/1 values, broadcast to x's shape) is non-zero, the output is value.
Tensor masked_fill(const Tensor& x, const Tensor& mask, real value);

// --- ops_nn.cpp: fused, with hand-written backward (composing them is slow or unstable) ---
Tensor softmax(const Tensor& x, int dim);
Tensor log_softmax(const Tensor& x, int dim);
struct CrossEntropyOptions {
  std::int64_t ignore_index = -100;  // targets equal to this add no loss and no gradient
  real label_smoothing = 0;          // in [0, 1]
};
// logits: (N, C), targets: N class ids -> mean loss over non-ignored targets, shape ().
Tensor cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& targets,
                     const CrossEntropyOptions& options = {});
// Normalises over the last dim; weight and bias (D) are optional (undefined tensors).
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, real eps = 1e-5);
// Zeroes each element with probability p and scales the rest by 1/(1-p) while training;
// the identity otherwise.
Tensor dropout(const Tensor& x, real p, bool training, Generator& gen = default_generator());

// --- ops_attention.cpp: multi-head scaled dot-product attention, fused ---
// Per (batch row b, head h): weights = softmax(q kᵀ · scale, masked keys excluded),
// out = weights v; q (B, T, D), k and v (B, S, D), D = heads · Dh, each head its own Dh
// columns, so no split or merge of heads is needed -> out (B, T, D).
struct AttentionOptions {
  std::size_t heads = 1;
  bool causal = false;      // query t attends to keys s <= t only (needs T == S)
  Tensor key_padding_mask;  // (B, S) of 0/1, 1 marks a key no query attends to; or undefined
  // Packed rows instead of padded ones: q (Nq, D), k and v (Nk, D) hold only real tokens,
  // sequence b being rows [query_offsets[b], query_offsets[b + 1]) of q and the same of
  // key_offsets for k and v (B + 1 offsets each). Nothing is computed for padding; the
  // weights come out (B, H, T, S) with T and S the longest sequences, zeros elsewhere.
  std::vector<std::size_t> query_offsets, key_offsets;
  real scale = 0;           // 0: 1/√Dh
  // On the weights, after the softmax: zeroes each with probability p and scales the rest by
  // 1/(1-p), drawing one uniform per weight from *dropout_gen in (B, H, T, S) order, as
  // dropout() on the weights would. Pass 0 outside training.
  real dropout = 0;
  Generator* dropout_gen = nullptr;
  // If set, receives the weights (B, H, T, S) before dropout, detached and without a copy.
  Tensor* weights = nullptr;
  // The edit point, for inference: called for each (batch row, head) with its (T, S) weights,
  // row-major, after the softmax and before weights · v; it may change them in place. Not
  // allowed while a graph is recorded (the backward assumes the softmax's weights).
  std::function<void(std::size_t batch_row, std::size_t head, real* weights, std::size_t T,
                     std::size_t S)>
      edit_weights;
};
// A query row whose every key is masked is an error naming it (a softmax over nothing).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});
// The same attention composed from reshape, permute, matmul, masked_fill, softmax, dropout
// and matmul: the reference the fused op is tested against, and the one to read first.
Tensor scaled_dot_product_attention_composed(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const AttentionOptions& options = {});

}  // namespace crossgrad
