// tensor.h — the Tensor: an N-d array of `real` that remembers how it was made.
// A Tensor is a cheap handle (a shared pointer) to a Node: a shape, contiguous row-major
// values inside a Storage that views of it share, a gradient buffer, and — for a tensor
// produced by an op — the op's name, its parents and a closure that turns this node's
// gradient into gradients of its parents.
// Read next: graph.cpp (backward), then ops.h (the table of contents of every op).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "autograd/allocator.h"
#include "autograd/random.h"
#include "autograd/shape.h"

namespace crossgrad {

// The memory that values live in. A tensor and its views — reshape, unsqueeze, squeeze,
// detach and contiguous slices, which copy nothing — share one Storage, each at its own
// offset, so a write through any of them is a write to all of them.
struct Storage {
  Buffer buffer;
  // Bumped by every write through Tensor::mutable_data() or set() of any tensor on this
  // storage. An op records the versions of the tensors its backward reads; backward()
  // refuses to use a changed one, whichever view the write went through.
  std::uint64_t version = 0;
};

struct Node {
  Shape shape;
  std::shared_ptr<Storage> storage;  // shared with this tensor's views
  Span data;    // numel(shape) values, row-major, inside storage->buffer
  Buffer grad;  // empty until a gradient arrives, then the same size as data
  bool requires_grad = false;
  bool retains_grad = false;  // keep the gradient of a non-leaf after backward
  std::string label;          // an optional name ("a", "loss") that to_dot shows

  // The graph. A leaf (made by a factory or by the user) has op == nullptr.
  const char* op = nullptr;
  // The inputs that required grad when the op ran: the only ones backward sends gradients to.
  std::vector<std::shared_ptr<Node>> parents;
  // Reads this node's grad (and data, for ops whose derivative is their output) and adds
  // into the parents' grads. It may capture inputs and saved values, never its own node,
  // so the graph has no reference cycles.
  std::function<void(const Node& self)> backward;
  // The inputs (and this output) with their storages' versions when the op ran, checked
  // before `backward` reads them. Weak: the closure, not this list, keeps what it needs alive.
  std::vector<std::pair<std::weak_ptr<const Node>, std::uint64_t>> saved_versions;
  bool graph_freed = false;  // backward ran without retain_graph; saved buffers are gone
  std::uint64_t visited_by = 0;  // the last topological sort (graph.cpp) that reached it

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
  // Uninitialised values, for an output whose every element is about to be written.
  static Tensor empty(const Shape& shape);
  static Tensor randn(const Shape& shape, Generator& gen = default_generator(),
                      bool requires_grad = false);
  static Tensor uniform(const Shape& shape, real low, real high,
                        Generator& gen = default_generator(), bool requires_grad = false);

  // Shape and data.
  bool defined() const { return node_ != nullptr; }
  const Shape& shape() const { return node_ref().shape; }
  std::size_t dim() const { return shape().size(); }
  std::size_t size(int dim) const;  // negative dims count from the end
  std::size_t numel() const { return node_ref().data.size(); }
  const real* data() const { return node_ref().data.data(); }
  // For writing in place (initialisers, optimizers, your own kernels). Every call bumps the
  // version of the tensor's storage, so a backward that saved this tensor's old values (or
  // a view's) refuses to run instead of silently using the new ones.
  real* mutable_data();
  std::vector<real> values() const;  // a copy of the values, row-major
  real item() const;                                  // the value of a one-element tensor
  real at(const std::vector<std::size_t>& index) const;  // bounds-checked element access
  void set(const std::vector<std::size_t>& index, real value);  // a write: bumps the version
  std::uint64_t version() const;  // the storage's: views see each other's writes
  // A name for pictures and messages: to_dot draws it in the tensor's box.
  Tensor& set_label(std::string label);
  const std::string& label() const;

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool requires = true);  // only on leaves, like PyTorch
  Tensor grad() const;  // the accumulated gradient as a tensor; undefined if none yet
  void zero_grad();     // drop the accumulated gradient
  // The accumulated gradient in place, for optimizers and clipping: nullptr if none yet.
  const real* grad_data() const;
  real* mutable_grad_data();
  // A new leaf that does not require grad, sharing this tensor's storage (no copy, as in
  // PyTorch): a write through either is seen by both.
  Tensor detach() const;
  Tensor clone() const;  // a copy in storage of its own (ops.h)
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
  Node& node_ref() const {  // throws on an undefined tensor
    if (!node_) fail_undefined();
    return *node_;
  }

