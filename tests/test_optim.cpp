// Tests for nn/optim.cpp: SGD, Adam and AdamW updates worked by hand, convergence on a
// quadratic, a bit-identical resume through state_dict/load_state_dict, clip_grad_norm,
// and the errors for bad hyperparameters and bad state.
#include <cmath>
#include <memory>

#include "autograd/thread_pool.h"
#include "nn/optim.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// Sets p's gradient as backward would have left it.
void set_grad(const Tensor& p, const std::vector<real>& values) {
  real* grad = grad_buffer(p);
  REQUIRE(grad != nullptr);
  for (std::size_t i = 0; i < values.size(); ++i) grad[i] = values[i];
}

}  // namespace

TEST_CASE("SGD: updates by hand, plain, with momentum, dampening, nesterov and weight decay") {
  Tensor p = Tensor::from({1, -2}, {2}, true);
  const std::vector<real> g = {0.5, 1};
  SUBCASE("plain: p -= lr·g") {
    optim::SGD opt({p}, {0.1});
    set_grad(p, g);
    opt.step();
    check_values(p, {0.95, -2.1});  // 1 - 0.1·0.5, -2 - 0.1·1
    CHECK(opt.step_count() == 1);
  }
  SUBCASE("momentum 0.9: buf = g, then 0.9·g + g = 1.9·g") {
    optim::SGD opt({p}, {0.1, 0.9});
    set_grad(p, g);
    opt.step();  // p = 1 - 0.05 = 0.95, -2 - 0.1 = -2.1
    opt.step();  // p = 0.95 - 0.1·0.95 = 0.855, -2.1 - 0.1·1.9 = -2.29
    check_values(p, {0.855, -2.29});
  }
  SUBCASE("dampening 0.5: the second buffer is 0.9·g + 0.5·g = 1.4·g") {
    optim::SGD opt({p}, {0.1, 0.9, 0.5});
    set_grad(p, g);
    opt.step();  // the first buffer is g itself, undampened: 0.95, -2.1
    opt.step();  // 0.95 - 0.1·0.7 = 0.88, -2.1 - 0.1·1.4 = -2.24
    check_values(p, {0.88, -2.24});
  }
  SUBCASE("nesterov: step with g + 0.9·buf = 1.9·g on the first step") {
    optim::SGDOptions options{0.1, 0.9};
    options.nesterov = true;
    optim::SGD opt({p}, options);
    set_grad(p, g);
    opt.step();
    check_values(p, {0.905, -2.19});  // 1 - 0.1·0.95, -2 - 0.1·1.9
  }
  SUBCASE("weight decay 0.1: g + 0.1·p") {
    optim::SGDOptions options{0.1};
    options.weight_decay = 0.1;
    optim::SGD opt({p}, options);
    set_grad(p, g);
    opt.step();
    check_values(p, {0.94, -2.08});  // 1 - 0.1·(0.5 + 0.1), -2 - 0.1·(1 - 0.2)
  }
}

TEST_CASE("Adam: two steps by hand") {
  // lr 0.1, betas (0.9, 0.999), eps 1e-8, p = 1.
  // Step 1, g = 0.5: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 0.00025,
  //   step size = 0.1 / (1 - 0.9) = 1, sqrt(v) / sqrt(1 - 0.999) = 0.0158114 / 0.0316228 = 0.5,
  //   p = 1 - 1·0.05 / (0.5 + 1e-8) = 0.9 (Adam's first step is lr·sign(g)).
  // Step 2, g = -1: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975,
  //   step size = 0.1 / (1 - 0.81) = 0.5263158, sqrt(v) / sqrt(1 - 0.998001)
  //   = 0.0353518 / 0.0447102 = 0.7906881, p = 0.9 + 0.5263158·0.055 / 0.7906881 = 0.9366104.
  Tensor p = Tensor::from({1}, {1}, true);
  optim::Adam opt({p}, {0.1});
  set_grad(p, {0.5});
  opt.step();
  check_values(p, {0.9});
  set_grad(p, {-1});
  opt.step();
  check_values(p, {0.9366104});
  const NamedTensors state = opt.state_dict();
  REQUIRE(state.size() == 4);
  CHECK(state[0].first == "step_count");
  CHECK(state[1].first == "step.0");
  CHECK(state[1].second.item() == 2);
  CHECK(state[2].first == "exp_avg.0");
  check_values(state[2].second, {-0.055});
  CHECK(state[3].first == "exp_avg_sq.0");
  check_values(state[3].second, {0.00124975});
}

