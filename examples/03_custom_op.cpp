// 03_custom_op.cpp — a new op written the way every crossgrad op is: SiLU, y = x·σ(x).
// Forward and backward in one place with record() and grad_buffer(), checked against the
// same function composed from existing ops, then against finite differences with
// gradcheck; then a backward broken on purpose, and the report gradcheck gives for it.
// Walked through in docs/03-writing-your-own-op.md. Gradient checks need the float64 build:
//   make program SRC=examples/03_custom_op.cpp DOUBLE=1 && build/f64/03_custom_op
#include <cmath>
#include <iostream>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"

using namespace crossgrad;

namespace {

// The largest |a - b| over two tensors of one shape.
double max_difference(const Tensor& a, const Tensor& b) {
  double largest = 0;
  for (std::size_t i = 0; i < a.numel(); ++i)
    largest = std::max(largest, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return largest;
}

// The derivative of an elementwise op at every point of a grid: for y = op(x) elementwise,
// the gradient of sum(y) with respect to x[i] is dy[i]/dx[i].
std::vector<double> derivative(Tensor (*op)(const Tensor&), const Tensor& grid) {
  Tensor x = grid.detach().requires_grad_();
  op(x).sum().backward();
  const Tensor dx = x.grad();  // one tensor: each call of grad() makes a new one
  return std::vector<double>(dx.data(), dx.data() + dx.numel());
}

// The picture: silu, its derivative from backward(), and the broken backward's.
std::string picture(Tensor (*good)(const Tensor&), Tensor (*broken)(const Tensor&)) {
  const Tensor grid = Tensor::arange(-6, 6.05, 0.1);
  std::vector<double> xs(grid.data(), grid.data() + grid.numel());
  const Tensor y = good(grid);
  plot::LinePlot p;
  p.title = "silu(x) = x * sigmoid(x), and its derivative as backward() computes it";
  p.x_label = "x";
  p.series = {plot::Series("silu(x)", xs, std::vector<double>(y.data(), y.data() + y.numel())),
              plot::Series("d silu/dx from silu's backward", xs, derivative(good, grid)),
              plot::Series("d silu/dx from the broken backward", xs, derivative(broken, grid))};
  p.series[2].dashed = true;
  return plot::line_plot_svg(p);
}

}  // namespace

// y = x·σ(x), where σ(x) = 1 / (1 + e^-x).
// dy/dx = σ(x) + x·σ(x)·(1 - σ(x)) = σ(x)·(1 + x·(1 - σ(x)))   (the product rule)
Tensor silu(const Tensor& x) {
  std::vector<real> y(x.numel());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = x.data()[i] / (1 + std::exp(-x.data()[i]));
  return record(make_tensor(std::move(y), x.shape()), "silu", {x}, [x](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;  // x takes no gradient: nothing to do
    for (std::size_t i = 0; i < x.numel(); ++i) {
      const real v = x.data()[i], s = 1 / (1 + std::exp(-v));
      dx[i] += self.grad[i] * s * (1 + v * (1 - s));  // +=: x may feed other ops too
    }
  });
}

// The same op with the product rule forgotten: as if x in x·σ(x) were a constant.
Tensor silu_broken(const Tensor& x) {
  std::vector<real> y(x.numel());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = x.data()[i] / (1 + std::exp(-x.data()[i]));
  return record(make_tensor(std::move(y), x.shape()), "silu_broken", {x}, [x](const Node& self) {
    real* dx = grad_buffer(x);
    if (!dx) return;
    for (std::size_t i = 0; i < x.numel(); ++i) {
      const real v = x.data()[i], s = 1 / (1 + std::exp(-v));
      dx[i] += self.grad[i] * v * s * (1 - s);  // WRONG: only x·σ'(x), the σ(x) term is missing
    }
  });
}

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 3: a custom op, gradient-checked.");
  if (!kDoublePrecision)
    std::cout << "(float32 build: gradcheck's verdicts are rough here; build with DOUBLE=1)\n";

  // 1. Does it compute the same as the composed version x * sigmoid(x)?
  Tensor x = Tensor::from({-2.0, -0.5, 0.0, 0.5, 2.0}, {5}, /*requires_grad=*/true);
  Tensor mine = silu(x);
  mine.sum().backward();
  const Tensor my_grad = x.grad();
  x.zero_grad();
  Tensor composed = x * sigmoid(x);
  composed.sum().backward();
  std::cout << "silu(x) = " << mine << "\n";
  const bool same = max_difference(mine, composed) < 1e-6 && max_difference(my_grad, x.grad()) < 1e-6;
  std::cout << "silu and x * sigmoid(x) agree, values and gradients: " << (same ? "yes" : "NO") << "\n";

  // 2. gradcheck: the backward against finite differences, element by element.
  const GradcheckResult good = gradcheck([](const std::vector<Tensor>& in) { return silu(in[0]); }, {x});
  std::cout << "gradcheck(silu): " << (good.ok ? "passed" : "FAILED") << ", "
            << good.entries_compared << " Jacobian entries compared\n";

  // 3. A backward broken on purpose: gradcheck says where and by how much.
  const GradcheckResult bad =
      gradcheck([](const std::vector<Tensor>& in) { return silu_broken(in[0]); }, {x});
  std::cout << "gradcheck(silu_broken): " << (bad.ok ? "passed" : "FAILED") << "\n"
            << bad.report << "\n";
  pictures.save("03-silu-derivative.svg", picture(silu, silu_broken));
  return same && good.ok && !bad.ok ? 0 : 1;
}
