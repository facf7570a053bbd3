// 01_gradients_accumulate.cpp — the three ways a gradient surprises a newcomer, each shown
// with numbers: an input used twice gets the sum of both paths' gradients; a second
// backward() through a freed graph is an error, and through a kept graph adds to the first;
// a training loop that forgets zero_grad() keeps adding old gradients.
// Walked through in docs/01-derivatives-and-the-chain-rule.md. Run: build/01_gradients_accumulate
#include <cstdio>
#include <iostream>

#include "autograd/ops.h"
#include "examples/common/graph_picture.h"
#include "examples/common/pictures.h"

using namespace crossgrad;

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 1: gradients accumulate.");

  // 1. An input used twice. f = a·b + a uses a on two paths: through the product (local
  // derivative b) and directly (local derivative 1). Its gradient is the sum, b + 1.
  Tensor a = Tensor::scalar(2, /*requires_grad=*/true).set_label("a");
  Tensor b = Tensor::scalar(-3, true).set_label("b");
  Tensor f = (a * b + a).set_label("f");
  f.backward(/*retain_graph=*/true);  // kept, to draw it below and for part 2
  std::cout << "1. f = a*b + a uses a twice:\n" << view::graph_text(f);
  std::printf("   d f/d a = %.4f: b = %.0f from the product plus 1 from the sum\n",
              a.grad().item(), b.item());
  pictures.save("01-graph-used-twice.svg",
                view::graph_svg(f, "f = a*b + a: a is used twice, and its gradient adds both paths"));

  // 2. A second backward(). With the graph kept, it runs again and adds to what is there.
  f.backward();  // this one frees the graph
  std::printf("\n2. After a second f.backward(), d f/d a = %.4f: both calls added up\n",
              a.grad().item());
  try {
    f.backward();  // the graph was freed by the call above
  } catch (const Error& error) {
    std::cout << "   A third f.backward() is an error:\n   " << error.what() << "\n";
  }
  a.zero_grad();
  std::printf("   After a.zero_grad(), a has %s gradient\n", a.grad().defined() ? "a" : "no");

  // 3. A loop that forgets zero_grad(): minimise loss = (w - 3)² by gradient descent,
  // w -= 0.1 · d loss/d w, once with zero_grad() before each backward() and once without.
  std::printf("\n3. Gradient descent on (w - 3)^2 from w = 0, learning rate 0.1:\n");
  std::printf("   step   w with zero_grad   w without zero_grad\n");
  Tensor w_right = Tensor::scalar(0, true), w_wrong = Tensor::scalar(0, true);
  for (int step = 1; step <= 8; ++step) {
    for (Tensor* w : {&w_right, &w_wrong}) {
      if (w == &w_right) w->zero_grad();  // the line the second run forgets
      pow(*w - 3, 2).backward();
      NoGradGuard no_grad;  // the update itself is not part of any graph
      w->mutable_data()[0] -= real(0.1) * w->grad().item();
    }
    std::printf("   %4d   %16.4f   %19.4f\n", step, w_right.item(), w_wrong.item());
  }
  std::printf("   The minimum is w = 3. Without zero_grad() every step also repeats all the\n"
              "   earlier steps' gradients, so w overshoots and swings around it.\n");
  const bool shown = std::abs(w_right.item() - 3) < 0.6 && std::abs(w_wrong.item() - 3) > 1;
  return shown ? 0 : 1;
}
