// check.cpp — compare(): exact, allclose, or the largest difference (see check.h).
#include "examples/common/check.h"

#include <cmath>
#include <cstdio>
#include <iostream>

namespace crossgrad {

namespace {

std::string index_of(const Shape& shape, std::size_t flat) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return to_string(index);
}

void report(const std::string& what, const std::string& verdict) {
  char name[64];
  std::snprintf(name, sizeof name, "%-11s ", what.c_str());  // a space even after a long name
  std::cout << name << verdict << "\n";
}

// The verdict on two equally long lists of values of the given shape.
bool compare_values(const std::string& what, const std::vector<double>& got,
                    const std::vector<double>& expected, const Shape& shape,
                    const Tolerance& tolerance) {
  bool exact = true, close = true;
  double worst = 0;
  std::size_t worst_at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double difference = std::abs(got[i] - expected[i]);
    exact = exact && got[i] == expected[i];
    if (!(difference <= tolerance.atol + tolerance.rtol * std::abs(expected[i]))) close = false;
    if (!(difference <= worst)) worst = difference, worst_at = i;  // NaN counts as worst
  }
  char text[256];
  if (exact) {
    report(what, "exact");
  } else if (close) {
    std::snprintf(text, sizeof text, "allclose (max difference %.3g)", worst);
    report(what, text);
  } else {
    std::snprintf(text, sizeof text,
                  "max difference %.4g at element %s: %.6g where the reference has %.6g", worst,
                  index_of(shape, worst_at).c_str(), got[worst_at], expected[worst_at]);
    report(what, text);
  }
  return close;
}

}  // namespace

bool compare(const std::string& what, const Tensor& got, const Tensor& expected,
             const Tolerance& tolerance) {
  if (!got.defined() || !expected.defined()) {
    report(what, std::string(got.defined() ? "the reference" : "your tensor") +
                     " is undefined (no gradient yet? call backward() first)");
    return false;
  }
  if (got.shape() != expected.shape()) {
    report(what, "shape " + to_string(got.shape()) + " where the reference has " +
                     to_string(expected.shape()));
    return false;
  }
  return compare_values(what, std::vector<double>(got.data(), got.data() + got.numel()),
                        std::vector<double>(expected.data(), expected.data() + expected.numel()),
                        got.shape(), tolerance);
}

bool compare(const std::string& what, double got, double expected, const Tolerance& tolerance) {
  return compare_values(what, {got}, {expected}, Shape{}, tolerance);
}

}  // namespace crossgrad
