// Tests for examples/common/plot.cpp: round ticks (1, 2 or 5 times a power of ten, never
// 1, 701, 1401), log ticks, titles that fit however long, well-formed SVG for line plots
// and heatmaps (one cell a value), lines cut at a fixed range's edge, and the same picture
// from the same numbers.
#include <cmath>
#include <random>

#include "examples/common/plot.h"
#include "testing.h"

using namespace testing;
namespace plot = crossgrad::plot;

namespace {

// A step is round when it is 1, 2 or 5 times a power of ten.
bool round_number(double step) {
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (std::abs(mantissa - m) < 1e-6) return true;
  return false;
}

// The text of every element with class="title", in order.
std::vector<std::string> title_lines(const std::string& svg) {
  std::vector<std::string> lines;
  for (std::size_t at = svg.find("class=\"title\""); at != std::string::npos;
       at = svg.find("class=\"title\"", at + 1)) {
    const std::size_t begin = svg.find('>', at) + 1;
    lines.push_back(svg.substr(begin, svg.find("</text>", begin) - begin));
  }
  return lines;
}

double attribute(const std::string& element, const std::string& name) {
  const std::size_t at = element.find(" " + name + "=\"");
  REQUIRE(at != std::string::npos);
  return std::stod(element.substr(at + name.size() + 3));
}

plot::LinePlot two_series(std::size_t steps) {
  plot::LinePlot p;
  p.title = "loss";
  p.x_label = "step";
  p.y_label = "loss";
  plot::Series a("fast"), b("slow");
  for (std::size_t i = 1; i <= steps; ++i) {
    a.x.push_back(double(i)), a.y.push_back(2.0 / double(i));
    b.x.push_back(double(i)), b.y.push_back(2.0 - double(i) / double(steps));
  }
  p.series = {a, b};
  return p;
}

}  // namespace

