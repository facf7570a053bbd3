// 06_pre_ln.cpp — where the LayerNorm goes. An encoder layer of the trained reversal model,
// composed from its own parameters twice: pre-LN, x + f(LN(x)), which is what
// nn::EncoderLayer computes (checked), and post-LN, LN(x + f(x)), the original
// Transformer's order, which is a different function of the same weights. Then the size of
// the residual stream through the pre-LN encoder: it is never normalised inside the stack,
// which is why the stack ends with a LayerNorm of its own.
// Walked through in docs/06-the-transformer.md.
// Run from the repository's top folder: build/06_pre_ln
#include <cmath>
#include <cstdio>
#include <string>

#include "autograd/ops.h"
#include "data/batch.h"
#include "examples/training/checkpoint.h"

using namespace crossgrad;

namespace {

double rms(const Tensor& t) {
  double sum = 0;
  for (std::size_t i = 0; i < t.numel(); ++i) sum += double(t.data()[i]) * t.data()[i];
  return std::sqrt(sum / double(t.numel()));
}

double max_difference(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  return worst;
}

// One encoder layer's parts, read from its parameters by name.
struct LayerParts {
  nn::EncoderLayer& layer;
  Tensor parameter(const std::string& name) const {
    for (const auto& [parameter_name, tensor] : layer.named_parameters())
      if (parameter_name == name) return tensor;
    fail("no parameter named " + name);
  }
  Tensor norm(int which, const Tensor& x) const {  // norm1 or norm2
    const std::string prefix = "norm" + std::to_string(which) + ".";
    return layer_norm(x, parameter(prefix + "weight"), parameter(prefix + "bias"));
  }
  Tensor attention(const Tensor& x, const Tensor& padding) const {
    return layer.self_attn().forward(x, x, padding);
  }
  Tensor feed_forward(const Tensor& x) const {  // linear2(relu(linear1(x)))
    const Tensor hidden = relu(x.matmul(parameter("linear1.weight").t()) + parameter("linear1.bias"));
    return hidden.matmul(parameter("linear2.weight").t()) + parameter("linear2.bias");
  }
};

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Batch batch = make_batch({{"60521", "12506"}, {"847", "748"}}, checkpoint.vocab);
  NoGradGuard no_grad;
  const Tensor padding = nn::padding_mask(batch.src, model.config().pad_id);
  // The encoder's input, what its first layer reads: the source embedded, with positions.
  Tensor table;
  for (const auto& [name, tensor] : model.named_parameters())
    if (name == "src_embed.weight") table = tensor;
  const nn::PositionalEncoding positions(model.config().d_model, model.config().max_len);
  const Tensor x = positions.forward(embedding(table, batch.src.ids, batch.src.shape()) *
                                     real(std::sqrt(double(model.config().d_model))));
  nn::Encoder& encoder = model.transformer().encoder();

  const LayerParts parts{encoder.layer(0)};
  // Pre-LN: the branch normalises its input; the residual path adds, untouched.
  const Tensor h_pre = x + parts.attention(parts.norm(1, x), padding);
  const Tensor pre_ln = h_pre + parts.feed_forward(parts.norm(2, h_pre));
  // Post-LN: the sum is normalised after each block; the residual path goes through LN.
  const Tensor h_post = parts.norm(1, x + parts.attention(x, padding));
  const Tensor post_ln = parts.norm(2, h_post + parts.feed_forward(h_post));

  const Tensor library = encoder.layer(0).forward(x, padding);
  std::printf("encoder layer 0 of the trained model, on a batch of 2:\n");
  std::printf("  pre-LN   x + attn(LN1(x)), then h + ff(LN2(h)):   max difference from\n");
  std::printf("           nn::EncoderLayer::forward %.1e\n", max_difference(pre_ln, library));
  std::printf("  post-LN  LN1(x + attn(x)), then LN2(h + ff(h)):   max difference %.2f\n",
              max_difference(post_ln, library));

  // The residual stream of the pre-LN encoder grows from layer to layer; the final LayerNorm
  // brings it back to the scale the decoder's cross-attention expects.
  std::printf("\nroot mean square of the residual stream through the encoder (pre-LN):\n");
  std::printf("  input (sqrt(D) * E[src] + pe)   %6.2f\n", rms(x));
  Tensor h = x;
  for (std::size_t i = 0; i < encoder.num_layers(); ++i) {
    h = encoder.layer(i).forward(h, padding);
    std::printf("  after layer %zu                   %6.2f\n", i, rms(h));
  }
  std::printf("  after the final LayerNorm       %6.2f   (the memory)\n",
              rms(model.encode(batch.src)));
  std::printf("post-LN output of layer 0         %6.2f   (every layer's output is normalised)\n",
              rms(post_ln));
  return max_difference(pre_ln, library) < 1e-4 ? 0 : 1;
}
