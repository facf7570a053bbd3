// Tests for autograd/graph.cpp: what backward() promises — accumulation, zero_grad,
// NoGradGuard, detach, deep chains, release after backward, no reference cycles,
// graph_nodes and to_dot.
#include <memory>

#include "testing.h"

using namespace crossgrad;
using namespace testing;

TEST_CASE("backward: gradients accumulate across calls until zero_grad") {
  Tensor x = Tensor::from({1, 2}, {2}, true);
  (x * x).sum().backward();  // d/dx Σx² = 2x = (2, 4)
  check_values(x.grad(), {2, 4});
  (x * 3).sum().backward();  // adds 3
  check_values(x.grad(), {5, 7});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  (x * 3).sum().backward();
  check_values(x.grad(), {3, 3});
}

TEST_CASE("backward: an input used on two paths receives both contributions") {
  Tensor x = Tensor::from({3}, {1}, true);
  Tensor a = x * 2;  // path one: da/dx = 2
  Tensor b = x * x;  // path two: db/dx = 2x = 6
  (a + b).sum().backward();
  check_values(x.grad(), {8});
}

TEST_CASE("backward: a non-scalar output needs an explicit gradient") {
  Tensor x = Tensor::from({1, 2}, {2}, true);
  Tensor y = x * 2;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("output has shape (2)"), Error);
  CHECK_THROWS_WITH_AS(y.backward(Tensor::ones({3})),
                       doctest::Contains("gradient of shape (3) does not match"), Error);
  y.backward(Tensor::from({1, 10}, {2}));
  check_values(x.grad(), {2, 20});
}

