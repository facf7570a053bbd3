// two_moons.h — chapter 4's data and model, shared by examples/04_*.cpp. The data: two
// interleaved half-moons of noisy 2-d points, a classification task no straight line
// solves. The model: a two-layer perceptron, nothing but leaf tensors and ops:
//   logits = relu(x·w1 + b1)·w2 + b2      x: (N, 2) -> hidden (N, H) -> logits (N, 2)
// Read next: examples/04_mlp.cpp (the training loop around them).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace crossgrad::moons {

struct Dataset {
  Tensor points;                     // (N, 2)
  std::vector<std::int64_t> labels;  // N class ids: 0 (upper moon) or 1 (lower moon)
};

// n points, half of each class, with N(0, noise²) added to each coordinate.
Dataset make_two_moons(std::size_t n, double noise, std::uint64_t seed);

struct Mlp {
  Tensor w1, b1, w2, b2;  // (2, H), (H), (H, 2), (2)

  // w1 ~ N(0, 1)·√(2/2) (He initialisation for relu: the hidden units start at the input's
  // scale), w2 ~ N(0, 1)·output_scale/√H, biases 0. A small output_scale makes every logit
  // near 0 at the start: the model says 50/50 for every point.
  Mlp(std::size_t hidden, std::uint64_t seed, double output_scale = 0.1);
  Tensor forward(const Tensor& x) const;  // (N, 2) -> logits (N, 2)
  std::vector<Tensor> parameters() const { return {w1, b1, w2, b2}; }
};

// The fraction of rows whose largest logit is at the label.
double accuracy(const Tensor& logits, const std::vector<std::int64_t>& labels);

}  // namespace crossgrad::moons
