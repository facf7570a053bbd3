// Tests for autograd/ops_nn.cpp: each fused op against its composed reference (below) in
// value and gradient, hand-worked forward values, float64 gradient checks on two shapes (and
// an input used twice), the edge cases (huge logits, masked rows, ignored targets) and errors.
#include <algorithm>
#include <cmath>
#include <limits>

#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

const real inf = std::numeric_limits<real>::infinity();

// --- Composed references: the same math from primitives; slower, but obviously right ---

// e^(x - m) / Σ e^(x - m). The max m is detached: a constant shift cancels in the ratio.
Tensor softmax_reference(const Tensor& x, int dim) {
  const Tensor e = exp(x - max(x, dim, true).detach());
  return e / sum(e, dim, true);
}

// (x - m) - log Σ e^(x - m)
Tensor log_softmax_reference(const Tensor& x, int dim) {
  const Tensor shifted = x - max(x, dim, true).detach();
  return shifted - log(sum(exp(shifted), dim, true));
}

// -(1/n_valid) Σ_n Σ_c q_nc log_softmax(x)_nc, q = (1-ε) one_hot(target) + ε/C, 0 if ignored.
Tensor cross_entropy_reference(const Tensor& logits, const std::vector<std::int64_t>& targets,
                               const CrossEntropyOptions& options = {}) {
  const std::size_t classes = logits.shape()[1];
  const real eps = options.label_smoothing;
  std::vector<real> q(logits.numel(), 0);
  std::size_t valid = 0;
  for (std::size_t n = 0; n < targets.size(); ++n) {
    if (targets[n] == options.ignore_index) continue;
    ++valid;
    for (std::size_t c = 0; c < classes; ++c)
      q[n * classes + c] = eps / real(classes) + (std::int64_t(c) == targets[n] ? 1 - eps : 0);
  }
  const Tensor smoothed = Tensor::from(q, logits.shape());
  return -sum(smoothed * log_softmax_reference(logits, 1)) / real(valid);
}

