// loss_plot.h — a training run's curves as files: a CSV (one row a step, evaluation columns
// filled at evaluation steps) for your own tools, and a self-contained SVG that any browser
// opens: the training loss on a log scale with its moving average, and below it, on the
// same step axis, held-out exact match from 0 to 100% (examples/common/plot.h draws both).
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

// A 760-pixel-wide SVG: the title (wrapped or shrunk until it fits), then the loss plot and,
// when there are evaluations, the exact-match plot. An empty history gives a picture that
// says so, not an error.
std::string loss_svg(const LossHistory& history, const std::string& title);

}  // namespace crossgrad::cli
