// which_real.cpp — the smallest program built with `make program` by `make test`, once in
// each precision: it says which element type the library it was linked with uses.
#include <iostream>

#include "autograd/ops.h"

int main() {
  const crossgrad::Tensor x = crossgrad::Tensor::from({1, 2}, {2});
  std::cout << "real is " << (crossgrad::kDoublePrecision ? "double" : "float") << "\n";
  return x.sum().item() == 3 ? 0 : 1;
}