// (x - μ) / √(σ² + eps) · w + b over the last dim, σ² the biased variance.
Tensor layer_norm_reference(const Tensor& x, const Tensor& weight, const Tensor& bias,
                            real eps = 1e-5) {
  const Tensor centred = x - mean(x, -1, true);
  Tensor y = centred / sqrt(mean(centred * centred, -1, true) + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

// Inverted dropout by hand: one uniform draw u per element from an identically seeded
// generator, in order; the element is kept, scaled by 1/(1-p), when u >= p and zeroed
// otherwise. The mask is built here without the dropout op, so the op is checked against
// something other than itself; x * mask is the composed forward and backward.
Tensor dropout_reference(const Tensor& x, real p, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<real> mask(x.numel());
  for (real& m : mask) m = gen.uniform() >= p ? 1 / (1 - p) : 0;
  return x * Tensor::from(mask, x.shape());
}

// Checks that fused(inputs) and composed(inputs) agree in value and, for one random upstream
// gradient, in the gradient of every input. Runs in float32 too, at float32's precision.
void check_agree(const GradcheckFunction& fused, const GradcheckFunction& composed,
                 const Inputs& inputs) {
  const double tol = kDoublePrecision ? 1e-10 : 1e-5;
  std::vector<std::vector<real>> values, grads;
  for (const GradcheckFunction& fn : {fused, composed}) {
    for (Tensor x : inputs) x.zero_grad();
    Tensor y = fn(inputs);
    Generator gen(99);
    y.backward(Tensor::randn(y.shape(), gen));
    values.push_back(y.values());
    for (const Tensor& x : inputs)
      if (x.requires_grad()) grads.push_back(x.grad().values());
  }
  for (std::size_t i = 0; i < values[0].size(); ++i)
    CHECK(double(values[0][i]) == doctest::Approx(values[1][i]).epsilon(tol));
  const std::size_t half = grads.size() / 2;
  for (std::size_t k = 0; k < half; ++k) {
    INFO("gradient of input " << k);
    for (std::size_t i = 0; i < grads[k].size(); ++i)
      CHECK(double(grads[k][i]) == doctest::Approx(grads[half + k][i]).epsilon(tol));
  }
  for (Tensor x : inputs) x.zero_grad();
}

}  // namespace

// --- softmax and log_softmax ---

TEST_CASE("softmax and log_softmax: forward values by hand") {
  // e^0 : e^ln2 : e^ln5 = 1 : 2 : 5, out of 8
  const Tensor x = Tensor::from({0, std::log(real(2)), std::log(real(5))}, {3});
  check_values(softmax(x, 0), {1.0 / 8, 2.0 / 8, 5.0 / 8});
  check_values(log_softmax(x, -1), {std::log(1.0 / 8), std::log(2.0 / 8), std::log(5.0 / 8)});
  // Along dim 0 of [[0, 0], [ln3, 0]]: column 0 is 1 : 3 of 4, column 1 is 1 : 1 of 2.
  const Tensor columns = Tensor::from({0, 0, std::log(real(3)), 0}, {2, 2});
  check_values(softmax(columns, 0), {0.25, 0.5, 0.75, 0.5});
  // Along dim 1 of a (1,2,2) tensor: the same two columns, now strided lanes of the middle dim.
  check_values(softmax(columns.reshape({1, 2, 2}), 1), {0.25, 0.5, 0.75, 0.5});
}

TEST_CASE("softmax and log_softmax: huge logits do not overflow, unlike e^x / Σe^x") {
  const Tensor x = Tensor::from({1000, 1000, -1000, 0}, {2, 2});
  check_values(softmax(x, 1), {0.5, 0.5, 0, 1});
  // -ln 2 twice; -1000 - ln(1 + e^-1000) = -1000 and 0 - ln(1 + e^-1000) = 0
  check_values(log_softmax(x, 1), {-std::log(2.0), -std::log(2.0), -1000, 0});
  const Tensor naive = exp(x) / sum(exp(x), 1, true);  // e^1000 = inf, and inf / inf = NaN
  CHECK(std::isnan(naive.values()[0]));
}

TEST_CASE("softmax: a partly masked lane ignores -inf; a fully masked lane is NaN, like "
          "PyTorch") {
  Tensor x = Tensor::from({0, -inf, std::log(real(3)), -inf, -inf, -inf}, {2, 3}, true);
  Tensor y = softmax(x, -1);
  check_values(y.slice(0, 0, 1), {0.25, 0, 0.75});
  for (std::size_t i = 3; i < 6; ++i) CHECK(std::isnan(y.values()[i]));
  const Tensor log_y = log_softmax(x, -1);
  CHECK(log_y.values()[1] == -inf);
  CHECK(std::isnan(log_y.values()[4]));
  // dy = (1, 0, 0) on row 0: dx = y ⊙ (dy - y·dy) = (¼·¾, 0, ¾·(-¼)) = (3/16, 0, -3/16)
  y.backward(Tensor::from({1, 0, 0, 0, 0, 0}, {2, 3}));
  check_values(x.grad().slice(0, 0, 1), {3.0 / 16, 0, -3.0 / 16});
}

TEST_CASE("softmax, log_softmax: fused and composed agree in value and gradient") {
  const Tensor x = random_input({3, 4}, 1);
  const Tensor x3 = random_input({2, 3, 4}, 2);
  for (int dim : {0, 1, -1}) {
    INFO("dim " << dim);
    auto fused = [dim](const Inputs& in) { return softmax(in[0], dim); };
    auto composed = [dim](const Inputs& in) { return softmax_reference(in[0], dim); };
    check_agree(fused, composed, {x3});
    auto log_fused = [dim](const Inputs& in) { return log_softmax(in[0], dim); };
    auto log_composed = [dim](const Inputs& in) { return log_softmax_reference(in[0], dim); };
    check_agree(log_fused, log_composed, {x3});
  }
  check_agree([](const Inputs& in) { return softmax(in[0], -1); },
              [](const Inputs& in) { return softmax_reference(in[0], -1); }, {x});
}

GRADCHECK_CASE("softmax, log_softmax: backward matches finite differences") {
  const Tensor x3 = random_input({2, 3, 4}, 3);
  const Tensor x = random_input({5}, 4);
  for (int dim : {0, 1, -1}) {
    INFO("dim " << dim << " of a (2,3,4) tensor");
    check_gradients([dim](const Inputs& in) { return softmax(in[0], dim); }, {x3});
    check_gradients([dim](const Inputs& in) { return log_softmax(in[0], dim); }, {x3});
  }
  check_gradients([](const Inputs& in) { return softmax(in[0], 0); }, {x});
  check_gradients([](const Inputs& in) { return log_softmax(in[0], 0); }, {x});
  SUBCASE("an input used twice") {
    check_gradients([](const Inputs& in) { return softmax(in[0], -1) * in[0]; }, {x3});
    check_gradients([](const Inputs& in) { return log_softmax(in[0], 0) * in[0]; }, {x3});
  }
}

TEST_CASE("softmax, log_softmax: a dim out of range names the op") {
  const Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(softmax(x, 2),
                       doctest::Contains("softmax: dim 2 is out of range for a 2-d tensor"), Error);
  CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("log_softmax: dim -3"), Error);
  CHECK_THROWS_WITH_AS(softmax(Tensor::scalar(1), 0), doctest::Contains("softmax: dim 0"), Error);
}

