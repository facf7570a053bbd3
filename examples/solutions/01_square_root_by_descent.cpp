// Solution to exercise 1.3 (docs/01-derivatives-and-the-chain-rule.md): √2 by gradient
// descent. The loss (x² - 2)² is smallest, zero, where x² = 2; its gradient
// 4x(x² - 2) points uphill, so each step moves x a little the other way. zero_grad() before
// every backward() keeps only this step's gradient.
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"
#include "examples/common/check.h"

using namespace crossgrad;

int main() {
  Tensor x = Tensor::scalar(1, /*requires_grad=*/true);
  const real learning_rate = 0.05;
  for (int step = 0; step < 200; ++step) {
    x.zero_grad();
    Tensor loss = pow(pow(x, 2) - 2, 2);
    loss.backward();
    NoGradGuard no_grad;
    x.mutable_data()[0] -= learning_rate * x.grad().item();
  }
  std::printf("x = %.6f after 200 steps\n", double(x.item()));
  return compare("x", x.item(), std::sqrt(2.0), {1e-6, 1e-9}) ? 0 : 1;
}