TEST_CASE("backward: a tensor that does not require grad cannot backward") {
  Tensor x = Tensor::from({1}, {1});
  CHECK_THROWS_WITH_AS((x * 2).sum().backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("NoGradGuard records no graph, and restores grad mode when it ends") {
  Tensor x = Tensor::from({1}, {1}, true);
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Tensor y = x * 2;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(grad_enabled());
  CHECK((x * 2).requires_grad());
}

TEST_CASE("detach makes a leaf that stops gradients") {
  Tensor x = Tensor::from({2}, {1}, true);
  Tensor d = (x * x).detach();
  CHECK(d.is_leaf());
  CHECK_FALSE(d.requires_grad());
  check_values(d, {4});
  (x * d).sum().backward();  // d is a constant 4: the gradient is 4, not 3x² = 12
  check_values(x.grad(), {4});
}

TEST_CASE("requires_grad_ is only for leaves") {
  Tensor x = Tensor::from({1}, {1}, true);
  Tensor y = x * 2;
  CHECK_THROWS_WITH_AS(y.requires_grad_(false), doctest::Contains("made by mul"), Error);
}

TEST_CASE("backward: a chain of 100,000 ops neither overflows the stack nor leaks") {
  Tensor x = Tensor::from({1}, {1}, true);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1e-5;
  y.sum().backward();
  check_values(x.grad(), {1});
  // Dropping a long chain without backward must not recurse either.
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = -z;
  std::weak_ptr<Node> first_neg = z.node();
  z = Tensor();
  CHECK(first_neg.expired());
}

TEST_CASE("backward: saved buffers are released; a second backward is an error") {
  Tensor x = Tensor::from({1, 2}, {2}, true);
  Tensor loss = (x * x).sum();
  std::weak_ptr<Node> product = [&] {  // the x*x node is reachable only from the graph
    return std::weak_ptr<Node>(loss.node()->parents.at(0));
  }();
  loss.backward();
  CHECK(product.expired());  // freed as soon as backward no longer needed it
  CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("already freed"), Error);

  Tensor x2 = Tensor::from({1, 2}, {2}, true);
  Tensor kept = (x2 * x2).sum();
  kept.backward(/*retain_graph=*/true);
  kept.backward();  // allowed: the first call kept the graph
  check_values(x2.grad(), {4, 8});
}

TEST_CASE("backward: non-leaf gradients are freed unless retain_grad was asked") {
  Tensor x = Tensor::from({1, 2}, {2}, true);
  Tensor hidden = x * 3;
  Tensor kept = x * 2;
  kept.retain_grad();
  (hidden + kept).sum().backward();
  CHECK_FALSE(hidden.grad().defined());
  check_values(kept.grad(), {1, 1});
}

TEST_CASE("backward twice through a retained graph counts each call once, retain_grad too") {
  Tensor x = Tensor::from({1, 2, 3}, {3}, true);
  Tensor h = x * 2;
  h.retain_grad();
  Tensor y = h.sum();
  y.retain_grad();
  y.backward(/*retain_graph=*/true);
  y.backward(/*retain_graph=*/true);
  check_values(x.grad(), {4, 4, 4});  // 2 per call, as in PyTorch
  check_values(h.grad(), {2, 2, 2});
  check_values(y.grad(), {2});
}

TEST_CASE("the graph has no reference cycles: it dies with its last tensor") {
  std::weak_ptr<Node> intermediate;
  {
    Tensor x = Tensor::from({1, 2}, {2}, true);
    Tensor loss = (exp(x) * x).sum();
    intermediate = loss.node()->parents.at(0);
    CHECK_FALSE(intermediate.expired());
  }
  CHECK(intermediate.expired());
}

TEST_CASE("to_dot draws the graph with op names and shapes") {
  Tensor w = Tensor::ones({2, 3}, true);
  Tensor x = Tensor::ones({2, 3}, true);
  const std::string dot = to_dot((w * x + w).sum());
  CHECK(dot.rfind("digraph crossgrad {", 0) == 0);
  CHECK(dot.find("sum | ()") != std::string::npos);
  CHECK(dot.find("add | (2,3)") != std::string::npos);
  CHECK(dot.find("mul | (2,3)") != std::string::npos);
  CHECK(dot.find("leaf | (2,3)") != std::string::npos);
  // w feeds both mul and add: it is drawn once, with two edges out.
  std::size_t leaf_boxes = 0;
  for (std::size_t at = dot.find("leaf |"); at != std::string::npos; at = dot.find("leaf |", at + 1))
    ++leaf_boxes;
  CHECK(leaf_boxes == 2);
}

TEST_CASE("to_dot names leaves and shows the value and gradient of one-element tensors") {
  Tensor a = Tensor::scalar(2, true).set_label("a");
  Tensor b = Tensor::scalar(-3, true).set_label("b");
  Tensor c = (a * b).set_label("c");
  c.backward(/*retain_graph=*/true);  // without it, backward frees the graph it walked
  const std::string dot = to_dot(c);
  CHECK(dot.find("a | leaf | () | value 2.0000 | grad -3.0000") != std::string::npos);
  CHECK(dot.find("b | leaf | () | value -3.0000 | grad 2.0000") != std::string::npos);
  CHECK(dot.find("c | mul | () | value -6.0000") != std::string::npos);
  CHECK(a.label() == "a");
}

TEST_CASE("graph_nodes: root first, one entry per node, one parent index per use") {
  Tensor a = Tensor::scalar(2, true).set_label("a");
  Tensor b = Tensor::scalar(-3, true).set_label("b");
  Tensor ab = a * b;
  Tensor f = (ab + a).set_label("f");  // a is used twice: by mul and by add
  f.backward(/*retain_graph=*/true);
  const std::vector<GraphNode> nodes = graph_nodes(f);
  REQUIRE(nodes.size() == 4);  // f, mul, a, b
  CHECK(nodes[0].label == "f");
  CHECK(nodes[0].op == "add");
  CHECK(nodes[0].value == doctest::Approx(-4));
  CHECK(nodes[0].has_grad == false);  // a non-leaf's gradient is freed after backward
  std::size_t edges = 0;
  for (const GraphNode& node : nodes) {
    edges += node.parents.size();
    for (const std::size_t parent : node.parents) CHECK(parent < nodes.size());
  }
  CHECK(edges == 4);  // mul <- a, mul <- b, add <- mul, add <- a
  const auto named = [&](const std::string& label) {
    for (const GraphNode& node : nodes)
      if (node.label == label) return node;
    FAIL("no node labelled " << label);
    return GraphNode{};
  };
  CHECK(named("a").op == "leaf");
  CHECK(named("a").has_grad);
  CHECK(named("a").grad == doctest::Approx(-2));  // b + 1: both uses add into a's gradient
  CHECK(named("b").grad == doctest::Approx(2));
  // to_dot draws exactly these nodes and edges.
  const std::string dot = to_dot(f);
  std::size_t arrows = 0;
  for (std::size_t at = dot.find("->"); at != std::string::npos; at = dot.find("->", at + 1)) ++arrows;
  CHECK(arrows == edges);
}

TEST_CASE("graph_nodes: a tensor used twice by one op is listed twice as its parent") {
  Tensor x = Tensor::from({1, 2}, {2}, true);
  const std::vector<GraphNode> nodes = graph_nodes(x * x);
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[0].parents == std::vector<std::size_t>{1, 1});
  CHECK(nodes[1].shape == Shape{2});
  CHECK_FALSE(nodes[1].has_value);  // values are shown for one-element tensors only
}

