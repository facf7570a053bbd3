// 02_mlp.cpp — a two-layer perceptron learns XOR with nothing but tensors, autograd and a
// hand-written SGD step. No nn/ yet: every parameter is a plain leaf tensor, so each line of
// the training loop is visible. Walked through in docs/01-tensors-and-autograd.md.
#include <iostream>

#include "autograd/ops.h"

using namespace crossgrad;

int main() {
  // The four XOR points and their labels: x (4, 2), y (4, 1).
  const Tensor x = Tensor::from({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor y = Tensor::from({0, 1, 1, 0}, {4, 1});

  // Parameters: 2 -> 8 hidden units (tanh) -> 1 output (sigmoid).
  Generator gen(0);
  Tensor w1 = Tensor::randn({2, 8}, gen, true);
  Tensor b1 = Tensor::zeros({8}, true);
  Tensor w2 = Tensor::randn({8, 1}, gen, true);
  Tensor b2 = Tensor::zeros({1}, true);
  std::vector<Tensor> params{w1, b1, w2, b2};

  const real learning_rate = 0.5;
  Tensor loss;
  for (int step = 0; step <= 1000; ++step) {
    Tensor hidden = tanh(x.matmul(w1) + b1);          // (4, 8)
    Tensor prediction = sigmoid(hidden.matmul(w2) + b2);  // (4, 1)
    loss = mean(pow(prediction - y, 2));              // mean squared error, shape ()

    for (Tensor& p : params) p.zero_grad();
    loss.backward();
    {
      NoGradGuard no_grad;  // the update itself is not part of any graph
      for (Tensor& p : params) {
        const Tensor g = p.grad();
        real* values = p.mutable_data();
        for (std::size_t i = 0; i < p.numel(); ++i) values[i] -= learning_rate * g.data()[i];
      }
    }
    if (step % 250 == 0) std::cout << "step " << step << "  loss " << loss.item() << "\n";
  }

  NoGradGuard no_grad;
  const Tensor prediction = sigmoid(tanh(x.matmul(w1) + b1).matmul(w2) + b2);
  std::cout << "predictions for (0,0) (0,1) (1,0) (1,1): " << prediction.reshape({4}) << "\n";
  const bool learned = prediction.values()[0] < 0.5 && prediction.values()[1] > 0.5 &&
                       prediction.values()[2] > 0.5 && prediction.values()[3] < 0.5;
  std::cout << (learned ? "XOR learned.\n" : "XOR not learned yet.\n");
  return learned ? 0 : 1;
}
