// ops_nn.cpp — the fused neural-net ops: softmax, log_softmax, cross_entropy, layer_norm and
// dropout. Each could be composed from primitives, but composing is slow (a temporary per
// step) or unstable (exp overflows), so each hand-writes its backward; the composed reference
// of each lives in tests/test_ops_nn.cpp beside a test that the two agree. Each backward is
// derived in docs/derivations.md under the op's name. Every op here works row by row (a
// lane, a sample, a position) and runs its rows on the thread pool; a row is computed by the
// same arithmetic whichever thread takes it, and sums across rows (a loss, a LayerNorm
// weight's gradient) run in a fixed order, so the thread count never changes a result.
// Read next: gradcheck.h.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "autograd/ops.h"
#include "autograd/profiler.h"
#include "autograd/thread_pool.h"

namespace crossgrad {

namespace {

using Contiguous = std::integral_constant<std::size_t, 1>;

// Calls kernel(base, stride) for every lane: the s.size elements along the split dim, element
// k of a lane at base + k * stride. The last dim (inner == 1) is the fast path: the stride is
// a compile-time 1, so lanes are contiguous and the loops vectorise. Other dims run the same
// kernel with stride `inner`, slower for the cache but off the hot path (the model uses -1).
// Lanes are independent, so they run on the thread pool.
template <class Kernel>
void for_each_lane(const Lanes& s, Kernel kernel) {
  if (s.inner == 1) {
    parallel_rows(s.outer, s.size, [&](std::size_t first, std::size_t last) {
      for (std::size_t o = first; o < last; ++o) kernel(o * s.size, Contiguous());
    });
    return;
  }
  parallel_rows(s.outer, s.size * s.inner, [&](std::size_t first, std::size_t last) {
    for (std::size_t o = first; o < last; ++o)
      for (std::size_t i = 0; i < s.inner; ++i) kernel(o * s.size * s.inner + i, s.inner);
  });
}

// The largest of n strided values; -inf for an all -inf lane. std::max(m, NaN) keeps m, but a
// NaN still reaches the output through exp(NaN - max), as in PyTorch.
template <class Stride>
real lane_max(const real* x, std::size_t n, Stride stride) {
  real m = -std::numeric_limits<real>::infinity();
  for (std::size_t k = 0; k < n; ++k) m = std::max(m, x[k * stride]);
  return m;
}

// log Σ_k e^(x_k - shift). Softmax is unchanged by subtracting a constant from a lane (it
// cancels between numerator and denominator); with shift = the lane's max every exponent is
// <= 0, so exp cannot overflow (e^89 is already infinite in float), and the largest term is
// exactly 1, so the sum cannot underflow to 0 and its log cannot be -inf.
template <class Stride>
real log_sum_exp_shifted(const real* x, std::size_t n, Stride stride, real shift) {
  real total = 0;
  for (std::size_t k = 0; k < n; ++k) total += std::exp(x[k * stride] - shift);
  return std::log(total);
}

}  // namespace

// --- softmax and log_softmax ---
// A lane that is entirely -inf (every position masked) has no softmax: its max is -inf, and
// -inf - (-inf) is NaN, so the whole lane comes out NaN. That is PyTorch's answer too, and it
// makes a fully masked row visible instead of silently attending to nothing.

Tensor softmax(const Tensor& x, int dim) {
  const ProfileScope profile("softmax");
  const Lanes s = lanes_along(x.shape(), normalize_dim(dim, x.dim(), "softmax"));
  Tensor y = Tensor::empty(x.shape());
  real* out = y.mutable_data();
  const real* in = x.data();
  for_each_lane(s, [&](std::size_t base, auto stride) {
    const real m = lane_max(in + base, s.size, stride);  // the shift: see log_sum_exp_shifted
    real total = 0;
    for (std::size_t k = 0; k < s.size; ++k) {
      const std::size_t i = base + k * stride;
      out[i] = std::exp(in[i] - m);
      total += out[i];
    }
    const real inverse = 1 / total;
    for (std::size_t k = 0; k < s.size; ++k) out[base + k * stride] *= inverse;
  });
  // y = e^x / Σe^x along dim; dx = y ⊙ (dy - Σ dy⊙y)
  return record(y, "softmax", {x},
                [x, s](const Node& self) {
                  real* dx = grad_buffer(x);
                  if (!dx) return;
                  const real* y = self.data.data();
                  const real* dy = self.grad.data();
                  for_each_lane(s, [&](std::size_t base, auto stride) {
                    real dot = 0;
                    for (std::size_t k = 0; k < s.size; ++k)
                      dot += dy[base + k * stride] * y[base + k * stride];
                    for (std::size_t k = 0; k < s.size; ++k) {
                      const std::size_t i = base + k * stride;
                      dx[i] += y[i] * (dy[i] - dot);
                    }
                  });
                });
}

Tensor log_softmax(const Tensor& x, int dim) {
  const ProfileScope profile("log_softmax");
  const Lanes s = lanes_along(x.shape(), normalize_dim(dim, x.dim(), "log_softmax"));
  Tensor y = Tensor::empty(x.shape());
  real* out = y.mutable_data();
  const real* in = x.data();
  for_each_lane(s, [&](std::size_t base, auto stride) {
    const real m = lane_max(in + base, s.size, stride);
    const real log_total = log_sum_exp_shifted(in + base, s.size, stride, m);
    // (x - m) - log_total rather than x - (m + log_total): x - m is exact near the max.
    for (std::size_t k = 0; k < s.size; ++k)
      out[base + k * stride] = (in[base + k * stride] - m) - log_total;
  });
  // y = x - log Σe^x along dim; dx = dy - softmax(x) Σ dy, where softmax(x) = e^y
  return record(y, "log_softmax", {x},
                [x, s](const Node& self) {
                  real* dx = grad_buffer(x);
                  if (!dx) return;
                  const real* y = self.data.data();
                  const real* dy = self.grad.data();
                  for_each_lane(s, [&](std::size_t base, auto stride) {
                    real total = 0;
                    for (std::size_t k = 0; k < s.size; ++k) total += dy[base + k * stride];
                    for (std::size_t k = 0; k < s.size; ++k) {
                      const std::size_t i = base + k * stride;
                      dx[i] += dy[i] - std::exp(y[i]) * total;
                    }
                  });
                });
}

// --- cross_entropy: log_softmax + negative log-likelihood (+ label smoothing), fused ---

namespace {

void check_cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& targets,
                         const CrossEntropyOptions& options) {
  if (logits.dim() != 2)
    fail("cross_entropy: logits must be 2-d (N, C), got shape " + to_string(logits.shape()));
  const std::size_t rows = logits.shape()[0], classes = logits.shape()[1];
  if (targets.size() != rows)
    fail("cross_entropy: " + std::to_string(targets.size()) + " targets for logits of shape " +
         to_string(logits.shape()) + ": expected " + std::to_string(rows));
  if (!(options.label_smoothing >= 0 && options.label_smoothing <= 1))
    fail("cross_entropy: label_smoothing must be in [0, 1], got " +
         std::to_string(options.label_smoothing));
  for (std::size_t n = 0; n < rows; ++n) {
    const std::int64_t t = targets[n];
    if (t != options.ignore_index && (t < 0 || static_cast<std::size_t>(t) >= classes))
      fail("cross_entropy: target " + std::to_string(t) + " at position " + std::to_string(n) +
           " is out of range [0, " + std::to_string(classes) + ") for logits of shape " +
           to_string(logits.shape()) + " (and is not ignore_index " +
           std::to_string(options.ignore_index) + ")");
  }
}

struct RowNormaliser {  // log p_c = (x_c - max) - log_sum for the row's logits x
  real max = 0, log_sum = 0;
};

// Σ over non-ignored rows of Σ_c q_c (-log p_c), in double (a float sum over a large batch
// would drift); fills each row's normaliser and counts the rows. The rows' terms are
// computed on the thread pool, then added in row order.
double cross_entropy_sum(const Tensor& logits, const std::vector<std::int64_t>& targets,
                         const CrossEntropyOptions& options, std::vector<RowNormaliser>& norm,
                         std::size_t& valid) {
  const std::size_t classes = logits.shape()[1];
  const double smoothing = options.label_smoothing;
  std::vector<double> terms(targets.size(), 0.0);
  parallel_rows(targets.size(), classes, [&](std::size_t first, std::size_t last) {
    for (std::size_t n = first; n < last; ++n) {
      if (targets[n] == options.ignore_index) continue;
      const real* x = logits.data() + n * classes;
      const real m = lane_max(x, classes, Contiguous());
      norm[n] = {m, log_sum_exp_shifted(x, classes, Contiguous(), m)};
      auto neg_log_p = [&](std::size_t c) { return double(norm[n].log_sum - (x[c] - m)); };
      double smooth = 0;  // Σ_c -log p_c, only when used (PyTorch too: 0 · inf would be NaN)
      if (smoothing > 0)
        for (std::size_t c = 0; c < classes; ++c) smooth += neg_log_p(c);
      const auto target = static_cast<std::size_t>(targets[n]);
      terms[n] = (1 - smoothing) * neg_log_p(target) + smoothing * smooth / double(classes);
    }
  });
  double total = 0;
  for (std::size_t n = 0; n < targets.size(); ++n) {
    if (targets[n] == options.ignore_index) continue;
    total += terms[n];
    ++valid;
  }
  return total;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& targets,
                     const CrossEntropyOptions& options) {
  const ProfileScope profile("cross_entropy");
  check_cross_entropy(logits, targets, options);
  const std::size_t classes = logits.shape()[1];  // logits: (N, C)
  std::vector<RowNormaliser> norm(targets.size());  // saved: N pairs instead of N×C probs
  std::size_t valid = 0;
  const double total = cross_entropy_sum(logits, targets, options, norm, valid);
  // With every target ignored the mean is over no terms: 0/0 = NaN, exactly as PyTorch.
  const real loss = static_cast<real>(total / static_cast<double>(valid));
  // loss = (1/n_valid) Σ_n Σ_c q_nc (-log p_nc) with q = (1-ε) one_hot(y) + ε/C;
  // dloss/dx_nc = (p_nc - q_nc) / n_valid  (Σ_c q_nc = 1), and 0 for ignored rows
  return record(Tensor::scalar(loss), "cross_entropy", {logits},
                [logits, targets, options, norm, valid, classes](const Node& self) {
                  real* dx = grad_buffer(logits);  // zeros even when no target counts
                  if (!dx || valid == 0) return;
                  const real scale = self.grad[0] / static_cast<real>(valid);
                  const real eps = options.label_smoothing;
                  parallel_rows(targets.size(), classes, [&](std::size_t first,
                                                             std::size_t last) {
                    for (std::size_t n = first; n < last; ++n) {
                      if (targets[n] == options.ignore_index) continue;
                      const real* x = logits.data() + n * classes;
                      for (std::size_t c = 0; c < classes; ++c) {
                        const real p = std::exp((x[c] - norm[n].max) - norm[n].log_sum);
                        const real q = eps / static_cast<real>(classes) +
                                       (c == static_cast<std::size_t>(targets[n]) ? 1 - eps : 0);
                        dx[n * classes + c] += scale * (p - q);
                      }
                    }
                  });
                });
}

// --- layer_norm ---

namespace {

void check_layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, real eps) {
  if (x.dim() == 0) fail("layer_norm: x must have at least 1 dim, got shape ()");
  const Shape expected{x.shape().back()};
  for (const auto& [name, t] : {std::pair{"weight", weight}, std::pair{"bias", bias}})
    if (t.defined() && t.shape() != expected)
      fail(std::string("layer_norm: ") + name + " of shape " + to_string(t.shape()) +
           " does not match x of shape " + to_string(x.shape()) + ": expected " +
           to_string(expected));
  if (!(eps >= 0)) fail("layer_norm: eps must be >= 0, got " + std::to_string(eps));
}

// Normalises rows [first, last) of D features: out = x̂ w + b with x̂ = (x - μ) rstd, saving
// μ and rstd.
void layer_norm_rows(const real* x, const real* w, const real* b, real eps, std::size_t first,
                     std::size_t last, std::size_t features, real* out, real* mean, real* rstd) {
  for (std::size_t r = first; r < last; ++r) {
    const real* row = x + r * features;
    real sum = 0, squares = 0;
    for (std::size_t d = 0; d < features; ++d) sum += row[d];
    mean[r] = sum / static_cast<real>(features);
    // Two passes: Σ(x - μ)² stays accurate where E[x²] - μ² would cancel catastrophically.
    for (std::size_t d = 0; d < features; ++d)
      squares += (row[d] - mean[r]) * (row[d] - mean[r]);
    rstd[r] = 1 / std::sqrt(squares / static_cast<real>(features) + eps);  // biased variance
    for (std::size_t d = 0; d < features; ++d)
      out[r * features + d] = (row[d] - mean[r]) * rstd[r] * (w ? w[d] : 1) + (b ? b[d] : 0);
  }
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, real eps) {
  const ProfileScope profile("layer_norm");
  check_layer_norm(x, weight, bias, eps);
  const Lanes s = lanes_along(x.shape(), x.dim() - 1);  // x: (rows, D) with rows = s.outer
  const std::size_t rows = s.outer, features = s.size;
  Tensor y = Tensor::empty(x.shape());
  Tensor stats = Tensor::empty({2, rows});  // μ and rstd of each row, saved for backward
  real* out = y.mutable_data();
  real* mean = stats.mutable_data();
  real* rstd = mean + rows;
  const real* w = weight.defined() ? weight.data() : nullptr;
  const real* b = bias.defined() ? bias.data() : nullptr;
  parallel_rows(rows, features, [&](std::size_t first, std::size_t last) {
    layer_norm_rows(x.data(), w, b, eps, first, last, features, out, mean, rstd);
  });
  // y = x̂ w + b, x̂ = (x - μ) rstd; dx̂ = dy w; dx = rstd (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂));
  // dw = Σ_rows dy x̂; db = Σ_rows dy
  return record(y, "layer_norm", {x, weight, bias},
                [x, weight, bias, stats, rows, features](const Node& self) {
                  const real* mean = stats.data();
                  const real* rstd = mean + rows;
                  bool assign = false;  // dx's first gradient: written, not added
                  real* dx = grad_buffer(x, assign);
                  real* dw = grad_buffer(weight);
                  real* db = grad_buffer(bias);
                  const real* w = weight.defined() ? weight.data() : nullptr;
                  const real* dy = self.grad.data();
                  const real* px = x.data();
                  const auto n = static_cast<real>(features);
                  if (dx) parallel_rows(rows, 2 * features, [&](std::size_t first,
                                                               std::size_t last) {
                    for (std::size_t r = first; r < last; ++r) {
                      const real* row = px + r * features;
                      const real* g = dy + r * features;
                      const real mu = mean[r], rs = rstd[r];
                      real sum_dx_hat = 0, sum_dx_hat_x_hat = 0;
                      for (std::size_t d = 0; d < features; ++d) {
                        const real dx_hat = g[d] * (w ? w[d] : 1);
                        sum_dx_hat += dx_hat;
                        sum_dx_hat_x_hat += dx_hat * ((row[d] - mu) * rs);
                      }
                      const real mean_dx_hat = sum_dx_hat / n;
                      const real mean_dx_hat_x_hat = sum_dx_hat_x_hat / n;
                      real* dx_row = dx + r * features;
                      for (std::size_t d = 0; d < features; ++d) {
                        const real value = rs * (g[d] * (w ? w[d] : 1) - mean_dx_hat -
                                                 (row[d] - mu) * rs * mean_dx_hat_x_hat);
                        dx_row[d] = assign ? value : dx_row[d] + value;
                      }
                    }
                  });
                  // Sums over rows, in one pass for both: split by features, each feature
                  // summing its rows in order.
                  if (dw || db) parallel_rows(features, 2 * rows, [&](std::size_t first,
                                                                     std::size_t last) {
                    for (std::size_t r = 0; r < rows; ++r) {
                      const real* row = px + r * features;
                      const real* g = dy + r * features;
                      const real mu = mean[r], rs = rstd[r];
                      if (dw)
                        for (std::size_t d = first; d < last; ++d)
                          dw[d] += g[d] * ((row[d] - mu) * rs);
                      if (db)
                        for (std::size_t d = first; d < last; ++d) db[d] += g[d];
                    }
                  });
                });
}

// --- dropout ---

Tensor dropout(const Tensor& x, real p, bool training, Generator& gen) {
  const ProfileScope profile("dropout");
  if (!(p >= 0 && p <= 1))
    fail("dropout: probability p must be in [0, 1], got " + std::to_string(p));
  if (!training || p == 0) return x;  // the identity: x itself, so its gradient passes as is
  // p == 1 drops everything: zeros and no draws, as in PyTorch (1/(1-p) would be infinite).
  // Otherwise one uniform draw per element, in order, so a seeded gen gives the same mask.
  // The draws stay on this thread and in order; only applying the mask runs in parallel.
  const real scale = p == 1 ? 0 : 1 / (1 - p);
  Tensor mask = Tensor::empty(x.shape());
  real* m = mask.mutable_data();
  for (std::size_t i = 0; i < x.numel(); ++i)
    m[i] = p < 1 && gen.uniform() >= p ? scale : 0;  // kept with probability 1 - p
  Tensor y = Tensor::empty(x.shape());
  real* out = y.mutable_data();
  parallel_rows(x.numel(), 1, [&](std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) out[i] = x.data()[i] * m[i];
  });
  // y = x ⊙ m with m_i ∈ {0, 1/(1-p)}; dx = dy ⊙ m
  return record(y, "dropout", {x},
                [x, mask](const Node& self) {
                  real* dx = grad_buffer(x);
                  if (!dx) return;
                  const real* m = mask.data();
                  parallel_rows(mask.numel(), 1, [&](std::size_t first, std::size_t last) {
                    for (std::size_t i = first; i < last; ++i) dx[i] += self.grad[i] * m[i];
                  });
                },
                Saves::nothing);
}

}  // namespace crossgrad
