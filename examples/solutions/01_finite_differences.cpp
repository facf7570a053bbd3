// Solution to exercise 1.1 (docs/01-derivatives-and-the-chain-rule.md): a derivative is
// the slope of a function, so nudging one input and watching the output estimates it.
// For out = tanh(a·b + c) at a = 2, b = -3, c = 7, the central difference
// (out(a + h) - out(a - h)) / 2h must agree with what backward() puts in a.grad().
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"
#include "examples/common/check.h"

using namespace crossgrad;

namespace {

// out as a plain function of three numbers: no graph, just the value.
double out_of(double a, double b, double c) { return std::tanh(a * b + c); }

}  // namespace

int main() {
  Tensor a = Tensor::scalar(2, true), b = Tensor::scalar(-3, true), c = Tensor::scalar(7, true);
  tanh(a * b + c).backward();

  // Central differences: the error shrinks like h² until rounding takes over (h ~ 1e-5 in
  // double precision); 1e-5 is a good step.
  const double h = 1e-5;
  const double d_a = (out_of(2 + h, -3, 7) - out_of(2 - h, -3, 7)) / (2 * h);
  const double d_b = (out_of(2, -3 + h, 7) - out_of(2, -3 - h, 7)) / (2 * h);
  const double d_c = (out_of(2, -3, 7 + h) - out_of(2, -3, 7 - h)) / (2 * h);

  // Finite differences are approximate: "allclose" at 1e-6 is the expected verdict.
  const Tolerance approximate{1e-6, 1e-8};
  bool ok = compare("d out/d a", a.grad().item(), d_a, approximate);
  ok = compare("d out/d b", b.grad().item(), d_b, approximate) && ok;
  ok = compare("d out/d c", c.grad().item(), d_c, approximate) && ok;

  // Why not a one-sided difference (out(a + h) - out(a)) / h? Its error shrinks only like h.
  const double one_sided = (out_of(2 + h, -3, 7) - out_of(2, -3, 7)) / h;
  std::printf("one-sided error %.1e, central error %.1e\n",
              std::abs(one_sided - a.grad().item()), std::abs(d_a - a.grad().item()));
  ok = ok && std::abs(d_a - a.grad().item()) < std::abs(one_sided - a.grad().item());
  return ok ? 0 : 1;
}
