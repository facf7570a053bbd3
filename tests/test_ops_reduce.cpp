// Tests for autograd/ops_reduce.cpp: sum, mean, max and argmax — hand-worked values, where
// the gradient of max goes at a tie, empty inputs, float64 gradient checks and bad dims.
#include <cmath>

#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {
// [[1, 2, 3],
//  [4, 5, 6]]
Tensor two_by_three() { return Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}); }
}  // namespace

TEST_CASE("sum: over every element gives a shape-() tensor") {
  const Tensor y = sum(two_by_three());
  CHECK(y.shape() == Shape{});
  check_values(y, {21});  // 1 + 2 + 3 + 4 + 5 + 6
}

TEST_CASE("sum: along dim 0 and dim -1, with and without keepdim") {
  const Tensor x = two_by_three();
  SUBCASE("dim 0 adds the rows") {
    check_values(sum(x, 0), {5, 7, 9});  // 1+4, 2+5, 3+6
    CHECK(sum(x, 0).shape() == Shape{3});
    CHECK(sum(x, 0, true).shape() == Shape{1, 3});
    check_values(sum(x, 0, true), {5, 7, 9});
  }
  SUBCASE("dim -1 adds along each row") {
    check_values(x.sum(-1), {6, 15});  // 1+2+3, 4+5+6
    CHECK(x.sum(-1).shape() == Shape{2});
    CHECK(x.sum(-1, true).shape() == Shape{2, 1});
    check_values(x.sum(-1, true), {6, 15});
  }
  SUBCASE("a middle dim of a 3-d tensor") {
    // x[i][j][k] = 4i + 2j + k: summing over j gives (4i + k) + (4i + 2 + k)
    const Tensor cube = Tensor::arange(8).reshape({2, 2, 2});
    check_values(sum(cube, 1), {2, 4, 10, 12});
    CHECK(sum(cube, 1).shape() == Shape{2, 2});
  }
}

TEST_CASE("mean: values by hand over everything and along a dim") {
  const Tensor x = two_by_three();
  check_values(mean(x), {3.5});               // 21 / 6
  check_values(mean(x, 1), {2, 5});           // 6/3, 15/3
  check_values(mean(x, 0), {2.5, 3.5, 4.5});  // 5/2, 7/2, 9/2
  CHECK(x.mean(-1, true).shape() == Shape{2, 1});
}

TEST_CASE("sum and mean of no elements: the sum is 0 and the mean is NaN, like PyTorch") {
  check_values(sum(Tensor::zeros({0})), {0});
  CHECK(std::isnan(mean(Tensor::zeros({0})).item()));
  const Tensor empty_rows = Tensor::zeros({0, 3});
  check_values(sum(empty_rows, 0), {0, 0, 0});
  const Tensor means = mean(empty_rows, 0);  // 0 · (1/0) in each of 3 columns
  REQUIRE(means.shape() == Shape{3});
  for (real v : means.values()) CHECK(std::isnan(v));
}

TEST_CASE("max: values by hand over everything and along a dim") {
  // [[1, 5, 3],
  //  [7, 2, 7]]
  const Tensor x = Tensor::from({1, 5, 3, 7, 2, 7}, {2, 3});
  check_values(max(x), {7});
  CHECK(max(x).shape() == Shape{});
  check_values(max(x, 1), {5, 7});     // max(1,5,3), max(7,2,7)
  check_values(max(x, 0), {7, 5, 7});  // max(1,7), max(5,2), max(3,7)
  CHECK(x.max(0, true).shape() == Shape{1, 3});
  CHECK(x.max(-1, true).shape() == Shape{2, 1});
}

TEST_CASE("max: the gradient goes to the first of tied maxima") {
  SUBCASE("over everything") {
    Tensor x = Tensor::from({3, 1, 3}, {3}, true);
    max(x).backward();
    check_values(x.grad(), {1, 0, 0});
  }
  SUBCASE("along the last dim") {
    Tensor x = Tensor::from({2, 2, 1, 4}, {2, 2}, true);
    (max(x, 1) * Tensor::from({10, 20}, {2})).sum().backward();
    check_values(x.grad(), {10, 0, 0, 20});
  }
  SUBCASE("along dim 0, where the first is the earlier row") {
    Tensor x = Tensor::from({5, 1, 5, 1}, {2, 2}, true);
    max(x, 0, true).sum().backward();
    // If this fails with expected values 1 1 1 1, the compiler is at fault: GCC 12.2 with
    // AVX-512 (-march=native here) builds the literal {1, 1, 0, 0} as a broadcast of 1.
    check_values(x.grad(), {1, 1, 0, 0});
  }
}

TEST_CASE("max and argmax: a NaN is the maximum, like PyTorch") {
  const Tensor x = Tensor::from({1, NAN, 3}, {3});
  CHECK(std::isnan(max(x).item()));
  CHECK(argmax(x, 0) == std::vector<std::int64_t>{1});
}