// --- An input that stops requiring grad: no gradient, and no crash ---

namespace {

// Every op once, as a function of x (3, 4) that requires grad. Each result is reduced to a
// scalar loss by the test.
using OpOfX = Tensor (*)(const Tensor&);
const std::vector<std::pair<const char*, OpOfX>>& every_op() {
  static const std::vector<std::pair<const char*, OpOfX>> ops = {
      {"neg", [](const Tensor& x) { return -x; }},
      {"clone", [](const Tensor& x) { return x.clone(); }},
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"log", [](const Tensor& x) { return log(abs(x) + 1); }},
      {"sqrt", [](const Tensor& x) { return sqrt(abs(x) + 1); }},
      {"pow", [](const Tensor& x) { return pow(x, 3); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"add", [](const Tensor& x) { return x + Tensor::ones({4}); }},
      {"mul", [](const Tensor& x) { return x * Tensor::ones({3, 1}); }},
      {"div", [](const Tensor& x) { return Tensor::ones({4}) / (x * x + 1); }},
      {"sum", [](const Tensor& x) { return x.sum(); }},
      {"sum(dim)", [](const Tensor& x) { return x.sum(1); }},
      {"mean", [](const Tensor& x) { return x.mean(0, true); }},
      {"max", [](const Tensor& x) { return x.max(); }},
      {"max(dim)", [](const Tensor& x) { return x.max(1); }},
      {"reshape", [](const Tensor& x) { return x.reshape({2, 6}); }},
      {"transpose", [](const Tensor& x) { return x.t(); }},
      {"permute", [](const Tensor& x) { return x.unsqueeze(0).permute({2, 0, 1}); }},
      {"squeeze", [](const Tensor& x) { return x.unsqueeze(1).squeeze(1); }},
      {"expand", [](const Tensor& x) { return x.expand({2, 3, 4}); }},
      {"slice", [](const Tensor& x) { return x.slice(1, 1, 3); }},
      {"concat", [](const Tensor& x) { return concat({x, x}, 0); }},
      {"split", [](const Tensor& x) { return split(x, 2, 1)[1]; }},
      {"index_select", [](const Tensor& x) { return index_select(x, 0, {2, 0, 2}); }},
      {"embedding", [](const Tensor& x) { return embedding(x, {1, 1, 0}, {3}); }},
      {"masked_fill", [](const Tensor& x) { return x.masked_fill(Tensor::ones({4}), 0); }},
      {"matmul", [](const Tensor& x) { return x.matmul(Tensor::ones({4, 2})); }},
      {"softmax", [](const Tensor& x) { return x.softmax(-1); }},
      {"log_softmax", [](const Tensor& x) { return x.log_softmax(0); }},
      {"cross_entropy", [](const Tensor& x) { return cross_entropy(x, {0, 3, 1}); }},
      {"layer_norm", [](const Tensor& x) { return layer_norm(x, Tensor(), Tensor()); }},
      {"dropout", [](const Tensor& x) {
         Generator gen(1);
         return dropout(x, 0.5, true, gen);
       }},
  };
  return ops;
}

}  // namespace