// --- cross_entropy ---

TEST_CASE("cross_entropy: forward values by hand") {
  // Row 0: p = (1/4, 3/4), target 1: -ln(3/4) = ln(4/3). Row 1: p = (1/2, 1/2): ln 2.
  const Tensor logits = Tensor::from({0, std::log(real(3)), 0, 0}, {2, 2});
  check_values(cross_entropy(logits, {1, 0}), {(std::log(4.0 / 3) + std::log(2.0)) / 2});
  // The mean runs over non-ignored targets only: row 1 ignored leaves ln(4/3).
  check_values(cross_entropy(logits, {1, -100}), {std::log(4.0 / 3)});
  check_values(cross_entropy(logits, {1, 0}, {/*ignore_index=*/0}), {std::log(4.0 / 3)});
  // ε = 0.1, C = 2 on row 0: 0.9·ln(4/3) + 0.05·(ln 4 + ln(4/3)) = 0.95·ln(4/3) + 0.05·ln 4
  check_values(cross_entropy(logits, {1, -100}, {-100, 0.1}),
               {0.95 * std::log(4.0 / 3) + 0.05 * std::log(4.0)});
  // ε = 1: the target is ignored in favour of the uniform one: (ln 4 + ln(4/3)) / 2
  check_values(cross_entropy(logits, {1, -100}, {-100, 1}),
               {(std::log(4.0) + std::log(4.0 / 3)) / 2});
  // Three classes: p = (1, 2, 5) / 8, target 2: ln(8/5)
  const Tensor three = Tensor::from({0, std::log(real(2)), std::log(real(5))}, {1, 3});
  check_values(cross_entropy(three, {2}), {std::log(8.0 / 5)});
}

TEST_CASE("cross_entropy: the gradient is (softmax - smoothed one-hot) / n_valid") {
  Tensor logits = Tensor::from({0, std::log(real(3)), 0, 0}, {2, 2}, true);
  // p = ((1/4, 3/4), (1/2, 1/2)), one-hot ((0, 1), (1, 0)), over 2 valid rows
  cross_entropy(logits, {1, 0}).backward();
  check_values(logits.grad(), {0.125, -0.125, -0.25, 0.25});
  logits.zero_grad();
  cross_entropy(logits, {1, -100}).backward();  // one valid row; the ignored row gets 0
  check_values(logits.grad(), {0.25, -0.25, 0, 0});
  logits.zero_grad();
  cross_entropy(logits, {1, -100}, {-100, 0.1}).backward();  // q = (0.05, 0.95)
  check_values(logits.grad(), {0.2, -0.2, 0, 0});
}

TEST_CASE("cross_entropy: every target ignored gives NaN, like PyTorch, and no gradient") {
  Tensor logits = Tensor::from({1, 2, 3, 4}, {2, 2}, true);
  Tensor loss = cross_entropy(logits, {-100, -100});
  CHECK(std::isnan(loss.item()));  // a mean over no targets: 0/0
  CHECK(std::isnan(cross_entropy(logits, {7, 7}, {7, 0.1}).item()));
  loss.backward();
  check_values(logits.grad(), {0, 0, 0, 0});
}

TEST_CASE("cross_entropy: huge logits stay finite") {
  const Tensor logits = Tensor::from({1000, 0}, {1, 2});
  check_values(cross_entropy(logits, {1}), {1000});  // ln(1 + e^1000) - 0 = 1000
  check_values(cross_entropy(logits, {0}), {0}, 1e-6);
}

