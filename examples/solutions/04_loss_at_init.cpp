// Solution to exercise 4.3 (docs/04-an-mlp-and-the-training-loop.md): a loss at
// initialisation of exactly ln 2. With the output layer's weights and bias all zero, every
// logit is 0, softmax gives 1/2 to each class, and cross-entropy is -log(1/2) = ln 2 for
// every point. Training still works: at the first step only w2 and b2 get gradients (the
// hidden layer's gradient goes through w2, which is zero), and from the second step on,
// everything moves.
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"
#include "examples/common/check.h"
#include "examples/common/two_moons.h"
#include "nn/optim.h"

using namespace crossgrad;

int main() {
  const moons::Dataset data = moons::make_two_moons(200, 0.2, 0);
  moons::Mlp model(16, 1, /*output_scale=*/0);  // w2 = 0 (b2 starts at 0 already)
  optim::SGD sgd(model.parameters(), {/*lr=*/0.3});
  const Tensor first = cross_entropy(model.forward(data.points), data.labels);
  bool ok = compare("loss at init", first.item(), std::log(2.0));

  sgd.zero_grad();
  first.backward();
  const Tensor dw1 = model.w1.grad();
  ok = compare("dw1, step 1", dw1, Tensor::zeros({2, 16})) && ok;  // blocked by w2 = 0
  sgd.step();
  for (int step = 1; step < 300; ++step) {
    const Tensor loss = cross_entropy(model.forward(data.points), data.labels);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
  }
  NoGradGuard no_grad;
  const double accuracy = moons::accuracy(model.forward(data.points), data.labels);
  std::printf("training accuracy after 300 steps: %.3f\n", accuracy);
  return ok && accuracy > 0.85 ? 0 : 1;
}