TEST_CASE("backward: a leaf that stops requiring grad after use gets no gradient, for every op") {
  for (const auto& [name, op] : every_op()) {
    INFO("op " << name);
    Tensor x = Tensor::randn({3, 4}, default_generator(), true);
    const Tensor loss = (op(x) * op(x)).sum();  // x on two paths
    x.requires_grad_(false);                    // as PyTorch: the graph then skips it
    loss.backward();
    CHECK_FALSE(x.grad().defined());
  }
}

TEST_CASE("backward: which inputs take gradients is decided when the op runs") {
  Tensor x = Tensor::from({1, 2}, {2}, true);
  Tensor w = Tensor::from({3, 4}, {2});
  Tensor loss = (x * w).sum();
  w.requires_grad_(true);  // too late for this graph: w is not one of its inputs
  loss.backward();
  check_values(x.grad(), {3, 4});
  CHECK_FALSE(w.grad().defined());
  // In a two-input op, the input that still requires grad still gets its gradient.
  Tensor a = Tensor::from({1, 2}, {2}, true);
  Tensor b = Tensor::from({5, 6}, {2}, true);
  Tensor product = (a * b).sum();
  a.requires_grad_(false);
  product.backward();
  CHECK_FALSE(a.grad().defined());
  check_values(b.grad(), {1, 2});
}

// --- Version counter: a saved tensor changed in place ---

TEST_CASE("backward refuses a saved input that was changed in place, naming the op and shape") {
  Tensor x = Tensor::from({1, 2, 3}, {3}, true);
  Tensor loss = exp(x).sum();
  CHECK(x.version() == 0);
  x.mutable_data()[0] = 5;  // exp's backward reads e^x: it would use e^5 for e^1
  CHECK(x.version() == 1);
  CHECK_THROWS_WITH_AS(loss.backward(),
                       doctest::Contains("tensor of shape (3) that 'exp' saved for its backward "
                                         "was modified in place"),
                       Error);
  SUBCASE("set() is a write too") {
    Tensor w = Tensor::from({1, 2}, {1, 2}, true);
    Tensor y = Tensor::from({3, 4}, {2, 1}, true);
    Tensor product = w.matmul(y).sum();
    w.set({0, 1}, 7);
    CHECK_THROWS_WITH_AS(product.backward(), doctest::Contains("'matmul' saved"), Error);
  }
  SUBCASE("an op's own output changed in place") {
    Tensor t = tanh(x);
    Tensor total = t.sum();
    t.mutable_data()[1] = 0;  // tanh's backward reads its output: 1 - y²
    CHECK_THROWS_WITH_AS(total.backward(), doctest::Contains("'tanh' saved"), Error);
  }
  SUBCASE("a write through a view is a write to what the op saved") {
    Tensor w = Tensor::from({1, 2, 3, 4}, {2, 2}, true);
    Tensor loss2 = exp(w).sum();
    Tensor flat = w.detach().reshape({4});  // shares w's storage: no copy
    flat.mutable_data()[3] = 0;
    CHECK(w.version() == 1);
    CHECK_THROWS_WITH_AS(loss2.backward(),
                         doctest::Contains("tensor of shape (2,2) that 'exp' saved"), Error);
  }
  SUBCASE("an op that saved a view refuses after a write to its base") {
    Tensor w = Tensor::from({1, 2, 3, 4}, {2, 2}, true);
    Tensor row = w.slice(0, 1, 2);  // (1, 2), a view of w's second row
    Tensor loss2 = exp(row).sum();
    w.set({1, 0}, 9);
    CHECK_THROWS_WITH_AS(loss2.backward(),
                         doctest::Contains("tensor of shape (1,2) that 'exp' saved"), Error);
  }
  SUBCASE("reading is not writing, and a new graph sees the new values") {
    Tensor y = Tensor::from({1, 2}, {2}, true);
    Tensor again = exp(y).sum();
    const Tensor& read_only = y;
    CHECK(read_only.data()[0] == 1);
    CHECK(y.at({1}) == 2);
    CHECK(y.version() == 0);
    again.backward();  // no write happened: fine
    y.mutable_data()[0] = 0;
    y.zero_grad();
    exp(y).sum().backward();  // recorded after the write: fine
    check_values(y.grad(), {1, std::exp(2.0)});
  }
}

