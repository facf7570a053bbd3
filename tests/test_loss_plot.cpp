// Tests for examples/common/loss_plot.cpp: the run's SVG is well-formed, its title fits
// however long the data path, its step axis is labelled at round numbers (500, 1000, ...,
// not 1, 701, 1401), and the CSV has one row a step with evaluations where they happened.
#include "examples/common/loss_plot.h"
#include "examples/common/plot.h"
#include "testing.h"

using namespace testing;
using namespace crossgrad::cli;

namespace {

LossHistory run_of(std::size_t steps) {
  LossHistory history;
  for (std::size_t i = 0; i < steps; ++i) {
    history.loss.push_back(2.5 / (1 + double(i) / 100));
    history.token_accuracy.push_back(0.5);
  }
  for (std::int64_t step = 100; step <= std::int64_t(steps); step += 100)
    history.evaluations.push_back({step, double(step) / double(steps), 0.9});
  return history;
}

}  // namespace

TEST_CASE("loss_svg: a long title fits, and step ticks are round numbers") {
  const std::string title =
      "crossgrad train: task reverse, data /home/someone/projects/experiments/2024/very/long/"
      "folder/name/train.tsv, d_model 64, heads 4, lr 0.003, warmup 200, seed 0";
  const std::string svg = loss_svg(run_of(2100), title);
  CHECK(svg_problem(svg) == "");
  // The title is drawn in lines that each fit the 760-pixel picture.
  std::size_t title_lines = 0;
  for (std::size_t at = svg.find("class=\"title\""); at != std::string::npos;
       at = svg.find("class=\"title\"", at + 1)) {
    const std::size_t start = svg.rfind("<text", at);
    const double font = std::stod(svg.substr(svg.find("font-size=\"", start) + 11));
    const std::size_t begin = svg.find('>', at) + 1;
    const std::string line = svg.substr(begin, svg.find("</text>", begin) - begin);
    CHECK(crossgrad::plot::text_width(line, font) <= 740);
    ++title_lines;
  }
  CHECK(title_lines >= 2);
  for (const char* tick : {">500</text>", ">1000</text>", ">1500</text>", ">2000</text>"})
    CHECK(svg.find(tick) != std::string::npos);
  for (const char* odd : {">701</text>", ">1401</text>", ">2100</text>"})
    CHECK(svg.find(odd) == std::string::npos);
  CHECK(svg.find(">exact match (%)</text>") != std::string::npos);
  CHECK(occurrences(svg, "<circle") == 21);  // one dot an evaluation
}

TEST_CASE("loss_svg: no steps yet is a picture that says so") {
  const std::string svg = loss_svg(LossHistory{}, "empty");
  CHECK(svg_problem(svg) == "");
  CHECK(svg.find("no training steps yet") != std::string::npos);
}

TEST_CASE("loss_svg: without evaluations, one plot with its own step axis") {
  LossHistory history = run_of(50);
  history.evaluations.clear();
  const std::string svg = loss_svg(history, "fifty steps");
  CHECK(svg_problem(svg) == "");
  CHECK(svg.find(">step</text>") != std::string::npos);
  CHECK(svg.find("exact match") == std::string::npos);
}

TEST_CASE("loss_csv: one row a step, evaluation columns on evaluation steps") {
  const std::vector<std::string> rows = lines_of(loss_csv(run_of(200)));
  REQUIRE(rows.size() == 201);
  CHECK(rows[0] == "step,loss,token_accuracy,eval_exact_match,eval_token_accuracy");
  CHECK(rows[1] == "1,2.5,0.5,,");
  CHECK(rows[100] == "100,1.25628,0.5,0.5,0.9");
}
