// ops_shape.cpp — ops that move elements without changing them: reshape, unsqueeze, squeeze,
// transpose, permute, expand, slice, concat and split. Every tensor is contiguous, so a
// result that reads its input's elements in order — reshape, unsqueeze, squeeze, and a slice
// that keeps one contiguous block (along dim 0, or with nothing outside it) — is a view: it
// shares the input's storage and copies nothing. The others (permute, transpose, expand,
// other slices, concat) make fresh tensors with cache-friendly copies. Read next: ops_index.cpp.
#include <algorithm>
#include <string>

#include "autograd/ops.h"
#include "autograd/profiler.h"

namespace crossgrad {

namespace {

// --- Strided copies: the one loop behind permute, transpose and expand ---

// One axis of a walk through the input: how many steps, and how far each step moves.
struct Axis { std::size_t size, stride; };

// Drops size-1 axes and merges an axis into the one before it when the pair steps through
// the input like a single axis (outer stride = inner stride · inner size). Contiguous
// stretches collapse: (B,T,H,Dh) -> (B,H,T,Dh) keeps 4 axes, but its last one is read
// with stride 1, and expanding (D) to (B,T,D) becomes one stride-0 axis and one of D.
std::vector<Axis> merged_axes(const Shape& out_shape, const std::vector<std::size_t>& strides) {
  std::vector<Axis> axes;
  for (std::size_t d = 0; d < out_shape.size(); ++d) {
    if (out_shape[d] == 1) continue;
    const Axis axis{out_shape[d], strides[d]};
    if (!axes.empty() && axes.back().stride == axis.stride * axis.size)
      axes.back() = {axes.back().size * axis.size, axis.stride};
    else axes.push_back(axis);
  }
  if (axes.empty()) axes.push_back({1, 1});  // a single element
  return axes;
}

// Calls run(out_offset, in_offset, length, in_step) for runs along the innermost output axis,
// covering the output once; in_strides[d] is how far the input moves per step of output
// dim d. Runs go in output order: writes are sequential, and so are reads when in_step is 1.
// A long strided inner axis (a big transpose) is cut into tiles of kTile columns walked down
// all rows, so the kTile input lines a tile reads stay in cache (8: with a power-of-two row
// stride they share one L1 set, which holds 8 lines); 1024² transposes ~5x faster.
constexpr std::size_t kTile = 8;
template <class Run>
void for_each_run(const Shape& out_shape, const std::vector<std::size_t>& in_strides, Run run) {
  const std::size_t n = numel(out_shape);
  if (n == 0) return;
  std::vector<Axis> axes = merged_axes(out_shape, in_strides);
  if (axes.size() == 1) axes.insert(axes.begin(), Axis{1, 0});
  const Axis inner = axes.back(), row = axes[axes.size() - 2];
  axes.resize(axes.size() - 2);
  const std::size_t tile = inner.stride > 1 && inner.size > 4 * kTile ? kTile : inner.size;
  std::vector<std::size_t> coord(axes.size(), 0);
  std::size_t in_offset = 0;
  for (std::size_t out_offset = 0; out_offset < n; out_offset += row.size * inner.size) {
    for (std::size_t c = 0; c < inner.size; c += tile)  // one (row, inner) plane
      for (std::size_t r = 0; r < row.size; ++r)
        run(out_offset + r * inner.size + c, in_offset + r * row.stride + c * inner.stride,
            std::min(tile, inner.size - c), inner.stride);
    for (std::size_t d = axes.size(); d-- > 0;) {  // odometer step, carrying leftwards
      in_offset += axes[d].stride;
      if (++coord[d] < axes[d].size) break;
      in_offset -= axes[d].stride * axes[d].size;
      coord[d] = 0;
    }
  }
}

// out = (or +=) `in` read through in_strides, for every element of out_shape.
template <bool kAccumulate>
void copy_strided_into(const real* in, const Shape& out_shape, const std::vector<std::size_t>& in_strides,
                 real* out) {
  for_each_run(out_shape, in_strides, [&](std::size_t o, std::size_t i, std::size_t n,
                                          std::size_t step) {
    real* to = out + o;
    const real* from = in + i;
    auto put = [](real& target, real value) {
      if constexpr (kAccumulate) target += value; else target = value;
    };
    if (step == 1) for (std::size_t k = 0; k < n; ++k) put(to[k], from[k]);  // vectorises
    else for (std::size_t k = 0; k < n; ++k) put(to[k], from[k * step]);
  });
}

// y = x read through in_strides (a permutation, or 0 along broadcast dims), as a new tensor.
Tensor copy_strided(const Tensor& x, const Shape& out_shape,
                    const std::vector<std::size_t>& in_strides) {
  Tensor out = Tensor::empty(out_shape);
  copy_strided_into<false>(x.data(), out_shape, in_strides, out.mutable_data());
  return out;
}

// dx[through in_strides] += dy: expand's backward, summing dy where a stride is 0.
void scatter_add(const real* dy, const Shape& out_shape,
                 const std::vector<std::size_t>& in_strides, real* dx) {
  for_each_run(out_shape, in_strides, [&](std::size_t o, std::size_t i, std::size_t n,
                                          std::size_t step) {
    for (std::size_t k = 0; k < n; ++k) dx[i + k * step] += dy[o + k];
  });
}

// x's values under a new shape of the same size: a view. y = x; dx = dy, element for element.
Tensor with_shape(const Tensor& x, const Shape& shape, const char* op) {
  const ProfileScope profile(op);
  return record(make_view(x, shape), op, {x}, [x](const Node& self) {
    bool assign = false;
    real* dx = grad_buffer(x, assign);
    if (!dx) return;
    if (assign) std::copy(self.grad.begin(), self.grad.end(), dx);
    else for (std::size_t i = 0; i < self.grad.size(); ++i) dx[i] += self.grad[i];
  }, Saves::nothing);
}

// y = x with its dims reordered: y's dim d is x's dim perm[d].
Tensor permuted(const Tensor& x, const std::vector<std::size_t>& perm, const char* op) {
  const ProfileScope profile(op);
  const std::vector<std::size_t> x_strides = strides_of(x.shape());
  Shape out_shape(perm.size());
  std::vector<std::size_t> in_strides(perm.size());
  for (std::size_t d = 0; d < perm.size(); ++d) {
    out_shape[d] = x.shape()[perm[d]];
    in_strides[d] = x_strides[perm[d]];
  }
  const std::vector<std::size_t> y_strides = strides_of(out_shape);
  std::vector<std::size_t> back_strides(perm.size());
  for (std::size_t d = 0; d < perm.size(); ++d) back_strides[perm[d]] = y_strides[d];
  // y[..., i_d, ...] = x with i_d on dim perm[d]; dx = dy read through the inverse permutation
  return record(copy_strided(x, out_shape, in_strides), op, {x},
                [x, back_strides](const Node& self) {
                  if (real* dx = grad_buffer(x))
                    copy_strided_into<true>(self.grad.data(), x.shape(), back_strides, dx);
                }, Saves::nothing);
}

// The shape reshape asks for, with its one -1 (if any) filled in from x's element count.
Shape resolve_shape(const Shape& from, const std::vector<long>& request) {
  const std::string cannot = "reshape: cannot reshape " + to_string(from) + " of " +
                             std::to_string(numel(from)) + " elements into " +
                             to_string(request);
  Shape shape(request.size());
  std::size_t known = 1, inferred = request.size();
  for (std::size_t i = 0; i < request.size(); ++i) {
    if (request[i] == -1 && inferred != request.size())
      fail(cannot + ": only one size may be -1");
    if (request[i] < -1) fail(cannot + ": size " + std::to_string(request[i]) + " is negative");
    if (request[i] == -1) inferred = i;
    else known *= (shape[i] = static_cast<std::size_t>(request[i]));
  }
  if (inferred != request.size()) {
    if (known == 0) fail(cannot + ": the -1 is ambiguous next to a size of 0");
    shape[inferred] = numel(from) / known;
  }
  if (numel(shape) != numel(from)) fail(cannot);
  return shape;
}

}  // namespace

// --- Same values, another shape ---

Tensor reshape(const Tensor& x, const std::vector<long>& shape) {
  return with_shape(x, resolve_shape(x.shape(), shape), "reshape");
}

Tensor unsqueeze(const Tensor& x, int dim) {
  Shape shape = x.shape();
  const std::size_t d = normalize_dim(dim, shape.size() + 1, "unsqueeze");  // may be ndim
  shape.insert(shape.begin() + static_cast<long>(d), 1);
  return with_shape(x, shape, "unsqueeze");
}

Tensor squeeze(const Tensor& x, int dim) {
  Shape shape = x.shape();
  const std::size_t d = normalize_dim(dim, shape.size(), "squeeze");
  if (shape[d] != 1)
    fail("squeeze: dim " + std::to_string(dim) + " of shape " + to_string(shape) +
         " has size " + std::to_string(shape[d]) + ", not 1");
  shape.erase(shape.begin() + static_cast<long>(d));
  return with_shape(x, shape, "squeeze");
}

// --- Reordering dims ---

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  std::vector<std::size_t> perm(x.dim());
  for (std::size_t d = 0; d < perm.size(); ++d) perm[d] = d;
  std::swap(perm[normalize_dim(dim0, x.dim(), "transpose")],
            perm[normalize_dim(dim1, x.dim(), "transpose")]);
  return permuted(x, perm, "transpose");
}

