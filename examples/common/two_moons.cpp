// two_moons.cpp — the two-moons data and the MLP of chapter 4 (see two_moons.h).
#include "examples/common/two_moons.h"

#include <cmath>

#include "autograd/ops.h"

namespace crossgrad::moons {

Dataset make_two_moons(std::size_t n, double noise, std::uint64_t seed) {
  Generator gen(seed);
  const double pi = std::acos(-1.0);
  std::vector<real> points;
  Dataset data;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t label = std::int64_t(i % 2);
    const double t = pi * gen.uniform();  // where along its half-circle
    // Upper moon: the top half of a unit circle at (0, 0). Lower moon: the bottom half of
    // one at (1, 0.5), so each moon's tips reach into the other's hollow.
    const double x = label == 0 ? std::cos(t) : 1 - std::cos(t);
    const double y = label == 0 ? std::sin(t) : 0.5 - std::sin(t);
    points.push_back(real(x + noise * gen.normal()));
    points.push_back(real(y + noise * gen.normal()));
    data.labels.push_back(label);
  }
  data.points = Tensor::from(points, {n, 2});
  return data;
}

Mlp::Mlp(std::size_t hidden, std::uint64_t seed, double output_scale) {
  Generator gen(seed);
  w1 = (Tensor::randn({2, hidden}, gen) * std::sqrt(2.0 / 2)).detach().requires_grad_();
  b1 = Tensor::zeros({hidden}, /*requires_grad=*/true);
  w2 = (Tensor::randn({hidden, 2}, gen) * (output_scale / std::sqrt(double(hidden))))
           .detach()
           .requires_grad_();
  b2 = Tensor::zeros({2}, true);
}

Tensor Mlp::forward(const Tensor& x) const {
  const Tensor hidden = relu(x.matmul(w1) + b1);  // (N, H)
  return hidden.matmul(w2) + b2;                  // (N, 2)
}

double accuracy(const Tensor& logits, const std::vector<std::int64_t>& labels) {
  const std::vector<std::int64_t> predicted = argmax(logits, 1);
  std::size_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
  return double(right) / double(labels.size());
}

}  // namespace crossgrad::moons
