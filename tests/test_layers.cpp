// Tests for nn/layers.cpp: Linear, Embedding, LayerNorm, Dropout and PositionalEncoding —
// forward values by hand, PyTorch's initialisation, float64 gradient checks with respect to
// inputs and parameters, and the errors each layer raises at its boundary.
#include "nn/layers.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

void fill(Tensor t, const std::vector<real>& values) {
  REQUIRE(values.size() == t.numel());
  std::copy(values.begin(), values.end(), t.mutable_data());
}

}  // namespace

TEST_CASE("Linear: forward is x Wᵀ + b, by hand") {
  Generator gen(0);
  nn::Linear linear(2, 3, gen);
  fill(linear.weight(), {1, 2, 3, 4, 5, 6});  // (3, 2)
  fill(linear.bias(), {0.5, -1, 0});
  const Tensor x = Tensor::from({1, 1, 2, 0}, {2, 2});
  // row 0: (1+2+0.5, 3+4-1, 5+6+0); row 1: (2+0.5, 6-1, 10+0)
  check_values(linear.forward(x), {3.5, 6, 11, 2.5, 5, 10});
  const Tensor batched = Tensor::from({1, 1, 2, 0}, {2, 1, 2});
  CHECK(linear.forward(batched).shape() == Shape{2, 1, 3});
  nn::Linear no_bias(2, 3, gen, /*bias=*/false);
  CHECK_FALSE(no_bias.bias().defined());
  CHECK(no_bias.named_parameters().size() == 1);
}

TEST_CASE("Linear: weight and bias start as U(-1/√in, 1/√in), like PyTorch") {
  Generator gen(1);
  nn::Linear linear(16, 256, gen);
  const real bound = real(0.25);  // 1/√16
  real largest = 0;
  for (const Tensor& p : linear.parameters())
    for (real v : p.values()) largest = std::max(largest, std::abs(v));
  CHECK(largest <= bound);
  CHECK(largest > real(0.9) * bound);
  // U(-b, b) has mean 0 and standard deviation b/√3: 4,096 weights and 256 biases show it.
  check_spread(linear.weight(), 0, 0.25 / std::sqrt(3.0));
  check_spread(linear.bias(), 0, 0.25 / std::sqrt(3.0));
  Generator same(1);
  nn::Linear twin(16, 256, same);
  CHECK(twin.weight().values() == linear.weight().values());
}

TEST_CASE("Embedding: rows picked by id, by hand; N(0, 1) initialisation") {
  Generator gen(2);
  nn::Embedding table(3, 2, gen);
  fill(table.weight(), {0, 1, 10, 11, 20, 21});
  TokenMatrix ids(1, 3);
  ids.ids = {2, 0, 2};
  const Tensor rows = table.forward(ids);
  CHECK(rows.shape() == Shape{1, 3, 2});
  check_values(rows, {20, 21, 0, 1, 20, 21});
  check_values(table.forward({1}, {1}), {10, 11});

  nn::Embedding big(100, 40, gen);
  check_spread(big.weight(), 0, 1);  // N(0, 1), 4,000 draws
}

TEST_CASE("Embedding: an id outside [0, V) is an error naming the id and V") {
  // The embedding op checks the ids, once; the layer passes its message through.
  Generator gen(3);
  nn::Embedding table(13, 4, gen);
  TokenMatrix ids(2, 2, 5);
  ids.at(1, 0) = 13;
  CHECK_THROWS_WITH_AS(table.forward(ids),
                       doctest::Contains("embedding: id 13 is out of range for a weight of shape "
                                         "(13,4) (13 rows)"),
                       Error);
  CHECK_THROWS_WITH_AS(table.forward({-1}, {1}), doctest::Contains("id -1"), Error);
  CHECK_THROWS_WITH_AS(table.forward({1, 2}, {3}),
                       doctest::Contains("embedding: 2 ids cannot fill ids_shape (3)"), Error);
}

TEST_CASE("LayerNorm: forward by hand, ones and zeros to start") {
  nn::LayerNorm norm(3);
  check_values(norm.weight(), {1, 1, 1});
  check_values(norm.bias(), {0, 0, 0});
  // x = (1, 2, 3): mean 2, variance 2/3, so y = (x - 2) / √(2/3 + 1e-5) = (∓1.2247357, 0)
  const Tensor x = Tensor::from({1, 2, 3, 5, 5, 5}, {2, 3});
  check_values(norm.forward(x), {-1.2247357, 0, 1.2247357, 0, 0, 0});
  fill(norm.weight(), {2, 2, 2});
  fill(norm.bias(), {1, 1, 1});
  // 2y + 1; a constant row normalises to 0 (variance 0 + eps), so gives the bias
  check_values(norm.forward(x), {-1.4494714, 1, 3.4494714, 1, 1, 1});
}

TEST_CASE("Dropout: identity in eval mode and at p = 0, zero-or-scaled while training") {
  Generator gen(4);
  nn::Dropout dropout(0.5, gen);
  const Tensor x = Tensor::ones({1000});
  const Tensor y = dropout.forward(x);
  std::size_t zeros = 0;
  for (real v : y.values()) {
    CHECK((v == 0 || v == 2));  // kept elements are scaled by 1/(1 - p)
    zeros += v == 0;
  }
  CHECK(zeros > 400);
  CHECK(zeros < 600);
  dropout.eval();
  CHECK(dropout.forward(x).values() == x.values());
  nn::Dropout none(0, gen);
  CHECK(none.forward(x).values() == x.values());
  // The same seed gives the same mask: the run is reproducible.
  Generator a(9), b(9);
  CHECK(nn::Dropout(0.3, a).forward(x).values() == nn::Dropout(0.3, b).forward(x).values());
  CHECK_THROWS_WITH_AS(nn::Dropout(1.5, gen), doctest::Contains("Dropout: p must be in [0, 1]"),
                       Error);
}