Tensor permute(const Tensor& x, const std::vector<int>& dims) {
  const std::string not_a_permutation = "permute: dims " + to_string(dims) +
                                        " are not a permutation of the dims of shape " +
                                        to_string(x.shape());
  if (dims.size() != x.dim()) fail(not_a_permutation);
  std::vector<std::size_t> perm(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t d = 0; d < dims.size(); ++d) {
    perm[d] = normalize_dim(dims[d], x.dim(), "permute");
    if (seen[perm[d]]) fail(not_a_permutation);
    seen[perm[d]] = true;
  }
  return permuted(x, perm, "permute");
}

// --- Broadcasting ---

Tensor expand(const Tensor& x, const Shape& shape) {
  const ProfileScope profile("expand");
  const Shape& from = x.shape();
  // Sizes align from the right; each of x's must equal the target's or be 1.
  bool fits = from.size() <= shape.size();
  for (std::size_t i = 0; fits && i < from.size(); ++i)
    fits = from[i] == 1 || from[i] == shape[shape.size() - from.size() + i];
  if (!fits)
    fail("expand: shape " + to_string(from) + " cannot be broadcast to " + to_string(shape));
  const std::vector<std::size_t> in_strides = broadcast_strides(from, shape);
  // y = x repeated along broadcast dims; dx = dy summed over them
  return record(copy_strided(x, shape, in_strides), "expand", {x},
                [x, in_strides](const Node& self) {
                  if (real* dx = grad_buffer(x))
                    scatter_add(self.grad.data(), self.shape, in_strides, dx);
                }, Saves::nothing);
}

