// 01_scalar_graph.cpp — the smallest picture of autograd: a few numbers, one expression,
// backward(), and the gradient of every input, checked by hand. Walked through in
// docs/01-tensors-and-autograd.md. Run: build/01_scalar_graph (writes graph.dot).
#include <fstream>
#include <iostream>

#include "autograd/ops.h"

using namespace crossgrad;

int main() {
  // Three leaves that require grad: we want d(out)/d(each).
  Tensor a = Tensor::scalar(2, /*requires_grad=*/true);
  Tensor b = Tensor::scalar(-3, true);
  Tensor c = Tensor::scalar(10, true);

  // out = tanh(a·b + c) = tanh(2·(-3) + 10) = tanh(4)
  Tensor e = a * b;
  Tensor d = e + c;
  Tensor out = tanh(d);
  std::cout << "out = " << out << "\n";

  // Reverse mode: one backward pass fills the gradient of every input.
  out.backward();
  // By hand: d out/d d = 1 - tanh²(4) = 0.00134; d d/d a = b, d d/d b = a, d d/d c = 1.
  std::cout << "d out/d a = " << a.grad() << "   (by hand: (1 - tanh²4)·b = -0.0040)\n";
  std::cout << "d out/d b = " << b.grad() << "   (by hand: (1 - tanh²4)·a =  0.0027)\n";
  std::cout << "d out/d c = " << c.grad() << "   (by hand: (1 - tanh²4)·1 =  0.0013)\n";

  // The graph as a picture: render with `dot -Tsvg graph.dot > graph.svg`.
  Tensor again = tanh(a * b + c);
  std::ofstream("graph.dot") << to_dot(again);
  std::cout << "wrote graph.dot (" << to_dot(again).size() << " bytes)\n";
  return 0;
}
