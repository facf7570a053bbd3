// fuzz_predict_line.cpp — what build/predict does with one line of stdin
// (examples/common/predict_input.h): check it against a checkpoint's vocabulary and model,
// then decode it greedily into an answer. The first byte picks a characters vocabulary (digits
// and '+', with '+' seen only in targets) or a words one; the rest is the line. A line is
// either refused with an Error or decoded into at most max_len tokens.
#include <memory>
#include <sstream>

#include "autograd/thread_pool.h"
#include "examples/common/predict_input.h"
#include "fuzzing.h"

using namespace crossgrad;

namespace {

struct Checkpoint {
  Vocab vocab;
  std::optional<Vocab> source_vocab;
  std::unique_ptr<nn::Seq2SeqTransformer> model;
};

Checkpoint make_checkpoint(Vocab vocab, Vocab source_vocab) {
  nn::TransformerConfig config;
  config.vocab_size = vocab.size();
  config.d_model = 8;
  config.num_heads = 2;
  config.d_ff = 16;
  config.num_encoder_layers = config.num_decoder_layers = 1;
  config.max_len = 24;
  auto model = std::make_unique<nn::Seq2SeqTransformer>(config, 1);
  model->eval();
  return {std::move(vocab), std::move(source_vocab), std::move(model)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const bool single_thread = (set_num_threads(1), true);
  static_cast<void>(single_thread);
  static Checkpoint characters = make_checkpoint(
      Vocab(TokenMode::characters, {"+", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}),
      Vocab(TokenMode::characters, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  static Checkpoint words = make_checkpoint(Vocab(TokenMode::words, {"a", "b", "cat", "dog"}),
                                            Vocab(TokenMode::words, {"a", "cat", "dog"}));
  Checkpoint& checkpoint = data[0] & 1 ? words : characters;
  const std::string line(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::ostringstream warnings;
  cli::InputReader reader(checkpoint.vocab, checkpoint.source_vocab,
                          checkpoint.model->config().max_len, warnings);
  try {
    const cli::Input input = reader.read(line, "line 1");
    nn::DecodeOptions options;
    options.max_len = 12;
    options.beam = data[0] & 2 ? 3 : 1;  // the second bit: beam search
    const std::vector<nn::Hypothesis> answers =
        cli::decode_inputs(*checkpoint.model, {input}, options, options.beam > 1);
    fuzzing::require(answers.size() == 1 && answers[0].tokens.size() <= 12,
                     "predict: not one answer of at most max_len tokens");
    checkpoint.vocab.decode(answers[0].tokens);
  } catch (const Error&) {
  }
  return 0;
}
