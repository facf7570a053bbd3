// tensor.cpp — factories, element access and printing of Tensor (see tensor.h).
// The graph and backward() live in graph.cpp; ops live in the ops_*.cpp files.
#include "autograd/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

namespace crossgrad {

namespace {

// A leaf of `shape` over `storage`, its values starting at element `offset`. Nodes and
// storages come from the caching allocator too: a step makes a few hundred of each.
Tensor leaf_on(std::shared_ptr<Storage> storage, const Shape& shape, std::size_t offset) {
  auto node = std::allocate_shared<Node>(CachingAllocator<Node>());
  node->shape = shape;
  node->data = Span(storage->buffer.data() + offset, crossgrad::numel(shape));
  node->storage = std::move(storage);
  return Tensor(std::move(node));
}

}  // namespace

Tensor Tensor::empty(const Shape& shape) {
  auto storage = std::allocate_shared<Storage>(CachingAllocator<Storage>());
  storage->buffer = Buffer(crossgrad::numel(shape));
  return leaf_on(std::move(storage), shape, 0);
}

Tensor make_tensor(std::vector<real> data, const Shape& shape) {
  if (data.size() != crossgrad::numel(shape))
    fail("make_tensor: " + std::to_string(data.size()) + " values for shape " +
         crossgrad::to_string(shape) + " of " + std::to_string(crossgrad::numel(shape)) +
         " elements");
  Tensor t = Tensor::empty(shape);
  std::copy(data.begin(), data.end(), t.node_ref().data.data());
  return t;
}

Tensor make_view(const Tensor& base, const Shape& shape, std::size_t offset) {
  const Node& node = base.node_ref();
  if (offset + crossgrad::numel(shape) > node.data.size())
    fail("make_view: a view of shape " + crossgrad::to_string(shape) + " at offset " +
         std::to_string(offset) + " does not fit in a tensor of " +
         std::to_string(node.data.size()) + " elements");
  const std::size_t base_offset = std::size_t(node.data.data() - node.storage->buffer.data());
  return leaf_on(node.storage, shape, base_offset + offset);
}

// --- Factories ---

Tensor Tensor::full(const Shape& shape, real value, bool requires_grad) {
  Tensor t = empty(shape);
  std::fill(t.node_->data.begin(), t.node_->data.end(), value);
  t.node_->requires_grad = requires_grad;
  return t;
}
Tensor Tensor::zeros(const Shape& shape, bool requires_grad) {
  return full(shape, 0, requires_grad);
}
Tensor Tensor::ones(const Shape& shape, bool requires_grad) {
  return full(shape, 1, requires_grad);
}
Tensor Tensor::scalar(real value, bool requires_grad) { return full({}, value, requires_grad); }

Tensor Tensor::arange(real end) { return arange(0, end, 1); }
Tensor Tensor::arange(real start, real end, real step) {
  if (step == 0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    fail("arange: start, end and step must be finite and step non-zero; got start " +
         std::to_string(start) + ", end " + std::to_string(end) + ", step " +
         std::to_string(step));
  // Same count as PyTorch: ceil((end - start) / step), or none if the range is empty. A count
  // that no vector could hold (arange(0, 1e30)) is an error, not an undefined cast.
  const double count = std::ceil((double(end) - double(start)) / double(step));
  if (!(count <= double(std::vector<real>().max_size())))
    fail("arange: start " + std::to_string(start) + ", end " + std::to_string(end) +
         " and step " + std::to_string(step) + " give " + std::to_string(count) +
         " elements, more than one tensor can hold");
  const std::size_t n = count > 0 ? static_cast<std::size_t>(count) : 0;
  std::vector<real> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<real>(start + real(i) * step);
  return make_tensor(std::move(values), {n});
}

Tensor Tensor::from(std::vector<real> values, const Shape& shape, bool requires_grad) {
  if (values.size() != crossgrad::numel(shape))
    fail("Tensor::from: " + std::to_string(values.size()) + " values cannot fill shape " +
         crossgrad::to_string(shape) + " of " + std::to_string(crossgrad::numel(shape)) +
         " elements");
  Tensor t = make_tensor(std::move(values), shape);
  t.node_->requires_grad = requires_grad;
  return t;
}

Tensor Tensor::randn(const Shape& shape, Generator& gen, bool requires_grad) {
  std::vector<real> values(crossgrad::numel(shape));
  for (real& v : values) v = gen.normal();
  return from(std::move(values), shape, requires_grad);
}

Tensor Tensor::uniform(const Shape& shape, real low, real high, Generator& gen,
                       bool requires_grad) {
  if (!(low <= high))
    fail("Tensor::uniform: low " + std::to_string(low) + " is above high " +
         std::to_string(high));
  std::vector<real> values(crossgrad::numel(shape));
  for (real& v : values) v = gen.uniform(low, high);
  return from(std::move(values), shape, requires_grad);
}

// --- Shape and data ---

void Tensor::fail_undefined() {
  fail("Tensor: this tensor is undefined (default-constructed or a missing grad)");
}
std::size_t Tensor::size(int dim) const {
  return shape()[normalize_dim(dim, this->dim(), "size")];
}
real* Tensor::mutable_data() {
  Node& node = node_ref();
  ++node.storage->version;
  return node.data.data();
}
std::uint64_t Tensor::version() const { return node_ref().storage->version; }
Tensor& Tensor::set_label(std::string label) {
  node_ref().label = std::move(label);
  return *this;
}
const std::string& Tensor::label() const { return node_ref().label; }
std::vector<real> Tensor::values() const {
  const Span& data = node_ref().data;
  return std::vector<real>(data.begin(), data.end());
}

real Tensor::item() const {
  if (numel() != 1)
    fail("item: only a one-element tensor has an item; this one has shape " +
         crossgrad::to_string(shape()));
  return node_ref().data[0];
}

static std::size_t flat_index(const Shape& shape, const std::vector<std::size_t>& index) {
  if (index.size() != shape.size())
    fail("at: index of " + std::to_string(index.size()) + " coordinates for a tensor of shape " +
         to_string(shape));
  std::size_t flat = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (index[i] >= shape[i])
      fail("at: index " + std::to_string(index[i]) + " is out of range for dimension " +
           std::to_string(i) + " of shape " + to_string(shape));
    flat = flat * shape[i] + index[i];
  }
  return flat;
}
real Tensor::at(const std::vector<std::size_t>& index) const {
  return node_ref().data[flat_index(shape(), index)];
}
void Tensor::set(const std::vector<std::size_t>& index, real value) {
  mutable_data()[flat_index(shape(), index)] = value;
}

// --- Printing ---

namespace {

// Writes dims [dim, ndim) of the block starting at `offset`, PyTorch style. Dimensions
// longer than 6 are summarised as first three, "...", last three when the tensor is big.
void print_block(std::ostream& out, const Tensor& t, std::size_t dim, std::size_t offset,
                 bool summarise, std::size_t indent) {
  const Shape& shape = t.shape();
  const std::vector<std::size_t> strides = strides_of(shape);
  out << "[";
  const std::size_t n = shape[dim];
  for (std::size_t i = 0; i < n; ++i) {
    if (summarise && n > 6 && i == 3) {
      out << (dim + 1 == shape.size() ? "...," : "...,\n" + std::string(indent + 1, ' '));
      if (dim + 1 == shape.size()) out << " ";
      i = n - 3;
    }
    if (dim + 1 == shape.size()) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.4f", double(t.data()[offset + i]));
      out << buffer;
    } else {
      print_block(out, t, dim + 1, offset + i * strides[dim], summarise, indent + 1);
    }
    if (i + 1 < n) {
      out << ",";
      if (dim + 1 == shape.size()) out << " ";
      else out << std::string(shape.size() - dim - 1, '\n') << std::string(indent + 1, ' ');
    }
  }
  out << "]";
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  out << "tensor(";
  if (t.dim() == 0) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4f", double(t.data()[0]));
    out << buffer;
  } else if (t.numel() == 0) {
    out << "[], size=" << to_string(t.shape());
  } else {
    print_block(out, t, 0, 0, t.numel() > 1000, 7);
  }
  if (t.requires_grad()) out << ", requires_grad=True";
  return out << ")";
}

std::string to_string(const Tensor& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

}  // namespace crossgrad
