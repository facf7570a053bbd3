// loss_plot.cpp — CSV and SVG writers for a run's curves (see loss_plot.h).
#include "examples/common/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace crossgrad::cli {

namespace {

// The plot's frame: the data area inside a 760x400 canvas.
constexpr double kWidth = 760, kHeight = 400;
constexpr double kLeft = 70, kRight = 690, kTop = 56, kBottom = 340;  // legend above kTop

std::string fmt(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string escape_xml(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string text(double x, double y, const std::string& content, const char* anchor = "middle",
                 const char* extra = "") {
  return "<text x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", y) + "\" text-anchor=\"" + anchor +
         "\"" + extra + ">" + escape_xml(content) + "</text>\n";
}

std::string line(double x1, double y1, double x2, double y2, const char* style) {
  return "<line x1=\"" + fmt("%.1f", x1) + "\" y1=\"" + fmt("%.1f", y1) + "\" x2=\"" +
         fmt("%.1f", x2) + "\" y2=\"" + fmt("%.1f", y2) + "\" " + style + "/>\n";
}

std::string polyline(const std::vector<std::pair<double, double>>& points, const char* style) {
  std::string out = "<polyline fill=\"none\" " + std::string(style) + " points=\"";
  for (const auto& [x, y] : points) out += fmt("%.1f,", x) + fmt("%.1f ", y);
  return out + "\"/>\n";
}

// Means of consecutive buckets, so a long run draws at most ~one point a pixel.
std::vector<std::pair<double, double>> bucket_means(const std::vector<double>& values,
                                                    std::size_t buckets) {
  std::vector<std::pair<double, double>> out;  // (step, mean value)
  const std::size_t size = std::max<std::size_t>(1, (values.size() + buckets - 1) / buckets);
  for (std::size_t begin = 0; begin < values.size(); begin += size) {
    const std::size_t end = std::min(values.size(), begin + size);
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) sum += values[i];
    out.emplace_back(double(begin + end + 1) / 2, sum / double(end - begin));
  }
  return out;
}

// Where values land: steps across, loss (log scale, whole decades) and accuracy up.
struct Frame {
  std::size_t steps;
  double decade_low, decade_high;  // log10 of the loss axis' ends

  double x(double step) const {
    return kLeft + (kRight - kLeft) * (steps > 1 ? (step - 1) / double(steps - 1) : 0.5);
  }
  double y_loss(double loss) const {
    const double decades = std::log10(std::max(loss, std::pow(10.0, decade_low)));
    return kBottom - (kBottom - kTop) * (decades - decade_low) / (decade_high - decade_low);
  }
  double y_accuracy(double accuracy) const { return kBottom - (kBottom - kTop) * accuracy; }
};

Frame make_frame(const std::vector<double>& loss) {
  double low = INFINITY, high = 0;
  for (const double l : loss)
    if (std::isfinite(l) && l > 0) low = std::min(low, l), high = std::max(high, l);
  if (!(high > 0)) low = 1e-3, high = 1;  // nothing positive to show: any sane range
  const double decade_low = std::floor(std::log10(low));
  return {loss.size(), decade_low, std::max(decade_low + 1, std::ceil(std::log10(high)))};
}

std::string axes(const Frame& f) {
  const char* black = "stroke=\"black\"";
  std::string svg = line(kLeft, kBottom, kRight, kBottom, black) +
                    line(kLeft, kTop, kLeft, kBottom, black) +
                    line(kRight, kTop, kRight, kBottom, black);
  for (double d = f.decade_low; d <= f.decade_high; ++d) {
    const double y = f.y_loss(std::pow(10.0, d));
    svg += line(kLeft, y, kRight, y, "stroke=\"#ddd\"") +
           text(kLeft - 6, y + 4, fmt("%g", std::pow(10.0, d)), "end");
  }
  for (int percent = 0; percent <= 100; percent += 20)
    svg +=
        text(kRight + 6, f.y_accuracy(percent / 100.0) + 4, std::to_string(percent) + "%", "start");
  for (int i = 0; i <= 4; ++i) {
    const double step = 1 + std::round(double(f.steps - 1) * i / 4.0);
    svg += text(f.x(step), kBottom + 18, fmt("%.0f", step));
  }
  const double middle = (kTop + kBottom) / 2;
  const auto rotated = [&](double x, int degrees) {  // a vertical axis title centred at x
    return " transform=\"rotate(" + std::to_string(degrees) + " " + fmt("%.0f", x) + " " +
           fmt("%.0f", middle) + ")\"";
  };
  return svg + text((kLeft + kRight) / 2, kBottom + 38, "step") +
         text(18, middle, "training loss", "middle", rotated(18, -90).c_str()) +
         text(kWidth - 14, middle, "held-out exact match", "middle",
              rotated(kWidth - 14, 90).c_str());
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

std::string curves(const Frame& f, const LossHistory& history) {
  const std::size_t columns = std::size_t(kRight - kLeft);
  std::vector<std::pair<double, double>> raw, smooth, exact;
  for (const auto& [step, value] : bucket_means(history.loss, columns))
    raw.emplace_back(f.x(step), f.y_loss(value));
  const std::size_t window = std::max<std::size_t>(1, f.steps / 25);
  for (const auto& [step, value] : bucket_means(moving_average(history.loss, window), columns))
    smooth.emplace_back(f.x(step), f.y_loss(value));
  for (const EvalPoint& e : history.evaluations)
    exact.emplace_back(f.x(double(e.step)), f.y_accuracy(e.exact_match));
  std::string svg = polyline(raw, "stroke=\"#9ecae1\" stroke-width=\"1\"") +
                    polyline(smooth, "stroke=\"#08519c\" stroke-width=\"2\"") +
                    polyline(exact, "stroke=\"#e6550d\" stroke-width=\"2\"");
  for (const auto& [x, y] : exact)
    svg += "<circle cx=\"" + fmt("%.1f", x) + "\" cy=\"" + fmt("%.1f", y) +
           "\" r=\"3\" fill=\"#e6550d\"/>\n";
  return svg;
}

// One row between the title and the frame, so it never hides a curve.
std::string legend() {
  const std::pair<const char*, const char*> entries[] = {{"#9ecae1", "loss per step"},
                                                         {"#08519c", "loss, moving average"},
                                                         {"#e6550d", "held-out exact match"}};
  std::string svg;
  double x = kLeft + 40;
  for (const auto& [colour, label] : entries) {
    const std::string style = "stroke=\"" + std::string(colour) + "\" stroke-width=\"2\"";
    svg += line(x, 40, x + 20, 40, style.c_str()) + text(x + 26, 44, label, "start");
    x += 190;
  }
  return svg;
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
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", kWidth) +
                    "\" height=\"" + fmt("%.0f", kHeight) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" +
                    text(kWidth / 2, 22, title, "middle", " font-size=\"15\"");
  if (history.loss.empty())
    return svg + text(kWidth / 2, kHeight / 2, "no training steps yet") + "</svg>\n";
  const Frame frame = make_frame(history.loss);
  return svg + axes(frame) + curves(frame, history) + legend() + "</svg>\n";
}

}  // namespace crossgrad::cli
