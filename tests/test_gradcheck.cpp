// Tests for autograd/gradcheck.cpp: it passes correct backwards, catches a wrong one in
// both modes, and its report says where and by how much.
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// y = x³ with a deliberately wrong backward: 2x² instead of 3x².
Tensor wrong_cube(const Tensor& x) {
  std::vector<real> out(x.numel());
  const real* in = x.data();
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = in[i] * in[i] * in[i];
  return record(make_tensor(std::move(out), x.shape()), "wrong_cube", {x}, [x](const Node& y) {
    real* dx = grad_buffer(x);
    for (std::size_t i = 0; i < y.data.size(); ++i)
      dx[i] += y.grad[i] * 2 * x.data()[i] * x.data()[i];
  });
}

}  // namespace

TEST_CASE("gradcheck: a correct backward passes in full and fast mode") {
  const Tensor x = Tensor::from({0.5, -1, 2}, {3}, true);
  const Tensor w = Tensor::from({1.5, 0.25, -2}, {3}, true);
  const auto fn = [](const Inputs& in) { return in[0] * in[1] + exp(in[0]); };
  GradcheckResult full = gradcheck(fn, {x, w});
  CHECK_MESSAGE(full.ok, full.report);
  CHECK(full.entries_compared == 2 * 3 * 3);  // two inputs of 3 elements × 3 outputs
  GradcheckOptions fast;
  fast.fast = true;
  GradcheckResult projected = gradcheck(fn, {x, w}, fast);
  CHECK_MESSAGE(projected.ok, projected.report);
  CHECK(projected.entries_compared == 1);
  // The check restores the inputs and leaves no gradient behind.
  CHECK(x.values() == std::vector<real>{0.5, -1, 2});
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("gradcheck: a wrong backward is caught and reported") {
  const Tensor x = Tensor::from({0.5, -1, 2}, {3}, true);
  const auto fn = [](const Inputs& in) { return wrong_cube(in[0]); };
  const GradcheckResult full = gradcheck(fn, {x});
  CHECK_FALSE(full.ok);
  // The first mismatch is element 0: numerical 3·0.5² = 0.75, analytical 2·0.5² = 0.5.
  CHECK(full.report.find("input 0 (3), element (0), output element 0") != std::string::npos);
  CHECK(full.report.find("numerical 0.75") != std::string::npos);
  CHECK(full.report.find("analytical 0.5") != std::string::npos);
  CHECK(full.report.find("absolute error 0.25") != std::string::npos);
  CHECK(full.report.find("relative error 0.333") != std::string::npos);
  CHECK(full.max_abs_error == doctest::Approx(4).epsilon(1e-3));  // element 2: 12 vs 8

  GradcheckOptions fast;
  fast.fast = true;
  const GradcheckResult projected = gradcheck(fn, {x}, fast);
  CHECK_FALSE(projected.ok);
  CHECK(projected.report.find("random projection") != std::string::npos);
}

TEST_CASE("gradcheck: a missing gradient path counts as zero, and is caught") {
  // The function depends on x, but through detach the backward never reaches it.
  const Tensor x = Tensor::from({1, 2}, {2}, true);
  const Tensor w = Tensor::from({1, 1}, {2}, true);
  const GradcheckResult r =
      gradcheck([](const Inputs& in) { return in[0].detach() * in[1]; }, {x, w});
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("input 0") != std::string::npos);
}

TEST_CASE("gradcheck: bad arguments are clear errors") {
  const Tensor constant = Tensor::ones({2});
  const auto identity = [](const Inputs& in) { return in[0] * 1; };
  CHECK_THROWS_WITH_AS(gradcheck(identity, {constant}), doctest::Contains("no input requires grad"),
                       Error);
  const Tensor leaf = Tensor::ones({2}, true);
  CHECK_THROWS_WITH_AS(gradcheck(identity, {leaf * 2}), doctest::Contains("must be a leaf"), Error);
  GradcheckOptions bad;
  bad.eps = 0;
  CHECK_THROWS_WITH_AS(gradcheck(identity, {leaf}, bad), doctest::Contains("eps must be positive"),
                       Error);
}
