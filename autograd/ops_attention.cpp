// ops_attention.cpp — scaled dot-product attention as one op, and the same attention composed
// from primitive ops (its reference). For every (batch row b, head h), with that head's
// columns of q (T, Dh), k (S, Dh) and v (S, Dh):
//   scores = q kᵀ · scale → masked keys get -inf → weights = softmax(scores) → out = weights v
// Composed, that is eight tensors per attention (scores, mask, weights, the head splits and
// merges); fused, the (T, S) weights of one head never leave the cache, the masks are a flag
// and a (B, S) vector, and every (b, h) runs on the thread pool independently.
// The backward is derived in docs/derivations.md (scaled_dot_product_attention).
// Legend: B batch, T query length, S key length, H heads, Dh head size, D = H·Dh.
// Read next: nn/attention.cpp (MultiHeadAttention, which calls it).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "autograd/profiler.h"
#include "autograd/thread_pool.h"

namespace crossgrad {

namespace {

// The sizes of one call, checked. T and S are the longest query and key sequences; packed,
// sequence b has its own lengths (its rows between two offsets), padded every one has T, S.
struct Dims {
  std::size_t B, T, S, H, Dh, D;
  real scale;
  const std::size_t *query_offsets, *key_offsets;  // packed: B + 1 each; padded: nullptr
};

// Packed: the offsets must start at 0, never decrease and end at the row count.
void check_offsets(const std::vector<std::size_t>& offsets, std::size_t rows,
                   const std::string& shapes, const char* which) {
  bool ok = !offsets.empty() && offsets.front() == 0 && offsets.back() == rows;
  for (std::size_t b = 1; ok && b < offsets.size(); ++b) ok = offsets[b - 1] <= offsets[b];
  if (!ok)
    fail(shapes + ": " + which + " " + to_string(offsets) + " must rise from 0 to the " +
         std::to_string(rows) + " rows");
}

// The longest sequence of a packed batch.
std::size_t longest(const std::vector<std::size_t>& offsets) {
  std::size_t most = 0;
  for (std::size_t b = 1; b < offsets.size(); ++b)
    most = std::max(most, offsets[b] - offsets[b - 1]);
  return most;
}

Dims check_packed(const Tensor& q, const Tensor& k, const Tensor& v,
                  const AttentionOptions& options, const std::string& shapes) {
  if (q.dim() != 2 || k.dim() != 2 || k.shape() != v.shape() || q.size(1) != k.size(1))
    fail(shapes + " must be (Nq, D), (Nk, D) and (Nk, D) with query_offsets and key_offsets");
  if (options.query_offsets.size() != options.key_offsets.size())
    fail(shapes + ": " + std::to_string(options.query_offsets.size()) + " query_offsets and " +
         std::to_string(options.key_offsets.size()) + " key_offsets: need B + 1 of each");
  if (options.key_padding_mask.defined())
    fail(shapes + ": a packed batch holds no padding, so it takes no key_padding_mask");
  check_offsets(options.query_offsets, q.size(0), shapes, "query_offsets");
  check_offsets(options.key_offsets, k.size(0), shapes, "key_offsets");
  const std::size_t B = options.query_offsets.size() - 1;
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t T = options.query_offsets[b + 1] - options.query_offsets[b];
    const std::size_t S = options.key_offsets[b + 1] - options.key_offsets[b];
    if (options.causal && T != S)
      fail(shapes + ": a causal mask needs as many queries as keys, got T=" + std::to_string(T) +
           " and S=" + std::to_string(S) + " in sequence " + std::to_string(b));
    if (T > 0 && S == 0)
      fail("scaled_dot_product_attention: query 0 of batch row " + std::to_string(b) +
           " has every key masked (its sequence has no keys); its softmax would be 0/0");
  }
  return {B, longest(options.query_offsets), longest(options.key_offsets), options.heads, 0,
          q.size(1), 0, options.query_offsets.data(), options.key_offsets.data()};
}

Dims check_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                     const AttentionOptions& options) {
  const std::string shapes = "scaled_dot_product_attention: q " + to_string(q.shape()) + ", k " +
                             to_string(k.shape()) + ", v " + to_string(v.shape());
  const bool packed = !options.query_offsets.empty() || !options.key_offsets.empty();
  if (!packed && (q.dim() != 3 || k.dim() != 3 || v.dim() != 3 || k.shape() != v.shape() ||
                  q.size(0) != k.size(0) || q.size(2) != k.size(2)))
    fail(shapes + " must be (B, T, D), (B, S, D) and (B, S, D)");
  Dims d = packed ? check_packed(q, k, v, options, shapes)
                  : Dims{q.size(0), q.size(1), k.size(1), options.heads, 0, q.size(2), 0,
                         nullptr, nullptr};
  if (d.H == 0 || d.D % d.H != 0)
    fail(shapes + ": D = " + std::to_string(d.D) + " does not split into " +
         std::to_string(d.H) + " heads");
  d.Dh = d.D / d.H;
  d.scale = options.scale > 0 ? options.scale : real(1 / std::sqrt(double(d.Dh)));
  if (!packed && options.causal && d.T != d.S)
    fail(shapes + ": a causal mask needs as many queries as keys, got T=" + std::to_string(d.T) +
         " and S=" + std::to_string(d.S));
  const Tensor& mask = options.key_padding_mask;
  if (mask.defined() && mask.shape() != Shape{d.B, d.S})
    fail("scaled_dot_product_attention: key_padding_mask shape " + to_string(mask.shape()) +
         " must be (B, S) = " + to_string(Shape{d.B, d.S}));
  if (!(options.dropout >= 0 && options.dropout <= 1))
    fail("scaled_dot_product_attention: dropout must be in [0, 1], got " +
         std::to_string(options.dropout));
  if (options.dropout > 0 && !options.dropout_gen)
    fail("scaled_dot_product_attention: dropout " + std::to_string(options.dropout) +
         " needs a generator (options.dropout_gen)");
  // A query whose every key is masked has no softmax (0/0). It is a mistake in the masks, so
  // it is an error here, named, rather than NaN weights (what PyTorch returns).
  if (d.T == 0 || !mask.defined()) return d;
  for (std::size_t b = 0; b < d.B; ++b) {
    std::size_t first_visible = 0;  // the first key that is not padding
    while (first_visible < d.S && mask.data()[b * d.S + first_visible] != 0) ++first_visible;
    const bool blind = options.causal ? first_visible > 0 : first_visible == d.S;
    if (blind)
      fail("scaled_dot_product_attention: query 0 of batch row " + std::to_string(b) +
           " has every key masked (key_padding_mask" + (options.causal ? " and causal" : "") +
           "); its softmax would be 0/0");
  }
  return d;
}

