// Solution to exercise 3.2 (docs/03-writing-your-own-op.md): an op with two inputs,
// hypot(a, b) = √(a² + b²) elementwise (same shapes). Each input gets its own gradient,
// ∂y/∂a = a / y and ∂y/∂b = b / y, and the backward must skip an input that takes none:
// grad_buffer returns nullptr for it. gradcheck runs three times: both inputs requiring
// grad, only a, only b.
#include <cmath>
#include <cstdio>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

using namespace crossgrad;

// y = √(a² + b²); ∂y/∂a = a / y, ∂y/∂b = b / y
Tensor hypot(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw Error("hypot: shapes " + to_string(a.shape()) + " and " + to_string(b.shape()) +
                " differ (this op does not broadcast)");
  std::vector<real> y(a.numel());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::hypot(a.data()[i], b.data()[i]);
  return record(make_tensor(std::move(y), a.shape()), "hypot", {a, b}, [a, b](const Node& self) {
    real* da = grad_buffer(a);
    real* db = grad_buffer(b);
    for (std::size_t i = 0; i < self.grad.size(); ++i) {
      if (da) da[i] += self.grad[i] * a.data()[i] / self.data[i];
      if (db) db[i] += self.grad[i] * b.data()[i] / self.data[i];
    }
  });
}

int main() {
  bool ok = true;
  for (const std::string which : {"both", "a", "b"}) {
    Tensor a = Tensor::from({3, -1, 0.5}, {3}, which != "b");
    Tensor b = Tensor::from({4, 2, -0.25}, {3}, which != "a");
    const GradcheckResult result =
        gradcheck([](const std::vector<Tensor>& in) { return hypot(in[0], in[1]); }, {a, b});
    std::printf("gradcheck(hypot), gradients to %-4s: %s\n", which.c_str(),
                result.ok ? "passed" : result.report.c_str());
    ok = ok && result.ok;
  }
  const Tensor five = hypot(Tensor::from({3}, {1}), Tensor::from({4}, {1}));
  std::printf("hypot(3, 4) = %g\n", double(five.item()));
  return ok && five.item() == 5 ? 0 : 1;
}