// --- Anomaly mode ---

TEST_CASE("DetectAnomalyGuard: log(0) throws in the forward, naming the op") {
  const Tensor zero = Tensor::from({1, 0}, {2}, true);
  CHECK(std::isinf(log(zero).values()[1]));  // without the guard: -inf, as in PyTorch
  {
    DetectAnomalyGuard guard;
    CHECK(anomaly_detection_enabled());
    CHECK_THROWS_WITH_AS(log(zero),
                         doctest::Contains("anomaly: forward of 'log' produced -inf at element 1 "
                                           "of its output of shape (2)"),
                         Error);
    // NaN from finite input: log of a negative number.
    CHECK_THROWS_WITH_AS(log(Tensor::from({-1}, {1})), doctest::Contains("produced NaN"), Error);
    // masked_fill's -inf is its purpose, and softmax turns it into an exact 0: no anomaly.
    const Tensor scores = Tensor::from({1, 2, 3}, {3}, true);
    const Tensor weights = scores.masked_fill(Tensor::from({0, 0, 1}, {3}), -INFINITY).softmax(0);
    CHECK(weights.values()[2] == 0);
    weights.sum().backward();
  }
  CHECK_FALSE(anomaly_detection_enabled());
}

TEST_CASE("DetectAnomalyGuard: an infinite gradient throws in the backward, naming the op") {
  Tensor x = Tensor::from({4, 0}, {2}, true);
  DetectAnomalyGuard guard;
  Tensor loss = sqrt(x).sum();  // √0 = 0 is fine; its slope 1/(2√0) is not
  CHECK_THROWS_WITH_AS(loss.backward(),
                       doctest::Contains("anomaly: backward of 'sqrt' produced inf at element 1 "
                                         "of the gradient of its input of shape (2)"),
                       Error);
}

TEST_CASE("DetectAnomalyGuard: a learning rate too large is caught at the first overflow") {
  // Fit y = 2x with one weight by gradient descent at lr 10: every step multiplies the error
  // by about -59, so within a few dozen steps the float values overflow.
  const Tensor x = Tensor::from({1, 2, 3}, {3});
  const Tensor y = Tensor::from({2, 4, 6}, {3});
  auto train = [&](int steps) {
    Tensor w = Tensor::from({0.5}, {1}, true);
    for (int step = 0; step < steps; ++step) {
      Tensor loss = pow(x * w - y, 2).mean();
      w.zero_grad();
      loss.backward();
      w.mutable_data()[0] -= real(10) * w.grad().item();
    }
    return w.item();
  };
  CHECK_FALSE(std::isfinite(train(300)));  // without the guard: a silent NaN
  DetectAnomalyGuard guard;
  CHECK_THROWS_WITH_AS(train(300), doctest::Contains("anomaly: "), Error);
}
