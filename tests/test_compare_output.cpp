// Tests for tests/tools/compare_output.h: how the docs check decides that a program still
// prints what a page shows — text exactly, numbers to their printed precision or 1e-3.
#include "testing.h"
#include "tests/tools/compare_output.h"

using doc_check::compare_output;

TEST_CASE("compare_output: identical text agrees, changed words do not") {
  CHECK(compare_output("a = 2\nb = 3\n", "a = 2\nb = 3\n").same);
  CHECK(compare_output("a = 2   \n\n", "a = 2\n").same);  // trailing spaces and blank lines
  const doc_check::Verdict verdict = compare_output("a = 2\nb = 3\n", "a = 2\nc = 3\n");
  CHECK_FALSE(verdict.same);
  CHECK(verdict.explanation.find("line 2 differs") != std::string::npos);
  CHECK_FALSE(compare_output("a = 2\n", "a = 2\nb = 3\n").same);  // more output than shown
  CHECK_FALSE(compare_output("a = 2\nb = 3\n", "a = 2\n").same);  // less
}

TEST_CASE("compare_output: numbers agree within their last printed digit or 1e-3") {
  CHECK(compare_output("grad -1.2598", "grad -1.2599").same);   // one unit of the last digit
  CHECK(compare_output("loss 0.0013", "loss 0.0014").same);
  CHECK_FALSE(compare_output("loss 0.0013", "loss 0.0016").same);
  CHECK(compare_output("loss 1234.5", "loss 1235.4").same);     // within 1e-3
  CHECK(compare_output("x 1.5e-05", "x 1.6e-05").same);          // unit of "1.5e-05" is 1e-06
  CHECK_FALSE(compare_output("x 1.5e-05", "x 1.8e-05").same);
  CHECK(compare_output("tensor([0.5000, -0.0000])", "tensor([0.5000, 0.0000])").same);
  CHECK_FALSE(compare_output("max difference 2.4e-08", "max difference 1.9e-08").same);
}

TEST_CASE("compare_output: integers (counts, shapes, steps) must be equal") {
  CHECK(compare_output("shape (2,3)", "shape (2,3)").same);
  CHECK_FALSE(compare_output("shape (2,3)", "shape (2,4)").same);
  CHECK_FALSE(compare_output("step 250", "step 251").same);
  CHECK(compare_output("step 250", "step 250.0").same);  // an integer against a decimal
}

TEST_CASE("compare_output: numbers inside words are text") {
  CHECK_FALSE(compare_output("x1 = 3", "x2 = 3").same);
  CHECK_FALSE(compare_output("version v1.2", "version v1.3").same);
  const std::vector<doc_check::Token> tokens = doc_check::tokenize("d_model 64, lr=3e-3 (2,-3)");
  std::vector<std::string> numbers;
  for (const auto& token : tokens)
    if (token.is_number) numbers.push_back(token.text);
  CHECK(numbers == std::vector<std::string>{"64", "3e-3", "2", "-3"});
}

TEST_CASE("compare_output: colours are text, and numbers too large for a double are compared as text") {
  // "#5e789f" once read as the number 5e789 (infinite), which never agreed with itself.
  CHECK(compare_output("fill=\"#5e789f\"", "fill=\"#5e789f\"").same);
  CHECK_FALSE(compare_output("fill=\"#5e789f\"", "fill=\"#5e789e\"").same);
  CHECK(compare_output("x 1e999", "x 1e999").same);
  CHECK_FALSE(compare_output("x 1e999", "x 2e999").same);
}

TEST_CASE("compare_output: a line ending \"(measured)\" checks its words, not its numbers") {
  CHECK(compare_output("with the cache    41.2 ms (measured)", "with the cache   141.9 ms (measured)").same);
  CHECK(compare_output("speed-up 9.8x (measured)", "speed-up 12x (measured)").same);
  CHECK_FALSE(compare_output("with the cache 41.2 ms (measured)", "with the cache 41.2 s (measured)").same);
  CHECK_FALSE(compare_output("with the cache 41.2 ms (measured)", "with the cache ms (measured)").same);
  // Only when both lines say so: a page cannot loosen a line the program prints plainly.
  CHECK_FALSE(compare_output("with the cache 41.2 ms (measured)", "with the cache 99.0 ms").same);
  CHECK_FALSE(compare_output("with the cache 41.2 ms", "with the cache 99.0 ms").same);
}

TEST_CASE("compare_output: a line \"...\" stands for any number of lines") {
  const std::string output = "step 0 loss 0.69\nstep 1 loss 0.5\nstep 2 loss 0.4\ndone\n";
  CHECK(compare_output("step 0 loss 0.69\n...\ndone\n", output).same);
  CHECK(compare_output("...\ndone\n", output).same);
  CHECK(compare_output("step 0 loss 0.69\n...\nstep 2 loss 0.4\n...\n", output).same);
  CHECK_FALSE(compare_output("step 0 loss 0.69\n...\nfinished\n", output).same);
  CHECK_FALSE(compare_output("step 1 loss 0.5\n...\n", output).same);  // must start at the top
}

TEST_CASE("compare_output: a long line's difference is pointed at, not printed whole") {
  const std::string start(500, 'x');
  const doc_check::Verdict verdict = compare_output(start + " 1.5 y", start + " 2.5 y");
  CHECK_FALSE(verdict.same);
  CHECK(verdict.explanation == "line 1 differs near character 501: '1.5' where the program has '2.5'");
}
