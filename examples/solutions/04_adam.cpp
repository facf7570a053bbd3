// Solution to exercise 4.2 (docs/04-an-mlp-and-the-training-loop.md): Adam written from
// its formula, against crossgrad::optim::Adam after 5 steps on the two-moons MLP. Per
// parameter, two running means (zeros at first) and the step count t:
//   m ← β1·m + (1 − β1)·g          the mean of recent gradients
//   v ← β2·v + (1 − β2)·g²         the mean of their squares
//   m̂ = m / (1 − β1ᵗ),  v̂ = v / (1 − β2ᵗ)   (undo the pull towards the zeros they started at)
//   p ← p − lr·m̂ / (√v̂ + ε)
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"
#include "examples/common/two_moons.h"
#include "nn/optim.h"

using namespace crossgrad;

class Adam {
 public:
  Adam(std::vector<Tensor> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8)
      : parameters_(std::move(parameters)), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
    for (const Tensor& p : parameters_) {
      m_.emplace_back(p.numel(), 0.0);
      v_.emplace_back(p.numel(), 0.0);
    }
  }
  void step() {
    NoGradGuard no_grad;
    ++t_;
    const double correction1 = 1 - std::pow(beta1_, t_), correction2 = 1 - std::pow(beta2_, t_);
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
      Tensor p = parameters_[k];
      const real* g = p.grad_data();
      real* values = p.mutable_data();
      for (std::size_t i = 0; i < p.numel(); ++i) {
        m_[k][i] = beta1_ * m_[k][i] + (1 - beta1_) * g[i];
        v_[k][i] = beta2_ * v_[k][i] + (1 - beta2_) * g[i] * g[i];
        const double m_hat = m_[k][i] / correction1, v_hat = v_[k][i] / correction2;
        values[i] -= real(lr_ * m_hat / (std::sqrt(v_hat) + eps_));
      }
    }
  }

 private:
  std::vector<Tensor> parameters_;
  std::vector<std::vector<double>> m_, v_;
  double lr_, beta1_, beta2_, eps_;
  int t_ = 0;
};

int main() {
  const moons::Dataset data = moons::make_two_moons(200, 0.2, 0);
  moons::Mlp mine(16, 1), reference(16, 1);
  Adam adam(mine.parameters(), 0.01);
  optim::Adam library(reference.parameters(), {/*lr=*/0.01});
  for (int step = 0; step < 5; ++step) {
    for (Tensor p : mine.parameters()) p.zero_grad();
    cross_entropy(mine.forward(data.points), data.labels).backward();
    adam.step();
    library.zero_grad();
    cross_entropy(reference.forward(data.points), data.labels).backward();
    library.step();
  }
  // The two round in different places (this one keeps its moments in double), so "allclose"
  // is the verdict to expect, not "exact".
  const char* names[] = {"w1", "b1", "w2", "b2"};
  bool ok = true;
  for (std::size_t k = 0; k < 4; ++k)
    ok = compare(names[k], mine.parameters()[k], reference.parameters()[k]) && ok;
  return ok ? 0 : 1;
}
