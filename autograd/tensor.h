// tensor.h — the Tensor: an N-d array of `real` that remembers how it was made.
// A Tensor is a cheap handle (a shared pointer) to a Node: contiguous row-major data, a
// shape, a gradient buffer, and — for a tensor produced by an op — the op's name, its
// parents and a closure that turns this node's gradient into gradients of its parents.
// Read next: graph.cpp (backward), then ops.h (the table of contents of every op).
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "autograd/shape.h"

namespace crossgrad {

struct Node {
  Shape shape;
  std::vector<real> data;  // numel(shape) values, row-major
  std::vector<real> grad;  // empty until a gradient arrives, then the same size as data
  bool requires_grad = false;
  bool retains_grad = false;  // keep the gradient of a non-leaf after backward

  // The graph. A leaf (made by a factory or by the user) has op == nullptr.
  const char* op = nullptr;
  std::vector<std::shared_ptr<Node>> parents;
  // Reads this node's grad (and data, for ops whose derivative is their output) and adds
  // into the parents' grads. It may capture parents and saved values, never its own node,
  // so the graph has no reference cycles.
  std::function<void(const Node& self)> backward;
  bool graph_freed = false;  // backward ran without retain_graph; saved buffers are gone

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();  // iterative, so dropping a 100,000-op chain does not overflow the stack
  bool is_leaf() const { return op == nullptr; }
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false
  explicit Tensor(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  // Factories. Every factory makes a leaf.
  static Tensor zeros(const Shape& shape, bool requires_grad = false);
  static Tensor ones(const Shape& shape, bool requires_grad = false);
  static Tensor full(const Shape& shape, real value, bool requires_grad = false);
  static Tensor scalar(real value, bool requires_grad = false);  // shape ()
  static Tensor arange(real end);                                // 0, 1, ..., < end
  static Tensor arange(real start, real end, real step = 1);
  static Tensor from(std::vector<real> values, const Shape& shape, bool requires_grad = false);
  static Tensor randn(const Shape& shape, Generator& gen = default_generator(),
                      bool requires_grad = false);
  static Tensor uniform(const Shape& shape, real low, real high,
                        Generator& gen = default_generator(), bool requires_grad = false);

  // Shape and data.
  bool defined() const { return node_ != nullptr; }
  const Shape& shape() const;
  std::size_t dim() const { return shape().size(); }
  std::size_t size(int dim) const;  // negative dims count from the end
  std::size_t numel() const;
  real* data();
  const real* data() const;
  // The values, by reference; on a temporary (x.grad().values()) a copy, so it cannot dangle.
  const std::vector<real>& values() const&;
  std::vector<real> values() &&;
  real item() const;                                  // the value of a one-element tensor
  real at(const std::vector<std::size_t>& index) const;  // bounds-checked element access
  void set(const std::vector<std::size_t>& index, real value);

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool requires = true);  // only on leaves, like PyTorch
  Tensor grad() const;  // the accumulated gradient as a tensor; undefined if none yet
  void zero_grad();     // drop the accumulated gradient
  Tensor detach() const;  // same values, a new leaf that does not require grad
  void retain_grad();     // keep this non-leaf's gradient after backward
  bool is_leaf() const;
  const char* op_name() const;  // "matmul", or nullptr for a leaf
  // Backpropagates from this tensor. Without an explicit gradient the tensor must hold one
  // element (a loss). Without retain_graph the graph's saved buffers are released.
  void backward(bool retain_graph = false) const;
  void backward(const Tensor& gradient, bool retain_graph = false) const;

  // The most used ops as methods, so code reads like PyTorch (x.matmul(w.t()) + b).
  // Each forwards to the free function of the same name in ops.h.
  Tensor matmul(const Tensor& other) const;
  Tensor t() const;
  Tensor transpose(int dim0, int dim1) const;
  Tensor permute(const std::vector<int>& dims) const;
  Tensor reshape(const std::vector<long>& shape) const;  // one size may be -1
  Tensor unsqueeze(int dim) const;
  Tensor squeeze(int dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor slice(int dim, std::size_t start, std::size_t end) const;
  Tensor sum() const;
  Tensor sum(int dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(int dim, bool keepdim = false) const;
  Tensor max() const;
  Tensor max(int dim, bool keepdim = false) const;
  Tensor pow(real exponent) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor relu() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor softmax(int dim) const;
  Tensor log_softmax(int dim) const;
  Tensor masked_fill(const Tensor& mask, real value) const;

  std::shared_ptr<Node> node() const { return node_; }
  Node& node_ref() const;  // throws on an undefined tensor

 private:
  std::shared_ptr<Node> node_;
};

// Prints like PyTorch: tensor([[1.0000, 2.0000], ...], requires_grad=True).
std::ostream& operator<<(std::ostream& out, const Tensor& tensor);
std::string to_string(const Tensor& tensor);

// While a NoGradGuard lives, ops record no graph (for evaluation and optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
bool grad_enabled();

// --- For op authors (see ops_elementwise.cpp for the pattern) ---
// A new leaf holding `data` with `shape`.
Tensor make_tensor(std::vector<real> data, const Shape& shape);
// Records `output` as made by `op` from `inputs`: if grad mode is on and any input requires
// grad, the output requires grad and keeps `backward`; otherwise the closure is dropped.
// Returns `output` for convenience.
Tensor record(Tensor output, const char* op, std::vector<Tensor> inputs,
              std::function<void(const Node& self)> backward);
// The gradient buffer of `t` (zero-filled on first use), or nullptr when `t` needs none.
real* grad_buffer(const Tensor& t);

// The graph that produced `root`, as Graphviz DOT: one box per node labelled with its op
// and shape. Render with `dot -Tsvg graph.dot > graph.svg`.
std::string to_dot(const Tensor& root);

}  // namespace crossgrad
