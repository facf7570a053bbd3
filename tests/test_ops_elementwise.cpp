// Tests for autograd/ops_elementwise.cpp: hand-worked forward values, float64 gradient
// checks on two shapes (with broadcasting and an input used twice) and shape errors.
#include "testing.h"

using namespace crossgrad;
using namespace testing;

TEST_CASE("add, sub, mul, div: forward values by hand, with broadcasting") {
  const Tensor a = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from({10, 20, 30}, {3});  // broadcast over the rows of a
  check_values(a + b, {11, 22, 33, 14, 25, 36});
  check_values(a - b, {-9, -18, -27, -6, -15, -24});
  check_values(a * b, {10, 40, 90, 40, 100, 180});
  check_values(b / a, {10, 10, 10, 2.5, 4, 5});  // 10/1, 20/2, 30/3, 10/4, 20/5, 30/6
  const Tensor column = Tensor::from({1, 2}, {2, 1});
  CHECK((a * column).shape() == Shape{2, 3});
  check_values(a * column, {1, 2, 3, 8, 10, 12});
}

TEST_CASE("scalar operators broadcast a shape-() tensor") {
  const Tensor x = Tensor::from({1, 2, 4}, {3});
  check_values(x + 1, {2, 3, 5});
  check_values(1 - x, {0, -1, -3});
  check_values(2 * x, {2, 4, 8});
  check_values(x / 2, {0.5, 1, 2});
  check_values(4 / x, {4, 2, 1});
  check_values(-x, {-1, -2, -4});
}

TEST_CASE("unary math and activations: forward values by hand") {
  // The expected values are worked out once, not recomputed with the std:: calls the ops
  // make, so a wrong formula in an op (say tanh computed as sinh) cannot agree with itself.
  const Tensor x = Tensor::from({-1, 0, 2}, {3});
  check_values(exp(x), {0.36787944, 1, 7.3890561});  // 1/e, e^0, e² = 2.71828² = 7.389
  check_values(abs(x), {1, 0, 2});
  check_values(relu(x), {0, 0, 2});
  check_values(pow(x, 2), {1, 0, 4});
  // tanh x = (e^2x - 1)/(e^2x + 1): tanh(-1) = (0.135335 - 1)/(1.135335) = -0.761594
  check_values(tanh(x), {-0.76159416, 0, 0.96402758});
  // σ(x) = 1/(1 + e^-x): σ(-1) = 1/(1 + 2.718282) = 0.268941, σ(2) = 1/(1 + 0.135335)
  check_values(sigmoid(x), {0.26894142, 0.5, 0.88079708});
  const Tensor positive = Tensor::from({1, 4, 9}, {3});
  check_values(sqrt(positive), {1, 2, 3});
  check_values(log(positive), {0, 1.3862944, 2.1972246});  // ln 4 = 2 ln 2, ln 9 = 2 ln 3
  // gelu(1) = ½·1·(1 + tanh(√(2/π)·(1 + 0.044715))) = 0.841192 (PyTorch, approximate='tanh')
  check_values(gelu(Tensor::from({1, 0, -1}, {3})), {0.841192, 0, -0.158808});
}

TEST_CASE("sigmoid stays finite at extreme inputs, forward and backward") {
  Tensor x = Tensor::from({-1000, 1000}, {2}, true);
  Tensor y = sigmoid(x);
  check_values(y, {0, 1});
  y.sum().backward();
  check_values(x.grad(), {0, 0});
}

TEST_CASE("binary ops: mismatched shapes name the op and both shapes") {
  const Tensor a = Tensor::zeros({2, 3});
  const Tensor b = Tensor::zeros({4});
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("add: shapes (2,3) and (4) cannot be broadcast"),
                       Error);
  CHECK_THROWS_WITH_AS(a * b, doctest::Contains("mul: shapes (2,3) and (4)"), Error);
  CHECK_THROWS_AS(a / Tensor::zeros({3, 2}), std::invalid_argument);
}

