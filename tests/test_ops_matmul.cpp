// Tests for autograd/ops_matmul.cpp: hand-worked forward values, batched and broadcast
// batches against per-item products, float64 gradient checks (2-d, batched, folded,
// broadcast, an input used twice), thread-count independence and shape errors.
#include "autograd/gemm.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// a @ b by the reference kernel, one item at a time, with the batch index maps given.
std::vector<double> reference_matmul(const Tensor& a, const Tensor& b, std::size_t items,
                                     const std::vector<std::size_t>& a_item,
                                     const std::vector<std::size_t>& b_item) {
  const std::size_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  std::vector<real> out(items * M * N);
  for (std::size_t i = 0; i < items; ++i)
    gemm_reference(false, false, M, N, K, a.data() + a_item[i] * M * K, K,
                   b.data() + b_item[i] * K * N, N, out.data() + i * M * N, N, false);
  return std::vector<double>(out.begin(), out.end());
}

}  // namespace

TEST_CASE("matmul: forward value of a 2x2 product by hand") {
  const Tensor a = Tensor::from({1, 2, 3, 4}, {2, 2});
  const Tensor b = Tensor::from({5, 6, 7, 8}, {2, 2});
  // [1 2; 3 4] @ [5 6; 7 8] = [1·5 + 2·7, 1·6 + 2·8; 3·5 + 4·7, 3·6 + 4·8] = [19 22; 43 50]
  const Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 2});
  check_values(c, {19, 22, 43, 50});
  // (1,3) @ (3,2): [1 2 3] @ [1 0; 0 1; 1 1] = [1 + 3, 2 + 3] = [4 5]
  check_values(Tensor::from({1, 2, 3}, {1, 3}).matmul(Tensor::from({1, 0, 0, 1, 1, 1}, {3, 2})),
               {4, 5});
}

TEST_CASE("matmul: batched and broadcast batches multiply the matching matrices") {
  SUBCASE("same batch dims: (2,3,4) @ (2,4,5)") {
    const Tensor a = random_input({2, 3, 4}, 1), b = random_input({2, 4, 5}, 2);
    const Tensor c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 3, 5});
    check_values(c, reference_matmul(a, b, 2, {0, 1}, {0, 1}));
  }
  SUBCASE("a 2-d right operand folds a's batch into rows: (2,3,4) @ (4,5)") {
    const Tensor a = random_input({2, 3, 4}, 3), b = random_input({4, 5}, 4);
    const Tensor c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 3, 5});
    check_values(c, reference_matmul(a, b, 2, {0, 1}, {0, 0}));
  }
  SUBCASE("both sides broadcast: (2,1,3,4) @ (3,4,2) -> (2,3,3,2)") {
    const Tensor a = random_input({2, 1, 3, 4}, 5), b = random_input({3, 4, 2}, 6);
    const Tensor c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 3, 3, 2});
    // Item (i, j) of the output batch reads a[i, 0] and b[j].
    check_values(c, reference_matmul(a, b, 6, {0, 0, 0, 1, 1, 1}, {0, 1, 2, 0, 1, 2}));
  }
  SUBCASE("a 2-d left operand against a batch: (3,4) @ (2,4,5)") {
    const Tensor a = random_input({3, 4}, 7), b = random_input({2, 4, 5}, 8);
    CHECK(matmul(a, b).shape() == Shape{2, 3, 5});
    check_values(matmul(a, b), reference_matmul(a, b, 2, {0, 0}, {0, 1}));
  }
}

TEST_CASE("matmul: empty dimensions give empty or zero results") {
  // K = 0: an empty sum, so every element is 0.
  check_values(matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3})), {0, 0, 0, 0, 0, 0});
  CHECK(matmul(Tensor::zeros({0, 4}), Tensor::zeros({4, 3})).shape() == Shape{0, 3});
}

GRADCHECK_CASE("matmul: backward matches finite differences") {
  const auto product = [](const Inputs& in) { return matmul(in[0], in[1]); };
  SUBCASE("2-d: (3,4) @ (4,5)") {
    check_gradients(product, {random_input({3, 4}, 1), random_input({4, 5}, 2)});
  }
  SUBCASE("batched: (2,3,4) @ (2,4,5)") {
    check_gradients(product, {random_input({2, 3, 4}, 3), random_input({2, 4, 5}, 4)});
  }
  SUBCASE("folded batch, the Linear case: (2,3,4) @ (4,5)") {
    check_gradients(product, {random_input({2, 3, 4}, 5), random_input({4, 5}, 6)});
  }
  SUBCASE("broadcast batch: (1,3,4) @ (2,4,5) and (2,1,3,4) @ (3,4,2)") {
    check_gradients(product, {random_input({1, 3, 4}, 7), random_input({2, 4, 5}, 8)});
    check_gradients(product, {random_input({2, 1, 3, 4}, 9), random_input({3, 4, 2}, 10)});
    check_gradients(product, {random_input({3, 4}, 11), random_input({2, 4, 5}, 12)});
  }
  SUBCASE("an input used twice: x @ x, and x @ w + x") {
    check_gradients([](const Inputs& in) { return matmul(in[0], in[0]); },
                    {random_input({3, 3}, 13)});
    check_gradients([](const Inputs& in) { return matmul(in[0], in[0]); },
                    {random_input({2, 4, 4}, 14)});
    check_gradients([](const Inputs& in) { return matmul(in[0], in[1]) + in[0]; },
                    {random_input({3, 4}, 15), random_input({4, 4}, 16)});
  }
}

