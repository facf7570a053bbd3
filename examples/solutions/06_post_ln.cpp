// Solution to exercise 6.3 (docs/06-the-transformer.md): a post-LN encoder layer from the
// parameters of crossgrad's pre-LN one, and what the placement of LayerNorm changes.
//   pre-LN:   h = x + attn(LN1(x));   out = h + ff(LN2(h))      (nn::EncoderLayer)
//   post-LN:  h = LN1(x + attn(x));   out = LN2(h + ff(h))      (the 2017 paper's order)
// Checks: the pre-LN composition equals nn::EncoderLayer::forward; every post-LN output
// position is normalised (mean 0, variance 1: a fresh LayerNorm has weight 1 and bias 0);
// and through a stack of 6 layers the pre-LN residual stream grows while the post-LN one
// stays at size 1. Pre-LN leaves the stream alone and therefore needs a final LayerNorm;
// post-LN normalises it after every block, so the path from input to output runs through
// 2 LayerNorms per layer instead of being a plain sum, which is what makes deep post-LN
// stacks harder to train without a careful warmup.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/check.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

Tensor parameter(const nn::Module& module, const std::string& name) {
  for (const auto& [parameter_name, tensor] : module.named_parameters())
    if (parameter_name == name) return tensor;
  fail("no parameter named " + name);
}

Tensor norm(nn::EncoderLayer& layer, int which, const Tensor& x) {
  const std::string prefix = "norm" + std::to_string(which) + ".";
  return layer_norm(x, parameter(layer, prefix + "weight"), parameter(layer, prefix + "bias"));
}

Tensor feed_forward(nn::EncoderLayer& layer, const Tensor& x) {
  const Tensor hidden =
      relu(x.matmul(parameter(layer, "linear1.weight").t()) + parameter(layer, "linear1.bias"));
  return hidden.matmul(parameter(layer, "linear2.weight").t()) + parameter(layer, "linear2.bias");
}

Tensor pre_ln(nn::EncoderLayer& layer, const Tensor& x) {
  const Tensor normed = norm(layer, 1, x);
  const Tensor h = x + layer.self_attn().forward(normed, normed);
  return h + feed_forward(layer, norm(layer, 2, h));
}

Tensor post_ln(nn::EncoderLayer& layer, const Tensor& x) {
  const Tensor h = norm(layer, 1, x + layer.self_attn().forward(x, x));
  return norm(layer, 2, h + feed_forward(layer, h));
}

double rms(const Tensor& t) {
  double sum = 0;
  for (std::size_t i = 0; i < t.numel(); ++i) sum += double(t.data()[i]) * t.data()[i];
  return std::sqrt(sum / double(t.numel()));
}

}  // namespace

int main() {
  const nn::TransformerConfig config;  // the standard sizes: D 64, 4 heads, F 256
  Generator gen(0), dropout_gen(1);
  std::vector<std::unique_ptr<nn::EncoderLayer>> layers;
  for (int i = 0; i < 6; ++i)
    layers.push_back(std::make_unique<nn::EncoderLayer>(config, gen, dropout_gen));
  const Tensor x = Tensor::randn({2, 7, config.d_model}, gen) * real(3);  // rms about 3

  bool ok = compare("pre-LN", pre_ln(*layers[0], x), layers[0]->forward(x));

  // Each post-LN output position: mean 0 and variance 1 over its D features.
  const Tensor out = post_ln(*layers[0], x);
  const Tensor mean = out.mean(-1);
  const Tensor variance = (out * out).mean(-1) - mean * mean;
  ok = compare("post-LN mean", mean, Tensor::zeros(mean.shape()), {1e-5, 1e-8}) && ok;
  ok = compare("post-LN var", variance, Tensor::ones(variance.shape()), {1e-3, 1e-6}) && ok;

  std::printf("rms of the residual stream through 6 fresh layers (input %.2f):\n", rms(x));
  std::printf("  layer   pre-LN   post-LN\n");
  Tensor pre = x, post = x;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    pre = pre_ln(*layers[i], pre);
    post = post_ln(*layers[i], post);
    std::printf("  %5zu   %6.2f   %7.2f\n", i, rms(pre), rms(post));
  }
  ok = ok && rms(pre) > rms(x) && std::abs(rms(post) - 1) < 0.01;
  return ok ? 0 : 1;
}
