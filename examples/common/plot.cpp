// plot.cpp — line plots and heatmaps as SVG strings (see plot.h).
#include "examples/common/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace crossgrad::plot {

// --- Text and small elements ---

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

std::string number(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

double text_width(const std::string& text, double font_size) {
  std::size_t characters = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++characters;  // skip continuations
  return 0.62 * font_size * double(characters);
}

std::string svg_text(double x, double y, const std::string& content, double font_size,
                     const char* anchor, const std::string& extra) {
  return "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\" font-size=\"" +
         number(font_size) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" +
         escape_xml(content) + "</text>\n";
}

std::string svg_line(double x1, double y1, double x2, double y2, const std::string& style) {
  return "<line x1=\"" + number(x1) + "\" y1=\"" + number(y1) + "\" x2=\"" + number(x2) +
         "\" y2=\"" + number(y2) + "\" " + style + "/>\n";
}

std::string svg_rect(double x, double y, double width, double height, const std::string& style) {
  return "<rect x=\"" + number(x) + "\" y=\"" + number(y) + "\" width=\"" + number(width) +
         "\" height=\"" + number(height) + "\" " + style + "/>\n";
}

std::string svg_document(double width, double height, const std::string& body) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(width, 0) +
         "\" height=\"" + number(height, 0) + "\" viewBox=\"0 0 " + number(width, 0) + " " +
         number(height, 0) + "\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\">\n" +
         svg_rect(0, 0, width, height, "fill=\"white\"") + body + "</svg>\n";
}

namespace {

// Splits after spaces (dropped) and slashes (kept), so a long path breaks at its folders.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : text) {
    if (c == ' ') {
      if (!word.empty()) words.push_back(word + " ");
      word.clear();
    } else {
      word += c;
      if (c == '/') words.push_back(word), word.clear();
    }
  }
  if (!word.empty()) words.push_back(word);
  return words;
}

std::string trim_right(std::string text) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Greedy wrapping at one font size; a word wider than the line is cut where it must be.
std::vector<std::string> wrap(const std::string& text, double width, double font_size) {
  const std::size_t per_line =
      std::max<std::size_t>(1, std::size_t(width / text_width("m", font_size)));
  std::vector<std::string> lines{""};
  for (std::string word : words_of(text)) {
    while (text_width(trim_right(word), font_size) > width) {  // cut an over-long word
      const std::string& line = lines.back();
      const std::size_t room = per_line - std::min(per_line, line.size());
      if (room == 0) {
        lines.emplace_back();
        continue;
      }
      lines.back() += word.substr(0, room);
      word.erase(0, room);
      lines.emplace_back();
    }
    if (!lines.back().empty() && text_width(trim_right(lines.back() + word), font_size) > width)
      lines.emplace_back();
    lines.back() += word;
  }
  for (std::string& line : lines) line = trim_right(line);
  lines.erase(std::remove(lines.begin(), lines.end(), std::string()), lines.end());
  return lines;
}

}  // namespace

std::vector<std::string> fit_text(const std::string& text, double width, double& font_size,
                                  std::size_t max_lines, double min_font_size) {
  for (; font_size > min_font_size; font_size -= 1) {
    std::vector<std::string> lines = wrap(text, width, font_size);
    if (lines.size() <= max_lines) return lines;
  }
  font_size = min_font_size;
  return wrap(text, width, font_size);
}

double fitted_title(std::string& svg, const std::string& title, double width, double font_size) {
  if (title.empty()) return 8;
  const std::vector<std::string> lines = fit_text(title, width - 20, font_size);
  const double line_height = font_size * 1.3;
  for (std::size_t i = 0; i < lines.size(); ++i)
    svg += svg_text(width / 2, 8 + line_height * double(i + 1) - 0.3 * font_size, lines[i],
                    font_size, "middle", " class=\"title\"");
  return 8 + line_height * double(lines.size()) + 6;
}

// --- Ticks ---

double round_step(double low, double high, int max_ticks) {
  const double span = high - low;
  if (!(span > 0) || !std::isfinite(span)) return 1;
  const double raw = span / double(std::max(1, max_ticks - 1));
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double multiple : {1.0, 2.0, 5.0, 10.0})
    if (multiple * magnitude >= raw * (1 - 1e-9)) return multiple * magnitude;
  return 10 * magnitude;
}

