// Tests for autograd/tensor.cpp and shape.cpp: factories, element access, printing, and the
// errors a new user meets first.
#include <sstream>

#include "testing.h"

using namespace crossgrad;
using namespace testing;

TEST_CASE("factories make leaves of the right shape and values") {
  check_values(Tensor::zeros({2, 2}), {0, 0, 0, 0});
  check_values(Tensor::ones({3}), {1, 1, 1});
  check_values(Tensor::full({2}, 7.5), {7.5, 7.5});
  check_values(Tensor::arange(4), {0, 1, 2, 3});
  check_values(Tensor::arange(1, 2, 0.25), {1, 1.25, 1.5, 1.75});  // ceil((2-1)/0.25) = 4
  check_values(Tensor::arange(3, 0, -1), {3, 2, 1});
  CHECK(Tensor::arange(2, 1).numel() == 0);  // an empty range, as in PyTorch
  const Tensor s = Tensor::scalar(3);
  CHECK(s.shape() == Shape{});
  CHECK(s.item() == 3);
  const Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, /*requires_grad=*/true);
  CHECK(x.shape() == Shape{2, 3});
  CHECK(x.dim() == 2);
  CHECK(x.size(-1) == 3);
  CHECK(x.numel() == 6);
  CHECK(x.requires_grad());
  CHECK(x.is_leaf());
  CHECK(x.at({1, 2}) == 6);  // row 1, column 2 of a row-major 2×3: flat index 1·3 + 2 = 5
}

TEST_CASE("randn and uniform are reproducible from a seed") {
  Generator a(42), b(42), c(43);
  const Tensor x = Tensor::randn({100}, a);
  const Tensor y = Tensor::randn({100}, b);
  const Tensor z = Tensor::randn({100}, c);
  CHECK(x.values() == y.values());
  CHECK(x.values() != z.values());
  double mean = 0;
  for (real v : x.values()) mean += v / 100;
  CHECK(std::abs(mean) < 0.3);  // 100 standard normals: the mean's deviation is 0.1
  const Tensor u = Tensor::uniform({1000}, -1, 2, a);
  for (real v : u.values()) CHECK((v >= -1 && v < 2));
}

TEST_CASE("a generator's state round-trips through text") {
  Generator gen(7);
  gen.normal();
  const std::string saved = gen.state();
  const real next = gen.normal();
  Generator restored;
  restored.set_state(saved);
  CHECK(restored.normal() == next);
  CHECK_THROWS_WITH_AS(restored.set_state("not a state"), doctest::Contains("set_state"), Error);
}

TEST_CASE("element access and item() check their arguments") {
  Tensor x = Tensor::zeros({2, 3});
  x.set({0, 1}, 5);
  CHECK(x.values()[1] == 5);
  CHECK_THROWS_WITH_AS(x.at({2, 0}), doctest::Contains("index 2 is out of range for dimension 0"),
                       Error);
  CHECK_THROWS_WITH_AS(x.at({0}), doctest::Contains("1 coordinates for a tensor of shape (2,3)"),
                       Error);
  CHECK_THROWS_WITH_AS(x.item(), doctest::Contains("shape (2,3)"), Error);
  CHECK_THROWS_WITH_AS(x.size(2), doctest::Contains("dim 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(Tensor::from({1, 2, 3}, {2, 2}),
                       doctest::Contains("3 values cannot fill shape (2,2)"), Error);
  CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("undefined"), Error);
  CHECK_THROWS_AS(Tensor::arange(0, 1, 0), std::invalid_argument);
  // A count no size_t holds used to be cast anyway (undefined behaviour): now an error.
  CHECK_THROWS_WITH_AS(Tensor::arange(0, real(1e30)),
                       doctest::Contains("more than one tensor can hold"), Error);
  CHECK_THROWS_WITH_AS(Tensor::arange(0, 1, real(1e-30)),
                       doctest::Contains("arange: start 0"), Error);
}

TEST_CASE("tensors print like PyTorch") {
  CHECK(to_string(Tensor::from({1, 2, 3, 4}, {2, 2})) ==
        "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])");
  CHECK(to_string(Tensor::scalar(0.5, true)) == "tensor(0.5000, requires_grad=True)");
  CHECK(to_string(Tensor::from({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2})) ==
        "tensor([[[1.0000, 2.0000],\n         [3.0000, 4.0000]],\n\n"
        "        [[5.0000, 6.0000],\n         [7.0000, 8.0000]]])");
  CHECK(to_string(Tensor::zeros({0, 3})) == "tensor([], size=(0,3))");
  // A big tensor is summarised with "..." like PyTorch's threshold of 1000 elements.
  const std::string big = to_string(Tensor::arange(2000));
  CHECK(big == "tensor([0.0000, 1.0000, 2.0000, ..., 1997.0000, 1998.0000, 1999.0000])");
}

TEST_CASE("broadcast_shapes follows NumPy's rules") {
  CHECK(broadcast_shapes({2, 1, 3}, {4, 1}, "test") == Shape{2, 4, 3});
  CHECK(broadcast_shapes({}, {5}, "test") == Shape{5});
  CHECK(broadcast_shapes({0}, {1}, "test") == Shape{0});  // an empty dim stays empty
  CHECK((Tensor::zeros({0}) * 2).numel() == 0);
  CHECK(mean(Tensor::zeros({0, 3}), 1).shape() == Shape{0});
  // A shape whose element count does not fit a size_t is refused, not wrapped around.
  CHECK_THROWS_WITH_AS(Tensor::zeros({0}).reshape({1L << 32, 1L << 32}),
                       doctest::Contains("more elements than a size_t can count"), Error);
  CHECK(numel({1UL << 40, 1UL << 40, 0}) == 0);
  CHECK_THROWS_WITH_AS(broadcast_shapes({2, 3}, {3, 3}, "op"),
                       doctest::Contains("op: shapes (2,3) and (3,3) cannot be broadcast"), Error);
}
