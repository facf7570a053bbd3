// Solution to exercise 7.2 (docs/07-cross-attention.md): test what the map suggests. The
// trained reversal model's maps say that the row writing output digit t reads source digit
// n-1-t. If that reading matters, hiding that one source position from every decoder layer's
// cross-attention must break that one output. The decoder is run from the model's own
// modules, with a memory mask that hides source position j (the encoder is untouched), and
// the teacher-forced predictions are compared with the right answer.
// Result: hiding digit j always breaks the output that copies it, and almost nothing else;
// the wrong digit written instead is usually a neighbour of the hidden one. A map says where
// the model reads; an intervention like this says that the reading is used.
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batch.h"
#include "examples/training/checkpoint.h"

using namespace crossgrad;

namespace {

Tensor parameter(const nn::Module& module, const std::string& name) {
  for (const auto& [parameter_name, tensor] : module.named_parameters())
    if (parameter_name == name) return tensor;
  fail("no parameter named " + name);
}

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;
  const std::string input = "384920175638";
  const std::string answer(input.rbegin(), input.rend());
  const Batch batch = make_batch({{input, answer}}, vocab);
  const std::size_t n = input.size(), S = batch.src.cols, T = batch.tgt_in.cols;
  const std::size_t D = model.config().d_model;

  NoGradGuard no_grad;
  const Tensor memory = model.encode(batch.src);
  const nn::PositionalEncoding positions(D, model.config().max_len);
  const Tensor embedded = positions.forward(
      embedding(parameter(model, "tgt_embed.weight"), batch.tgt_in.ids, batch.tgt_in.shape()) *
      real(std::sqrt(double(D))));
  nn::Decoder& decoder = model.transformer().decoder();

  bool ok = true;
  std::printf("input %s; * marks a wrong teacher-forced prediction\n", input.c_str());
  for (std::size_t j = 0; j < n; ++j) {
    std::vector<real> hidden(S, 0);
    hidden[j] = 1;  // only source position j is hidden from the cross-attention
    const Tensor memory_mask = Tensor::from(hidden, {1, S});
    Tensor x = embedded;
    for (std::size_t i = 0; i < decoder.num_layers(); ++i)
      x = decoder.layer(i).forward(x, memory, Tensor(), memory_mask);
    x = layer_norm(x, parameter(model, "transformer.decoder.norm.weight"),
                   parameter(model, "transformer.decoder.norm.bias"));
    const std::vector<std::int64_t> best =
        argmax(x.matmul(parameter(model, "generator.weight").t()) + parameter(model, "generator.bias"), -1);
    std::printf("hide source %2zu (%c):", j, input[j]);
    std::size_t wrong = 0;
    for (std::size_t t = 0; t < T; ++t) {
      const bool right = best[t] == batch.labels.at(0, t);
      wrong += !right;
      std::printf(" %s%s", vocab.symbol(best[t]).c_str(), right ? " " : "*");
    }
    const bool copy_broken = best[n - 1 - j] != batch.labels.at(0, n - 1 - j);
    std::printf("  output %zu broken: %s\n", n - 1 - j, copy_broken ? "yes" : "no");
    ok = ok && copy_broken && wrong <= 2;
  }
  return ok ? 0 : 1;
}
