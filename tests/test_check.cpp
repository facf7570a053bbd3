// Tests for examples/common/check.cpp: compare() says exact, allclose (with the largest
// difference) or where the largest difference is, and returns whether the answer is right.
#include <iostream>

#include "examples/common/check.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// What compare() prints, and what it returns.
std::pair<std::string, bool> verdict(const Tensor& got, const Tensor& expected) {
  std::ostringstream captured;
  std::streambuf* previous = std::cout.rdbuf(captured.rdbuf());
  const bool ok = compare("dW", got, expected);
  std::cout.rdbuf(previous);
  return {captured.str(), ok};
}

}  // namespace

TEST_CASE("compare: exact, allclose, or the largest difference and where it is") {
  const Tensor reference = Tensor::from({1, 2, 3, 4}, {2, 2});
  CHECK(verdict(reference.detach(), reference) == std::pair<std::string, bool>{"dW          exact\n", true});

  const auto [close, close_ok] = verdict(Tensor::from({1, 2, 3, real(4.00001)}, {2, 2}), reference);
  CHECK(close_ok);
  CHECK(close.rfind("dW          allclose (max difference ", 0) == 0);

  const auto [wrong, wrong_ok] = verdict(Tensor::from({1, 2, 3.5, 4}, {2, 2}), reference);
  CHECK_FALSE(wrong_ok);
  CHECK(wrong == "dW          max difference 0.5 at element (1,0): 3.5 where the reference has 3\n");
}

TEST_CASE("compare: a wrong shape, a missing gradient, and NaN are wrong answers") {
  const Tensor reference = Tensor::from({1, 2}, {2});
  CHECK(verdict(Tensor::from({1, 2}, {1, 2}), reference).first ==
        "dW          shape (1,2) where the reference has (2)\n");
  CHECK(verdict(Tensor(), reference).first.find("undefined") != std::string::npos);
  CHECK_FALSE(verdict(Tensor::from({1, std::nan("")}, {2}), reference).second);
  std::ostringstream captured;
  std::streambuf* previous = std::cout.rdbuf(captured.rdbuf());
  const bool half = compare("x", 0.5, 0.5), third = compare("y", 1.0 / 3, 0.3333);
  std::cout.rdbuf(previous);
  CHECK(half);
  CHECK_FALSE(third);
  CHECK(captured.str() ==
        "x           exact\n"
        "y           max difference 3.333e-05 at element (): 0.333333 where the reference has 0.3333\n");
}
