// 04_mlp.cpp — a two-layer perceptron learns to tell two moons apart, with a training loop
// written out: forward, loss, zero the gradients, backward, update. The update is plain
// gradient descent written from its formula, p ← p − lr·∂loss/∂p, and checked equal to
// crossgrad::optim::SGD. Before training: what the loss should be when the model knows
// nothing. Walked through in docs/04-an-mlp-and-the-training-loop.md. Run: build/04_mlp
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"
#include "examples/common/two_moons.h"
#include "nn/optim.h"

using namespace crossgrad;

namespace {

// p ← p − lr·grad for every parameter: gradient descent, in place and outside any graph.
void sgd_step(const std::vector<Tensor>& parameters, real lr) {
  NoGradGuard no_grad;
  for (Tensor p : parameters) {
    const real* grad = p.grad_data();
    real* values = p.mutable_data();
    for (std::size_t i = 0; i < p.numel(); ++i) values[i] -= lr * grad[i];
  }
}

}  // namespace

int main() {
  const moons::Dataset train = moons::make_two_moons(200, 0.2, /*seed=*/0);
  const moons::Dataset held_out = moons::make_two_moons(200, 0.2, /*seed=*/1);

  // The loss at initialisation. A model that knows nothing should give each of the 2
  // classes probability 1/2, and cross-entropy -log(1/2) = ln 2 for every point.
  moons::Mlp model(/*hidden=*/16, /*seed=*/1);
  const double start = cross_entropy(model.forward(train.points), train.labels).item();
  std::printf("loss at initialisation: %.4f   (ln 2 = %.4f)\n", start, std::log(2.0));
  moons::Mlp careless(16, 1, /*output_scale=*/10);  // large weights: confident, half wrong
  std::printf("with output weights 100x larger: %.4f\n\n",
              cross_entropy(careless.forward(train.points), train.labels).item());

  // The training loop.
  const real lr = 0.3;
  for (int step = 0; step <= 500; ++step) {
    const Tensor logits = model.forward(train.points);         // 1. forward
    const Tensor loss = cross_entropy(logits, train.labels);   // 2. loss, shape ()
    for (Tensor p : model.parameters()) p.zero_grad();         // 3. forget last step's gradients
    loss.backward();                                           // 4. backward
    sgd_step(model.parameters(), lr);                          // 5. update
    if (step % 100 == 0)
      std::printf("step %3d  loss %.4f  accuracy %.3f\n", step, loss.item(),
                  moons::accuracy(logits, train.labels));
  }
  double accuracy = 0;
  {
    NoGradGuard no_grad;  // evaluation records no graph
    accuracy = moons::accuracy(model.forward(held_out.points), held_out.labels);
  }
  std::printf("held-out accuracy (200 points never trained on): %.3f\n\n", accuracy);

  // Three steps with sgd_step and three with crossgrad::optim::SGD, from the same start.
  moons::Mlp ours(16, /*seed=*/2), theirs(16, 2);
  optim::SGD library_sgd(theirs.parameters(), {/*lr=*/0.3});
  for (int step = 0; step < 3; ++step) {
    for (Tensor p : ours.parameters()) p.zero_grad();
    cross_entropy(ours.forward(train.points), train.labels).backward();
    sgd_step(ours.parameters(), 0.3);

    library_sgd.zero_grad();
    cross_entropy(theirs.forward(train.points), train.labels).backward();
    library_sgd.step();
  }
  bool same = true;
  for (std::size_t k = 0; k < 4; ++k)
    same = same && ours.parameters()[k].values() == theirs.parameters()[k].values();
  std::printf("after 3 steps, sgd_step and optim::SGD hold the same parameters: %s\n",
              same ? "yes, bit for bit" : "NO");
  return accuracy > 0.9 && same ? 0 : 1;
}