TEST_CASE("Adam adds weight decay to the gradient; AdamW decays the weights directly") {
  SUBCASE("Adam, wd 0.1: g = -0.05 + 0.1·1 = 0.05 flips the sign of the step") {
    Tensor p = Tensor::from({1}, {1}, true);
    optim::AdamOptions options{0.1};
    options.weight_decay = 0.1;
    optim::Adam opt({p}, options);
    set_grad(p, {-0.05});
    opt.step();
    check_values(p, {0.9});  // 1 - lr·sign(0.05); without decay it would be 1.1
  }
  SUBCASE("AdamW, wd 0.1: p = 1·(1 - 0.1·0.1) = 0.99, then the Adam step of -0.1") {
    Tensor p = Tensor::from({1}, {1}, true);
    optim::AdamOptions options{0.1};
    options.weight_decay = 0.1;
    optim::AdamW opt({p}, options);
    set_grad(p, {0.5});
    opt.step();
    check_values(p, {0.89});
  }
}

TEST_CASE("optimizers skip parameters without a gradient and zero_grad drops gradients") {
  Tensor a = Tensor::from({1}, {1}, true);
  Tensor b = Tensor::from({1}, {1}, true);
  optim::Adam opt({a, b}, {0.1});
  set_grad(a, {1});
  opt.step();
  check_values(a, {0.9});
  check_values(b, {1});                 // untouched, and it has no state yet
  CHECK(opt.state_dict().size() == 4);  // step_count, step.0, exp_avg.0, exp_avg_sq.0
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
  opt.step();  // nothing has a gradient: nothing moves
  check_values(a, {0.9});
  CHECK(opt.step_count() == 2);
}

TEST_CASE("optimizers minimise a quadratic") {
  // f(x) = Σ c·(x - target)², minimum 0 at x = target = (1, -2, 3), curvatures c = (1, 10, 0.5).
  const Tensor target = Tensor::from({1, -2, 3}, {3});
  const Tensor curvature = Tensor::from({1, 10, 0.5}, {3});
  const auto minimise = [&](optim::Optimizer& opt, Tensor& x, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      ((x - target) * (x - target) * curvature).sum().backward();
      opt.step();
    }
    return ((x - target) * (x - target) * curvature).sum().item();
  };
  SUBCASE("SGD with momentum") {
    Tensor x = Tensor::zeros({3}, true);
    optim::SGD opt({x}, {0.02, 0.9});
    CHECK(minimise(opt, x, 500) < 1e-10);
    check_values(x, {1, -2, 3});
  }
  SUBCASE("Adam") {
    Tensor x = Tensor::zeros({3}, true);
    optim::Adam opt({x}, {0.05});
    CHECK(minimise(opt, x, 500) < 1e-8);
    check_values(x, {1, -2, 3});
  }
}

TEST_CASE(
    "save state, load into a new optimizer, continue: bit-identical to an uninterrupted run") {
  // Gradients of Σ x⁴/4 - x² + 0.3x, a double well; the third parameter gets a gradient only
  // every third step, so per-parameter step counts differ.
  const auto take_steps = [](optim::Optimizer& opt, std::vector<Tensor>& params, int from, int to) {
    for (int step = from; step < to; ++step) {
      opt.zero_grad();
      opt.set_lr(0.05 / (1 + step));  // a schedule: the lr is set from the step, not saved
      Tensor loss = Tensor::scalar(0);
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (i == 2 && step % 3 != 0) continue;
        const Tensor& x = params[i];
        loss = loss + (pow(x, 4) * real(0.25) - x * x + x * real(0.3)).sum();
      }
      loss.backward();
      opt.step();
    }
  };
  const auto fresh_parameters = [] {
    return std::vector<Tensor>{testing::random_input({2, 3}, 7), testing::random_input({4}, 8),
                               testing::random_input({3, 1}, 9)};
  };
  const auto make = [](const std::string& kind,
                       std::vector<Tensor> params) -> std::unique_ptr<optim::Optimizer> {
    if (kind == "SGD") {
      optim::SGDOptions options{0.05, 0.9, 0.1, 0.01};
      return std::make_unique<optim::SGD>(params, options);
    }
    optim::AdamOptions options{0.05, 0.9, 0.98, 1e-9, 0.01};
    if (kind == "Adam") return std::make_unique<optim::Adam>(params, options);
    return std::make_unique<optim::AdamW>(params, options);
  };
  for (const std::string kind : {"SGD", "Adam", "AdamW"}) {
    CAPTURE(kind);
    std::vector<Tensor> straight = fresh_parameters();
    auto uninterrupted = make(kind, straight);
    take_steps(*uninterrupted, straight, 0, 10);

    std::vector<Tensor> first = fresh_parameters();
    auto before = make(kind, first);
    take_steps(*before, first, 0, 4);
    const NamedTensors saved = before->state_dict();
    std::vector<Tensor> resumed;
    for (const Tensor& p : first) resumed.push_back(p.detach().requires_grad_());
    auto after = make(kind, resumed);
    after->load_state_dict(saved);
    CHECK(after->step_count() == 4);
    take_steps(*after, resumed, 4, 10);

    for (std::size_t i = 0; i < straight.size(); ++i) CHECK(same_bits(straight[i], resumed[i]));
    const NamedTensors a = uninterrupted->state_dict(), b = after->state_dict();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].first == b[i].first);
      CHECK(same_bits(a[i].second, b[i].second));
    }
  }
}