GRADCHECK_CASE("add, sub, mul, div: backward matches finite differences") {
  const Tensor a = random_input({2, 3}, 1);
  const Tensor b = random_input({2, 3}, 2);
  const Tensor row = random_input({3}, 3);
  const Tensor column = random_input({2, 1}, 4);
  const Tensor away_from_zero = Tensor::from({1.5, -2, 0.7, 3, -1.1, 0.9}, {2, 3}, true);
  SUBCASE("same shapes") {
    check_gradients([](const Inputs& in) { return in[0] + in[1]; }, {a, b});
    check_gradients([](const Inputs& in) { return in[0] - in[1]; }, {a, b});
    check_gradients([](const Inputs& in) { return in[0] * in[1]; }, {a, b});
    check_gradients([](const Inputs& in) { return in[0] / in[1]; }, {a, away_from_zero});
  }
  SUBCASE("broadcast: a row and a column") {
    check_gradients([](const Inputs& in) { return in[0] + in[1]; }, {a, row});
    check_gradients([](const Inputs& in) { return in[0] - in[1]; }, {column, a});
    check_gradients([](const Inputs& in) { return in[0] * in[1]; }, {row, column});
    check_gradients([](const Inputs& in) { return in[0] / in[1]; }, {row, away_from_zero});
  }
  SUBCASE("an input used twice") {
    check_gradients([](const Inputs& in) { return in[0] * in[0] + in[0]; }, {a});
    check_gradients([](const Inputs& in) { return in[0] / (in[0] * in[0] + 1); }, {a});
  }
  SUBCASE("scalar operands") {
    check_gradients([](const Inputs& in) { return 3 - 2 * in[0] / 4 + 1; }, {a});
    check_gradients([](const Inputs& in) { return 1 / (in[0] * in[0] + 1); }, {a});
  }
}

GRADCHECK_CASE("unary math: backward matches finite differences") {
  const Tensor x = random_input({2, 3}, 5);
  const Tensor x3 = random_input({4}, 6);
  const Tensor positive = Tensor::from({0.5, 1.5, 2, 3, 0.8, 1.1}, {2, 3}, true);
  for (const Tensor& in : {x, x3}) {
    check_gradients([](const Inputs& v) { return neg(v[0]); }, {in});
    check_gradients([](const Inputs& v) { return clone(v[0]) * v[0]; }, {in});
    check_gradients([](const Inputs& v) { return exp(v[0]); }, {in});
    check_gradients([](const Inputs& v) { return pow(v[0], 3); }, {in});
    check_gradients([](const Inputs& v) { return abs(v[0]); }, {in});  // no element at 0
  }
  check_gradients([](const Inputs& v) { return log(v[0]); }, {positive});
  check_gradients([](const Inputs& v) { return sqrt(v[0]); }, {positive});
  check_gradients([](const Inputs& v) { return pow(v[0], -0.5); }, {positive});
  check_gradients([](const Inputs& v) { return exp(v[0]) * log(v[0]); }, {positive});  // twice
}

GRADCHECK_CASE("activations: backward matches finite differences") {
  const Tensor x = random_input({2, 3}, 7);
  const Tensor x3 = random_input({3, 1, 2}, 8);
  for (const Tensor& in : {x, x3}) {
    check_gradients([](const Inputs& v) { return relu(v[0]); }, {in});
    check_gradients([](const Inputs& v) { return tanh(v[0]); }, {in});
    check_gradients([](const Inputs& v) { return sigmoid(v[0]); }, {in});
    check_gradients([](const Inputs& v) { return gelu(v[0]); }, {in});
    check_gradients([](const Inputs& v) { return tanh(v[0]) * sigmoid(v[0]); }, {in});
  }
}

TEST_CASE("relu and abs send gradient 0 at the kink x = 0, like PyTorch") {
  Tensor x = Tensor::from({0, 0}, {2}, true);
  (relu(x) + abs(x)).sum().backward();
  check_values(x.grad(), {0, 0});
}

TEST_CASE("pow: a non-finite exponent is an error") {
  CHECK_THROWS_WITH_AS(pow(Tensor::ones({2}), INFINITY), doctest::Contains("pow: exponent"), Error);
}
