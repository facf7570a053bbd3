// Tests for examples/common/attention_view.cpp: the terminal heatmap of a hand-made map (the
// anti-diagonal of a reversal comes out darkest), labels, colour, head selection, the SVG
// grid (balanced tags, escaped labels, one cell rect per weight).
#include "examples/common/attention_view.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// Every element closes in the right order: a stack of open tag names; <?...?> and
// self-closing tags push nothing. Returns "" when balanced, else what went wrong.
std::string tag_balance_problem(const std::string& svg) {
  std::vector<std::string> open;
  for (std::size_t at = svg.find('<'); at != std::string::npos; at = svg.find('<', at + 1)) {
    const std::size_t end = svg.find('>', at);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(at);
    const std::string tag = svg.substr(at + 1, end - at - 1);
    if (tag.empty() || tag[0] == '?') continue;
    const std::string name =
        tag.substr(tag[0] == '/', tag.find_first_of(" /", 1) - (tag[0] == '/'));
    if (tag[0] == '/') {
      if (open.empty() || open.back() != name) return "unexpected </" + name + ">";
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(name);
    }
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

// A reversal's cross-attention for 3 outputs over 3 sources: output t reads source 2 - t.
//   row 0: 0.05 0.15 0.80 -> levels round(9w) = 0 1 7 -> ' ' '.' '#'
Tensor anti_diagonal() {
  return Tensor::from({0.05, 0.15, 0.80,  //
                       0.10, 0.85, 0.05,  //
                       0.95, 0.05, 0.00},
                      {3, 3});
}

}  // namespace

TEST_CASE("attention view: a reversal map renders darkest on the anti-diagonal") {
  const std::string text =
      view::render_heatmap(anti_diagonal(), {"1", "2", "3"}, {"3", "2", "1"}, {false, "layer 0"});
  // Columns are two characters wide (labels on their left character); the label column is
  // one character plus a space.
  const std::vector<std::string> lines = lines_of(text);
  REQUIRE(lines.size() == 6);  // title, labels, three rows, legend
  CHECK(lines[0] == "layer 0");
  CHECK(lines[1] == "  1 2 3 ");
  CHECK(lines[2] == "3   ..##");  // 0.05 -> ' ', 0.15 -> round(1.35) = 1 '.', 0.80 -> 7 '#'
  CHECK(lines[3] == "2 ..%%  ");  // 0.10 -> '.', 0.85 -> round(7.65) = 8 '%', 0.05 -> ' '
  CHECK(lines[4] == "1 @@    ");  // 0.95 -> round(8.55) = 9 '@', 0.05 -> ' ', 0 -> ' '
  CHECK(lines[5].find(" .:-=+*#%@") != std::string::npos);  // the legend shows every shade
  const std::string shades = view::kShades;
  for (std::size_t t = 0; t < 3; ++t) {
    INFO("row " << t);
    const std::string cells = lines[2 + t].substr(2);
    std::size_t darkest = 0;
    for (std::size_t s = 0; s < 3; ++s)
      if (shades.find(cells[2 * s]) > shades.find(cells[2 * darkest])) darkest = s;
    CHECK(darkest == 2 - t);
  }
}

TEST_CASE("attention view: long labels are cut to four characters and end in ~") {
  const Tensor weights = Tensor::from({0.5, 0.5}, {1, 2});
  const std::vector<std::string> lines =
      lines_of(view::render_heatmap(weights, {"hello", "EOS"}, {"w\u00f6rld"}, {}));
  REQUIRE(lines.size() == 3);                // no title line when the title is empty
  CHECK(lines[0] == "      hel~EOS ");       // margin 5 + space; columns 4 wide, EOS centred
  CHECK(lines[1] == "w\u00f6rld ++++++++");  // 0.5 -> lround(4.5) = 5 '+'; margin 5
}

TEST_CASE("attention view: colour cells use the 256-colour grey ramp, plain text none") {
  const Tensor weights = Tensor::from({0.0, 1.0}, {1, 2});
  const std::string colour = view::render_heatmap(weights, {"a", "b"}, {"x"}, {true, ""});
  CHECK(colour.find("\x1b[48;5;232m  \x1b[0m") != std::string::npos);  // weight 0: 232
  CHECK(colour.find("\x1b[48;5;255m  \x1b[0m") != std::string::npos);  // weight 1: 232 + 23
  const std::string plain = view::render_heatmap(weights, {"a", "b"}, {"x"}, {false, ""});
  CHECK(plain.find('\x1b') == std::string::npos);
}

TEST_CASE("attention view: colour only on a terminal without NO_COLOR") {
  CHECK(view::use_color(true, nullptr));
  CHECK(view::use_color(true, ""));  // set but empty does not count (no-color.org)
  CHECK_FALSE(view::use_color(true, "1"));
  CHECK_FALSE(view::use_color(false, nullptr));
}

TEST_CASE("attention view: token labels are short and visible") {
  CHECK(view::token_label("<eos>") == "EOS");
  CHECK(view::token_label(" ") == "\u2423");
  CHECK(view::token_label("\t") == "?");
  CHECK(view::token_label("7") == "7");
  CHECK(view::token_label("\u00e9t\u00e9") == "\u00e9t\u00e9");
}

TEST_CASE("attention view: heads are averaged or picked one at a time") {
  // Two heads over (T, S) = (1, 2): head 0 = [1, 0], head 1 = [0.5, 0.5]; mean = [0.75, 0.25].
  const Tensor layer = Tensor::from({1.0, 0.0, 0.5, 0.5}, {2, 1, 2});
  testing::check_values(view::head_mean(layer), {0.75, 0.25});
  testing::check_values(view::head_slice(layer, 1), {0.5, 0.5});
  CHECK(view::head_slice(layer, 0).shape() == Shape{1, 2});
  CHECK_THROWS_WITH_AS(view::head_slice(layer, 2),
                       doctest::Contains("head 2 of attention weights (2,1,2)"), Error);
  CHECK_THROWS_WITH_AS(view::head_mean(Tensor::zeros({1, 2})),
                       doctest::Contains("head_mean: expected (H, T, S)"), Error);
}

TEST_CASE("attention view: weights that disagree with the labels are an error") {
  CHECK_THROWS_WITH_AS(view::render_heatmap(anti_diagonal(), {"1", "2"}, {"3", "2", "1"}),
                       doctest::Contains("render_heatmap: weights (3,3) do not match 3 output "
                                         "and 2 source labels"),
                       Error);
  view::AttentionExample example{
      {"a"}, {"b"}, {Tensor::zeros({2, 1, 1}), Tensor::zeros({3, 1, 1})}, ""};
  CHECK_THROWS_WITH_AS(view::render_svg({example}),
                       doctest::Contains("render_svg: example 0, layer 1: weights (3,1,1)"), Error);
  example.layers.clear();
  CHECK_THROWS_WITH_AS(view::render_svg({example}), doctest::Contains("no decoder layers"), Error);
}

TEST_CASE("attention view: a picture panel holds the weights on the 0..1 scale, labelled") {
  const Tensor map = Tensor::from({0.25, 0.75, 1, 0, 0.5, 0.5}, {3, 2});
  const plot::Heatmap panel = view::attention_heatmap("layer 1", map, {"a", "b", "c"}, {"x", "y"}, 12);
  CHECK(panel.title == "layer 1");
  CHECK(panel.rows == 3);
  CHECK(panel.cols == 2);
  CHECK(panel.values == std::vector<double>{0.25, 0.75, 1, 0, 0.5, 0.5});
  CHECK(panel.row_names == std::vector<std::string>{"a", "b", "c"});
  CHECK(panel.col_names == std::vector<std::string>{"x", "y"});
  CHECK(panel.y_label == "output token");
  CHECK(panel.x_label == "source token");
  CHECK(panel.low == 0);
  CHECK(panel.high == 1);
  CHECK(panel.cell == 12);
  CHECK_THROWS_WITH_AS(view::attention_heatmap("", map, {"a", "b"}, {"x", "y"}, 12),
                       "attention_heatmap: weights (3,2) for 2 row and 2 column labels", Error);
}

TEST_CASE("attention view: the SVG grid has balanced tags, escaped labels and one rect a cell") {
  // Two examples, 2 layers x 2 heads: per layer 2 head panels + 1 mean panel.
  const Tensor layer = Tensor::from({0.05, 0.15, 0.80, 0.10, 0.85, 0.05, 0.95, 0.05, 0.00,  //
                                     0.20, 0.20, 0.60, 0.30, 0.40, 0.30, 0.50, 0.25, 0.25},
                                    {2, 3, 3});
  const view::AttentionExample first{
      {"<&>", "\"q\"", "EOS"}, {"x", "y'", "EOS"}, {layer, layer}, ""};
  const view::AttentionExample second{
      {"a", "EOS"}, {"b"}, {Tensor::full({2, 1, 2}, 0.5)}, "steered"};
  const std::string svg = view::render_svg({first, second});
  CHECK(svg.find(">steered: a EOS -&gt; b </text>") != std::string::npos);  // the caption
  INFO(svg.substr(0, 2000));
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(tag_balance_problem(svg) == "");
  // 2 layers * 3 panels * 3 * 3 cells, then 1 layer * 3 panels * 1 * 2 cells.
  CHECK(count(svg, "<rect class=\"cell\"") == 2 * 3 * 9 + 1 * 3 * 2);
  CHECK(count(svg, "&lt;&amp;&gt;") >= 6);  // the label over each of the 6 panels
  CHECK(count(svg, "&quot;q&quot;") >= 6);
  CHECK(count(svg, "y&apos;") >= 6);
  CHECK(svg.find("<&>") == std::string::npos);
  CHECK(svg.find("\"q\"") == std::string::npos);
  CHECK(svg.find("layer 1, head 1") != std::string::npos);
  CHECK(svg.find("layer 0, mean of heads") != std::string::npos);
  // Weight 0 is the scale's white end and weight 1 its dark-blue end.
  CHECK(svg.find("fill=\"#f7fbff\"") != std::string::npos);
  CHECK(svg.find("stop-color=\"#08306b\"") != std::string::npos);
}
