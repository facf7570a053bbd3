// graph.cpp — the autograd engine: recording ops, backward(), grad mode and to_dot.
// This is the whole of reverse-mode differentiation: sort the graph so every node comes
// after its parents, then walk it backwards calling each node's closure once.
// Read next: ops_elementwise.cpp (how an op records its backward).
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "autograd/tensor.h"

namespace crossgrad {

// --- Grad mode ---

namespace {
thread_local bool grad_mode = true;
}
bool grad_enabled() { return grad_mode; }
NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

// --- Node lifetime ---

// Dropping the last handle of a deep chain would destroy parent after parent recursively.
// Instead, a dying node hands its parents to a local stack; a parent that is about to die
// too gives up its own parents first, so every node dies with nothing left to release.
// Closures only capture tensors that are also in `parents`, so clearing a closure while
// the parents are still held releases no node.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending = std::move(parents);
  backward = nullptr;
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    if (node && node.use_count() == 1) {
      for (auto& parent : node->parents) pending.push_back(std::move(parent));
      node->parents.clear();
      node->backward = nullptr;
    }
  }
}

// --- Recording ---

Tensor record(Tensor output, const char* op, std::vector<Tensor> inputs,
              std::function<void(const Node& self)> backward) {
  if (!grad_enabled()) return output;
  bool any = false;
  for (const Tensor& input : inputs) any = any || (input.defined() && input.requires_grad());
  if (!any) return output;
  Node& node = output.node_ref();
  node.requires_grad = true;
  node.op = op;
  for (const Tensor& input : inputs)
    if (input.defined() && input.requires_grad()) node.parents.push_back(input.node());
  node.backward = std::move(backward);
  return output;
}

real* grad_buffer(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  Node& node = t.node_ref();
  if (node.grad.empty()) node.grad.assign(node.data.size(), 0);
  return node.grad.data();
}

// --- Autograd on a Tensor ---

bool Tensor::requires_grad() const { return node_ref().requires_grad; }
bool Tensor::is_leaf() const { return node_ref().is_leaf(); }
const char* Tensor::op_name() const { return node_ref().op; }

Tensor& Tensor::requires_grad_(bool requires) {
  if (!is_leaf())
    fail(std::string("requires_grad_: only a leaf's flag can be set; this tensor was made by ") +
         op_name() + " (use detach() for a leaf copy)");
  node_ref().requires_grad = requires;
  return *this;
}

Tensor Tensor::grad() const {
  const Node& node = node_ref();
  if (node.grad.empty()) return Tensor();
  return make_tensor(node.grad, node.shape);
}

void Tensor::zero_grad() {
  node_ref().grad.clear();
  node_ref().grad.shrink_to_fit();
}

void Tensor::retain_grad() { node_ref().retains_grad = true; }

Tensor Tensor::detach() const { return make_tensor(node_ref().data, shape()); }

// --- backward() ---

namespace {

// Nodes reachable from root through parents, each after all of its parents, found with an
// explicit stack so a chain of any depth is fine. The order holds owning pointers: releasing
// a node's parent links during backward must not free a parent that is still to be visited.
std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> visited{root.get()};
  std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{root, 0}};  // next parent
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->parents.size()) {
      std::shared_ptr<Node> parent = node->parents[next++];
      if (visited.insert(parent.get()).second) stack.push_back({std::move(parent), 0});
    } else {
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace

void Tensor::backward(bool retain_graph) const { backward(Tensor(), retain_graph); }

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  Node& root = node_ref();
  if (!root.requires_grad)
    fail("backward: this tensor does not require grad (no input of its graph requires grad, "
         "or it was computed under NoGradGuard)");
  if (!gradient.defined() && root.data.size() != 1)
    fail("backward: a gradient can be created implicitly only for a one-element output; this "
         "output has shape " + crossgrad::to_string(root.shape) +
         ", so pass backward(gradient) with that shape");
  if (gradient.defined() && gradient.shape() != root.shape)
    fail("backward: gradient of shape " + crossgrad::to_string(gradient.shape()) +
         " does not match the output's shape " + crossgrad::to_string(root.shape));

  std::vector<std::shared_ptr<Node>> order = topological_order(node_);
  for (const auto& node : order)
    if (node->graph_freed)
      fail(std::string("backward: the graph through '") + node->op +
           "' was already freed by an earlier backward(); call the first backward with "
           "retain_graph=true to go through it twice");

  // A non-leaf that retains its gradient still holds the previous call's: set it aside, so
  // this call propagates only its own gradient, and add it back once the node has run.
  std::unordered_map<const Node*, std::vector<real>> earlier;
  for (const auto& node : order)
    if (!node->is_leaf() && !node->grad.empty()) {
      earlier[node.get()] = std::move(node->grad);
      node->grad.clear();
    }

  real* droot = grad_buffer(*this);
  const real* seed = gradient.defined() ? gradient.data() : nullptr;
  for (std::size_t i = 0; i < root.data.size(); ++i) droot[i] += seed ? seed[i] : real(1);

  // Children before parents: walk the order backwards, letting go of each node once done.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    std::shared_ptr<Node> node = std::move(*it);
    if (node->is_leaf()) continue;
    if (!node->grad.empty() && node->backward) node->backward(*node);
    if (!retain_graph) {  // release saved buffers and parent links as soon as they are used
      node->backward = nullptr;
      node->parents.clear();
      node->graph_freed = true;
    }
    if (!node->retains_grad) {
      node->grad.clear();
      node->grad.shrink_to_fit();
    } else if (auto it = earlier.find(node.get()); it != earlier.end()) {
      if (node->grad.empty()) node->grad.assign(it->second.size(), 0);
      for (std::size_t i = 0; i < node->grad.size(); ++i) node->grad[i] += it->second[i];
    }
  }
}

// --- to_dot ---

std::string to_dot(const Tensor& root) {
  std::ostringstream out;
  out << "digraph crossgrad {\n  rankdir=LR;\n  node [shape=record, fontname=\"monospace\"];\n";
  std::unordered_map<const Node*, std::size_t> ids;
  std::vector<const Node*> stack{root.node().get()};
  ids[stack.back()] = 0;
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    const std::size_t id = ids[node];
    const std::string label = node->is_leaf() ? (node->requires_grad ? "leaf" : "constant")
                                              : std::string(node->op);
    out << "  n" << id << " [label=\"" << label << " | " << to_string(node->shape) << "\"];\n";
    for (const auto& parent : node->parents) {
      auto [it, inserted] = ids.emplace(parent.get(), ids.size());
      if (inserted) stack.push_back(parent.get());
      out << "  n" << it->second << " -> n" << id << ";\n";
    }
  }
  out << "}\n";
  return out.str();
}

}  // namespace crossgrad