TEST_CASE("cross_entropy: fused and composed agree in value and gradient") {
  const Tensor logits = random_input({5, 4}, 5);
  const std::vector<std::int64_t> targets{3, -100, 0, 2, 3};
  for (real smoothing : {0.0, 0.1, 1.0}) {
    INFO("label_smoothing " << smoothing);
    const CrossEntropyOptions options{-100, smoothing};
    check_agree([&](const Inputs& in) { return cross_entropy(in[0], targets, options); },
                [&](const Inputs& in) { return cross_entropy_reference(in[0], targets, options); },
                {logits});
  }
}

GRADCHECK_CASE("cross_entropy: backward matches finite differences") {
  const Tensor logits = random_input({3, 5}, 6);
  SUBCASE("plain, on (3,5) and (1,2)") {
    check_gradients([](const Inputs& in) { return cross_entropy(in[0], {4, 0, 2}); }, {logits});
    check_gradients([](const Inputs& in) { return cross_entropy(in[0], {1}); },
                    {random_input({1, 2}, 7)});
  }
  SUBCASE("with ignored targets") {
    check_gradients([](const Inputs& in) { return cross_entropy(in[0], {4, -100, 2}); },
                    {logits});
    check_gradients([](const Inputs& in) { return cross_entropy(in[0], {0, 1, 3, 0}, {0}); },
                    {random_input({4, 4}, 8)});
  }
  SUBCASE("with label smoothing 0.1") {
    const CrossEntropyOptions smoothing{-100, 0.1};
    check_gradients(
        [smoothing](const Inputs& in) { return cross_entropy(in[0], {4, 0, 2}, smoothing); },
        {logits});
    check_gradients(
        [smoothing](const Inputs& in) { return cross_entropy(in[0], {-100, 1}, smoothing); },
        {random_input({2, 3}, 9)});
  }
  SUBCASE("logits used twice") {
    check_gradients(
        [](const Inputs& in) { return cross_entropy(in[0] * in[0] + in[0], {1, 3, 0}); },
        {logits});
  }
}

// The gradient cross_entropy should have, in long double: (softmax(x) - q) / n_valid with
// q = (1-ε) one_hot(target) + ε/C, each row's softmax shifted by its max.
std::vector<double> cross_entropy_gradient(const Tensor& logits,
                                           const std::vector<std::int64_t>& targets,
                                           double smoothing) {
  const std::size_t classes = logits.shape()[1];
  std::vector<double> gradient(logits.numel());
  for (std::size_t n = 0; n < targets.size(); ++n) {
    const real* x = logits.data() + n * classes;
    const long double m = *std::max_element(x, x + classes);
    long double total = 0;
    for (std::size_t c = 0; c < classes; ++c) total += std::exp((long double)x[c] - m);
    for (std::size_t c = 0; c < classes; ++c) {
      const long double p = std::exp((long double)x[c] - m) / total;
      const long double q =
          smoothing / double(classes) + (std::int64_t(c) == targets[n] ? 1 - smoothing : 0);
      gradient[n * classes + c] = double((p - q) / (long double)targets.size());
    }
  }
  return gradient;
}

GRADCHECK_CASE("cross_entropy: backward matches finite differences at logits of ±1e4") {
  // Saturated rows: the softmax is 1 or 0 to double precision, yet a difference of 1 between
  // two near-equal large logits still matters, and each shows in the gradient.
  const Tensor logits = Tensor::from({1e4, -1e4, 0.5, 1e4 - 1,   //
                                      -1e4, -1e4 + 2, 3, -2,      //
                                      1e4, 1e4, 1e4 + 0.25, -1e4},
                                     {3, 4}, true);
  check_gradients([](const Inputs& in) { return cross_entropy(in[0], {3, 1, 0}); }, {logits});
  check_gradients([](const Inputs& in) { return cross_entropy(in[0], {1, 2, 3}, {-100, 0.1}); },
                  {logits});
}

