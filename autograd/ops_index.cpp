// ops_index.cpp — picking rows by id (index_select, embedding) and masking (masked_fill).
// index_select and masked_fill are primitives with their backward below them; embedding is
// composed (rows picked as index_select picks them, then a reshape), so it needs no
// backward of its own. Read next: ops_matmul.cpp.
#include <algorithm>
#include <cmath>
#include <optional>

#include "autograd/broadcast.h"
#include "autograd/ops.h"
#include "autograd/profiler.h"

namespace crossgrad {

namespace {

// The first index outside [0, size), if any: the one range check behind index_select and
// embedding (each words its own message).
std::optional<std::int64_t> first_out_of_range(const std::vector<std::int64_t>& index,
                                               std::size_t size) {
  for (std::int64_t id : index)
    if (id < 0 || static_cast<std::size_t>(id) >= size) return id;
  return std::nullopt;
}

// index_select without the range check: every index is known to be in [0, size of dim d).
Tensor select_checked(const Tensor& x, std::size_t d, const std::vector<std::int64_t>& index) {
  const ProfileScope profile("index_select");
  const Lanes s = lanes_along(x.shape(), d);  // x seen as (outer, size, inner)
  Shape shape = x.shape();
  shape[d] = index.size();  // out seen as (outer, index.size(), inner)
  std::vector<real> out(numel(shape));
  const real* in = x.data();
  for (std::size_t o = 0; o < s.outer; ++o)
    for (std::size_t k = 0; k < index.size(); ++k) {
      const real* row = in + (o * s.size + static_cast<std::size_t>(index[k])) * s.inner;
      std::copy(row, row + s.inner, out.begin() + (o * index.size() + k) * s.inner);
    }
  // y[o, k, i] = x[o, index[k], i]; dx[o, index[k], i] += dy[o, k, i]. The += is the point:
  // an id picked twice (a token that appears twice in a batch) gets both gradients.
  return record(make_tensor(std::move(out), shape), "index_select", {x},
                [x, s, index](const Node& self) {
                  real* dx = grad_buffer(x);
                  if (!dx) return;
                  for (std::size_t o = 0; o < s.outer; ++o)
                    for (std::size_t k = 0; k < index.size(); ++k) {
                      const real* dy = self.grad.data() + (o * index.size() + k) * s.inner;
                      real* dx_row =
                          dx + (o * s.size + static_cast<std::size_t>(index[k])) * s.inner;
                      for (std::size_t i = 0; i < s.inner; ++i) dx_row[i] += dy[i];
                    }
                },
                Saves::nothing);
}

}  // namespace

Tensor index_select(const Tensor& x, int dim, const std::vector<std::int64_t>& index) {
  const std::size_t d = normalize_dim(dim, x.dim(), "index_select");
  if (const auto bad = first_out_of_range(index, x.shape()[d]))
    fail("index_select: index " + std::to_string(*bad) + " is out of range for dim " +
         std::to_string(d) + " of size " + std::to_string(x.shape()[d]) + " (x of shape " +
         to_string(x.shape()) + ")");
  return select_checked(x, d, index);
}

Tensor embedding(const Tensor& weight, const std::vector<std::int64_t>& ids,
                 const Shape& ids_shape) {
  if (weight.dim() != 2)
    fail("embedding: weight must be 2-d (V, D), got shape " + to_string(weight.shape()));
  if (ids.size() != numel(ids_shape))
    fail("embedding: " + std::to_string(ids.size()) + " ids cannot fill ids_shape " +
         to_string(ids_shape) + " of " + std::to_string(numel(ids_shape)) + " elements");
  const std::size_t vocab = weight.shape()[0];
  if (const auto bad = first_out_of_range(ids, vocab))
    fail("embedding: id " + std::to_string(*bad) + " is out of range for a weight of shape " +
         to_string(weight.shape()) + " (" + std::to_string(vocab) + " rows)");
  // weight: (V, D) -> rows: (ids.size(), D) -> ids_shape + (D)
  std::vector<long> shape(ids_shape.begin(), ids_shape.end());
  shape.push_back(static_cast<long>(weight.shape()[1]));
  return reshape(select_checked(weight, 0, ids), shape);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, real value) {
  const ProfileScope profile("masked_fill");
  // The mask broadcasts to x, never x to the mask: the output must have x's shape.
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  if (shape != x.shape())
    fail("masked_fill: mask of shape " + to_string(mask.shape()) +
         " must broadcast to x's shape " + to_string(x.shape()) +
         ", but together they broadcast to " + to_string(shape));
  // The mask gets no gradient, so the closure keeps a detached copy of it: if a caller's
  // mask happens to require grad, it still must not be captured without being a parent.
  const Tensor keep_mask = mask.detach();
  std::vector<real> out(x.numel());
  const real* in = x.data();
  const real* m = keep_mask.data();
  for_each_broadcast(shape, x.shape(), mask.shape(),
                     [&](std::size_t i, std::size_t, std::size_t im) {
                       out[i] = m[im] != 0 ? value : in[i];
                     });
  // y = mask ? value : x; dy/dx = 0 where mask != 0 (y is a constant there), 1 elsewhere
  return record(
      make_tensor(std::move(out), shape), "masked_fill", {x},
      [x, keep_mask](const Node& self) {
        real* dx = grad_buffer(x);
        if (!dx) return;
        const real* m = keep_mask.data();
        for_each_broadcast(self.shape, x.shape(), keep_mask.shape(),
                           [&](std::size_t i, std::size_t, std::size_t im) {
                             if (m[im] == 0) dx[i] += self.grad[i];
                           });
      },
      Saves::nothing, /*infinity_expected=*/std::isinf(value));
}

}  // namespace crossgrad