 private:
  [[noreturn]] static void fail_undefined();
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
// A new leaf holding `data` with `shape` (Tensor::empty(shape) when the op writes every
// element itself: no vector, no copy).
Tensor make_tensor(std::vector<real> data, const Shape& shape);
// A new leaf of `shape` whose values are base's from element `offset` on, sharing base's
// storage: what reshape, detach and contiguous slices return (before recording their op).
Tensor make_view(const Tensor& base, const Shape& shape, std::size_t offset = 0);
// What an op's backward reads besides its output's gradient: the values of its inputs and
// output (mul, exp, matmul, ...), or nothing (add, sum, reshape, slice: linear ops). Only
// saved values are version-checked, so an error names the op that would read a changed one.
enum class Saves { values, nothing };

// Records `output` as made by `op` from `inputs`: if grad mode is on and any input requires
// grad, the output requires grad and keeps `backward`; otherwise the closure is dropped.
// Which inputs get gradients is decided here, once: those that require grad now.
// Under DetectAnomalyGuard, an output holding NaN, or ±inf computed from finite inputs,
// throws here; `infinity_expected` allows ±inf (masked_fill's -inf is its purpose).
// Returns `output` for convenience.
Tensor record(Tensor output, const char* op, std::initializer_list<Tensor> inputs,
              std::function<void(const Node& self)> backward, Saves saves = Saves::values,
              bool infinity_expected = false);
Tensor record(Tensor output, const char* op, const std::vector<Tensor>& inputs,
              std::function<void(const Node& self)> backward, Saves saves = Saves::values,
              bool infinity_expected = false);
// Inside a backward closure: the gradient buffer of input `t` (zero-filled on first use), or
// nullptr when `t` gets no gradient (it did not require grad when the op ran, or no longer
// does). Every closure checks for nullptr before writing.
real* grad_buffer(const Tensor& t);
// The same for a closure that writes every element of the gradient: when this is the
// input's first gradient, `assign` comes back true and the buffer is not zero-filled, so
// the closure must assign (=) every element rather than add (+=). Saves a pass over memory.
real* grad_buffer(const Tensor& t, bool& assign);

// While a DetectAnomalyGuard lives, the first op whose forward output or backward gradient
// holds NaN or ±inf throws an Error naming the op, its input shapes and the direction (like
// torch.autograd.detect_anomaly). It costs a scan of every output and gradient: for debugging.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;
};
bool anomaly_detection_enabled();

// The graph that produced `root`, as plain data for drawing it: nodes[0] is root, the rest
// in the order a depth-first walk finds them. `parents` holds one index per input the node
// was made from that takes gradients, once per use: x * x lists x twice (two arrows).
// What a box shows: the label (when set), the op (or "leaf"/"constant"), the shape, and for
// a one-element tensor its value and, once backward has reached it, its gradient.
struct GraphNode {
  std::string label;
  std::string op;
  Shape shape;
  bool has_value = false, has_grad = false;  // one-element tensors only
  real value = 0, grad = 0;
  std::vector<std::size_t> parents;  // indices into the returned vector
};
std::vector<GraphNode> graph_nodes(const Tensor& root);

// The same graph as Graphviz DOT, one box per node and an arrow from each input. Render with
// `dot -Tsvg graph.dot > graph.svg` (Debian: apt-get install graphviz).
std::string to_dot(const Tensor& root);

}  // namespace crossgrad
