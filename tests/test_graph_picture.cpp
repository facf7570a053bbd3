// Tests for examples/common/graph_picture.cpp: the SVG has one box a tensor and one arrow an
// edge (two for x * x), boxes show names, values and gradients, leaves sit left of the
// output; the text tree shows every tensor once and says "again" for a reuse.
#include "examples/common/graph_picture.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// x of the box drawn for the text `label` (its first line).
double box_x(const std::string& svg, const std::string& label) {
  const std::size_t text = svg.find(">" + label + "</text>");
  REQUIRE(text != std::string::npos);
  const std::size_t rect = svg.rfind("class=\"node\"", text);
  const std::size_t start = svg.rfind("<rect", rect);
  return std::stod(svg.substr(svg.find("x=\"", start) + 3));
}

}  // namespace

TEST_CASE("graph_svg: one box per tensor, one arrow per edge, leaves left of the output") {
  Tensor a = Tensor::scalar(2, true).set_label("a");
  Tensor b = Tensor::scalar(-3, true).set_label("b");
  Tensor c = Tensor::scalar(7, true).set_label("c");
  Tensor e = (a * b).set_label("e");
  Tensor d = (e + c).set_label("d");
  Tensor out = tanh(d).set_label("out");
  for (Tensor t : {e, d, out}) t.retain_grad();
  out.backward(/*retain_graph=*/true);
  const std::string svg = view::graph_svg(out, "out = tanh(a*b + c)");
  CHECK(svg_problem(svg) == "");
  CHECK(occurrences(svg, "class=\"node\"") == graph_nodes(out).size());
  CHECK(occurrences(svg, "class=\"node\"") == 6);
  CHECK(occurrences(svg, "class=\"edge\"") == 5);
  CHECK(svg.find(">value 2.0000</text>") != std::string::npos);
  CHECK(svg.find(">grad  1.0000</text>") != std::string::npos);  // d out / d out
  CHECK(box_x(svg, "a") < box_x(svg, "e"));
  CHECK(box_x(svg, "e") < box_x(svg, "d"));
  CHECK(box_x(svg, "c") < box_x(svg, "d"));
  CHECK(box_x(svg, "d") < box_x(svg, "out"));
}

TEST_CASE("graph_svg and graph_text: a tensor used twice") {
  Tensor x = Tensor::scalar(3, true).set_label("x");
  Tensor y = (x * x).set_label("y");
  Tensor f = (y + x).set_label("f");
  const std::string svg = view::graph_svg(f);
  CHECK(svg_problem(svg) == "");
  CHECK(occurrences(svg, "class=\"node\"") == 3);
  CHECK(occurrences(svg, "class=\"edge\"") == 4);  // x -> y twice, y -> f, x -> f
  const std::string text = view::graph_text(f);
  CHECK(text ==
        "f  add ()  value 12.0000\n"
        "├── y  mul ()  value 9.0000\n"
        "│   ├── x  leaf ()  value 3.0000\n"
        "│   └── x  leaf ()  (again: the same tensor as above)\n"
        "└── x  leaf ()  (again: the same tensor as above)\n");
}

TEST_CASE("graph pictures refuse a graph too large to read, naming its size") {
  Tensor x = Tensor::scalar(1, true);
  Tensor y = x;
  for (int i = 0; i < 250; ++i) y = y * 1.5;
  CHECK_THROWS_WITH_AS(view::graph_svg(y), doctest::Contains("the graph has 251 tensors"), Error);
  CHECK_THROWS_WITH_AS(view::graph_text(y), doctest::Contains("use to_dot"), Error);
}
