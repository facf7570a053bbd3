// loss_plot.h — a training run's curves as files: a CSV (one row a step, evaluation columns
// filled at evaluation steps) for your own tools, and a self-contained SVG plot (training
// loss on a log scale, its moving average, and held-out exact match on a 0–100% axis) that
// any browser opens. Plain string building: no plotting library.
// Read next: examples/train.cpp (writes both next to the checkpoint).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crossgrad::cli {

struct EvalPoint {
  std::int64_t step = 0;
  double exact_match = 0, token_accuracy = 0;
};

struct LossHistory {
  std::vector<double> loss, token_accuracy;  // [i] belongs to step i + 1
  std::vector<EvalPoint> evaluations;        // in step order
};

// Header "step,loss,token_accuracy,eval_exact_match,eval_token_accuracy"; the last two
// columns are empty on steps without an evaluation.
std::string loss_csv(const LossHistory& history);

// A 760x400 SVG with a title, axes, a legend and the curves. An empty history gives a plot
// that says so, not an error.
std::string loss_svg(const LossHistory& history, const std::string& title);

}  // namespace crossgrad::cli