std::vector<double> round_ticks(double low, double high, int max_ticks) {
  const double step = round_step(low, high, max_ticks);
  std::vector<double> ticks;
  for (double k = std::ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k += 1)
    ticks.push_back(k * step == 0 ? 0 : k * step);  // no "-0"
  return ticks;
}

std::vector<double> log_ticks(double low, double high) {
  std::vector<double> ticks;
  for (int d = int(std::floor(std::log10(low))); d <= int(std::ceil(std::log10(high))); ++d)
    for (const double multiple : {1.0, 2.0, 5.0}) {
      const double tick = multiple * std::pow(10.0, d);
      if (tick >= low * (1 - 1e-9) && tick <= high * (1 + 1e-9)) ticks.push_back(tick);
    }
  std::vector<double> decades;
  for (const double tick : ticks) {
    const double mantissa = tick / std::pow(10.0, std::floor(std::log10(tick) + 1e-9));
    if (std::abs(mantissa - 1) < 1e-6) decades.push_back(tick);
  }
  return decades.size() >= 3 ? decades : ticks;
}

std::string tick_label(double value, double step) {
  if (value == 0) return "0";
  char buffer[64];
  if (std::abs(value) >= 1e6 || step < 1e-4) {
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
  }
  const int decimals = std::max(0, int(std::ceil(-std::log10(step) - 1e-9)));
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// --- Line plots ---

namespace {

const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

// Where values land: data coordinates to pixels inside the frame.
struct Axes {
  double left, right, top, bottom;  // the frame, in pixels
  double x_low, x_high, y_low, y_high;
  bool log_y;
  double sx(double x) const { return left + (right - left) * (x - x_low) / (x_high - x_low); }
  // Pixels for y, unclamped (outside the frame when y is outside the range); NaN for a
  // value the axis cannot show.
  double sy(double y) const {
    if (!std::isfinite(y) || (log_y && y <= 0)) return std::nan("");
    const double t = log_y ? (std::log10(y) - std::log10(y_low)) /
                                 (std::log10(y_high) - std::log10(y_low))
                           : (y - y_low) / (y_high - y_low);
    return bottom - (bottom - top) * t;
  }
};

// The y range: fixed when asked, else the data's, widened to round ticks (linear) or to
// whole decades (log).
void fit_y_range(const LinePlot& plot, double& low, double& high) {
  double data_low = INFINITY, data_high = -INFINITY;
  for (const Series& s : plot.series)
    for (const double y : s.y)
      if (std::isfinite(y) && (!plot.log_y || y > 0))
        data_low = std::min(data_low, y), data_high = std::max(data_high, y);
  if (!(data_low <= data_high)) data_low = plot.log_y ? 0.1 : 0, data_high = 1;
  low = std::isnan(plot.y_min) ? data_low : plot.y_min;
  high = std::isnan(plot.y_max) ? data_high : plot.y_max;
  if (plot.log_y) {
    if (std::isnan(plot.y_min)) low = std::pow(10.0, std::floor(std::log10(low)));
    if (std::isnan(plot.y_max)) high = std::pow(10.0, std::ceil(std::log10(high)));
    if (!(high > low)) high = low * 10;
    return;
  }
  if (!(high > low)) {
    const double pad = low == 0 ? 1 : std::abs(low) * 0.1;
    low -= pad, high += pad;
  }
  const double step = round_step(low, high);
  if (std::isnan(plot.y_min)) low = std::floor(low / step + 1e-9) * step;
  if (std::isnan(plot.y_max)) high = std::ceil(high / step - 1e-9) * step;
}

void fit_x_range(const LinePlot& plot, double& low, double& high) {
  low = INFINITY, high = -INFINITY;
  for (const Series& s : plot.series)
    for (const double x : s.x)
      if (std::isfinite(x)) low = std::min(low, x), high = std::max(high, x);
  if (!(low <= high)) low = 0, high = 1;
  if (!std::isnan(plot.x_min)) low = plot.x_min;
  if (!std::isnan(plot.x_max)) high = plot.x_max;
  if (!(high > low)) low -= 0.5, high += 0.5;
}

// The parts of the line through `points` that lie inside [top, bottom], as polylines: a
// non-finite point breaks the line, a segment leaving the frame is cut at its edge.
std::vector<std::vector<std::pair<double, double>>> visible_lines(
    const std::vector<std::pair<double, double>>& points, double top, double bottom) {
  std::vector<std::vector<std::pair<double, double>>> lines(1);
  const auto flush = [&] {
    if (!lines.back().empty()) lines.emplace_back();
  };
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    auto [x0, y0] = points[i];
    auto [x1, y1] = points[i + 1];
    if (std::isnan(y0) || std::isnan(y1)) {
      flush();
      continue;
    }
    // Clip the segment's parameter t in [0, 1] to top <= y <= bottom.
    double t0 = 0, t1 = 1;
    const double dy = y1 - y0;
    for (const auto& [edge, below] : {std::pair{top, true}, std::pair{bottom, false}}) {
      // below: y must be >= edge (the top), otherwise y must be <= edge (the bottom).
      if (dy == 0) {
        if (below ? y0 < edge : y0 > edge) t0 = 1, t1 = 0;
        continue;
      }
      const double t = (edge - y0) / dy;
      if ((dy > 0) == below)
        t0 = std::max(t0, t);
      else
        t1 = std::min(t1, t);
    }
    if (t0 > t1) {
      flush();
      continue;
    }
    const std::pair<double, double> start{x0 + (x1 - x0) * t0, y0 + dy * t0};
    const std::pair<double, double> end{x0 + (x1 - x0) * t1, y0 + dy * t1};
    if (lines.back().empty() || t0 > 0) {
      flush();
      lines.back().push_back(start);
    }
    lines.back().push_back(end);
    if (t1 < 1) flush();
  }
  if (lines.back().empty()) lines.pop_back();
  return lines;
}

std::string polyline(const std::vector<std::pair<double, double>>& points,
                     const std::string& style) {
  std::string svg = "<polyline fill=\"none\" " + style + " points=\"";
  for (std::size_t i = 0; i < points.size(); ++i)
    svg += (i ? " " : "") + number(points[i].first) + "," + number(points[i].second);
  return svg + "\"/>\n";
}

// The legend: one entry a series, in rows under the title; returns the height used.
double legend(std::string& svg, const std::vector<Series>& series,
              const std::vector<std::string>& colours, double width, double top) {
  if (series.size() < 2 && (series.empty() || series[0].name.empty())) return 0;
  const double font = 12, row_height = 18;
  double x = 20, y = top + 12;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double entry = 30 + text_width(series[i].name, font) + 18;
    if (x > 20 && x + entry > width - 20) x = 20, y += row_height;
    const std::string style = "stroke=\"" + colours[i] + "\" stroke-width=\"2\"" +
                              (series[i].dashed ? " stroke-dasharray=\"6 3\"" : "");
    svg += svg_line(x, y - 4, x + 24, y - 4, style) +
           svg_text(x + 30, y, series[i].name, font, "start");
    x += entry;
  }
  return y - top + 10;
}

}  // namespace

