// 11_pytorch_logits.cpp — crossgrad's side of loading a checkpoint into PyTorch. Loads a
// checkpoint, decodes one input greedily, runs the model teacher-forced on BOS + its answer
// and prints the logits' shape and a corner of them; with a third argument it also writes
// the batch and the logits to that .safetensors file, which
// examples/pytorch/load_checkpoint.py reads to run PyTorch on the same batch and compare.
// Walked through in docs/11-graduating-to-pytorch.md.
// Run from the repository's top folder:
//   build/11_pytorch_logits [CHECKPOINT [INPUT [OUT.safetensors]]]
//   (defaults: docs/models/reverse.safetensors, 31415926, no file)
#include <cstdio>
#include <iostream>
#include <string>

#include "autograd/ops.h"
#include "data/batch.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"
#include "nn/io/safetensors.h"

using namespace crossgrad;

namespace {

Tensor as_tensor(const TokenMatrix& ids) {  // ids as reals, the way the file stores them
  std::vector<real> values(ids.ids.begin(), ids.ids.end());
  return Tensor::from(values, {ids.rows, ids.cols});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 4 || (argc > 1 && std::string(argv[1]).rfind("-", 0) == 0)) {
    std::cerr << "usage: build/11_pytorch_logits [CHECKPOINT [INPUT [OUT.safetensors]]]\n";
    return 2;
  }
  const std::string path = argc > 1 ? argv[1] : "docs/models/reverse.safetensors";
  const std::string input = argc > 2 ? argv[2] : "31415926";
  try {
    const training::Checkpoint checkpoint = training::load_checkpoint(path);
    nn::Seq2SeqTransformer& model = *checkpoint.model;
    const Vocab& vocab = checkpoint.vocab;
    const TokenMatrix src = make_source_batch({vocab.encode(input)});
    const nn::Hypothesis answer = nn::greedy_decode(model, src)[0];
    // Teacher-forced on the answer: tgt_in = BOS + the answer's tokens before EOS.
    TokenMatrix tgt_in(1, answer.tokens.size(), model.config().bos_id);
    for (std::size_t t = 1; t < answer.tokens.size(); ++t) tgt_in.at(0, t) = answer.tokens[t - 1];
    NoGradGuard no_grad;
    const Tensor logits = model.forward(src, tgt_in);  // (1, T, V)
    std::printf("%s: %s -> %s\n", path.c_str(), input.c_str(), vocab.decode(answer.tokens).c_str());
    std::printf("logits (B, T, V) = %s; the first 6 of position 0 and of position %zu:\n",
                to_string(logits.shape()).c_str(), logits.size(1) - 1);
    std::printf("  id:     ");
    for (std::size_t v = 0; v < 6; ++v)
      std::printf(" %9s", v == 0 ? "PAD" : v == 1 ? "BOS" : v == 2 ? "EOS" : vocab.symbol(std::int64_t(v)).c_str());
    std::printf("\n");
    for (const std::size_t t : {std::size_t(0), logits.size(1) - 1}) {
      std::printf("  t = %-2zu ", t);
      for (std::size_t v = 0; v < 6; ++v) std::printf(" %9.4f", double(logits.at({0, t, v})));
      std::printf("\n");
    }
    if (argc > 3) {
      save_safetensors(argv[3], {{"src", as_tensor(src)}, {"tgt_in", as_tensor(tgt_in)}, {"logits", logits}},
                       {{"checkpoint", path}, {"input", input}});
      std::printf("wrote %s\n", argv[3]);
    }
  } catch (const Error& error) {
    std::cerr << "build/11_pytorch_logits: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
