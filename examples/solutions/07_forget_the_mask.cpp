// Solution to exercise 7.3 (docs/07-cross-attention.md): what the source padding mask of
// cross-attention is for. Decode-by-teacher-forcing "847" alone, and padded in a batch with a
// longer source, through the trained model's decoder: with the memory padding mask, the two
// agree to rounding; without it, the decoder also reads the padded memory positions, and the
// short row's logits depend on how long its batch-mates are. A model evaluated in batches
// would then give different answers for the same input.
#include <cmath>
#include <cstdio>
#include <string>

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

// The logits of the model's decoder for `batch`, with or without the memory padding mask
// (the encoder always masks its own padding).
Tensor decode(nn::Seq2SeqTransformer& model, const Batch& batch, bool memory_mask) {
  const std::size_t D = model.config().d_model;
  const Tensor memory = model.encode(batch.src);
  const nn::PositionalEncoding positions(D, model.config().max_len);
  Tensor x = positions.forward(
      embedding(parameter(model, "tgt_embed.weight"), batch.tgt_in.ids, batch.tgt_in.shape()) *
      real(std::sqrt(double(D))));
  const Tensor mask = memory_mask ? nn::padding_mask(batch.src, PAD) : Tensor();
  nn::Decoder& decoder = model.transformer().decoder();
  for (std::size_t i = 0; i < decoder.num_layers(); ++i)
    x = decoder.layer(i).forward(x, memory, nn::padding_mask(batch.tgt_in, PAD), mask);
  x = layer_norm(x, parameter(model, "transformer.decoder.norm.weight"),
                 parameter(model, "transformer.decoder.norm.bias"));
  return x.matmul(parameter(model, "generator.weight").t()) + parameter(model, "generator.bias");
}

double max_difference(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  return worst;
}

}  // namespace

int main() {
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  NoGradGuard no_grad;
  const Batch alone = make_batch({{"847", "748"}}, checkpoint.vocab);
  const Batch batched = make_batch({{"847", "748"}, {"9051736284", "4826371509"}}, checkpoint.vocab);
  const auto row_0 = [&](const Tensor& logits) {  // the "847" row, cut to its own length
    return logits.slice(0, 0, 1).slice(1, 0, alone.tgt_in.cols);
  };
  const double with_mask = max_difference(decode(model, alone, true), row_0(decode(model, batched, true)));
  const double without_mask =
      max_difference(decode(model, alone, false), row_0(decode(model, batched, false)));
  std::printf("\"847\" alone against padded beside a 10-digit source, max logit difference:\n");
  std::printf("  with the memory padding mask     %.1e\n", with_mask);
  std::printf("  without it                       %.1e\n", without_mask);
  return with_mask < 1e-6 && without_mask > 1e-2 ? 0 : 1;
}
