// Tests for autograd/graph.cpp: what backward() promises — accumulation, zero_grad,
// NoGradGuard, detach, deep chains, release after backward, no reference cycles, to_dot.
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
