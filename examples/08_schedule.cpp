// 08_schedule.cpp — the learning rate of the default recipe, step by step: a linear warmup
// over 200 steps to 3e-3, multiplied by a cosine that falls to 0 at the end of the budget
// (nn/schedule.h's CosineSchedule, what build/train uses). Then the record of the run that
// made docs/models/reverse.safetensors (its loss and held-out exact match, saved by
// build/train as a CSV file): the numbers a learner's own run should come close to.
// Walked through in docs/08-training-a-seq2seq-model.md.
// Run from the repository's top folder: build/08_schedule   (make pictures draws both)
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/shape.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"
#include "nn/schedule.h"

using namespace crossgrad;

namespace {

struct RunRecord {
  std::vector<double> step, loss;              // every step
  std::vector<double> eval_step, exact_match;  // every evaluation
};

// build/train's loss CSV: step,loss,token_accuracy,eval_exact_match,eval_token_accuracy
// (the evaluation columns are empty between evaluations).
RunRecord read_run(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("08_schedule: cannot read " + path + " (run from the repository's top folder)");
  RunRecord run;
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
    if (fields.size() < 2) continue;
    run.step.push_back(std::stod(fields[0]));
    run.loss.push_back(std::stod(fields[1]));
    if (fields.size() >= 4 && !fields[3].empty()) {
      run.eval_step.push_back(std::stod(fields[0]));
      run.exact_match.push_back(std::stod(fields[3]));
    }
  }
  return run;
}

// The mean of the losses of steps (step - window, step]: one step's loss is one batch's, noisy.
double smoothed(const RunRecord& run, std::size_t index, std::size_t window) {
  const std::size_t first = index + 1 >= window ? index + 1 - window : 0;
  double sum = 0;
  for (std::size_t i = first; i <= index; ++i) sum += run.loss[i];
  return sum / double(index + 1 - first);
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 8: the learning-rate schedule and a reference run.");
  const std::int64_t budget = 4000;
  const optim::CosineSchedule schedule(3e-3, 200, budget);
  std::printf("%s\n", schedule.describe().c_str());
  std::printf("  step      lr\n");
  for (std::int64_t step : {0, 1, 99, 199, 500, 1000, 2000, 2800, 3000, 3999})
    std::printf("  %4lld  %.6f\n", static_cast<long long>(step), schedule.lr_at(step));

  plot::LinePlot lr_plot;
  lr_plot.title = "The default recipe: " + schedule.describe();
  lr_plot.x_label = "step";
  lr_plot.y_label = "learning rate";
  lr_plot.y_min = 0;
  plot::Series lr_series("lr at each step");
  for (std::int64_t step = 0; step < budget; step += 5)
    lr_series.x.push_back(double(step)), lr_series.y.push_back(schedule.lr_at(step));
  plot::Series warmup_end("end of warmup (step 200)");
  warmup_end.x = {200, 200}, warmup_end.y = {0, 3e-3}, warmup_end.dashed = true;
  warmup_end.line_width = 1;
  plot::Series stopped("where the reference run below stopped (step 2800)");
  stopped.x = {2800, 2800}, stopped.y = {0, 3e-3}, stopped.dashed = true;
  stopped.line_width = 1, stopped.colour = "#7f7f7f";
  lr_plot.series = {lr_series, warmup_end, stopped};
  lr_plot.x_min = 0, lr_plot.x_max = double(budget);
  pictures.save("08-schedule.svg", plot::line_plot_svg(lr_plot));

  // The reference run: build/train --task reverse --target-acc 0.99 --eval-every 100.
  const RunRecord run = read_run("docs/models/reverse.loss.csv");
  std::printf("\nthe run that made docs/models/reverse.safetensors (%zu steps):\n", run.step.size());
  std::printf("  step   loss (mean of 100 steps)   held-out exact match\n");
  for (std::size_t e = 0; e < run.eval_step.size(); ++e) {
    const std::size_t step = std::size_t(run.eval_step[e]);
    if (step % 400 != 0 && e + 1 != run.eval_step.size() && step != 100) continue;
    std::printf("  %4zu   %24.3f   %19.1f%%\n", step, smoothed(run, step - 1, 100),
                100 * run.exact_match[e]);
  }

  plot::LinePlot loss_plot;
  loss_plot.title = "Training loss (one batch per step, and its 100-step mean)";
  loss_plot.x_label = "step";
  loss_plot.y_label = "loss (log scale)";
  loss_plot.log_y = true;
  loss_plot.height = 300;
  loss_plot.frame_left = 80;
  loss_plot.x_min = 0;
  plot::Series raw("loss of the step's batch"), mean("mean of 100 steps");
  raw.colour = "#9ecae1", raw.line_width = 1;
  for (std::size_t i = 0; i < run.step.size(); ++i) {
    raw.x.push_back(run.step[i]), raw.y.push_back(run.loss[i]);
    mean.x.push_back(run.step[i]), mean.y.push_back(smoothed(run, i, 100));
  }
  mean.colour = "#1f77b4";
  plot::Series ln_v("ln 13, the loss of a model that knows nothing");
  ln_v.x = {0, run.step.back()}, ln_v.y = {std::log(13.0), std::log(13.0)};
  ln_v.dashed = true, ln_v.colour = "#7f7f7f", ln_v.line_width = 1;
  loss_plot.series = {raw, mean, ln_v};
  plot::LinePlot accuracy_plot;
  accuracy_plot.title = "Held-out exact match (1,000 sequences, greedy decoding)";
  accuracy_plot.x_label = "step";
  accuracy_plot.y_label = "exact match";
  accuracy_plot.y_min = 0, accuracy_plot.y_max = 1;
  accuracy_plot.height = 260;
  accuracy_plot.frame_left = 80;
  accuracy_plot.x_min = 0, accuracy_plot.x_max = run.step.back();
  plot::Series exact("every 100 steps", run.eval_step, run.exact_match);
  exact.markers = true, exact.colour = "#d62728";
  accuracy_plot.series = {exact};
  pictures.save("08-reverse-run.svg",
                plot::combine_svg("build/train --task reverse --target-acc 0.99: the reference run",
                                  {plot::draw_line_plot(loss_plot), plot::draw_line_plot(accuracy_plot)},
                                  /*side_by_side=*/false));
  return 0;
}
