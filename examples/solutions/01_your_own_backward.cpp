// Solution to exercise 1.2 (docs/01-derivatives-and-the-chain-rule.md): backward() written
// by hand over the graph's data (graph_nodes), for graphs of add, mul and tanh on scalars.
// Two rules make it right: visit every node after all the nodes it feeds (a topological
// order), and add (+=) into a parent's gradient, never assign. The walk that recurses into
// a parent as soon as one child has sent it something counts a shared node twice.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"

using namespace crossgrad;

namespace {

// d node / d parent k: what the node's op multiplies its gradient by on the way to parent k.
double local_derivative(const std::vector<GraphNode>& nodes, std::size_t node, std::size_t k) {
  const GraphNode& n = nodes[node];
  if (n.op == "add") return 1;
  if (n.op == "mul") return nodes[n.parents[1 - k]].value;  // the other factor
  if (n.op == "tanh") return 1 - n.value * n.value;          // 1 - tanh²
  throw Error("your_own_backward: no local derivative for op '" + n.op + "'");
}

// Reverse-mode differentiation: gradients of every node, in graph_nodes' order.
std::vector<double> own_backward(const std::vector<GraphNode>& nodes) {
  // A topological order: depth first, a node goes in after all of its parents.
  std::vector<std::size_t> order;
  std::vector<bool> visited(nodes.size(), false);
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    if (visited[i]) return;
    visited[i] = true;
    for (const std::size_t p : nodes[i].parents) visit(p);
    order.push_back(i);
  };
  visit(0);
  std::vector<double> grad(nodes.size(), 0);
  grad[0] = 1;  // d root / d root
  // Walked backwards, every node comes before its parents, so its gradient is complete
  // (every child has added its share) when it passes it on.
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    for (std::size_t k = 0; k < nodes[*it].parents.size(); ++k)
      grad[nodes[*it].parents[k]] += grad[*it] * local_derivative(nodes, *it, k);
  return grad;
}

// The tempting walk: hand a node's gradient to each parent and recurse into it at once.
// A shared node is entered once per path, each time passing on everything it has so far.
std::vector<double> recursive_backward(const std::vector<GraphNode>& nodes) {
  std::vector<double> grad(nodes.size(), 0);
  grad[0] = 1;
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    for (std::size_t k = 0; k < nodes[i].parents.size(); ++k) {
      grad[nodes[i].parents[k]] += grad[i] * local_derivative(nodes, i, k);
      visit(nodes[i].parents[k]);
    }
  };
  visit(0);
  return grad;
}

double gradient_of(const std::vector<GraphNode>& nodes, const std::vector<double>& grad,
                   const std::string& label) {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].label == label) return grad[i];
  throw Error("your_own_backward: no node labelled " + label);
}

}  // namespace

int main() {
  // e is used three times (once in e·c, twice in e·e): its gradient must be complete, all
  // three shares added, before it is passed on to a and b.
  Tensor a = Tensor::scalar(0.5, true).set_label("a");
  Tensor b = Tensor::scalar(-1.5, true).set_label("b");
  Tensor c = Tensor::scalar(2, true).set_label("c");
  Tensor e = tanh(a * b).set_label("e");
  Tensor f = (e * c + e * e).set_label("f");
  const std::vector<GraphNode> nodes = graph_nodes(f);  // before backward frees the graph
  f.backward();

  const std::vector<double> mine = own_backward(nodes);
  bool ok = true;
  for (const auto& [name, leaf] : {std::pair{"a", a}, {"b", b}, {"c", c}})
    ok = compare(std::string("d f/d ") + name, gradient_of(nodes, mine, name), leaf.grad().item()) && ok;

  const std::vector<double> recursive = recursive_backward(nodes);
  const double wrong = gradient_of(nodes, recursive, "a");
  std::printf("recursing at once gives d f/d a = %.4f instead of %.4f\n", wrong, double(a.grad().item()));
  ok = ok && std::abs(wrong - a.grad().item()) > 1e-3;  // the wrong walk really is wrong here
  return ok ? 0 : 1;
}