// --- A small matrix product, for the blocks of one head ---
// C (rows × cols) = A (rows × depth) · B (depth × cols), or C += A·B when `add`, where
// A[i][p] = a[i·a_row + p·a_col] (a transposed A is a swap of the two strides), B's rows are
// contiguous and ldb apart, and C's rows ldc apart. Like gemm's micro-kernel, C is computed
// a tile of kTileRows rows by one or two vectors at a time in registers; unlike gemm, nothing
// is packed: the blocks of one head (17 × 16 numbers) are already in the cache, and packing
// them cost more than the product. B is read in whole vectors: each of its rows must hold cols
// rounded up to kVector readable values (the callers pad it).
constexpr std::size_t kTileRows = 4, kVector = 32 / sizeof(real);  // one 256-bit vector

std::size_t round_up(std::size_t n, std::size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

// One tile: rows [i0, i0 + kRows) of C, columns [j0, j0 + width), width <= kCols.
template <std::size_t kRows, std::size_t kCols>
void product_tile(std::size_t i0, std::size_t j0, std::size_t width, std::size_t depth,
                  const real* a, std::size_t a_row, std::size_t a_col, const real* b,
                  std::size_t ldb, real* c, std::size_t ldc, bool add) {
  real acc[kRows][kCols] = {};
  for (std::size_t p = 0; p < depth; ++p) {
    const real* b_row = b + p * ldb + j0;
    for (std::size_t i = 0; i < kRows; ++i) {
      const real a_ip = a[(i0 + i) * a_row + p * a_col];
#pragma GCC unroll 1
      for (std::size_t j = 0; j < kCols; ++j) acc[i][j] += a_ip * b_row[j];
    }
  }
  for (std::size_t i = 0; i < kRows; ++i) {
    real* c_row = c + (i0 + i) * ldc + j0;
    if (width == kCols && add) {  // a fixed bound: whole-vector loads and stores
      for (std::size_t j = 0; j < kCols; ++j) c_row[j] += acc[i][j];
    } else if (width == kCols) {
      for (std::size_t j = 0; j < kCols; ++j) c_row[j] = acc[i][j];
    } else {
      for (std::size_t j = 0; j < width; ++j) c_row[j] = add ? c_row[j] + acc[i][j] : acc[i][j];
    }
  }
}

// Columns [j0, j0 + kCols) of C, every row: tiles of kTileRows rows, then single rows.
template <std::size_t kCols>
void product_columns(std::size_t rows, std::size_t j0, std::size_t width, std::size_t depth,
                     const real* a, std::size_t a_row, std::size_t a_col, const real* b,
                     std::size_t ldb, real* c, std::size_t ldc, bool add) {
  std::size_t i0 = 0;
  for (; i0 + kTileRows <= rows; i0 += kTileRows)
    product_tile<kTileRows, kCols>(i0, j0, width, depth, a, a_row, a_col, b, ldb, c, ldc, add);
  for (; i0 < rows; ++i0)
    product_tile<1, kCols>(i0, j0, width, depth, a, a_row, a_col, b, ldb, c, ldc, add);
}

// Two vectors of columns at a time while at least that many are left, then one.
void small_product(std::size_t rows, std::size_t cols, std::size_t depth, const real* a,
                   std::size_t a_row, std::size_t a_col, const real* b, std::size_t ldb,
                   real* c, std::size_t ldc, bool add) {
  std::size_t j0 = 0;
  for (; j0 + 2 * kVector <= cols; j0 += 2 * kVector)
    product_columns<2 * kVector>(rows, j0, 2 * kVector, depth, a, a_row, a_col, b, ldb, c, ldc,
                                 add);
  for (; j0 < cols; j0 += kVector)
    product_columns<kVector>(rows, j0, std::min(kVector, cols - j0), depth, a, a_row, a_col, b,
                             ldb, c, ldc, add);
}

// --- One (batch row, head) item ---

// Where item i's blocks are: row t of its q at q + t·D (the head's Dh columns), and so on.
struct Item {
  const real *q, *k, *v;
  std::size_t T, S;     // its queries and keys (packed: its sequence's; padded: d.T, d.S)
  const real* padding;  // (S) 0/1 of batch row b, or nullptr
  std::size_t weights;  // offset of its block in the (B, H, T, S) weights and mask: rows d.S apart
  std::size_t rows_q, rows_k;  // offsets of its first row of q (and out), of k and v
};

Item item_at(const Dims& d, std::size_t i, const real* q, const real* k, const real* v,
             const real* padding) {
  const std::size_t b = i / d.H, h = i % d.H;
  const std::size_t first_q = d.query_offsets ? d.query_offsets[b] : b * d.T;
  const std::size_t first_k = d.key_offsets ? d.key_offsets[b] : b * d.S;
  const std::size_t T = d.query_offsets ? d.query_offsets[b + 1] - first_q : d.T;
  const std::size_t S = d.key_offsets ? d.key_offsets[b + 1] - first_k : d.S;
  const std::size_t rows_q = first_q * d.D + h * d.Dh, rows_k = first_k * d.D + h * d.Dh;
  return {q + rows_q, k + rows_k, v + rows_k, T, S, padding ? padding + b * d.S : nullptr,
          i * d.T * d.S, rows_q, rows_k};
}

// Keys query t may see: s < visible_end(t), and not padding.
std::size_t visible_end(const Item& it, bool causal, std::size_t t) {
  return causal ? t + 1 : it.S;
}

// Per thread: one head's blocks laid out for small_product, reused by every item.
struct Scratch {
  std::vector<real> transposed;  // (Dh, S rounded up to a tile): kᵀ or vᵀ, zero-padded
  std::vector<real> rows;        // (S, Dh rounded up): a head's rows when Dh is not a whole tile
  std::vector<real> a, b;        // (T, S): the weights after dropout, their gradient
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}
void fit(std::vector<real>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

// x's head block (`rows` rows of Dh, D apart) as B operand of small_product: x itself when
// Dh is a whole number of tiles, else a zero-padded copy in `copy`. Returns (data, ldb).
std::pair<const real*, std::size_t> head_rows(const Dims& d, const real* x, std::size_t rows,
                                              std::vector<real>& copy) {
  if (d.Dh % kVector == 0) return {x, d.D};
  const std::size_t width = round_up(d.Dh, kVector);
  fit(copy, rows * width);
  for (std::size_t r = 0; r < rows; ++r) {
    std::copy(x + r * d.D, x + r * d.D + d.Dh, copy.data() + r * width);
    std::fill(copy.data() + r * width + d.Dh, copy.data() + (r + 1) * width, real(0));
  }
  return {copy.data(), width};
}

// xᵀ: the head block's (S, Dh) rows as a (Dh, S rounded up) block, zero-padded, in
// `scratch().transposed`, so that q kᵀ and dO vᵀ read whole tiles of keys.
std::size_t transpose_head(const Dims& d, const real* x, std::size_t S) {
  const std::size_t width = round_up(S, kVector);
  std::vector<real>& out = scratch().transposed;
  fit(out, d.Dh * width);
  for (std::size_t j = 0; j < d.Dh; ++j) {
    for (std::size_t s = 0; s < S; ++s) out[j * width + s] = x[s * d.D + j];
    std::fill(out.data() + j * width + S, out.data() + (j + 1) * width, real(0));
  }
  return width;
}

// The item's weights (T, S), rows d.S apart: softmax over visible keys of scale · q_t · k_s,
// 0 at masked keys (and past the item's S keys, up to d.S).
void attention_weights(const Dims& d, bool causal, const Item& it, real* weights) {
  const std::size_t width = transpose_head(d, it.k, it.S);
  // scores = q kᵀ: (T, Dh) · (Dh, S)
  small_product(it.T, it.S, d.Dh, it.q, d.D, 1, scratch().transposed.data(), width, weights, d.S,
                false);
  for (std::size_t t = 0; t < it.T; ++t) {
    real* row = weights + t * d.S;
    const std::size_t end = visible_end(it, causal, t);
    // The max-shifted softmax of the visible scores (see softmax in ops_nn.cpp).
    real largest = -std::numeric_limits<real>::infinity();
    for (std::size_t s = 0; s < end; ++s) {
      row[s] *= d.scale;
      if (!(it.padding && it.padding[s] != 0)) largest = std::max(largest, row[s]);
    }
    real total = 0;
    for (std::size_t s = 0; s < end; ++s) {
      row[s] = it.padding && it.padding[s] != 0 ? real(0) : std::exp(row[s] - largest);
      total += row[s];
    }
    const real inverse = 1 / total;
    for (std::size_t s = 0; s < end; ++s) row[s] *= inverse;
    std::fill(row + end, row + d.S, real(0));  // the future (causal), or past the keys
  }
}

// W ⊙ M: the weights after dropout, or the weights themselves without it.
const real* dropped_weights(const Dims& d, const Item& it, const real* weights,
                            const real* mask) {
  if (!mask) return weights;
  std::vector<real>& out = scratch().a;
  fit(out, it.T * d.S);
  for (std::size_t e = 0; e < it.T * d.S; ++e) out[e] = weights[e] * mask[e];
  return out.data();
}

// out (T, Dh), D apart = (W ⊙ M) v.
void attention_output(const Dims& d, const Item& it, const real* weights, const real* mask,
                      real* out) {
  const auto [v, ldv] = head_rows(d, it.v, it.S, scratch().rows);
  small_product(it.T, d.Dh, it.S, dropped_weights(d, it, weights, mask), d.S, 1, v, ldv, out,
                d.D, false);
}

// A gradient to write: its first row for the item, and whether to assign rather than add.
struct GradientRows {
  real* data;
  bool assign;
};

// The backward of one item. W are the weights, M the dropout mask (1 without dropout), dO
// the output's gradient:
//   dV = (W⊙M)ᵀ dO;  dW = (dO Vᵀ) ⊙ M;  dS = W ⊙ (dW - rowsum(dW ⊙ W)) · scale;
//   dQ = dS K;  dK = dSᵀ Q
// dq is written first: if q, k and v are one tensor, its first gradient is assigned by dq
// and dk and dv add to it.
void attention_backward(const Dims& d, const Item& it, const real* weights, const real* mask,
                        const real* d_out, GradientRows dq, GradientRows dk, GradientRows dv) {
  Scratch& s_ = scratch();
  const std::size_t T = it.T, S = it.S;
  fit(s_.b, T * d.S);
  real* d_scores = s_.b.data();  // rows d.S apart, like the weights
  // dW = dO vᵀ: (T, Dh) · (Dh, S)
  const std::size_t width = transpose_head(d, it.v, S);
  small_product(T, S, d.Dh, d_out, d.D, 1, s_.transposed.data(), width, d_scores, d.S, false);
  // dS = W ⊙ (dW ⊙ M - Σ_s dW ⊙ M ⊙ W) · scale, row by row; 0 wherever W is 0 (masked keys)
  for (std::size_t t = 0; t < T; ++t) {
    const real* w = weights + t * d.S;
    const real* m = mask ? mask + t * d.S : nullptr;
    real* row = d_scores + t * d.S;
    real dot = 0;
    for (std::size_t s = 0; s < S; ++s) {
      if (m) row[s] *= m[s];
      dot += row[s] * w[s];
    }
    for (std::size_t s = 0; s < S; ++s) row[s] = w[s] * (row[s] - dot) * d.scale;
  }
  if (dq.data) {  // dQ = dS K: (T, S) · (S, Dh)
    const auto [k, ldk] = head_rows(d, it.k, S, s_.rows);
    small_product(T, d.Dh, S, d_scores, d.S, 1, k, ldk, dq.data, d.D, !dq.assign);
  }
  if (dk.data) {  // dK = dSᵀ Q: (S, T) · (T, Dh)
    const auto [q, ldq] = head_rows(d, it.q, T, s_.rows);
    small_product(S, d.Dh, T, d_scores, 1, d.S, q, ldq, dk.data, d.D, !dk.assign);
  }
  if (dv.data) {  // dV = (W ⊙ M)ᵀ dO: (S, T) · (T, Dh)
    const auto [g, ldg] = head_rows(d, d_out, T, s_.rows);
    small_product(S, d.Dh, T, dropped_weights(d, it, weights, mask), 1, d.S, g, ldg, dv.data,
                  d.D, !dv.assign);
  }
}

// Items per task: enough work that waking a worker pays (about 2^20 multiply-adds).
std::size_t item_grain(const Dims& d) {
  const double per_item = double(d.T) * double(d.S) * double(d.Dh) * 2 + 1;
  return std::size_t(double(1 << 20) / per_item) + 1;
}

// dropout's mask, drawn in the order of the (B, H, T, S) weights, exactly as dropout() would
// draw it for that tensor: one uniform per element, kept with probability 1 - p.
Tensor dropout_mask(const Shape& shape, real p, Generator& gen) {
  Tensor mask = Tensor::empty(shape);
  real* m = mask.mutable_data();
  const real scale = p == 1 ? 0 : 1 / (1 - p);
  for (std::size_t i = 0; i < mask.numel(); ++i) m[i] = p < 1 && gen.uniform() >= p ? scale : 0;
  return mask;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const ProfileScope profile("scaled_dot_product_attention");
  const Dims d = check_attention(q, k, v, options);
  const bool causal = options.causal;
  const real* padding =
      options.key_padding_mask.defined() ? options.key_padding_mask.data() : nullptr;
  const std::size_t items = d.B * d.H;
  // The weights are an output of their own: saved for the backward, and handed to the
  // caller (options.weights) without a copy.
  // Packed, a sequence shorter than T leaves rows of its block unwritten: zeros, as for padding.
  Tensor weights = d.query_offsets ? Tensor::zeros({d.B, d.H, d.T, d.S})
                                   : Tensor::empty({d.B, d.H, d.T, d.S});
  real* pw = weights.mutable_data();
  Tensor mask;  // (B, H, T, S), drawn on the caller's thread before any parallel work
  if (options.dropout > 0)
    mask = dropout_mask(weights.shape(), options.dropout, *options.dropout_gen);
  const real* pm = mask.defined() ? mask.data() : nullptr;
  parallel_for(items, [&](std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      const Item it = item_at(d, i, q.data(), k.data(), v.data(), padding);
      attention_weights(d, causal, it, pw + it.weights);
    }
  }, item_grain(d));
  if (options.edit_weights) {  // the edit point: between the softmax and weights · v
    if (grad_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad()))
      fail("scaled_dot_product_attention: edit_weights is for inference; the backward assumes "
           "the softmax's weights (run it under NoGradGuard)");
    for (std::size_t i = 0; i < items; ++i)  // (T, S) blocks, rows d.S apart
      options.edit_weights(i / d.H, i % d.H, pw + i * d.T * d.S, d.T, d.S);
  }
  Tensor out = Tensor::empty(q.shape());  // heads side by side: (B, T, H·Dh) or (Nq, H·Dh)
  real* po = out.mutable_data();
  parallel_for(items, [&](std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      const Item it = item_at(d, i, q.data(), k.data(), v.data(), padding);
      attention_output(d, it, pw + it.weights, pm ? pm + it.weights : nullptr, po + it.rows_q);
    }
  }, item_grain(d));
  if (options.weights) *options.weights = weights.detach();

  // out = softmax(mask(q kᵀ · scale)) v per (b, h); the backward is in attention_backward
  // above and derived in docs/derivations.md
  Tensor y = record(out, "scaled_dot_product_attention", {q, k, v},
                    [q, k, v, weights, mask, padding_mask = options.key_padding_mask, dims = d,
                     query_offsets = options.query_offsets,
                     key_offsets = options.key_offsets](const Node& self) {
    Dims d = dims;  // the offsets it points to are the caller's: point to our copies
    if (d.query_offsets) {
      d.query_offsets = query_offsets.data();
      d.key_offsets = key_offsets.data();
    }
    // Each gradient in order, so that one tensor passed twice gets "assign" once (dq first).
    bool assign_q = false, assign_k = false, assign_v = false;
    real* dq = grad_buffer(q, assign_q);
    real* dk = grad_buffer(k, assign_k);
    real* dv = grad_buffer(v, assign_v);
    const real* pad = padding_mask.defined() ? padding_mask.data() : nullptr;
    const real* drop = mask.defined() ? mask.data() : nullptr;
    const real* pw = weights.data();
    // Item (b, h) writes only its own head's columns of batch row b: no two tasks collide.
    parallel_for(d.B * d.H, [&](std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i) {
        const Item it = item_at(d, i, q.data(), k.data(), v.data(), pad);
        attention_backward(d, it, pw + it.weights, drop ? drop + it.weights : nullptr,
                           self.grad.data() + it.rows_q, {dq ? dq + it.rows_q : nullptr, assign_q},
                           {dk ? dk + it.rows_k : nullptr, assign_k},
                           {dv ? dv + it.rows_k : nullptr, assign_v});
      }
    }, item_grain(d));
  });
  // The saved weights are checked like the inputs: a write through options.weights (the
  // same storage) would make this backward use weights the forward did not compute.
  if (y.requires_grad())
    y.node_ref().saved_versions.emplace_back(weights.node(), weights.version());
  return y;
}

