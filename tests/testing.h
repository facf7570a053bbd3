// testing.h — what every suite includes: doctest, crossgrad, and small helpers.
// Gradient checks are meaningful in float64 only, so GRADCHECK_CASE runs them in the
// float64 build (build/f64/run_tests) and marks them skipped in the float32 one.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

#define GRADCHECK_CASE(name) TEST_CASE(name * doctest::skip(!crossgrad::kDoublePrecision))

namespace testing {

using crossgrad::real;
using crossgrad::Tensor;

// Asserts that gradcheck passes, printing its report when it does not.
inline void check_gradients(const crossgrad::GradcheckFunction& fn,
                            const std::vector<Tensor>& inputs,
                            const crossgrad::GradcheckOptions& options = {}) {
  const crossgrad::GradcheckResult result = crossgrad::gradcheck(fn, inputs, options);
  CHECK_MESSAGE(result.ok, result.report);
  CHECK(result.entries_compared > 0);
}

// A leaf of the given shape with distinct, seeded values in about [-2, 2].
inline Tensor random_input(const crossgrad::Shape& shape, std::uint64_t seed = 1) {
  crossgrad::Generator gen(seed);
  return Tensor::uniform(shape, -2, 2, gen, /*requires_grad=*/true);
}

// Asserts t's values equal `expected` within a float32-friendly tolerance.
inline void check_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-5) {
  REQUIRE(t.numel() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(double(t.values()[i]) == doctest::Approx(expected[i]).epsilon(tol));
  }
}

}  // namespace testing