TEST_CASE("argmax: the index of the first maximum, laid out over the result shape") {
  // [[1, 5, 5],
  //  [7, 2, 7]]
  const Tensor x = Tensor::from({1, 5, 5, 7, 2, 7}, {2, 3});
  CHECK(argmax(x, 1) == std::vector<std::int64_t>{1, 0});  // first 5 at 1, first 7 at 0
  CHECK(argmax(x, -1) == std::vector<std::int64_t>{1, 0});
  CHECK(argmax(x, 0) == std::vector<std::int64_t>{1, 0, 1});
  // Along dim 1 of (2,2,2) the result is (2,2), indexed (i, k): compare x[i][0][k] with x[i][1][k]:
  // (0 vs 1) -> 1, (9 vs 2) -> 0, (3 vs 4) -> 1, (8 vs 5) -> 0
  const Tensor cube = Tensor::from({0, 9, 1, 2, 3, 8, 4, 5}, {2, 2, 2});
  CHECK(argmax(cube, 1) == std::vector<std::int64_t>{1, 0, 1, 0});
}

TEST_CASE("reductions: a bad dim names the op") {
  const Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(sum(x, 2), doctest::Contains("sum: dim 2 is out of range for a 2-d"),
                       Error);
  CHECK_THROWS_WITH_AS(mean(x, -3), doctest::Contains("mean: dim -3 is out of range"), Error);
  CHECK_THROWS_WITH_AS(max(x, 5), doctest::Contains("max: dim 5 is out of range"), Error);
  CHECK_THROWS_WITH_AS(argmax(x, 2), doctest::Contains("argmax: dim 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(sum(Tensor::scalar(1), 0), doctest::Contains("sum: dim 0"), Error);
}

TEST_CASE("max and argmax: no elements to compare is an error") {
  CHECK_THROWS_WITH_AS(max(Tensor::zeros({0, 3})),
                       doctest::Contains("max: cannot take the max over all elements of shape "
                                         "(0,3): there are no elements to compare"),
                       Error);
  CHECK_THROWS_WITH_AS(max(Tensor::zeros({2, 0}), 1),
                       doctest::Contains("max: cannot take the max over dim 1 of shape (2,0)"),
                       Error);
  CHECK_THROWS_WITH_AS(argmax(Tensor::zeros({0, 2}), 0),
                       doctest::Contains("argmax: cannot take the max over dim 0 of shape (0,2)"),
                       Error);
  // Along a non-empty dim of an empty tensor there is simply nothing to output.
  CHECK(max(Tensor::zeros({0, 3}), 1).shape() == Shape{0});
  CHECK(argmax(Tensor::zeros({0, 3}), 1).empty());
}

GRADCHECK_CASE("sum: backward matches finite differences") {
  const Tensor matrix = random_input({2, 3}, 11);
  const Tensor cube = random_input({2, 3, 4}, 12);
  for (const Tensor& x : {matrix, cube}) {
    check_gradients([](const Inputs& in) { return sum(in[0]); }, {x});
    check_gradients([](const Inputs& in) { return sum(in[0], 0); }, {x});
    check_gradients([](const Inputs& in) { return sum(in[0], -1, true); }, {x});
    check_gradients([](const Inputs& in) { return sum(in[0], 1); }, {x});
  }
  SUBCASE("an input used twice, its two sums broadcast against each other") {
    // (2,1) * (1,3) -> (2,3)
    check_gradients([](const Inputs& in) { return sum(in[0], 1, true) * sum(in[0], 0, true); },
                    {matrix});
    check_gradients([](const Inputs& in) { return sum(in[0] * in[0], 2) + sum(in[0], 2); },
                    {cube});
  }
}

GRADCHECK_CASE("mean: backward matches finite differences") {
  const Tensor matrix = random_input({2, 3}, 13);
  const Tensor cube = random_input({3, 1, 2}, 14);
  for (const Tensor& x : {matrix, cube}) {
    check_gradients([](const Inputs& in) { return mean(in[0]); }, {x});
    check_gradients([](const Inputs& in) { return mean(in[0], 0); }, {x});
    check_gradients([](const Inputs& in) { return mean(in[0], -1, true); }, {x});
  }
  SUBCASE("an input used twice: centring, as in a hand-written variance") {
    check_gradients(
        [](const Inputs& in) {
          const Tensor centred = in[0] - mean(in[0], -1, true);
          return mean(centred * centred, -1);
        },
        {matrix});
  }
}

GRADCHECK_CASE("max: backward matches finite differences") {
  // random_input gives distinct values, so no tie sits within eps of a kink.
  const Tensor matrix = random_input({2, 3}, 15);
  const Tensor cube = random_input({2, 3, 4}, 16);
  for (const Tensor& x : {matrix, cube}) {
    check_gradients([](const Inputs& in) { return max(in[0]); }, {x});
    check_gradients([](const Inputs& in) { return max(in[0], 0); }, {x});
    check_gradients([](const Inputs& in) { return max(in[0], -1, true); }, {x});
    check_gradients([](const Inputs& in) { return max(in[0], 1); }, {x});
  }
  SUBCASE("an input used twice: the max-shift of a stable softmax") {
    check_gradients([](const Inputs& in) { return exp(in[0] - max(in[0], -1, true)); },
                    {matrix});
    check_gradients([](const Inputs& in) { return max(in[0]) * in[0]; }, {cube});
  }
}
