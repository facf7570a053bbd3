// 02_broadcasting.cpp — adding a bias (3) to every row of a (2, 3) matrix, the rules that
// allow it, and why the bias's gradient is the sum of the gradient's rows: each bias
// element was used once per row. Walked through in docs/02-tensors-and-broadcasting.md.
// Run: build/02_broadcasting   (make pictures also draws the example)
#include <iostream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"

using namespace crossgrad;

namespace {

// A tensor of one or two dimensions as a heatmap with its values written in.
plot::Heatmap panel(const std::string& title, const Tensor& t) {
  plot::Heatmap map;
  map.title = title;
  map.rows = t.dim() == 2 ? t.size(0) : 1;
  map.cols = t.size(-1);
  map.values.assign(t.data(), t.data() + t.numel());
  map.show_values = true;
  map.decimals = 0;
  map.cell = 40;
  map.colour_bar = false;  // the numbers are written in
  return map;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 2: broadcasting a bias, forward and backward.");

  // Forward: (2, 3) + (3). Line the shapes up on the right; a missing dimension counts as 1,
  // and a size 1 stretches to match: (2, 3) + (1, 3) -> (2, 3).
  Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, /*requires_grad=*/true);
  Tensor bias = Tensor::from({10, 20, 30}, {3}, true);
  Tensor y = x + bias;
  std::cout << "x + bias = " << y << "\n";
  std::cout << "shapes: " << to_string(x.shape()) << " + " << to_string(bias.shape()) << " -> "
            << to_string(y.shape()) << "\n\n";
  pictures.save("02-broadcast-forward.svg",
                plot::heatmaps_svg("x (2,3) + bias (3): the bias is added to every row",
                                   {panel("x", x), panel("bias", bias),
                                    panel("bias, as read", bias.expand({2, 3})),
                                    panel("x + bias", y)}));

  // Backward: suppose the loss's gradient with respect to y is dy (any (2, 3) numbers).
  const Tensor dy = Tensor::from({1, 2, 3, 10, 20, 30}, {2, 3});
  y.backward(dy);
  std::cout << "dy      = " << dy << "\n";
  std::cout << "x.grad  = " << x.grad() << "   (same shape as x: dy itself)\n";
  std::cout << "bias.grad = " << bias.grad() << "   (shape (3): dy summed over its rows)\n";
  std::cout << "dy.sum(0) = " << dy.sum(0) << "\n\n";
  pictures.save("02-broadcast-backward.svg",
                plot::heatmaps_svg("the gradient of a broadcast bias is summed back to its shape",
                                   {panel("dy (2,3)", dy), panel("bias.grad = dy.sum(0)", bias.grad())}));

  // Both sides can stretch: a column (2, 1) plus a row (1, 3) is a (2, 3) table, and each
  // input's gradient is summed over the dimension it was stretched along.
  Tensor column = Tensor::from({1, 2}, {2, 1}, true);
  Tensor row = Tensor::from({10, 20, 30}, {1, 3}, true);
  Tensor table = column + row;
  table.backward(dy);
  std::cout << "column (2,1) + row (1,3) = " << table << "\n";
  std::cout << "column.grad = " << column.grad() << "   (dy summed along each row)\n";
  std::cout << "row.grad    = " << row.grad() << "   (dy summed down each column)\n\n";

  // Shapes that do not line up are an error that names the op and the shapes.
  try {
    x + Tensor::from({1, 2}, {2});
  } catch (const Error& error) {
    std::cout << "x + a (2) tensor: " << error.what() << "\n";
  }
  const bool right = bias.grad().values() == std::vector<real>{11, 22, 33} &&
                     column.grad().values() == std::vector<real>{6, 60};
  return right ? 0 : 1;
}