// --- Pieces along one dim: x seen as (outer, size, inner) ---

Tensor slice(const Tensor& x, int dim, std::size_t start, std::size_t end) {
  const ProfileScope profile("slice");
  const std::size_t d = normalize_dim(dim, x.dim(), "slice");
  const Lanes s = lanes_along(x.shape(), d);
  if (start > end || end > s.size)
    fail("slice: range [" + std::to_string(start) + ", " + std::to_string(end) +
         ") is not within dim " + std::to_string(dim) + " of size " + std::to_string(s.size) +
         " in shape " + to_string(x.shape()) + " (need start <= end <= size)");
  Shape shape = x.shape();
  shape[d] = end - start;
  const std::size_t block = shape[d] * s.inner;  // elements kept per outer index
  Tensor y;
  if (s.outer == 1) {  // one block (a slice along dim 0, or with nothing outside it): a view
    y = make_view(x, shape, start * s.inner);
  } else {
    y = Tensor::empty(shape);
    real* out = y.mutable_data();
    for (std::size_t o = 0; o < s.outer; ++o) {
      const real* from = x.data() + (o * s.size + start) * s.inner;
      std::copy(from, from + block, out + o * block);
    }
  }
  // y[o, k, i] = x[o, start + k, i]; dx[o, start + k, i] += dy[o, k, i]
  return record(y, "slice", {x}, [x, s, start, block](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t o = 0; o < s.outer; ++o) {
      real* to = dx + (o * s.size + start) * s.inner;
      for (std::size_t j = 0; j < block; ++j) to[j] += self.grad[o * block + j];
    }
  }, Saves::nothing);
}

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  const ProfileScope profile("concat");
  if (xs.empty()) fail("concat: needs at least one tensor, got none");
  for (std::size_t k = 0; k < xs.size(); ++k)
    if (!xs[k].defined()) fail("concat: tensor " + std::to_string(k) + " is undefined");
  const std::size_t d = normalize_dim(dim, xs[0].dim(), "concat");
  Shape shape = xs[0].shape();
  shape[d] = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    Shape same = xs[k].shape();
    if (same.size() == shape.size()) same[d] = 0;
    if (same != shape)
      fail("concat: tensor " + std::to_string(k) + " has shape " + to_string(xs[k].shape()) +
           " but tensor 0 has shape " + to_string(xs[0].shape()) +
           "; they must match in every dim except dim " + std::to_string(d));
  }
  for (const Tensor& x : xs) shape[d] += x.shape()[d];
  const Lanes s = lanes_along(shape, d);
  Tensor y = Tensor::empty(shape);
  real* out = y.mutable_data();
  // For each outer index, the pieces' blocks follow one another: (outer, [x0 | x1 | ...], inner).
  for (std::size_t o = 0, at = 0; o < s.outer; ++o)
    for (const Tensor& x : xs) {
      const std::size_t block = x.shape()[d] * s.inner;
      std::copy(x.data() + o * block, x.data() + (o + 1) * block, out + at);
      at += block;
    }
  // y = [x0 | x1 | ...] along dim; each dx_k is its own block of dy
  return record(y, "concat", xs, [xs, d, s](const Node& self) {
    for (std::size_t o = 0, at = 0; o < s.outer; ++o)
      for (const Tensor& x : xs) {
        const std::size_t block = x.shape()[d] * s.inner;
        if (real* dx = grad_buffer(x))
          for (std::size_t j = 0; j < block; ++j) dx[o * block + j] += self.grad[at + j];
        at += block;
      }
  }, Saves::nothing);
}

// Composed from slice, so no backward of its own.
std::vector<Tensor> split(const Tensor& x, std::size_t split_size, int dim) {
  const std::size_t size = x.shape()[normalize_dim(dim, x.dim(), "split")];
  if (split_size == 0)
    fail("split: split_size must be positive, got 0 for shape " + to_string(x.shape()));
  if (size == 0) return {slice(x, dim, 0, 0)};  // one empty piece, as in PyTorch
  std::vector<Tensor> pieces;
  for (std::size_t start = 0; start < size; start += split_size)
    pieces.push_back(slice(x, dim, start, std::min(start + split_size, size)));
  return pieces;
}

}  // namespace crossgrad
