// graph.cpp — the autograd engine: recording ops, backward(), grad and anomaly modes, and
// the graph as data (graph_nodes) and as Graphviz DOT (to_dot).
// This is the whole of reverse-mode differentiation: sort the graph so every node comes
// after its parents, then walk it backwards calling each node's closure once.
// Read next: ops.h (the table of contents of every op), then ops_elementwise.cpp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <unordered_map>

#include "autograd/profiler.h"
#include "autograd/tensor.h"

namespace crossgrad {

// --- Grad mode and anomaly mode ---

namespace {
thread_local bool grad_mode = true;
std::atomic<int> anomaly_guards{0};  // global, like PyTorch's: worker threads see it too
}  // namespace
bool grad_enabled() { return grad_mode; }
NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

bool anomaly_detection_enabled() { return anomaly_guards.load() > 0; }
DetectAnomalyGuard::DetectAnomalyGuard() { ++anomaly_guards; }
DetectAnomalyGuard::~DetectAnomalyGuard() { --anomaly_guards; }

namespace {

// The first non-finite value of `values` ("NaN", "inf" or "-inf") and its index, if any.
struct NonFinite {
  const char* what = nullptr;
  std::size_t index = 0;
};
template <class Values>  // a Span or a Buffer
NonFinite find_non_finite(const Values& values, bool nan_only) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) return {"NaN", i};
    if (!nan_only && std::isinf(values[i])) return {values[i] > 0 ? "inf" : "-inf", i};
  }
  return {};
}

// The inputs of one op, as recorded: a view of the caller's list (no copy).
struct Inputs {
  const Tensor *first, *last;
  const Tensor* begin() const { return first; }
  const Tensor* end() const { return last; }
  std::size_t size() const { return std::size_t(last - first); }
};

std::string input_shapes(const Inputs& inputs) {
  std::string text;
  for (const Tensor& input : inputs)
    text += (text.empty() ? "" : ", ") + (input.defined() ? to_string(input.shape()) : "none");
  return text;
}

// Forward: NaN is always an anomaly; ±inf is one when the inputs were all finite (an op that
// only passes on an earlier infinity is not its cause) and the op was not asked for it.
void check_forward_anomaly(const Tensor& output, const char* op, const Inputs& inputs,
                           bool infinity_expected) {
  bool inputs_finite = true;
  for (const Tensor& input : inputs)
    if (input.defined() && find_non_finite(input.node_ref().data, false).what)
      inputs_finite = false;
  const NonFinite bad =
      find_non_finite(output.node_ref().data, infinity_expected || !inputs_finite);
  if (!bad.what) return;
  fail(std::string("anomaly: forward of '") + op + "' produced " + bad.what + " at element " +
       std::to_string(bad.index) + " of its output of shape " + to_string(output.shape()) +
       " (inputs of shapes " + input_shapes(inputs) + ")");
}

// Backward: any non-finite value in a gradient this node's closure wrote.
void check_backward_anomaly(const Node& node) {
  for (std::size_t k = 0; k < node.parents.size(); ++k) {
    const NonFinite bad = find_non_finite(node.parents[k]->grad, false);
    if (!bad.what) continue;
    std::string shapes;
    for (const auto& parent : node.parents)
      shapes += (shapes.empty() ? "" : ", ") + to_string(parent->shape);
    fail(std::string("anomaly: backward of '") + node.op + "' produced " + bad.what +
         " at element " + std::to_string(bad.index) + " of the gradient of its input of shape " +
         to_string(node.parents[k]->shape) + " (inputs that take gradients: " + shapes +
         "; output " + to_string(node.shape) + ")");
  }
}

}  // namespace

// --- Node lifetime ---

// Dropping the last handle of a deep chain would destroy parent after parent recursively.
// Instead, a dying node hands its parents to a local stack; a parent that is about to die
// too gives up its own parents first, so every node dies with nothing left to release.
// Closures only capture tensors that are also in `parents` (or leaves outside the graph),
// so clearing a closure while the parents are still held releases no long chain.
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