TEST_CASE("cross_entropy: at logits of ±1e4 and ±1e30 the gradient is softmax - one_hot") {
  // Finite differences mean nothing at 1e30 (one ulp is 1.4e14), so the analytical gradient
  // is compared with the closed form, and the loss must stay finite: ±1e30 fits in float32.
  const Tensor ten_thousand = Tensor::from({1e4, -1e4, 0.5, 1e4 - 1,  //
                                            -1e4, -1e4 + 2, 3, -2},
                                           {2, 4}, true);
  const Tensor huge = Tensor::from({1e30, -1e30, 0,  //
                                    1e30, 1e30, -1e30,  //
                                    -1e30, 0, 1e30},
                                   {3, 3}, true);
  for (Tensor logits : {ten_thousand, huge}) {  // handles: the same leaves
    const std::vector<std::int64_t> targets =
        logits.size(0) == 2 ? std::vector<std::int64_t>{3, 1} : std::vector<std::int64_t>{1, 0, 1};
    for (const double smoothing : {0.0, 0.1}) {
      CAPTURE(logits.size(0));
      CAPTURE(smoothing);
      logits.zero_grad();
      const Tensor loss = cross_entropy(logits, targets, {-100, real(smoothing)});
      CHECK(std::isfinite(loss.item()));
      loss.backward();
      const std::vector<double> expected = cross_entropy_gradient(logits, targets, smoothing);
      for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        CHECK(double(logits.grad().values()[i]) ==
              doctest::Approx(expected[i]).epsilon(1e-6).scale(1e-6));
      }
    }
  }
  // One value by hand: row (1e30, -1e30, 0) with target 1 costs 2e30 and pulls (1, -1, 0).
  Tensor row = Tensor::from({1e30, -1e30, 0}, {1, 3}, true);
  Tensor loss = cross_entropy(row, {1});
  CHECK(loss.item() == doctest::Approx(2e30));
  loss.backward();
  check_values(row.grad(), {1, -1, 0});
}

TEST_CASE("cross_entropy: bad logits, targets or options name the op and the values") {
  const Tensor logits = Tensor::zeros({2, 5});
  CHECK_THROWS_WITH_AS(cross_entropy(Tensor::zeros({2, 5, 1}), {0, 0}),
                       doctest::Contains("cross_entropy: logits must be 2-d (N, C), got shape "
                                         "(2,5,1)"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, {0, 1, 2}),
                       doctest::Contains("cross_entropy: 3 targets for logits of shape (2,5): "
                                         "expected 2"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, {0, 5}),
                       doctest::Contains("cross_entropy: target 5 at position 1 is out of range "
                                         "[0, 5)"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, {-1, 0}),
                       doctest::Contains("target -1 at position 0 is out of range"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, {0, -100}, {0}),  // -100 is no longer ignored
                       doctest::Contains("target -100 at position 1"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, {0, 0}, {-100, 1.5}),
                       doctest::Contains("cross_entropy: label_smoothing must be in [0, 1], "
                                         "got 1.5"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, {0, 0}, {-100, -0.1}),
                       doctest::Contains("label_smoothing must be in [0, 1]"), Error);
}

// --- layer_norm ---

TEST_CASE("layer_norm: forward values by hand") {
  // Row (0, 4, 0, 4): μ = 2, σ² = 4, so x̂ = ±2/√(4 + eps). Row (1, 1, 1, 1): σ² = 0, x̂ = 0.
  const Tensor x = Tensor::from({0, 4, 0, 4, 1, 1, 1, 1}, {2, 4});
  const double r = 2 / std::sqrt(4 + 1e-5);
  check_values(layer_norm(x, Tensor(), Tensor()), {-r, r, -r, r, 0, 0, 0, 0});
  const Tensor weight = Tensor::from({1, 2, 3, 4}, {4});
  const Tensor bias = Tensor::from({0, 0, 0, 1}, {4});
  check_values(layer_norm(x, weight, bias), {-r, 2 * r, -3 * r, 4 * r + 1, 0, 0, 0, 1});
  // eps = 0 on (1, 3): μ = 2, σ² = 1 (biased: ((-1)² + 1²) / 2), so exactly (-1, 1).
  check_values(layer_norm(Tensor::from({1, 3}, {1, 2}), Tensor(), Tensor(), 0), {-1, 1});
}

