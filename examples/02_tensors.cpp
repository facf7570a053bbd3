// 02_tensors.cpp — what a tensor is: a shape and a flat row-major array of numbers. Element
// (i, j) of a (2, 3) tensor sits at i·3 + j; reshape keeps that order, transpose changes it;
// sum(dim) removes a dimension. Walked through in docs/02-tensors-and-broadcasting.md.
// Run: build/02_tensors
#include <iostream>

#include "autograd/ops.h"

using namespace crossgrad;

namespace {

// The numbers in memory order, as the flat array holds them.
void show_memory(const char* name, const Tensor& t) {
  std::cout << name << ": shape " << to_string(t.shape()) << ", strides "
            << to_string(strides_of(t.shape())) << ", in memory:";
  for (std::size_t i = 0; i < t.numel(); ++i) std::cout << " " << t.data()[i];
  std::cout << "\n";
}

}  // namespace

int main() {
  // Values, then the shape: 2 rows of 3.
  const Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  std::cout << "x = " << x << "\n";
  show_memory("x", x);
  // Row-major: element (i, j) is at i·stride[0] + j·stride[1] = i·3 + j.
  std::cout << "x.at({1, 2}) = " << x.at({1, 2}) << " = data[1*3 + 2] = " << x.data()[1 * 3 + 2]
            << "\n\n";

  // reshape reads the same numbers in the same order into a new shape.
  show_memory("x.reshape({3, 2})", x.reshape({3, 2}));
  // transpose swaps rows and columns; crossgrad writes the result out in its own row-major
  // order, so the memory order changes.
  show_memory("x.t()", x.t());
  std::cout << "x.t() = " << x.t() << "\n\n";

  // A third dimension: (2, 3, 4) has strides (12, 4, 1).
  const Tensor cube = Tensor::arange(24).reshape({2, 3, 4});
  std::cout << "cube.at({1, 2, 3}) = " << cube.at({1, 2, 3}) << " = 1*12 + 2*4 + 3*1\n\n";

  // Reductions remove a dimension (or keep it with size 1).
  std::cout << "x.sum(0) = " << x.sum(0) << "   (down the columns: shape (3))\n";
  std::cout << "x.sum(1) = " << x.sum(1) << "   (along the rows: shape (2))\n";
  std::cout << "x.sum(1, /*keepdim=*/true) has shape " << to_string(x.sum(1, true).shape())
            << "\n";
  return 0;
}