namespace {

Tensor record_inputs(Tensor output, const char* op, const Inputs& inputs,
                     std::function<void(const Node& self)> backward, Saves saves,
                     bool infinity_expected) {
  if (anomaly_detection_enabled()) check_forward_anomaly(output, op, inputs, infinity_expected);
  if (!grad_enabled()) return output;
  bool any = false;
  for (const Tensor& input : inputs) any = any || (input.defined() && input.requires_grad());
  if (!any) return output;  // no input needs a gradient: no graph
  Node& node = output.node_ref();
  node.parents.reserve(inputs.size());
  for (const Tensor& input : inputs)
    if (input.defined() && input.requires_grad()) node.parents.push_back(input.node());
  node.requires_grad = true;
  node.op = op;
  node.backward = std::move(backward);
  if (saves == Saves::nothing) return output;
  node.saved_versions.reserve(inputs.size() + 1);
  for (const Tensor& input : inputs)
    if (input.defined()) node.saved_versions.emplace_back(input.node(), input.version());
  node.saved_versions.emplace_back(output.node(), output.version());
  return output;
}

}  // namespace

Tensor record(Tensor output, const char* op, std::initializer_list<Tensor> inputs,
              std::function<void(const Node& self)> backward, Saves saves,
              bool infinity_expected) {
  return record_inputs(std::move(output), op, {inputs.begin(), inputs.end()},
                       std::move(backward), saves, infinity_expected);
}

Tensor record(Tensor output, const char* op, const std::vector<Tensor>& inputs,
              std::function<void(const Node& self)> backward, Saves saves,
              bool infinity_expected) {
  return record_inputs(std::move(output), op, {inputs.data(), inputs.data() + inputs.size()},
                       std::move(backward), saves, infinity_expected);
}

namespace {
// The node whose closure backward() is running, so grad_buffer can tell a parent (an input
// that required grad when the op ran) from an input that did not.
thread_local const Node* running = nullptr;
}  // namespace

namespace {

// The node of input `t` if the running closure may send it a gradient, else nullptr.
Node* gradient_target(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  Node& node = t.node_ref();
  if (running) {
    bool parent = false;
    for (const auto& p : running->parents) parent = parent || p.get() == &node;
    if (!parent) return nullptr;  // made requires_grad only after the op ran
  }
  return &node;
}

}  // namespace

real* grad_buffer(const Tensor& t) {
  Node* node = gradient_target(t);
  if (!node) return nullptr;
  if (node->grad.empty()) node->grad = Buffer::zeros(node->data.size());
  return node->grad.data();
}

real* grad_buffer(const Tensor& t, bool& assign) {
  Node* node = gradient_target(t);
  assign = node && node->grad.empty();
  if (!node) return nullptr;
  if (assign) node->grad = Buffer(node->data.size());  // not zero-filled: the caller assigns
  return node->grad.data();
}

// --- Autograd on a Tensor ---

bool Tensor::requires_grad() const { return node_ref().requires_grad; }
bool Tensor::is_leaf() const { return node_ref().is_leaf(); }
const char* Tensor::op_name() const { return node_ref().op; }

Tensor& Tensor::requires_grad_(bool requires) {
  if (!is_leaf())
    fail(std::string("requires_grad_: only a leaf's flag can be set; this tensor was made by ") +
         op_name() + " (use detach() for a leaf, detach().clone() for a leaf copy)");
  node_ref().requires_grad = requires;
  return *this;
}

Tensor Tensor::grad() const {
  const Node& node = node_ref();
  if (node.grad.empty()) return Tensor();
  Tensor copy = Tensor::empty(node.shape);
  std::copy(node.grad.begin(), node.grad.end(), copy.node_ref().data.data());
  return copy;
}

const real* Tensor::grad_data() const {
  const Node& node = node_ref();
  return node.grad.empty() ? nullptr : node.grad.data();
}
real* Tensor::mutable_grad_data() {
  Node& node = node_ref();
  return node.grad.empty() ? nullptr : node.grad.data();
}

void Tensor::zero_grad() { node_ref().grad.reset(); }

void Tensor::retain_grad() { node_ref().retains_grad = true; }

