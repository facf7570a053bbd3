// 04_optimizers.cpp — the same model and data as 04_mlp.cpp trained by three optimizers of
// crossgrad::optim: plain gradient descent, with momentum, and Adam, as loss curves. The
// exercises of chapter 4 write momentum and Adam from their formulas and compare with
// these. Walked through in docs/04-an-mlp-and-the-training-loop.md.
// Run: build/04_optimizers   (make pictures also draws the curves)
#include <cstdio>
#include <memory>
#include <string>

#include "autograd/ops.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"
#include "examples/common/two_moons.h"
#include "nn/optim.h"

using namespace crossgrad;

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 4: SGD, momentum and Adam.");
  const moons::Dataset data = moons::make_two_moons(200, 0.2, /*seed=*/0);
  const int steps = 500;

  plot::LinePlot curves;
  curves.title = "Training loss of the two-moons MLP: three optimizers, same start";
  curves.x_label = "step";
  curves.y_label = "loss (log scale)";
  curves.log_y = true;
  std::printf("optimizer                      loss after 50 steps   after %d steps\n", steps);
  for (const std::string name : {"SGD, lr 0.3", "SGD + momentum 0.9, lr 0.03", "Adam, lr 0.01"}) {
    moons::Mlp model(16, /*seed=*/1);
    std::unique_ptr<optim::Optimizer> optimizer;
    if (name[0] == 'A')
      optimizer = std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions{0.01});
    else if (name.find("momentum") != std::string::npos)
      optimizer = std::make_unique<optim::SGD>(model.parameters(), optim::SGDOptions{0.03, 0.9});
    else
      optimizer = std::make_unique<optim::SGD>(model.parameters(), optim::SGDOptions{0.3});
    plot::Series series(name);
    for (int step = 0; step < steps; ++step) {
      const Tensor loss = cross_entropy(model.forward(data.points), data.labels);
      series.x.push_back(step);
      series.y.push_back(loss.item());
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
    }
    std::printf("%-29s  %19.4f   %14.4f\n", name.c_str(), series.y[50], series.y.back());
    curves.series.push_back(series);
  }
  pictures.save("04-optimizers.svg", plot::line_plot_svg(curves));
  return 0;
}
