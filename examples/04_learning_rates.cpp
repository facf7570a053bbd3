// 04_learning_rates.cpp — the same model and data as 04_mlp.cpp trained with learning
// rates from far too small to far too large, as numbers and as loss curves; then the
// largest one under DetectAnomalyGuard, which names the first op whose output overflowed.
// Walked through in docs/04-an-mlp-and-the-training-loop.md.
// Run: build/04_learning_rates   (make pictures also draws the curves)
#include <cstdio>
#include <iostream>
#include <string>

#include "autograd/ops.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"
#include "examples/common/two_moons.h"
#include "nn/optim.h"

using namespace crossgrad;

namespace {

// The loss at every step of a run of `steps` steps of gradient descent at `lr`.
std::vector<double> train(double lr, int steps, const moons::Dataset& data) {
  moons::Mlp model(16, /*seed=*/1);
  optim::SGD sgd(model.parameters(), {lr});
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    const Tensor loss = cross_entropy(model.forward(data.points), data.labels);
    losses.push_back(loss.item());
    sgd.zero_grad();
    loss.backward();
    sgd.step();
  }
  return losses;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 4: learning rates, from too small to too large.");
  const moons::Dataset data = moons::make_two_moons(200, 0.2, /*seed=*/0);
  const int steps = 500;

  plot::LinePlot curves;
  curves.title = "Training loss of the two-moons MLP for four learning rates";
  curves.x_label = "step";
  curves.y_label = "loss (log scale)";
  curves.log_y = true;
  curves.y_min = 0.01, curves.y_max = 100;
  std::printf("learning rate   loss after 1 step   after %d steps\n", steps);
  for (const double lr : {0.03, 0.3, 3.0, 30.0}) {
    const std::vector<double> losses = train(lr, steps, data);
    std::printf("%13g   %17.4f   %14.4f\n", lr, losses[1], losses.back());
    plot::Series series("lr " + plot::tick_label(lr, lr));
    for (int step = 0; step < steps; ++step) {
      series.x.push_back(step);
      series.y.push_back(losses[std::size_t(step)]);
    }
    curves.series.push_back(series);
  }
  pictures.save("04-learning-rates.svg", plot::line_plot_svg(curves));

  // Far too large: the first step throws the weights so far that values overflow. With
  // DetectAnomalyGuard alive, the first op that produces inf or NaN throws, naming itself.
  std::printf("\nlr 1000 under DetectAnomalyGuard:\n");
  try {
    DetectAnomalyGuard detect_anomaly;
    const std::vector<double> losses = train(1000, 20, data);
    std::printf("  no anomaly; last loss %g\n", losses.back());
  } catch (const Error& error) {
    std::cout << "  " << error.what() << "\n";
  }
  return 0;
}