TEST_CASE("round_ticks: the steps of a 2,100-step run fall on multiples of 500") {
  CHECK(plot::round_ticks(1, 2100) == std::vector<double>{500, 1000, 1500, 2000});
  CHECK(plot::round_ticks(0, 1) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  CHECK(plot::round_ticks(-3, 3) == std::vector<double>{-2, 0, 2});
  CHECK(plot::round_ticks(-3, 3, 7) == std::vector<double>{-3, -2, -1, 0, 1, 2, 3});
}

TEST_CASE("round_ticks: any range gets a round step, at most max_ticks ticks, all inside") {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> exponent(-6, 6), unit(0, 1);
  for (int trial = 0; trial < 2000; ++trial) {
    const double scale = std::pow(10.0, exponent(gen));
    const double low = (unit(gen) - 0.5) * scale, high = low + unit(gen) * scale + 1e-9 * scale;
    const int max_ticks = 2 + trial % 8;
    const double step = plot::round_step(low, high, max_ticks);
    const std::vector<double> ticks = plot::round_ticks(low, high, max_ticks);
    INFO("range [" << low << ", " << high << "], max " << max_ticks << ", step " << step);
    CHECK(round_number(step));
    CHECK(ticks.size() <= std::size_t(max_ticks));
    for (const double tick : ticks) {
      CHECK(tick >= low - 1e-9 * scale);
      CHECK(tick <= high + 1e-9 * scale);
      CHECK(std::abs(tick / step - std::round(tick / step)) < 1e-6);  // a multiple of the step
    }
  }
}

TEST_CASE("log_ticks: powers of ten, with 2 and 5 between when the range is short") {
  CHECK(plot::log_ticks(0.001, 10) == std::vector<double>{0.001, 0.01, 0.1, 1, 10});
  CHECK(plot::log_ticks(0.1, 1) == std::vector<double>{0.1, 0.2, 0.5, 1});
}

TEST_CASE("tick_label: as many decimals as the step needs") {
  CHECK(plot::tick_label(1500, 500) == "1500");
  CHECK(plot::tick_label(0.6000000000000001, 0.2) == "0.6");
  CHECK(plot::tick_label(0.001, 0.001) == "0.001");
  CHECK(plot::tick_label(0, 0.2) == "0");
  CHECK(plot::tick_label(0.00001, 0.00001) == "1e-05");
}

TEST_CASE("fit_text: a long path in a title wraps at slashes, then shrinks, and always fits") {
  const std::string title =
      "crossgrad train: task reverse, data /home/someone/projects/experiments/2024/a/very/"
      "long/folder/name/that/goes/on/train.tsv, d_model 64, lr 0.003, seed 0";
  for (const double width : {760.0, 400.0, 200.0}) {
    double font = 15;
    const std::vector<std::string> lines = plot::fit_text(title, width, font);
    INFO("width " << width << ", font " << font);
    std::string joined;
    for (const std::string& line : lines) {
      CHECK(plot::text_width(line, font) <= width);
      joined += line;
    }
    // Nothing lost: the lines hold every character but the spaces they broke at.
    std::string without_spaces;
    for (const char c : title)
      if (c != ' ') without_spaces += c;
    joined.erase(std::remove(joined.begin(), joined.end(), ' '), joined.end());
    CHECK(joined == without_spaces);
  }
  double font = 15;
  CHECK(plot::fit_text("short", 760, font) == std::vector<std::string>{"short"});
  CHECK(font == 15);
}

TEST_CASE("line_plot_svg: well-formed, one line a series, the title fits however long") {
  plot::LinePlot p = two_series(2100);
  p.title = std::string(300, 'x') + " /a/b/c & <d>";
  const std::string svg = plot::line_plot_svg(p);
  CHECK(svg_problem(svg) == "");
  CHECK(occurrences(svg, "class=\"series\"") == 2);
  CHECK(svg.find("&amp; &lt;d&gt;") != std::string::npos);
  const std::vector<std::string> lines = title_lines(svg);
  REQUIRE_FALSE(lines.empty());
  for (const std::string& line : lines) {
    const std::size_t at = svg.find(">" + line + "</text>");
    const std::size_t start = svg.rfind("<text", at);
    const double font = attribute(svg.substr(start, at - start), "font-size");
    CHECK(plot::text_width(line, font) <= p.width - 20);
  }
  // The x axis of 1..2100 steps is labelled at round numbers only.
  CHECK(svg.find(">500</text>") != std::string::npos);
  CHECK(svg.find(">701</text>") == std::string::npos);
  CHECK(plot::line_plot_svg(p) == svg);  // the same numbers, the same picture
}

TEST_CASE("line_plot_svg: a log axis, and lines cut at a fixed range's edge, not drawn past it") {
  plot::LinePlot p = two_series(100);
  p.log_y = true;
  p.y_max = 1;
  p.series[0].y[50] = std::nan("");  // a break in the line
  p.series.push_back(plot::Series("diverges", {1, 2, 3}, {0.5, 1e30, INFINITY}));
  const std::string svg = plot::line_plot_svg(p);
  CHECK(svg_problem(svg) == "");
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  CHECK(occurrences(svg, "class=\"series\"") >= 4);  // "fast" in two pieces, "slow", "diverges"
  // Every point of every line lies inside the frame (between its top and bottom edges).
  const std::size_t frame = svg.find("fill=\"none\" stroke=\"black\"");
  const std::string rect = svg.substr(svg.rfind("<rect", frame), frame - svg.rfind("<rect", frame));
  const double top = attribute(rect, "y"), bottom = top + attribute(rect, "height");
  for (std::size_t at = svg.find("points=\""); at != std::string::npos; at = svg.find("points=\"", at + 1)) {
    std::istringstream points(svg.substr(at + 8, svg.find('"', at + 8) - at - 8));
    for (std::string point; points >> point;) {
      const double y = std::stod(point.substr(point.find(',') + 1));
      CHECK(y >= top - 0.05);
      CHECK(y <= bottom + 0.05);
    }
  }
  plot::LinePlot bad;
  bad.series = {plot::Series("bad", {1, 2}, {1})};
  CHECK_THROWS_WITH_AS(plot::line_plot_svg(bad),
                       doctest::Contains("series 'bad' has 2 x values but 1 y values"),
                       std::invalid_argument);
}

TEST_CASE("heatmap_svg: one cell a value, labelled axes, masked cells marked") {
  plot::Heatmap map;
  map.title = "causal mask";
  map.x_label = "key position";
  map.y_label = "query position";
  map.rows = 3, map.cols = 4;
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t c = 0; c < 4; ++c) map.values.push_back(c > r ? -INFINITY : double(r + c));
  map.col_names = {"a", "b", "c", "<d>"};
  map.show_values = true;
  const std::string svg = plot::heatmap_svg(map);
  CHECK(svg_problem(svg) == "");
  CHECK(occurrences(svg, "class=\"cell\"") == 12);
  CHECK(svg.find(">key position</text>") != std::string::npos);
  CHECK(svg.find(">query position</text>") != std::string::npos);
  CHECK(svg.find(">&lt;d&gt;</text>") != std::string::npos);
  CHECK(occurrences(svg, ">-inf</text>") == 6);  // 3 + 2 + 1 above the diagonal
  CHECK(svg.find(">masked</text>") != std::string::npos);

  plot::Heatmap signed_map = map;
  signed_map.colours = plot::Heatmap::Colours::diverging;
  signed_map.values = {-1, 0, 1, 0.5, -0.5, 0, 0, 0, 1, 1, 1, 1};
  const std::string both = plot::heatmaps_svg("two maps", {map, signed_map});
  CHECK(svg_problem(both) == "");
  CHECK(occurrences(both, "class=\"cell\"") == 24);

  map.values.pop_back();
  CHECK_THROWS_WITH_AS(plot::heatmap_svg(map), doctest::Contains("3x4 cells but 11 values"),
                       std::invalid_argument);
}