TEST_CASE("load_state_dict: wrong names, shapes and counts are clear errors and change nothing") {
  Tensor p = Tensor::from({1, 2}, {2}, true);
  optim::Adam opt({p}, {0.1});
  NamedTensors good = {{"step_count", Tensor::scalar(3)},
                       {"step.0", Tensor::scalar(3)},
                       {"exp_avg.0", Tensor::zeros({2})},
                       {"exp_avg_sq.0", Tensor::zeros({2})}};
  opt.load_state_dict(good);
  CHECK(opt.step_count() == 3);
  const auto refuses = [&](NamedTensors state, const char* message) {
    CHECK_THROWS_WITH_AS(opt.load_state_dict(state), doctest::Contains(message), Error);
    CHECK(opt.step_count() == 3);
  };
  NamedTensors bad = good;
  bad[2].second = Tensor::zeros({3});
  refuses(bad, "Adam.load_state_dict: 'exp_avg.0' has shape (3), parameter 0 has shape (2)");
  bad = good;
  bad.push_back({"exp_avg.1", Tensor::zeros({2})});
  refuses(bad, "unexpected entries: exp_avg.1 (this Adam has 1 parameters)");
  refuses({good[0], good[1], good[2]}, "missing 'exp_avg_sq.0'");
  refuses({good[0], good[2], good[3]}, "'exp_avg.0' without 'step.0'");
  refuses({good[1], good[2], good[3]}, "missing 'step_count'");
  bad = good;
  bad[1].second = Tensor::scalar(real(2.5));
  refuses(bad, "'step.0' must be a non-negative integer");
  bad[1].second = Tensor::scalar(-1);
  refuses(bad, "'step.0' must be a non-negative integer");
  bad = good;
  bad.push_back(good[0]);
  refuses(bad, "duplicate entry 'step_count'");
}

TEST_CASE("optimizers refuse bad hyperparameters and bad parameter lists") {
  Tensor p = Tensor::zeros({2}, true);
  CHECK_THROWS_WITH_AS(optim::SGD({p}, {-0.1}), doctest::Contains("SGD: invalid learning rate"),
                       Error);
  CHECK_THROWS_WITH_AS(optim::SGD({p}, {0.1, -0.9}), doctest::Contains("SGD: invalid momentum"),
                       Error);
  optim::SGDOptions nesterov{0.1};
  nesterov.nesterov = true;
  CHECK_THROWS_WITH_AS(optim::SGD({p}, nesterov), doctest::Contains("nesterov momentum requires"),
                       Error);
  optim::AdamOptions options;
  options.beta1 = 1;
  CHECK_THROWS_WITH_AS(optim::Adam({p}, options), doctest::Contains("Adam: invalid beta1"), Error);
  options = {};
  options.beta2 = -0.1;
  CHECK_THROWS_WITH_AS(optim::AdamW({p}, options), doctest::Contains("AdamW: invalid beta2"),
                       Error);
  options = {};
  options.eps = -1;
  CHECK_THROWS_WITH_AS(optim::Adam({p}, options), doctest::Contains("invalid eps"), Error);
  options = {};
  options.weight_decay = -1;
  CHECK_THROWS_WITH_AS(optim::Adam({p}, options), doctest::Contains("invalid weight_decay"), Error);
  CHECK_THROWS_WITH_AS(optim::Adam({}, {}), doctest::Contains("Adam: got an empty parameter list"),
                       Error);
  CHECK_THROWS_WITH_AS(optim::Adam({p, p}, {}), doctest::Contains("parameter 1 appears twice"),
                       Error);
  CHECK_THROWS_WITH_AS(optim::Adam({p * 2}, {}), doctest::Contains("parameter 0 is not a leaf"),
                       Error);
  CHECK_THROWS_WITH_AS(optim::Adam({Tensor()}, {}), doctest::Contains("undefined tensor"), Error);
  optim::Adam opt({p}, {});
  CHECK_THROWS_WITH_AS(opt.set_lr(-1), doctest::Contains("Adam: invalid learning rate -1"), Error);
  opt.set_lr(0.25);
  CHECK(opt.lr() == 0.25);
}

