// Tests for autograd/ops_index.cpp: index_select, embedding and masked_fill — hand-worked
// forward values, repeated ids accumulating their gradients, float64 gradient checks on two
// shapes (with a broadcast mask and an input used twice) and argument errors.
#include <limits>

#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {
const real inf = std::numeric_limits<real>::infinity();

// Backpropagates a gradient of ones through y (the gradient of y.sum()).
void backward_ones(Tensor y) { y.backward(Tensor::ones(y.shape())); }
}  // namespace

// --- index_select ---

TEST_CASE("index_select: forward values by hand along dim 0, dim 1 and dim -1") {
  const Tensor x = Tensor::from({0, 1, 2, 10, 11, 12, 20, 21, 22}, {3, 3});  // x[r][c] = 10r + c
  const Tensor rows = index_select(x, 0, {2, 0, 2});  // rows 2, 0, 2: a repeated id is fine
  CHECK(rows.shape() == Shape{3, 3});
  check_values(rows, {20, 21, 22, 0, 1, 2, 20, 21, 22});
  const Tensor columns = index_select(x, 1, {1});  // column 1 of every row
  CHECK(columns.shape() == Shape{3, 1});
  check_values(columns, {1, 11, 21});
  check_values(index_select(x, -1, {2, 0}), {2, 0, 12, 10, 22, 20});
  // A 3-d tensor along the middle dim: x3[a][b][c] = 100a + 10b + c, shape (2,3,2).
  const Tensor x3 = Tensor::from({0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121}, {2, 3, 2});
  check_values(index_select(x3, 1, {2, 1}), {20, 21, 10, 11, 120, 121, 110, 111});
  CHECK(index_select(x, 0, {}).shape() == Shape{0, 3});  // no ids: an empty result
}

TEST_CASE("index_select: repeated ids accumulate their gradients") {
  Tensor x = Tensor::zeros({3, 2}, true);
  backward_ones(index_select(x, 0, {2, 0, 2, 2}));
  // Row 0 picked once, row 1 never, row 2 three times.
  check_values(x.grad(), {1, 1, 0, 0, 3, 3});
}

GRADCHECK_CASE("index_select: backward matches finite differences") {
  SUBCASE("dim 0 of a (4,3) matrix, with repeats") {
    check_gradients([](const Inputs& in) { return index_select(in[0], 0, {3, 1, 3, 0}); },
                    {random_input({4, 3}, 1)});
  }
  SUBCASE("dim 1 and dim -1 of a (2,3,4) tensor") {
    const Tensor x = random_input({2, 3, 4}, 2);
    check_gradients([](const Inputs& in) { return index_select(in[0], 1, {2, 2, 0}); }, {x});
    check_gradients([](const Inputs& in) { return index_select(in[0], -1, {1, 3}); }, {x});
  }
  SUBCASE("an input used twice") {
    // Rows (1, 0, 1) times rows (0, 1, 1): every row of x reaches the output on two paths.
    check_gradients([](const Inputs& in) {
      return index_select(in[0], 0, {1, 0, 1}) * index_select(in[0], 0, {0, 1, 1}) + in[0];
    }, {random_input({3, 2}, 3)});
  }
}

TEST_CASE("index_select: an out-of-range index names the op, the index and the dim size") {
  const Tensor x = Tensor::zeros({4, 3});
  CHECK_THROWS_WITH_AS(index_select(x, 0, {1, 4}),
                       doctest::Contains("index_select: index 4 is out of range for dim 0 of "
                                         "size 4"), Error);
  CHECK_THROWS_WITH_AS(index_select(x, 1, {-1}),
                       doctest::Contains("index_select: index -1 is out of range for dim 1 of "
                                         "size 3"), Error);
  CHECK_THROWS_WITH_AS(index_select(x, 2, {0}), doctest::Contains("index_select: dim 2"), Error);
}

// --- embedding ---

TEST_CASE("embedding: rows of the weight, shaped ids_shape + (D)") {
  // weight: (V=4, D=2), row v = (v, -v)
  const Tensor weight = Tensor::from({0, 0, 1, -1, 2, -2, 3, -3}, {4, 2});
  const Tensor out = embedding(weight, {3, 1, 1, 0, 2, 3}, {2, 3});
  CHECK(out.shape() == Shape{2, 3, 2});
  check_values(out, {3, -3, 1, -1, 1, -1, 0, 0, 2, -2, 3, -3});
  CHECK(embedding(weight, {2}, {}).shape() == Shape{2});  // one id of shape () -> (D)
}

TEST_CASE("embedding: a token that appears twice gets both gradients") {
  Tensor weight = Tensor::zeros({3, 2}, true);
  backward_ones(embedding(weight, {1, 2, 1, 1}, {2, 2}));
  check_values(weight.grad(), {0, 0, 3, 3, 1, 1});
}

