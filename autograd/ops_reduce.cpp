// ops_reduce.cpp — reductions: sum and max (over everything or along one dim), mean composed
// from sum, and argmax (not differentiable; greedy decoding uses it). A reduction along dim
// sees x as (outer, size, inner) in row-major order (lanes_along) and reduces each lane.
// Read next: ops_shape.cpp.
#include <cmath>

#include "autograd/ops.h"
#include "autograd/profiler.h"

namespace crossgrad {

namespace {

// x's shape without dim, or with dim kept as size 1.
Shape reduced_shape(const Shape& shape, std::size_t dim, bool keepdim) {
  Shape out = shape;
  if (keepdim) out[dim] = 1;
  else out.erase(out.begin() + static_cast<long>(dim));
  return out;
}

// NaN propagates like PyTorch: a NaN beats every number, and the first NaN wins.
bool beats(real candidate, real best) {
  return candidate > best || (std::isnan(candidate) && !std::isnan(best));
}

// For every (outer, inner) position, the index k in [0, size) of the first maximum of
// x[outer, k, inner]; laid out as (outer, inner). size must be positive.
std::vector<std::size_t> first_max_indices(const real* x, Lanes s) {
  std::vector<std::size_t> best(s.outer * s.inner, 0);
  for (std::size_t o = 0; o < s.outer; ++o) {
    const real* block = x + o * s.size * s.inner;
    std::size_t* row = best.data() + o * s.inner;
    for (std::size_t k = 1; k < s.size; ++k)  // k outside, i inside: reads stay sequential
      for (std::size_t i = 0; i < s.inner; ++i)
        if (beats(block[k * s.inner + i], block[row[i] * s.inner + i])) row[i] = k;
  }
  return best;
}

// The max of nothing is undefined (PyTorch raises too): name the op, the dim and the shape.
void require_elements(const Tensor& x, std::size_t size, const char* op, const std::string& over) {
  if (size == 0)
    fail(std::string(op) + ": cannot take the max over " + over + " of shape " +
         to_string(x.shape()) + ": there are no elements to compare");
}

}  // namespace

// --- sum ---

Tensor sum(const Tensor& x) {
  const ProfileScope profile("sum");
  // Accumulated in double so a float32 sum of many elements keeps its digits.
  double total = 0;
  const real* in = x.data();
  for (std::size_t i = 0; i < x.numel(); ++i) total += in[i];
  // y = Σ x; dy/dx = 1
  return record(Tensor::scalar(real(total)), "sum", {x}, [x](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t i = 0; i < x.numel(); ++i) dx[i] += self.grad[0];
  }, Saves::nothing);
}

Tensor sum(const Tensor& x, int dim, bool keepdim) {
  const ProfileScope profile("sum");
  const std::size_t d = normalize_dim(dim, x.dim(), "sum");
  const Lanes s = lanes_along(x.shape(), d);
  std::vector<double> total(s.outer * s.inner, 0.0);  // (outer, inner)
  const real* in = x.data();
  for (std::size_t o = 0; o < s.outer; ++o)
    for (std::size_t k = 0; k < s.size; ++k)
      for (std::size_t i = 0; i < s.inner; ++i)
        total[o * s.inner + i] += in[(o * s.size + k) * s.inner + i];
  Tensor y = make_tensor(std::vector<real>(total.begin(), total.end()),
                         reduced_shape(x.shape(), d, keepdim));
  // y[o, i] = Σ_k x[o, k, i]; dx[o, k, i] = dy[o, i]
  return record(y, "sum", {x}, [x, s](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t k = 0; k < s.size; ++k)
        for (std::size_t i = 0; i < s.inner; ++i)
          dx[(o * s.size + k) * s.inner + i] += self.grad[o * s.inner + i];
  }, Saves::nothing);
}

// --- mean: composed, so no backward of its own ---
// The mean of no elements is 0 · (1/0) = NaN, as in PyTorch (not an error).

Tensor mean(const Tensor& x) { return sum(x) * (real(1) / real(x.numel())); }

Tensor mean(const Tensor& x, int dim, bool keepdim) {
  const std::size_t n = x.shape()[normalize_dim(dim, x.dim(), "mean")];
  return sum(x, dim, keepdim) * (real(1) / real(n));
}

// --- max ---
// At a tie the whole gradient goes to the first maximal element (in row-major order). This
// is a valid subgradient and deterministic. PyTorch's max(dim) also routes to the index it
// returns; its max() over everything instead splits the gradient evenly among the ties.

Tensor max(const Tensor& x) {
  const ProfileScope profile("max");
  require_elements(x, x.numel(), "max", "all elements");
  const std::size_t best = first_max_indices(x.data(), {1, x.numel(), 1})[0];
  // y = max x; dy/dx = 1 at the first maximum, 0 elsewhere
  return record(Tensor::scalar(x.data()[best]), "max", {x}, [x, best](const Node& self) {
    if (real* dx = grad_buffer(x)) dx[best] += self.grad[0];
  });
}

Tensor max(const Tensor& x, int dim, bool keepdim) {
  const ProfileScope profile("max");
  const std::size_t d = normalize_dim(dim, x.dim(), "max");
  const Lanes s = lanes_along(x.shape(), d);
  require_elements(x, s.size, "max", "dim " + std::to_string(dim));
  std::vector<std::size_t> best = first_max_indices(x.data(), s);  // (outer, inner)
  std::vector<real> out(best.size());
  for (std::size_t o = 0; o < s.outer; ++o)
    for (std::size_t i = 0; i < s.inner; ++i)
      out[o * s.inner + i] = x.data()[(o * s.size + best[o * s.inner + i]) * s.inner + i];
  Tensor y = make_tensor(std::move(out), reduced_shape(x.shape(), d, keepdim));
  // y[o, i] = max_k x[o, k, i]; dx[o, k*, i] = dy[o, i] at the first maximum k*
  return record(y, "max", {x}, [x, s, best = std::move(best)](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t i = 0; i < s.inner; ++i)
        dx[(o * s.size + best[o * s.inner + i]) * s.inner + i] += self.grad[o * s.inner + i];
  });
}

std::vector<std::int64_t> argmax(const Tensor& x, int dim) {
  const std::size_t d = normalize_dim(dim, x.dim(), "argmax");
  const Lanes s = lanes_along(x.shape(), d);
  require_elements(x, s.size, "argmax", "dim " + std::to_string(dim));
  const std::vector<std::size_t> best = first_max_indices(x.data(), s);
  return std::vector<std::int64_t>(best.begin(), best.end());
}

}  // namespace crossgrad