TEST_CASE("matmul: only operands that require grad get a gradient") {
  // c = a @ b with b fixed: dc/da·1 = 1 @ bᵀ, so each row of da is the row sums of b.
  Tensor a = Tensor::from({1, 2, 3, 4}, {2, 2}, true);
  const Tensor b = Tensor::from({5, 6, 7, 8}, {2, 2});
  matmul(a, b).sum().backward();
  check_values(a.grad(), {11, 15, 11, 15});  // 5 + 6, 7 + 8
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("matmul: forward and backward are bit-identical with 1 and 2 threads") {
  // The standard model's shapes: x (64,17,64) @ w (64,256), and attention's broadcast-free
  // (256,17,16) @ (256,16,17); plus a broadcast batch whose gradient sums over items.
  struct Pair { Shape a, b; };
  for (const Pair& shapes : {Pair{{64, 17, 64}, {64, 256}}, Pair{{256, 17, 16}, {256, 16, 17}},
                             Pair{{1, 40, 70}, {6, 70, 30}}}) {
    std::vector<Tensor> results;
    for (std::size_t threads : {1, 2}) {
      const ThreadCount scope(threads);
      Tensor a = random_input(shapes.a, 1), b = random_input(shapes.b, 2);
      Tensor c = matmul(a, b);
      (c * c).sum().backward();
      results.insert(results.end(), {c, a.grad(), b.grad()});
    }
    for (std::size_t i = 0; i < 3; ++i) CHECK(same_bits(results[i], results[i + 3]));
  }
}

// --- linear ---

TEST_CASE("linear: x Wᵀ + b by hand, and equal to matmul(x, w.t()) + b") {
  // x = [1, 2], W = [[1, 0], [0, 1], [1, 1]], b = [10, 20, 30] -> [11, 22, 33]
  const Tensor x = Tensor::from({1, 2}, {1, 2});
  const Tensor w = Tensor::from({1, 0, 0, 1, 1, 1}, {3, 2});
  check_values(linear(x, w, Tensor::from({10, 20, 30}, {3})), {11, 22, 33});
  check_values(linear(x, w), {1, 2, 3});
  // The standard model's shapes, batched (B, T, in): the same values as the composed form,
  // forward and every gradient (the bias is added before, not after, the products).
  for (const Shape& x_shape : {Shape{4, 17, 64}, Shape{3, 5}, Shape{2, 300}}) {
    const std::size_t in = x_shape.back();
    Tensor a = random_input(x_shape, 1), weight = random_input({13, in}, 2);
    Tensor bias = random_input({13}, 3);
    Tensor fused = linear(a, weight, bias);
    (fused * fused).sum().backward();
    const Tensor dx = a.grad(), dw = weight.grad(), db = bias.grad();
    for (Tensor t : {a, weight, bias}) t.zero_grad();
    Tensor composed = matmul(a, weight.t()) + bias;
    (composed * composed).sum().backward();
    const double tol = kDoublePrecision ? 1e-12 : 1e-4;
    CHECK(max_abs_difference(fused, composed) < tol * double(in));
    CHECK(max_abs_difference(dx, a.grad()) < tol * double(in));
    CHECK(max_abs_difference(dw, weight.grad()) < tol * double(in) * double(x_shape[0]));
    CHECK(max_abs_difference(db, bias.grad()) < tol * double(in) * double(x_shape[0]));
  }
}

GRADCHECK_CASE("linear: backward matches finite differences for x, weight and bias") {
  const auto with_bias = [](const Inputs& in) { return linear(in[0], in[1], in[2]); };
  check_gradients(with_bias, {random_input({3, 4}, 1), random_input({5, 4}, 2),
                              random_input({5}, 3)});
  check_gradients(with_bias, {random_input({2, 3, 4}, 4), random_input({2, 4}, 5),
                              random_input({2}, 6)});
  check_gradients([](const Inputs& in) { return linear(in[0], in[1]); },
                  {random_input({3, 4}, 7), random_input({5, 4}, 8)});
  SUBCASE("an input used twice: linear(x, x)") {
    check_gradients([](const Inputs& in) { return linear(in[0], in[0]); },
                    {random_input({3, 3}, 9)});
  }
}

TEST_CASE("linear: bad shapes name the op and the three shapes") {
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5}), Tensor::zeros({4})),
                       "linear: x (2,3), weight (4,5) and bias (4) must be (..., in), (out, in) "
                       "and (out)",
                       Error);
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 3}), Tensor::zeros({3})),
                       doctest::Contains("bias (3)"), Error);
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({2, 3}), Tensor::zeros({3})),
                       doctest::Contains("weight (3) and bias none"), Error);
}

TEST_CASE("matmul: bad shapes name the op and both shapes") {
  CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})),
                       "matmul: shapes (2,3) and (4,5): inner dimensions 3 and 4 differ", Error);
  CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({5, 2, 3}), Tensor::zeros({4, 2})),
                       "matmul: shapes (5,2,3) and (4,2): inner dimensions 3 and 4 differ", Error);
  CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({3}), Tensor::zeros({3, 4})),
                       doctest::Contains("matmul: shapes (3) and (3,4): matmul needs at least "
                                         "2-d operands, got a 1-d tensor"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({2, 2}), Tensor::scalar(1)),
                       doctest::Contains("needs at least 2-d operands, got a 0-d tensor"), Error);
  CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({5, 4, 6})),
                       "matmul: shapes (2,3,4) and (5,4,6): batch dimensions (2) and (5) "
                       "cannot be broadcast",
                       Error);
}