Drawing draw_line_plot(const LinePlot& plot) {
  const double width = plot.width, height = plot.height, tick_font = 11, label_font = 12;
  std::string svg;
  double top = fitted_title(svg, plot.title, width, 15);
  std::vector<std::string> colours;
  for (std::size_t i = 0; i < plot.series.size(); ++i)
    colours.push_back(plot.series[i].colour.empty() ? kPalette[i % 8] : plot.series[i].colour);
  top += legend(svg, plot.series, colours, width, top) + 8;

  Axes axes{};
  axes.log_y = plot.log_y;
  fit_x_range(plot, axes.x_low, axes.x_high);
  fit_y_range(plot, axes.y_low, axes.y_high);
  const std::vector<double> y_ticks =
      plot.log_y ? log_ticks(axes.y_low, axes.y_high) : round_ticks(axes.y_low, axes.y_high);
  const double y_step = plot.log_y ? 0 : round_step(axes.y_low, axes.y_high);
  std::vector<std::string> y_labels;
  double widest = 0;
  for (const double tick : y_ticks) {
    y_labels.push_back(tick_label(tick, plot.log_y ? tick : y_step));
    widest = std::max(widest, text_width(y_labels.back(), tick_font));
  }
  axes.left = plot.frame_left > 0 ? plot.frame_left : 10 + (plot.y_label.empty() ? 0 : 20) + widest + 8;
  axes.right = width - 20;
  axes.top = top;
  axes.bottom = height - 28 - (plot.x_label.empty() ? 0 : 18);
  if (axes.bottom - axes.top < 40) throw std::invalid_argument("line plot: too small for its title");

  // Grid and tick labels; at most as many x ticks as fit side by side.
  const std::string grid = "stroke=\"#e5e5e5\"";
  for (std::size_t i = 0; i < y_ticks.size(); ++i) {
    const double y = axes.sy(y_ticks[i]);
    svg += svg_line(axes.left, y, axes.right, y, grid) +
           svg_text(axes.left - 6, y + 4, y_labels[i], tick_font, "end");
  }
  const double widest_x = std::max(text_width(tick_label(axes.x_high, 1), tick_font),
                                   text_width(tick_label(axes.x_low, 1), tick_font));
  const int x_count = std::clamp(int((axes.right - axes.left) / (widest_x + 40)), 2, 8);
  const double x_step = round_step(axes.x_low, axes.x_high, x_count);
  for (const double tick : round_ticks(axes.x_low, axes.x_high, x_count)) {
    const double x = axes.sx(tick);
    svg += svg_line(x, axes.top, x, axes.bottom, grid) +
           svg_text(x, axes.bottom + 16, tick_label(tick, x_step), tick_font);
  }
  svg += svg_rect(axes.left, axes.top, axes.right - axes.left, axes.bottom - axes.top,
                  "fill=\"none\" stroke=\"black\"");
  if (!plot.x_label.empty())
    svg += svg_text((axes.left + axes.right) / 2, axes.bottom + 36, plot.x_label, label_font);
  if (!plot.y_label.empty()) {
    const double middle = (axes.top + axes.bottom) / 2;
    svg += svg_text(16, middle, plot.y_label, label_font, "middle",
                    " transform=\"rotate(-90 16 " + number(middle) + ")\"");
  }

  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    if (s.x.size() != s.y.size())
      throw std::invalid_argument("line plot: series '" + s.name + "' has " +
                                  std::to_string(s.x.size()) + " x values but " +
                                  std::to_string(s.y.size()) + " y values");
    std::vector<std::pair<double, double>> points;
    for (std::size_t k = 0; k < s.x.size(); ++k) points.emplace_back(axes.sx(s.x[k]), axes.sy(s.y[k]));
    const std::string style = "stroke=\"" + colours[i] + "\" stroke-width=\"" +
                              number(s.line_width) + "\"" +
                              (s.dashed ? " stroke-dasharray=\"6 3\"" : "") +
                              " class=\"series\"";
    for (const auto& line : visible_lines(points, axes.top, axes.bottom))
      svg += polyline(line, style);
    if (s.markers)
      for (const auto& [x, y] : points)
        if (y >= axes.top && y <= axes.bottom)
          svg += "<circle cx=\"" + number(x) + "\" cy=\"" + number(y) + "\" r=\"3\" fill=\"" +
                 colours[i] + "\"/>\n";
  }
  return {svg, width, height};
}