TEST_CASE("layer_norm: gradients by hand: dbias = Σ dy, dweight = Σ dy x̂, dx ⊥ shifts") {
  Tensor x = Tensor::from({0, 4, 0, 4, 1, 1, 1, 1}, {2, 4}, true);
  Tensor weight = Tensor::ones({4}, true);
  Tensor bias = Tensor::zeros({4}, true);
  layer_norm(x, weight, bias).backward(Tensor::ones({2, 4}));
  const double r = 2 / std::sqrt(4 + 1e-5);
  check_values(bias.grad(), {2, 2, 2, 2});
  check_values(weight.grad(), {-r, r, -r, r});  // row 1's x̂ is 0
  // Adding c to a whole row leaves the output unchanged, so a uniform dy gives dx = 0.
  check_values(x.grad(), {0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("layer_norm: fused and composed agree in value and gradient") {
  const Tensor x = random_input({3, 5}, 10);
  const Tensor x3 = random_input({2, 3, 4}, 11);
  const Tensor weight = random_input({4}, 12), bias = random_input({4}, 13);
  check_agree([](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); },
              [](const Inputs& in) { return layer_norm_reference(in[0], in[1], in[2]); },
              {x3, weight, bias});
  check_agree([](const Inputs& in) { return layer_norm(in[0], Tensor(), Tensor()); },
              [](const Inputs& in) { return layer_norm_reference(in[0], Tensor(), Tensor()); },
              {x});
}

GRADCHECK_CASE("layer_norm: backward matches finite differences") {
  const Tensor x3 = random_input({2, 3, 4}, 14);
  const Tensor x = random_input({3, 5}, 15);
  const Tensor weight = random_input({4}, 16), bias = random_input({4}, 17);
  SUBCASE("with weight and bias, (2,3,4)") {
    check_gradients([](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); },
                    {x3, weight, bias});
  }
  SUBCASE("without affine, (3,5), and with weight or bias alone") {
    check_gradients([](const Inputs& in) { return layer_norm(in[0], Tensor(), Tensor()); }, {x});
    check_gradients([](const Inputs& in) { return layer_norm(in[0], in[1], Tensor()); },
                    {x3, weight});
    check_gradients([](const Inputs& in) { return layer_norm(in[0], Tensor(), in[1]); },
                    {x3, bias});
  }
  SUBCASE("x used twice") {
    check_gradients([](const Inputs& in) { return layer_norm(in[0], in[1], in[2]) * in[0]; },
                    {x3, weight, bias});
    check_gradients([](const Inputs& in) { return layer_norm(in[0] * in[0] + in[0], {}, {}); },
                    {x});
  }
}

TEST_CASE("layer_norm: weight or bias of the wrong shape names the op and the shapes") {
  const Tensor x = Tensor::zeros({2, 4});
  CHECK_THROWS_WITH_AS(layer_norm(x, Tensor::ones({3}), Tensor()),
                       doctest::Contains("layer_norm: weight of shape (3) does not match x of "
                                         "shape (2,4): expected (4)"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, Tensor(), Tensor::ones({1, 4})),
                       doctest::Contains("layer_norm: bias of shape (1,4)"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(Tensor::scalar(1), Tensor(), Tensor()),
                       doctest::Contains("layer_norm: x must have at least 1 dim"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, Tensor(), Tensor(), -1),
                       doctest::Contains("layer_norm: eps must be >= 0"), Error);
}

// --- dropout ---

TEST_CASE("dropout: kept values are scaled by 1/(1-p), dropped ones are 0") {
  Generator gen(7);
  const Tensor y = dropout(Tensor::ones({10000}), 0.25, true, gen);
  std::size_t kept = 0;
  for (real v : y.values()) {
    CHECK((v == 0 || v == doctest::Approx(4.0 / 3)));  // 1 / (1 - 0.25)
    kept += v != 0;
  }
  // Binomial(10000, 0.75): standard deviation ≈ 43, so ±200 is ±4.6σ (and the seed is fixed).
  CHECK(kept > 7300);
  CHECK(kept < 7700);
}

TEST_CASE("dropout: the same seed draws the same mask, another seed another mask") {
  Generator a(1), b(1), c(2);
  const Tensor x = Tensor::ones({64});
  CHECK(dropout(x, 0.5, true, a).values() == dropout(x, 0.5, true, b).values());
  CHECK(dropout(x, 0.5, true, a).values() != dropout(x, 0.5, true, c).values());
}

TEST_CASE("dropout: the identity when not training or p = 0; zeros when p = 1, like PyTorch") {
  Tensor x = Tensor::from({1, -2, 3}, {3}, true);
  Generator gen(3);
  const std::string before = gen.state();
  dropout(x, 0.5, false, gen).backward(Tensor::from({4, 5, 6}, {3}));
  check_values(dropout(x, 0.5, false, gen), {1, -2, 3});
  check_values(dropout(x, 0, true, gen), {1, -2, 3});
  check_values(x.grad(), {4, 5, 6});  // the gradient passes untouched
  CHECK(gen.state() == before);       // and no random numbers were drawn
  x.zero_grad();
  Tensor zeros = dropout(x, 1, true, gen);
  check_values(zeros, {0, 0, 0});
  zeros.backward(Tensor::ones({3}));
  check_values(x.grad(), {0, 0, 0});
}

TEST_CASE("dropout: the gradient flows through kept elements only, scaled like the forward") {
  Tensor x = Tensor::ones({100}, true);
  Generator gen(5);
  Tensor y = dropout(x, 0.5, true, gen);
  y.backward(Tensor::ones({100}));
  CHECK(x.grad().values() == y.values());  // dx = dy ⊙ m and y = 1 ⊙ m
}

TEST_CASE("dropout: fused and composed agree in value and gradient") {
  check_agree(
      [](const Inputs& in) {
        Generator gen(11);
        return dropout(in[0], 0.3, true, gen);
      },
      [](const Inputs& in) { return dropout_reference(in[0], 0.3, 11); },
      {random_input({4, 6}, 18)});
}

GRADCHECK_CASE("dropout: backward matches finite differences") {
  // Every call reseeds its own generator, so the check sees one fixed mask.
  check_gradients(
      [](const Inputs& in) {
        Generator gen(42);
        return dropout(in[0], 0.3, true, gen);
      },
      {random_input({3, 4}, 19)});
  check_gradients(
      [](const Inputs& in) {
        Generator gen(43);
        return dropout(in[0], 0.5, true, gen) * in[0];  // x used twice
      },
      {random_input({2, 3, 2}, 20)});
}

TEST_CASE("dropout: p outside [0, 1] names the op and the value") {
  const Tensor x = Tensor::ones({3});
  CHECK_THROWS_WITH_AS(dropout(x, -0.1, true),
                       doctest::Contains("dropout: probability p must be in [0, 1], got -0.1"),
                       Error);
  CHECK_THROWS_WITH_AS(dropout(x, 1.5, false), doctest::Contains("dropout: probability p"), Error);
  CHECK_THROWS_WITH_AS(dropout(x, NAN, true), doctest::Contains("dropout: probability p"), Error);
}

TEST_CASE("row ops: forward and backward are bit-identical with 1 and 2 threads") {
  // Sizes of the standard model's activations, (B·T, D) = (1088, 64), big enough that every
  // op splits its rows between two threads; and a (1088, 13) loss over the vocabulary.
  std::vector<Tensor> results[2];
  for (std::size_t run = 0; run < 2; ++run) {
    const ThreadCount scope(run + 1);
    Tensor x = random_input({1088, 64}, 1), w = random_input({64}, 2), b = random_input({64}, 3);
    Tensor logits = random_input({1088, 13}, 4);
    std::vector<std::int64_t> targets(1088);
    for (std::size_t i = 0; i < targets.size(); ++i) targets[i] = std::int64_t(i % 14) - 1;
    Generator gen(5);
    CrossEntropyOptions options;
    options.ignore_index = -1;
    options.label_smoothing = 0.1;
    const Tensor normed = layer_norm(x, w, b);
    const Tensor y = softmax(normed, -1) + log_softmax(x, -1) + relu(x) * x +
                     dropout(normed, 0.25, true, gen);
    const Tensor loss = (y * y).mean() + cross_entropy(logits, targets, options);
    loss.backward();
    results[run] = {y, loss, x.grad(), w.grad(), b.grad(), logits.grad()};
  }
  for (std::size_t i = 0; i < results[0].size(); ++i) {
    CAPTURE(i);
    CHECK(same_bits(results[0][i], results[1][i]));
  }
}
