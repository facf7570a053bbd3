// Solution to exercise 3.1 (docs/03-writing-your-own-op.md): softplus(x) = log(1 + eˣ), a
// smooth relu. Its derivative is σ(x) = 1 / (1 + e⁻ˣ). Written directly, log(1 + eˣ)
// overflows for large x (e¹⁰⁰⁰ is inf in any precision), so the forward uses the identity
//   log(1 + eˣ) = max(x, 0) + log(1 + e^-|x|),
// where e^-|x| is at most 1. Checked: values against the naive formula where it is safe,
// no overflow at x = 1000, and the backward with gradcheck (run in the float64 build).
#include <cmath>
#include <cstdio>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "examples/common/check.h"

using namespace crossgrad;

// y = log(1 + eˣ); dy/dx = σ(x)
Tensor softplus(const Tensor& x) {
  std::vector<real> y(x.numel());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const real v = x.data()[i];
    y[i] = std::max(v, real(0)) + std::log1p(std::exp(-std::abs(v)));
  }
  return record(make_tensor(std::move(y), x.shape()), "softplus", {x}, [x](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t i = 0; i < x.numel(); ++i)
      dx[i] += self.grad[i] / (1 + std::exp(-x.data()[i]));
  });
}

int main() {
  Tensor x = Tensor::from({-3, -0.5, 0, 0.5, 3}, {5}, /*requires_grad=*/true);
  bool ok = compare("values", softplus(x), log(exp(x) + 1));

  const Tensor huge = Tensor::from({1000, -1000}, {2});
  ok = compare("x = +-1000", softplus(huge), Tensor::from({1000, 0}, {2})) && ok;

  const GradcheckResult result = gradcheck([](const std::vector<Tensor>& in) { return softplus(in[0]); }, {x});
  std::printf("gradcheck(softplus): %s\n", result.ok ? "passed" : result.report.c_str());
  return ok && result.ok ? 0 : 1;
}
