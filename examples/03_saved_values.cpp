// 03_saved_values.cpp — what an op's backward reads, and what happens when that changes.
// square(x) = x² needs x in its backward (2x), so it declares Saves::values; scale(x) = 3x
// needs nothing but the incoming gradient, so it declares Saves::nothing. Writing into x
// after the forward (as an optimizer step does) bumps x's version: backward through square
// then refuses, naming the op, instead of silently using the new values; backward through
// scale is still right, and runs. Walked through in docs/03-writing-your-own-op.md.
// Run: build/03_saved_values
#include <iostream>

#include "autograd/ops.h"

using namespace crossgrad;

// y = x²; dy/dx = 2x — reads x, so its values must not change before backward.
Tensor square(const Tensor& x) {
  std::vector<real> y(x.numel());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = x.data()[i] * x.data()[i];
  return record(make_tensor(std::move(y), x.shape()), "square", {x}, [x](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t i = 0; i < x.numel(); ++i) dx[i] += self.grad[i] * 2 * x.data()[i];
  }, Saves::values);
}

// y = 3x; dy/dx = 3 — reads no values at all (a linear op).
Tensor scale(const Tensor& x) {
  std::vector<real> y(x.numel());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = 3 * x.data()[i];
  return record(make_tensor(std::move(y), x.shape()), "scale", {x}, [x](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t i = 0; i < x.numel(); ++i) dx[i] += self.grad[i] * 3;
  }, Saves::nothing);
}

int main() {
  Tensor x = Tensor::from({1, 2}, {2}, /*requires_grad=*/true);
  std::cout << "x = " << x << ", version " << x.version() << "\n";
  Tensor squared = square(x), scaled = scale(x);

  // An in-place write after the forward pass: every mutable_data() call bumps the version.
  x.mutable_data()[0] = 5;
  std::cout << "after x.mutable_data()[0] = 5: x = " << x << ", version " << x.version() << "\n\n";

  try {
    squared.sum().backward();
  } catch (const Error& error) {
    std::cout << "backward through square:\n  " << error.what() << "\n\n";
  }
  scaled.sum().backward();
  std::cout << "backward through scale runs: x.grad = " << x.grad()
            << " (3 per element, whatever x holds)\n";
  return x.grad().values() == std::vector<real>{3, 3} ? 0 : 1;
}