std::string line_plot_svg(const LinePlot& plot) {
  const Drawing drawing = draw_line_plot(plot);
  return svg_document(drawing.width, drawing.height, drawing.body);
}

// --- Heatmaps ---

namespace {

// Linear interpolation between two colours given as 0xRRGGBB.
std::string mix(unsigned from, unsigned to, double t) {
  t = std::clamp(t, 0.0, 1.0);
  const auto channel = [&](int shift) {
    const double a = (from >> shift) & 0xFF, b = (to >> shift) & 0xFF;
    return int(std::lround(a + (b - a) * t));
  };
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", channel(16), channel(8), channel(0));
  return buffer;
}

struct ColourScale {
  Heatmap::Colours kind;
  double low, high;
  std::string colour(double v) const {
    if (kind == Heatmap::Colours::sequential)
      return mix(0xFFFFFF, 0x08306B, high > low ? (v - low) / (high - low) : 0);
    return v < 0 ? mix(0xFFFFFF, 0x2166AC, low < 0 ? v / low : 0)
                 : mix(0xFFFFFF, 0xB2182B, high > 0 ? v / high : 0);
  }
  // Dark cells get white text.
  bool dark(double v) const {
    const double t = kind == Heatmap::Colours::sequential
                         ? (high > low ? (v - low) / (high - low) : 0)
                         : (v < 0 ? (low < 0 ? v / low : 0) : (high > 0 ? v / high : 0));
    return t > 0.55;
  }
};

ColourScale colour_scale(const Heatmap& map) {
  double low = INFINITY, high = -INFINITY;
  for (const double v : map.values)
    if (std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
  if (!(low <= high)) low = 0, high = 1;
  if (map.colours == Heatmap::Colours::diverging) {
    const double extent = std::max({std::abs(low), std::abs(high), 1e-12});
    low = -extent, high = extent;
  } else if (low == high) {
    low = std::min(low, 0.0), high = std::max(high, low + 1);
  }
  if (!std::isnan(map.low)) low = map.low;
  if (!std::isnan(map.high)) high = map.high;
  return {map.colours, low, high};
}

std::string value_text(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  std::string text = buffer;
  if (text.find_first_not_of("-0.") == std::string::npos && text[0] == '-') text.erase(0, 1);
  return text;  // "-0.00" printed as "0.00"
}

}  // namespace

Drawing draw_heatmap(const Heatmap& map) {
  if (map.values.size() != map.rows * map.cols || map.rows == 0 || map.cols == 0)
    throw std::invalid_argument("heatmap '" + map.title + "': " + std::to_string(map.rows) + "x" +
                                std::to_string(map.cols) + " cells but " +
                                std::to_string(map.values.size()) + " values");
  if ((!map.row_names.empty() && map.row_names.size() != map.rows) ||
      (!map.col_names.empty() && map.col_names.size() != map.cols))
    throw std::invalid_argument("heatmap '" + map.title + "': " + std::to_string(map.row_names.size()) +
                                " row names for " + std::to_string(map.rows) + " rows, " +
                                std::to_string(map.col_names.size()) + " column names for " +
                                std::to_string(map.cols) + " columns");
  const auto name = [](const std::vector<std::string>& names, std::size_t i) {
    return names.empty() ? std::to_string(i) : names[i];
  };
  const double cell = map.cell > 0 ? map.cell
                                   : std::clamp(320.0 / double(std::max(map.rows, map.cols)), 10.0, 44.0);
  const double tick_font = std::min(11.0, std::max(7.0, cell * 0.8)), label_font = 12;
  double widest_row = 0, widest_col = 0;
  for (std::size_t r = 0; r < map.rows; ++r) widest_row = std::max(widest_row, text_width(name(map.row_names, r), tick_font));
  for (std::size_t c = 0; c < map.cols; ++c) widest_col = std::max(widest_col, text_width(name(map.col_names, c), tick_font));
  const bool rotate_columns = widest_col > cell - 2;
  const double column_labels = rotate_columns ? widest_col + 8 : tick_font + 6;
  const bool any_masked = std::any_of(map.values.begin(), map.values.end(),
                                      [](double v) { return !std::isfinite(v); });
  const double colour_bar = map.colour_bar || any_masked ? 70 : 10;  // room for the legend

  const double left = 10 + (map.y_label.empty() ? 0 : 20) + widest_row + 6;
  const double grid_width = cell * double(map.cols), grid_height = cell * double(map.rows);
  const double width = std::max(left + grid_width + colour_bar, 160.0);
  std::string svg;
  const double top = fitted_title(svg, map.title, width, 13);
  const ColourScale scale = colour_scale(map);

  const double value_font =
      std::min(11.0, cell / (0.62 * double(std::max(4, map.decimals + 3))));
  for (std::size_t r = 0; r < map.rows; ++r)
    for (std::size_t c = 0; c < map.cols; ++c) {
      const double v = map.values[r * map.cols + c];
      const double x = left + cell * double(c), y = top + cell * double(r);
      const bool masked = !std::isfinite(v);
      svg += svg_rect(x, y, cell, cell,
                      "fill=\"" + (masked ? std::string("#bdbdbd") : scale.colour(v)) +
                          "\" stroke=\"white\" stroke-width=\"0.5\" class=\"cell\"");
      if (map.show_values)
        svg += svg_text(x + cell / 2, y + cell / 2 + value_font * 0.35, value_text(v, map.decimals),
                        value_font, "middle",
                        !masked && scale.dark(v) ? " fill=\"white\"" : "");
    }
  svg += svg_rect(left, top, grid_width, grid_height, "fill=\"none\" stroke=\"#444\"");
  for (std::size_t r = 0; r < map.rows; ++r)
    svg += svg_text(left - 4, top + cell * (double(r) + 0.5) + tick_font * 0.35,
                    name(map.row_names, r), tick_font, "end");
  for (std::size_t c = 0; c < map.cols; ++c) {
    const double x = left + cell * (double(c) + 0.5), y = top + grid_height + 4;
    if (rotate_columns)
      svg += svg_text(x + tick_font * 0.35, y, name(map.col_names, c), tick_font, "end",
                      " transform=\"rotate(-90 " + number(x + tick_font * 0.35) + " " + number(y) + ")\"");
    else
      svg += svg_text(x, y + tick_font, name(map.col_names, c), tick_font);
  }
  double bottom = top + grid_height + column_labels;
  if (!map.x_label.empty()) {
    svg += svg_text(left + grid_width / 2, bottom + 14, map.x_label, label_font);
    bottom += 20;
  }
  if (!map.y_label.empty()) {
    const double middle = top + grid_height / 2;
    svg += svg_text(16, middle, map.y_label, label_font, "middle",
                    " transform=\"rotate(-90 16 " + number(middle) + ")\"");
  }

  // The colour bar: ten steps from low to high, with both ends labelled.
  const double bar_x = left + grid_width + 14, bar_height = std::min(grid_height, 160.0);
  if (map.colour_bar) {
    for (int i = 0; i < 10; ++i) {
      const double t = 1 - (i + 0.5) / 10;
      svg += svg_rect(bar_x, top + bar_height * i / 10, 12, bar_height / 10 + 0.5,
                      "fill=\"" + scale.colour(scale.low + (scale.high - scale.low) * t) + "\"");
    }
    const double bar_step = std::abs(scale.high - scale.low);
    svg += svg_text(bar_x + 16, top + 9, tick_label(scale.high, bar_step / 10), 9, "start") +
           svg_text(bar_x + 16, top + bar_height, tick_label(scale.low, bar_step / 10), 9, "start");
  }
  if (any_masked)
    svg += svg_rect(bar_x, top + bar_height + 8, 12, 12, "fill=\"#bdbdbd\"") +
           svg_text(bar_x + 16, top + bar_height + 18, "masked", 9, "start");
  const double height = std::max(bottom, top + bar_height + 24) + 8;
  return {svg, width, height};
}

std::string heatmap_svg(const Heatmap& map) {
  const Drawing drawing = draw_heatmap(map);
  return svg_document(drawing.width, drawing.height, drawing.body);
}

std::string combine_svg(const std::string& title, const std::vector<Drawing>& drawings,
                        bool side_by_side) {
  double width = 0, height = 0;
  for (const Drawing& d : drawings) {
    width = side_by_side ? width + d.width + 10 : std::max(width, d.width);
    height = side_by_side ? std::max(height, d.height) : height + d.height;
  }
  width = std::max(width, 200.0);
  std::string svg;
  const double top = fitted_title(svg, title, width, 15);
  double offset = 0;
  for (const Drawing& d : drawings) {
    const double x = side_by_side ? offset : 0, y = top + (side_by_side ? 0 : offset);
    svg += "<g transform=\"translate(" + number(x) + " " + number(y) + ")\">\n" + d.body + "</g>\n";
    offset += side_by_side ? d.width + 10 : d.height;
  }
  return svg_document(width, top + height, svg);
}

std::string heatmaps_svg(const std::string& title, const std::vector<Heatmap>& maps) {
  std::vector<Drawing> drawings;
  for (const Heatmap& map : maps) drawings.push_back(draw_heatmap(map));
  return combine_svg(title, drawings, /*side_by_side=*/true);
}

}  // namespace crossgrad::plot