Tensor Tensor::detach() const { return make_view(*this, shape()); }

// --- backward() ---

namespace {

// Nodes reachable from root through parents, each after all of its parents, found with an
// explicit stack so a chain of any depth is fine. (Recursion would also work, until a
// 100,000-op chain overflows the stack.) The order holds owning pointers: releasing a node's
// parent links during backward must not free a parent that is still to be visited.
// Each sort marks the nodes it reaches with a number of its own, so "visited?" is one
// comparison instead of a lookup in a set that allocates per node.
std::atomic<std::uint64_t> sorts{0};

std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  const std::uint64_t mark = ++sorts;
  std::vector<std::shared_ptr<Node>> order;
  root->visited_by = mark;
  std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{root, 0}};  // next parent
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->parents.size()) {
      std::shared_ptr<Node> parent = node->parents[next++];
      if (parent->visited_by != mark) {
        parent->visited_by = mark;
        stack.push_back({std::move(parent), 0});
      }
    } else {
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return order;
}

void check_backward_call(const Node& root, const Tensor& gradient) {
  if (!root.requires_grad)
    fail("backward: this tensor does not require grad (no input of its graph requires grad, "
         "or it was computed under NoGradGuard)");
  if (!gradient.defined() && root.data.size() != 1)
    fail("backward: a gradient can be created implicitly only for a one-element output; this "
         "output has shape " + to_string(root.shape) +
         ", so pass backward(gradient) with that shape");
  if (gradient.defined() && gradient.shape() != root.shape)
    fail("backward: gradient of shape " + to_string(gradient.shape()) +
         " does not match the output's shape " + to_string(root.shape));
}

void check_graph_not_freed(const std::vector<std::shared_ptr<Node>>& order) {
  for (const auto& node : order)
    if (node->graph_freed)
      fail(std::string("backward: the graph through '") + node->op +
           "' was already freed by an earlier backward(); call the first backward with "
           "retain_graph=true to go through it twice");
}

// A tensor this node's backward reads was written in place after the op ran (an optimizer
// step, mutable_data(), set()): its gradient would silently use the new values.
void check_saved_versions(const Node& node) {
  for (const auto& [weak, version] : node.saved_versions) {
    const std::shared_ptr<const Node> saved = weak.lock();
    if (saved && saved->storage->version != version)
      fail(std::string("backward: a tensor of shape ") + to_string(saved->shape) +
           " that '" + node.op + "' saved for its backward was modified in place after the " +
           "op ran (version " + std::to_string(version) + ", now " +
           std::to_string(saved->storage->version) +
           "); compute the graph again after changing it");
  }
}

// A non-leaf that retains its gradient still holds the previous call's. Set aside, this call
// propagates only its own gradient; the earlier one is added back once the node has run.
using EarlierGrads = std::unordered_map<const Node*, Buffer>;
EarlierGrads set_aside_retained_grads(const std::vector<std::shared_ptr<Node>>& order) {
  EarlierGrads earlier;
  for (const auto& node : order)
    if (!node->is_leaf() && !node->grad.empty()) earlier[node.get()] = std::move(node->grad);
  return earlier;
}

// After a node has run: its own gradient is dropped unless retained (then the earlier
// call's is added back), and without retain_graph its closure and parent links go.
void release_after_use(Node& node, bool retain_graph, EarlierGrads& earlier) {
  if (!retain_graph) {  // release saved buffers and parent links as soon as they are used
    node.backward = nullptr;
    node.parents.clear();
    node.saved_versions.clear();
    node.graph_freed = true;
  }
  if (!node.retains_grad) {
    node.grad.reset();
  } else if (auto it = earlier.find(&node); it != earlier.end()) {
    if (node.grad.empty()) node.grad = Buffer::zeros(it->second.size());
    for (std::size_t i = 0; i < node.grad.size(); ++i) node.grad[i] += it->second[i];
  }
}

// Runs one node's closure, with grad_buffer knowing whose parents may receive gradients.
void run_backward(const Node& node) {
  struct Running {
    explicit Running(const Node& node) { running = &node; }
    ~Running() { running = nullptr; }
  } scope(node);
  node.backward(node);
}

}  // namespace

