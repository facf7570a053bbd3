// plot.h — pictures from plain numbers, as self-contained SVG any browser opens: line plots
// (several series, optional log-scale y) and heatmaps (a matrix with labelled rows and
// columns, for masks, positional encodings and attention maps). Plain string building, no
// plotting library. Text is monospace, so the width of every label is known: titles wrap or
// shrink until they fit, and tick labels never collide.
// Read next: examples/common/graph_picture.h (a computation graph drawn with these helpers).
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace crossgrad::plot {

// "Fit the data": the default of every range below.
inline constexpr double kFit = std::numeric_limits<double>::quiet_NaN();

// A picture's body and size, so several can share one document (combine_svg).
struct Drawing {
  std::string body;  // SVG elements, drawn from (0, 0)
  double width = 0, height = 0;
};

// --- Line plots ---

struct Series {
  Series() = default;
  explicit Series(std::string name, std::vector<double> x = {}, std::vector<double> y = {})
      : name(std::move(name)), x(std::move(x)), y(std::move(y)) {}

  std::string name;          // shown in the legend
  std::vector<double> x, y;  // the same length; a non-finite y breaks the line there
  std::string colour;        // "#1f77b4"; empty takes the next colour of the palette
  bool dashed = false;
  bool markers = false;  // a dot on every point (for sparse series, like evaluations)
  double line_width = 2;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_y = false;  // y on a log scale; values <= 0 break the line
  // Axis ranges; kFit fits the data. A line that leaves a fixed y range is drawn up to the
  // frame's edge, so a diverging run stays readable beside the others.
  double x_min = kFit, x_max = kFit, y_min = kFit, y_max = kFit;
  double width = 640, height = 400;
  double frame_left = 0;  // where the frame starts; 0 fits the y tick labels (set it to
                          // line up plots stacked in one picture)
};

Drawing draw_line_plot(const LinePlot& plot);
std::string line_plot_svg(const LinePlot& plot);

// --- Heatmaps ---

struct Heatmap {
  std::string title, x_label, y_label;
  std::size_t rows = 0, cols = 0;
  std::vector<double> values;  // rows * cols, row-major; -inf, inf and NaN are drawn "masked"
  // Tick labels along the rows (left) and columns (below): empty means 0, 1, 2, ...
  std::vector<std::string> row_names, col_names;
  bool show_values = false;  // print each value in its cell
  int decimals = 2;          // digits after the point when show_values
  // sequential: white to dark blue, for weights and 0/1 masks. diverging: blue below zero,
  // white at zero, red above, for signed values (positional encodings, gradients).
  enum class Colours { sequential, diverging } colours = Colours::sequential;
  // The colour range; kFit fits the finite values (diverging: symmetric around zero).
  double low = kFit, high = kFit;
  double cell = 0;  // side of a cell in pixels; 0 picks one from the matrix's size
  bool colour_bar = true;  // the scale beside the grid (small panels of values can do without)
};

Drawing draw_heatmap(const Heatmap& map);
std::string heatmap_svg(const Heatmap& map);
// Several heatmaps side by side under one title (a mask beside the scores it hides, the
// heads of a layer). Each keeps its own title, labels and colour bar.
std::string heatmaps_svg(const std::string& title, const std::vector<Heatmap>& maps);

// Drawings in one document under a title that fits: in a row, or stacked in a column.
std::string combine_svg(const std::string& title, const std::vector<Drawing>& drawings,
                        bool side_by_side);

// --- Building blocks, exposed for tests and for pictures of your own ---

// The round step (1, 2 or 5 times a power of ten) that puts at most max_ticks ticks in
// [low, high], and those ticks: 1..2100 gives 500, 1000, 1500, 2000 — never 1, 701, 1401.
double round_step(double low, double high, int max_ticks = 6);
std::vector<double> round_ticks(double low, double high, int max_ticks = 6);
// Ticks for a log axis over [low, high] (both > 0): the powers of ten inside, with 2 and 5
// times them added when that gives fewer than three ticks.
std::vector<double> log_ticks(double low, double high);
// A tick's text, with as many decimals as the step needs: "0.2", "1500", "0.001", "1e-05".
std::string tick_label(double value, double step);

// The width of `text` in pixels at `font_size` in the pictures' monospace font (0.6 em a
// character, rounded up a little; UTF-8 continuation bytes take no width).
double text_width(const std::string& text, double font_size);

// `text` broken into lines no wider than `width`: wrapped after spaces and slashes at
// `font_size`, at smaller sizes (down to min_font_size) when that needs more than
// `max_lines`, and cut anywhere as a last resort. `font_size` is set to the size used.
std::vector<std::string> fit_text(const std::string& text, double width, double& font_size,
                                  std::size_t max_lines = 2, double min_font_size = 9);

// Escapes <, >, & and " for SVG text and attributes.
std::string escape_xml(const std::string& text);
// A coordinate with at most `decimals` decimals and no trailing zeros ("12.5", "40").
std::string number(double value, int decimals = 1);
// One line of text at (x, y) (the baseline); anchor is "start", "middle" or "end"; `extra`
// attributes are appended as given (e.g. " font-weight=\"bold\"").
std::string svg_text(double x, double y, const std::string& content, double font_size,
                     const char* anchor = "middle", const std::string& extra = "");
std::string svg_line(double x1, double y1, double x2, double y2, const std::string& style);
std::string svg_rect(double x, double y, double width, double height, const std::string& style);
// A title fitted to `width` and centred on it; returns the height it takes.
double fitted_title(std::string& svg, const std::string& title, double width, double font_size);
// A complete document of the given size around `body`, on a white background.
std::string svg_document(double width, double height, const std::string& body);

}  // namespace crossgrad::plot
