// loss_plot.cpp — CSV and SVG writers for a run's curves (see loss_plot.h). The SVG is two
// plots of examples/common/plot.h stacked on one step axis: the training loss (log scale)
// above, held-out exact match below.
#include "examples/common/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "examples/common/plot.h"

namespace crossgrad::cli {

namespace {

constexpr double kWidth = 760, kFrameLeft = 74;  // both plots' frames start at kFrameLeft

std::string fmt(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

// Means of consecutive buckets, so a long run draws at most ~one point a pixel.
plot::Series bucket_means(const std::vector<double>& values, std::size_t buckets) {
  plot::Series series;
  const std::size_t size = std::max<std::size_t>(1, (values.size() + buckets - 1) / buckets);
  for (std::size_t begin = 0; begin < values.size(); begin += size) {
    const std::size_t end = std::min(values.size(), begin + size);
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) sum += values[i];
    series.x.push_back(double(begin + end + 1) / 2);  // the middle step of the bucket
    series.y.push_back(sum / double(end - begin));
  }
  return series;
}

// The mean of the last `window` values at each step (fewer at the start).
std::vector<double> moving_average(const std::vector<double>& values, std::size_t window) {
  std::vector<double> averaged(values.size());
  double sum = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    sum += values[i] - (i >= window ? values[i - window] : 0);
    averaged[i] = sum / double(std::min(i + 1, window));
  }
  return averaged;
}

}  // namespace

std::string loss_csv(const LossHistory& history) {
  std::string out = "step,loss,token_accuracy,eval_exact_match,eval_token_accuracy\n";
  std::size_t next_eval = 0;
  for (std::size_t i = 0; i < history.loss.size(); ++i) {
    const auto step = std::int64_t(i + 1);
    out += std::to_string(step) + "," + fmt("%.6g", history.loss[i]) + "," +
           fmt("%.6g", i < history.token_accuracy.size() ? history.token_accuracy[i] : NAN);
    while (next_eval < history.evaluations.size() && history.evaluations[next_eval].step < step)
      ++next_eval;
    if (next_eval < history.evaluations.size() && history.evaluations[next_eval].step == step)
      out += "," + fmt("%.6g", history.evaluations[next_eval].exact_match) + "," +
             fmt("%.6g", history.evaluations[next_eval].token_accuracy);
    else
      out += ",,";
    out += "\n";
  }
  return out;
}

std::string loss_svg(const LossHistory& history, const std::string& title) {
  if (history.loss.empty()) {
    std::string body;
    const double top = plot::fitted_title(body, title, kWidth, 15);
    body += plot::svg_text(kWidth / 2, top + 40, "no training steps yet", 13);
    return plot::svg_document(kWidth, top + 80, body);
  }
  const double steps = double(history.loss.size());
  const std::size_t columns = std::size_t(kWidth - kFrameLeft - 20);

  plot::LinePlot loss;
  loss.y_label = "training loss";
  loss.log_y = true;
  loss.x_min = 1, loss.x_max = std::max(2.0, steps);
  loss.width = kWidth, loss.height = 300, loss.frame_left = kFrameLeft;
  plot::Series raw = bucket_means(history.loss, columns);
  raw.name = "loss per step", raw.colour = "#9ecae1", raw.line_width = 1;
  const std::size_t window = std::max<std::size_t>(1, history.loss.size() / 25);
  plot::Series smooth = bucket_means(moving_average(history.loss, window), columns);
  smooth.name = "loss, moving average", smooth.colour = "#08519c";
  loss.series = {raw, smooth};
  if (history.evaluations.empty()) loss.x_label = "step";  // else the plot below has it
  std::vector<plot::Drawing> drawings{plot::draw_line_plot(loss)};

  if (!history.evaluations.empty()) {
    plot::LinePlot exact;
    exact.x_label = "step", exact.y_label = "exact match (%)";
    exact.x_min = loss.x_min, exact.x_max = loss.x_max, exact.y_min = 0, exact.y_max = 100;
    exact.width = kWidth, exact.height = 220, exact.frame_left = kFrameLeft;
    plot::Series held_out;
    held_out.name = "held-out exact match", held_out.colour = "#e6550d", held_out.markers = true;
    for (const EvalPoint& e : history.evaluations) {
      held_out.x.push_back(double(e.step));
      held_out.y.push_back(100 * e.exact_match);
    }
    exact.series = {held_out};
    drawings.push_back(plot::draw_line_plot(exact));
  }
  return plot::combine_svg(title, drawings, /*side_by_side=*/false);
}

}  // namespace crossgrad::cli