TEST_CASE("PositionalEncoding: the reference's sinusoids, by hand") {
  nn::PositionalEncoding positions(4, 8);
  // D = 4: frequencies e^(-2i·ln(10000)/4) = 1 and 0.01,
  // so pe[p] = (sin p, cos p, sin 0.01p, cos 0.01p)
  const Tensor& table = positions.table();
  CHECK(table.shape() == Shape{8, 4});
  CHECK_FALSE(table.requires_grad());
  CHECK(positions.named_parameters().empty());  // a buffer, not a parameter
  const Tensor x = Tensor::zeros({2, 3, 4});
  const Tensor y = positions.forward(x);
  check_values(y.slice(0, 1, 2), {0, 1, 0, 1,                                            //
                                  std::sin(1.0), std::cos(1.0), std::sin(0.01), std::cos(0.01),  //
                                  std::sin(2.0), std::cos(2.0), std::sin(0.02), std::cos(0.02)});
}

TEST_CASE("PositionalEncoding: longer than max_len or the wrong width is an error") {
  nn::PositionalEncoding positions(4, 8);
  CHECK_THROWS_WITH_AS(positions.forward(Tensor::zeros({1, 9, 4})),
                       doctest::Contains("sequence length 9 exceeds max_len 8"), Error);
  CHECK_THROWS_WITH_AS(positions.forward(Tensor::zeros({1, 2, 5})),
                       doctest::Contains("input shape (1,2,5): expected (B, T, 4)"), Error);
}

TEST_CASE("Linear and LayerNorm: a wrong input width names the layer and the shape") {
  Generator gen(5);
  nn::Linear linear(64, 13, gen);
  CHECK_THROWS_WITH_AS(linear.forward(Tensor::zeros({2, 5, 32})),
                       doctest::Contains("Linear(64 -> 13): input shape (2,5,32): last "
                                         "dimension must be 64"),
                       Error);
  CHECK_THROWS_WITH_AS(linear.forward(Tensor::scalar(1)), doctest::Contains("input shape ()"),
                       Error);
  nn::LayerNorm norm(8);
  CHECK_THROWS_WITH_AS(norm.forward(Tensor::zeros({2, 7})),
                       doctest::Contains("LayerNorm(8): input shape (2,7): last dimension must "
                                         "be 8"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::Linear(0, 3, gen), doctest::Contains("Linear: sizes must be positive"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::Embedding(3, 0, gen),
                       doctest::Contains("Embedding: sizes must be positive, got (3, 0)"), Error);
}

GRADCHECK_CASE("Linear: backward matches finite differences for input, weight and bias") {
  Generator gen(6);
  nn::Linear linear(3, 2, gen);
  nn::Linear square(3, 3, gen);
  const Inputs params = {linear.weight(), linear.bias()};
  SUBCASE("a matrix of rows") {
    check_gradients_logged(
        "Linear (4,3)->(4,2)", [&](const Inputs& in) { return linear.forward(in[0]); },
        {random_input({4, 3}, 1), params[0], params[1]});
  }
  SUBCASE("a batch of sequences: (B, T, in)") {
    check_gradients_logged(
        "Linear (2,3,3)->(2,3,2)", [&](const Inputs& in) { return linear.forward(in[0]); },
        {random_input({2, 3, 3}, 2), params[0], params[1]});
  }
  SUBCASE("input used twice: square(x) * x") {
    check_gradients_logged(
        "Linear used twice", [&](const Inputs& in) { return square.forward(in[0]) * in[0]; },
        {random_input({2, 3}, 3), square.weight(), square.bias()});
  }
}

GRADCHECK_CASE("Embedding: backward accumulates repeated ids, matching finite differences") {
  Generator gen(7);
  nn::Embedding table(5, 3, gen);
  // id 1 three times and id 3 twice: their rows must collect every use; ids 2 and 4 none.
  const std::vector<std::int64_t> ids = {1, 3, 1, 1, 0, 3};
  check_gradients_logged(
      "Embedding (repeated ids)",
      [&](const Inputs&) { return table.forward(ids, {2, 3}) * table.forward(ids, {2, 3}); },
      {table.weight()});
  Tensor w = table.weight();
  w.zero_grad();
  table.forward(ids, {2, 3}).sum().backward();
  check_values(w.grad(), {1, 1, 1, 3, 3, 3, 0, 0, 0, 2, 2, 2, 0, 0, 0});
}

GRADCHECK_CASE("LayerNorm: backward matches finite differences for input, weight and bias") {
  nn::LayerNorm norm(4);
  randomize(norm.weight(), 11, /*bound=*/2);
  randomize(norm.bias(), 12, /*bound=*/2);
  const auto fn = [&](const Inputs& in) { return norm.forward(in[0]); };
  check_gradients_logged("LayerNorm (2,4)", fn,
                         {random_input({2, 4}, 4), norm.weight(), norm.bias()});
  check_gradients_logged("LayerNorm (2,3,4)", fn,
                         {random_input({2, 3, 4}, 5), norm.weight(), norm.bias()});
}
