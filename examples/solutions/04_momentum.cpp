// Solution to exercise 4.1 (docs/04-an-mlp-and-the-training-loop.md): gradient descent
// with momentum, written from its formula, against crossgrad::optim::SGD with momentum 0.9
// after 5 steps on the two-moons MLP. Per parameter, a velocity buffer v (zeros before the
// first step, which starts it at the gradient itself):
//   v ← g on the first step, else β·v + g;    p ← p − lr·v
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"
#include "examples/common/two_moons.h"
#include "nn/optim.h"

using namespace crossgrad;

class Momentum {
 public:
  Momentum(std::vector<Tensor> parameters, real lr, real beta)
      : parameters_(std::move(parameters)), lr_(lr), beta_(beta) {
    for (const Tensor& p : parameters_) velocity_.emplace_back(p.numel(), real(0));
  }
  void step() {
    NoGradGuard no_grad;
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
      Tensor p = parameters_[k];
      const real* g = p.grad_data();
      real* values = p.mutable_data();
      for (std::size_t i = 0; i < p.numel(); ++i) {
        real& v = velocity_[k][i];
        v = first_ ? g[i] : beta_ * v + g[i];
        values[i] -= lr_ * v;
      }
    }
    first_ = false;
  }

 private:
  std::vector<Tensor> parameters_;
  std::vector<std::vector<real>> velocity_;
  real lr_, beta_;
  bool first_ = true;
};

int main() {
  const moons::Dataset data = moons::make_two_moons(200, 0.2, 0);
  moons::Mlp mine(16, 1), reference(16, 1);
  Momentum momentum(mine.parameters(), 0.03, 0.9);
  optim::SGD library(reference.parameters(), {/*lr=*/0.03, /*momentum=*/0.9});
  for (int step = 0; step < 5; ++step) {
    for (Tensor p : mine.parameters()) p.zero_grad();
    cross_entropy(mine.forward(data.points), data.labels).backward();
    momentum.step();
    library.zero_grad();
    cross_entropy(reference.forward(data.points), data.labels).backward();
    library.step();
  }
  const char* names[] = {"w1", "b1", "w2", "b2"};
  bool ok = true;
  for (std::size_t k = 0; k < 4; ++k)
    ok = compare(names[k], mine.parameters()[k], reference.parameters()[k]) && ok;
  return ok ? 0 : 1;
}
