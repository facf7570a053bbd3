// Tests for nn/module.cpp: dotted parameter names in registration order, train/eval
// propagation, zero_grad, the printed summary, registration errors and the initialisers.
#include <sstream>
#include <type_traits>

#include "nn/layers.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// A two-level tree: an own parameter, a Linear, and a block holding a LayerNorm and a
// Dropout, so names, order and propagation can be checked at every depth.
struct Block : nn::Module {
  nn::LayerNorm norm{3};
  nn::Dropout dropout{real(0.5)};
  Block() {
    register_module("norm", norm);
    register_module("dropout", dropout);
  }
  std::string type_name() const override { return "Block"; }
};

struct Tree : nn::Module {
  Generator gen{7};
  Tensor scale;
  nn::Linear proj{2, 3, gen};
  Block block;
  Tree() {
    scale = register_parameter("scale", Tensor::ones({3}));
    register_module("proj", proj);
    register_module("block", block);
  }
  std::string type_name() const override { return "Tree"; }
  std::string extra_repr() const override { return "toy=true"; }
};

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& named : m.named_parameters()) names.push_back(named.first);
  return names;
}

}  // namespace

TEST_CASE("Module: named_parameters yields dotted names, own parameters first") {
  Tree tree;
  CHECK(names_of(tree) == std::vector<std::string>{"scale", "proj.weight", "proj.bias",
                                                   "block.norm.weight", "block.norm.bias"});
  // 3 + (3·2 + 3) + (3 + 3) = 18
  CHECK(tree.num_parameters() == 18);
  CHECK(tree.parameters().size() == 5);
  for (const Tensor& p : tree.parameters()) CHECK(p.requires_grad());
  // The handles are the live parameters: writing through one changes the module.
  tree.named_parameters()[1].second.mutable_data()[0] = 42;
  CHECK(tree.proj.weight().data()[0] == 42);
  const auto children = tree.named_children();
  REQUIRE(children.size() == 2);
  CHECK(children[0].first == "proj");
  CHECK(children[1].second == &tree.block);
}

TEST_CASE("Module: train() and eval() reach every descendant") {
  Tree tree;
  CHECK(tree.is_training());
  CHECK(tree.block.dropout.is_training());
  tree.eval();
  CHECK_FALSE(tree.is_training());
  CHECK_FALSE(tree.proj.is_training());
  CHECK_FALSE(tree.block.norm.is_training());
  CHECK_FALSE(tree.block.dropout.is_training());
  tree.block.train();  // a subtree alone
  CHECK_FALSE(tree.is_training());
  CHECK(tree.block.dropout.is_training());
  tree.train(true);
  CHECK(tree.proj.is_training());
}

TEST_CASE("Module: zero_grad drops every parameter's gradient") {
  Tree tree;
  const Tensor x = Tensor::ones({4, 2});
  (tree.block.norm.forward(tree.proj.forward(x)) * tree.scale).sum().backward();
  for (const Tensor& p : tree.parameters()) CHECK(p.grad().defined());
  tree.zero_grad();
  for (const Tensor& p : tree.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Module: the summary shows the tree, parameter shapes and counts") {
  Tree tree;
  const std::string text = tree.summary();
  CHECK(text.find("Tree(toy=true)  [18 parameters]\n") == 0);
  CHECK(text.find("  scale (3)\n") != std::string::npos);
  CHECK(text.find("  (proj): Linear(in_features=2, out_features=3, bias=True)  [9 parameters]\n"
                  "    weight (3,2)\n    bias (3)\n") != std::string::npos);
  CHECK(text.find("    (norm): LayerNorm((3,), eps=1e-05)  [6 parameters]") != std::string::npos);
  CHECK(text.find("    (dropout): Dropout(p=0.5)\n") != std::string::npos);
  std::ostringstream printed;
  printed << tree;
  CHECK(printed.str() == text);
}

TEST_CASE("Module: children are registered by address, so a module cannot be copied or moved") {
  // A copy would share parameter handles but hold pointers to the original's children, so
  // Module deletes its copy and move operations, and every module inherits that.
  CHECK_FALSE(std::is_copy_constructible_v<nn::Linear>);
  CHECK_FALSE(std::is_copy_assignable_v<nn::Linear>);
  CHECK_FALSE(std::is_move_constructible_v<nn::Linear>);
  CHECK_FALSE(std::is_move_assignable_v<nn::Module>);
  // What that protects: each child pointer is the address of the member itself.
  Tree tree;
  const auto children = tree.named_children();
  REQUIRE(children.size() == 2);
  CHECK(children[0].second == &tree.proj);
  CHECK(children[1].second == &tree.block);
  CHECK(tree.block.named_children()[0].second == &tree.block.norm);
}

TEST_CASE("Module: registration mistakes are errors naming the parameter") {
  struct Bad : nn::Module {
    std::string type_name() const override { return "Bad"; }
    void twice() {
      register_parameter("w", Tensor::zeros({2}));
      register_parameter("w", Tensor::zeros({2}));
    }
    void not_a_leaf() { register_parameter("y", Tensor::ones({2}, true) * 2); }
    void undefined() { register_parameter("u", Tensor()); }
    void child_twice(nn::Module& child) {
      register_module("c", child);
      register_module("c", child);
    }
  };
  Bad bad;
  CHECK_THROWS_WITH_AS(bad.twice(), doctest::Contains("register_parameter: 'w' is already"),
                       Error);
  CHECK_THROWS_WITH_AS(bad.not_a_leaf(), doctest::Contains("'y' must be a leaf tensor, not the "
                                                           "output of mul"),
                       Error);
  CHECK_THROWS_WITH_AS(bad.undefined(), doctest::Contains("'u' is an undefined tensor"), Error);
  nn::LayerNorm child(2);
  CHECK_THROWS_WITH_AS(bad.child_twice(child), doctest::Contains("register_module: 'c' is already"),
                       Error);
}

TEST_CASE("init: xavier_uniform_, uniform_ and constant_ fill in place, seeded") {
  Generator gen(3);
  Tensor w = Tensor::zeros({30, 20});
  nn::xavier_uniform_(w, gen);
  const real bound = real(std::sqrt(6.0 / (30 + 20)));  // √(6 / (fan_in + fan_out)) ≈ 0.3464
  real largest = 0;
  for (real v : w.values()) largest = std::max(largest, std::abs(v));
  CHECK(largest <= bound);
  CHECK(largest > real(0.9) * bound);  // 600 draws come close to the edge
  check_spread(w, 0, bound / std::sqrt(3.0));  // U(-b, b): standard deviation b/√3 = 0.2
  Generator again(3);
  Tensor w2 = Tensor::zeros({30, 20});
  nn::xavier_uniform_(w2, again);
  CHECK(w2.values() == w.values());  // same seed, same numbers

  Tensor c = Tensor::zeros({3});
  nn::constant_(c, 2.5);
  check_values(c, {2.5, 2.5, 2.5});
  Tensor u = Tensor::zeros({1000});
  nn::uniform_(u, 0.5, 0.7, gen);
  for (real v : u.values()) CHECK((v >= real(0.5) && v <= real(0.7)));
  check_spread(u, 0.6, 0.2 / std::sqrt(12.0));  // U(a, b): mean (a+b)/2, deviation (b-a)/√12
  Tensor vector = Tensor::zeros({3});
  CHECK_THROWS_WITH_AS(nn::xavier_uniform_(vector, gen),
                       doctest::Contains("xavier_uniform_: expects a matrix, got shape (3)"),
                       Error);
}