void Tensor::backward(bool retain_graph) const { backward(Tensor(), retain_graph); }

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  const bool profiling = profiling_enabled();
  const auto start = std::chrono::steady_clock::now();
  double closures_ms = 0;
  check_backward_call(node_ref(), gradient);
  std::vector<std::shared_ptr<Node>> order = topological_order(node_);
  check_graph_not_freed(order);
  EarlierGrads earlier = set_aside_retained_grads(order);

  // d root / d root = 1 (or the given gradient), added: the root may retain a gradient.
  real* droot = grad_buffer(*this);
  for (std::size_t i = 0; i < node_->data.size(); ++i)
    droot[i] += gradient.defined() ? gradient.data()[i] : real(1);

  // Children before parents: walk the order backwards; each closure adds its node's
  // gradient into its parents' (+=, since a value used twice gets a gradient from both).
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    std::shared_ptr<Node> node = std::move(*it);  // ours now: freed when no longer needed
    if (node->is_leaf()) continue;
    if (!node->grad.empty() && node->backward) {
      check_saved_versions(*node);
      if (profiling) {  // the closure's time and memory, for the profiler's table
        const auto closure_start = std::chrono::steady_clock::now();
        const std::uint64_t bytes = allocator_stats().requested_bytes;
        run_backward(*node);
        const double ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - closure_start).count();
        profile_backward(node->op, ms, allocator_stats().requested_bytes - bytes);
        closures_ms += ms;
      } else {
        run_backward(*node);
      }
      if (anomaly_detection_enabled()) check_backward_anomaly(*node);
    }
    release_after_use(*node, retain_graph, earlier);
  }
  if (profiling)
    profile_engine(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start).count() - closures_ms);
}

// --- Drawing the graph ---

std::vector<GraphNode> graph_nodes(const Tensor& root) {
  std::unordered_map<const Node*, std::size_t> index;  // where each node goes in `nodes`
  std::vector<const Node*> stack{&root.node_ref()};    // found, not yet described
  index[stack.back()] = 0;
  std::vector<GraphNode> nodes;
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    GraphNode described;
    described.label = node->label;
    described.op = node->is_leaf() ? (node->requires_grad ? "leaf" : "constant") : node->op;
    described.shape = node->shape;
    described.has_value = node->data.size() == 1;
    described.value = described.has_value ? node->data[0] : 0;
    described.has_grad = node->grad.size() == 1;
    described.grad = described.has_grad ? node->grad[0] : 0;
    for (const auto& parent : node->parents) {
      auto [it, found_now] = index.emplace(parent.get(), index.size());
      if (found_now) stack.push_back(parent.get());
      described.parents.push_back(it->second);
    }
    nodes.resize(index.size());
    nodes[index.at(node)] = std::move(described);
  }
  return nodes;
}

namespace {

// "a | leaf | () | value 2.0000 | grad 3.0000": what a learner needs to tell boxes apart.
std::string dot_label(const GraphNode& node) {
  std::string label = node.label.empty() ? "" : node.label + " | ";
  label += node.op + " | " + to_string(node.shape);
  char number[64];
  if (node.has_value) {
    std::snprintf(number, sizeof number, " | value %.4f", double(node.value));
    label += number;
  }
  if (node.has_grad) {
    std::snprintf(number, sizeof number, " | grad %.4f", double(node.grad));
    label += number;
  }
  std::string escaped;  // record labels treat these as structure
  for (char c : label) {
    if (c == '"' || c == '{' || c == '}' || c == '<' || c == '>') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

}  // namespace

std::string to_dot(const Tensor& root) {
  std::ostringstream out;
  out << "digraph crossgrad {\n  rankdir=LR;\n  node [shape=record, fontname=\"monospace\"];\n";
  const std::vector<GraphNode> nodes = graph_nodes(root);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    out << "  n" << i << " [label=\"" << dot_label(nodes[i]) << "\"];\n";
    for (const std::size_t parent : nodes[i].parents) out << "  n" << parent << " -> n" << i << ";\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace crossgrad