// --- The composed reference ---

Tensor scaled_dot_product_attention_composed(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const AttentionOptions& options) {
  const Dims d = check_attention(q, k, v, options);
  if (options.edit_weights)
    fail("scaled_dot_product_attention_composed: edit_weights is the fused op's alone");
  if (d.query_offsets)
    fail("scaled_dot_product_attention_composed: takes the padded layout, not packed rows");
  // (B, L, D) -> (B, L, H, Dh) -> (B, H, L, Dh), and back
  const auto split_heads = [&](const Tensor& x) {
    return x.reshape({long(d.B), long(x.size(1)), long(d.H), long(d.Dh)}).permute({0, 2, 1, 3});
  };
  const Tensor q_heads = split_heads(q) * d.scale;  // (B, H, T, Dh), scaled first, as PyTorch
  Tensor scores = q_heads.matmul(split_heads(k).transpose(-2, -1));  // (B, H, T, S)
  // mask[b, 0, t, s] = 1 where key s is padding or lies in query t's future
  if (options.causal || options.key_padding_mask.defined()) {
    Tensor mask = Tensor::zeros({d.B, 1, d.T, d.S});
    for (std::size_t b = 0; b < d.B; ++b)
      for (std::size_t t = 0; t < d.T; ++t)
        for (std::size_t s = 0; s < d.S; ++s)
          if ((options.causal && s > t) || (options.key_padding_mask.defined() &&
                                            options.key_padding_mask.at({b, s}) != 0))
            mask.set({b, 0, t, s}, 1);
    // Masked keys get -inf, so softmax gives them weight exactly 0.
    scores = scores.masked_fill(mask, -INFINITY);
  }
  Tensor weights = scores.softmax(-1);  // (B, H, T, S), rows sum to 1
  if (options.weights) *options.weights = weights.detach();
  if (options.dropout > 0) weights = dropout(weights, options.dropout, true, *options.dropout_gen);
  // context = weights v: (B, H, T, S) @ (B, H, S, Dh) -> (B, H, T, Dh) -> (B, T, D)
  const Tensor context = weights.matmul(split_heads(v));
  return context.permute({0, 2, 1, 3}).reshape({long(d.B), long(d.T), long(d.D)});
}

}  // namespace crossgrad
