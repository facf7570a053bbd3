// check.h — "is my answer right?" for exercises: compares a tensor (or a number) you
// computed with a reference and prints one line, like the cmp() helper of a well-known
// lecture on backpropagation:
//   dW1         exact
//   db1         allclose (max difference 5.96e-08)
//   dW2         max difference 0.3125 at element (1,0): 0.5 where the reference has 0.1875
// Returns true for exact or allclose, so a solution can `return ok ? 0 : 1`.
// Read next: examples/solutions/ (every exercise's solution uses it).
#pragma once

#include <string>

#include "autograd/tensor.h"

namespace crossgrad {

// Close means |got - expected| <= atol + rtol·|expected| for every element (torch.allclose);
// atol is wider in float32, where the last digits of two correct computations differ.
struct Tolerance {
  double rtol = 1e-5;
  double atol = kDoublePrecision ? 1e-8 : 1e-6;
};

bool compare(const std::string& what, const Tensor& got, const Tensor& expected,
             const Tolerance& tolerance = {});
bool compare(const std::string& what, double got, double expected, const Tolerance& tolerance = {});

}  // namespace crossgrad