GRADCHECK_CASE("embedding: backward matches finite differences") {
  SUBCASE("a (2,3) batch of ids into a (5,4) weight") {
    check_gradients(
        [](const Inputs& in) { return embedding(in[0], {4, 0, 4, 1, 1, 2}, {2, 3}); },
        {random_input({5, 4}, 4)});
  }
  SUBCASE("a flat list of ids, the weight used twice") {
    check_gradients([](const Inputs& in) {
      return embedding(in[0], {2, 0, 2}, {3}) * embedding(in[0], {1, 1, 2}, {3});
    }, {random_input({3, 2}, 5)});
  }
}

TEST_CASE("embedding: a bad weight, ids_shape or id names the op and the shapes") {
  const Tensor weight = Tensor::zeros({4, 2});
  CHECK_THROWS_WITH_AS(embedding(Tensor::zeros({4}), {0}, {1}),
                       doctest::Contains("embedding: weight must be 2-d (V, D), got shape (4)"),
                       Error);
  CHECK_THROWS_WITH_AS(embedding(weight, {0, 1, 2}, {2, 2}),
                       doctest::Contains("embedding: 3 ids cannot fill ids_shape (2,2)"), Error);
  CHECK_THROWS_WITH_AS(embedding(weight, {0, 4}, {2}),
                       doctest::Contains("embedding: id 4 is out of range for a weight of "
                                         "shape (4,2)"), Error);
}

// --- masked_fill ---

TEST_CASE("masked_fill: forward values by hand, with the mask broadcast to x") {
  const Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  check_values(masked_fill(x, Tensor::from({0, 1, 0, 1, 0, 0}, {2, 3}), -1),
               {1, -1, 3, -1, 5, 6});
  check_values(masked_fill(x, Tensor::from({0, 1}, {2, 1}), 0), {1, 2, 3, 0, 0, 0});  // rows
  check_values(masked_fill(x, Tensor::from({1, 0, 1}, {3}), 9), {9, 2, 9, 9, 5, 9});  // columns
  // The attention use: -inf where a key is padding.
  const Tensor masked = masked_fill(x, Tensor::from({0, 0, 1}, {1, 3}), -inf);
  CHECK(masked.values()[2] == -inf);
  CHECK(masked.values()[5] == -inf);
  CHECK(masked.values()[4] == 5);
}

TEST_CASE("masked_fill: the gradient passes only where the mask is 0") {
  Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  Tensor y = masked_fill(x, Tensor::from({1, 0, 0}, {3}), 7);
  y.backward(Tensor::from({10, 20, 30, 40, 50, 60}, {2, 3}));
  check_values(x.grad(), {0, 20, 30, 0, 50, 60});
}

GRADCHECK_CASE("masked_fill: backward matches finite differences") {
  SUBCASE("a mask of x's shape") {
    const Tensor mask = Tensor::from({1, 0, 0, 1, 1, 0}, {2, 3});
    check_gradients([mask](const Inputs& in) { return masked_fill(in[0], mask, -5); },
                    {random_input({2, 3}, 6)});
  }
  SUBCASE("broadcast: a (B,1,1,S) padding mask over (B,H,T,S) scores") {
    const Tensor mask = Tensor::from({0, 0, 1, 0, 1, 1}, {2, 1, 1, 3});
    check_gradients([mask](const Inputs& in) { return masked_fill(in[0], mask, 0); },
                    {random_input({2, 2, 2, 3}, 7)});
  }
  SUBCASE("an input used twice") {
    const Tensor mask = Tensor::from({0, 1}, {2, 1});
    check_gradients(
        [mask](const Inputs& in) { return masked_fill(in[0] * in[0], mask, 1) * in[0]; },
        {random_input({2, 3}, 8)});
  }
}

TEST_CASE("masked_fill: a mask that does not broadcast to x's shape names both shapes") {
  const Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(masked_fill(x, Tensor::zeros({4}), 0),
                       doctest::Contains("masked_fill: shapes (2,3) and (4) cannot be broadcast"),
                       Error);
  // (2,1,3) would broadcast x up to (2,2,3): the mask may not grow x.
  CHECK_THROWS_WITH_AS(masked_fill(x, Tensor::zeros({2, 1, 3}), 0),
                       doctest::Contains("masked_fill: mask of shape (2,1,3) must broadcast to "
                                         "x's shape (2,3), but together they broadcast to "
                                         "(2,2,3)"), Error);
  CHECK_THROWS_WITH_AS(masked_fill(Tensor::zeros({3}), Tensor::zeros({2, 3}), 0),
                       doctest::Contains("masked_fill: mask of shape (2,3)"), Error);
}