TEST_CASE("clip_grad_norm: returns the total norm and scales gradients above max_norm") {
  Tensor a = Tensor::zeros({2}, true);
  Tensor b = Tensor::zeros({1}, true);
  Tensor no_grad = Tensor::zeros({3}, true);
  const std::vector<Tensor> params = {a, b, no_grad};
  SUBCASE("above max_norm: norm sqrt(9 + 16 + 144) = 13, scaled by 1/(13 + 1e-6)") {
    set_grad(a, {3, 4});
    set_grad(b, {12});
    CHECK(optim::clip_grad_norm(params, 1.0) == doctest::Approx(13.0).epsilon(1e-12));
    check_values(a.grad(), {3 / 13.0, 4 / 13.0});
    check_values(b.grad(), {12 / 13.0});
    CHECK_FALSE(no_grad.grad().defined());
  }
  SUBCASE("below max_norm: untouched") {
    set_grad(a, {0.3, 0.4});
    CHECK(optim::clip_grad_norm(params, 1.0) == doctest::Approx(0.5).epsilon(1e-7));
    check_values(a.grad(), {0.3, 0.4});
  }
  SUBCASE("a non-finite norm is returned and nothing is scaled") {
    set_grad(a, {INFINITY, 1});
    CHECK(std::isinf(optim::clip_grad_norm(params, 1.0)));
    CHECK(a.grad().values()[1] == 1);
  }
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm(params, 0),
                       doctest::Contains("clip_grad_norm: max_norm must be positive"), Error);
}

TEST_CASE("Adam and clip_grad_norm: the same numbers for any thread count, across slices") {
  // step() and clip_grad_norm share parameters out to the threads in slices of 4096
  // values: a 10,000-value parameter spans three slices, a 3-value one is a slice alone.
  const auto run = [](std::size_t threads) {
    ThreadCount count(threads);
    Generator gen(7);
    Tensor big = Tensor::randn({100, 100}, gen, true), small = Tensor::randn({3}, gen, true);
    optim::AdamOptions options{0.01};
    options.weight_decay = 0.1;
    optim::AdamW opt({big, small}, options);
    std::vector<double> norms;
    for (int step = 0; step < 3; ++step) {
      set_grad(big, Tensor::randn({100, 100}, gen).values());
      set_grad(small, Tensor::randn({3}, gen).values());
      norms.push_back(optim::clip_grad_norm({big, small}, 50.0));
      opt.step();
    }
    std::vector<real> values = big.values();
    for (real v : small.values()) values.push_back(v);
    return std::make_pair(norms, values);
  };
  const auto one = run(1), two = run(2), three = run(3);
  CHECK(one.first == two.first);
  CHECK(one.first == three.first);
  CHECK(one.second == two.second);
  CHECK(one.second == three.second);
  // The norm is sqrt(Σ g²) over both parameters: about sqrt(10,003) for N(0, 1) values,
  // above 50, so every step was clipped.
  for (double norm : one.first) CHECK(norm == doctest::Approx(100).epsilon(0.03));
}

TEST_CASE("clip_grad_norm: the norm of many slices equals a plain sum in long double") {
  Generator gen(3);
  Tensor a = Tensor::randn({5000}, gen, true), b = Tensor::randn({4097}, gen, true);
  set_grad(a, Tensor::randn({5000}, gen).values());
  set_grad(b, Tensor::randn({4097}, gen).values());
  long double plain = 0;
  for (const Tensor& p : {a, b})
    for (real g : p.grad().values()) plain += static_cast<long double>(g) * g;
  CHECK(optim::clip_grad_norm({a, b}, 1e9) ==
        doctest::Approx(double(std::sqrt(plain))).epsilon(1e-13));
}
