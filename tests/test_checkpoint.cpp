// Tests for examples/training/checkpoint.cpp: a checkpoint is a model file with its vocabulary
// as metadata: it round-trips with its vocabulary, refuses a vocabulary that does not fit the
// model, and loads files saved before the special ids were in the config; training state
// round-trips and corrupt state is refused; companion files sit beside the checkpoint.
#include <map>

#include "data/tasks.h"
#include "examples/training/checkpoint.h"
#include "testing.h"

using namespace crossgrad;
using namespace crossgrad::training;
using nn::Seq2SeqTransformer;
using nn::TransformerConfig;
using testing::read_file;
using testing::same_bits;
using testing::TempDir;

namespace {

// d_model 8, 2 heads, ff 16, 1 encoder and 1 decoder layer, the reversal vocabulary's size.
TransformerConfig tiny_config() { return testing::tiny_config(8); }

void check_same_weights(const Seq2SeqTransformer& a, const Seq2SeqTransformer& b) {
  const NamedTensors first = a.named_parameters(), second = b.named_parameters();
  REQUIRE(first.size() == second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    CAPTURE(first[i].first);
    CHECK(second[i].first == first[i].first);
    CHECK(same_bits(second[i].second, first[i].second));
  }
}

}  // namespace

TEST_CASE("checkpoint: a model round-trips with its vocabulary, stored as plain metadata") {
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 11);
  const Vocab vocab = task_vocab(Task::reverse);
  save_checkpoint(dir.file("m.safetensors"), model, vocab, {{"task", "reverse"}, {"step", "42"}},
                  kRealDtype);
  const Checkpoint loaded = load_checkpoint(dir.file("m.safetensors"));
  CHECK(loaded.vocab == vocab);
  CHECK(loaded.metadata == Metadata{{"task", "reverse"}, {"step", "42"}});  // reserved keys removed
  CHECK_FALSE(loaded.model->is_training());
  check_same_weights(model, *loaded.model);
  // To nn/, the vocabulary is one more string of metadata.
  const nn::LoadedModel plain = nn::load_model(dir.file("m.safetensors"));
  CHECK(plain.metadata.at("vocab") == vocab.serialize());
}

TEST_CASE("checkpoint: save_checkpoint refuses a vocabulary that does not fit, writing nothing") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  Seq2SeqTransformer model(tiny_config(), 1);
  CHECK_THROWS_WITH_AS(save_checkpoint(path, model, task_vocab(Task::add)),
                       doctest::Contains(("save_checkpoint: '" + path +
                                          "': the vocab has 14 ids but the model's vocab_size "
                                          "is 13")
                                             .c_str()),
                       Error);
  CHECK_THROWS_WITH_AS(save_checkpoint(path, model, task_vocab(Task::reverse), {{"vocab", "x"}}),
                       doctest::Contains("metadata key 'vocab' is reserved"), Error);
  CHECK_THROWS_WITH_AS(save_checkpoint(path, model, task_vocab(Task::reverse), {{"config", "x"}}),
                       doctest::Contains("metadata key 'config' is reserved"), Error);
  TransformerConfig other_ids = tiny_config();
  other_ids.eos_id = 12;
  Seq2SeqTransformer other(other_ids, 1);
  CHECK_THROWS_WITH_AS(save_checkpoint(path, other, task_vocab(Task::reverse)),
                       doctest::Contains("the model's special ids (pad_id 0, bos_id 1, eos_id 12) "
                                         "are not the vocabulary's (PAD 0, BOS 1, EOS 2)"),
                       Error);
  CHECK(dir.listing().empty());
}

TEST_CASE("checkpoint: load_checkpoint refuses a missing, broken or mismatched vocabulary") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  Seq2SeqTransformer model(tiny_config(), 2);
  const std::string vocab = task_vocab(Task::reverse).serialize();
  SUBCASE("no vocabulary: a model file, but not a checkpoint") {
    nn::save_model(path, model, {{"step", "1"}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path),
                         doctest::Contains(
                             ("load_checkpoint: '" + path + "': missing metadata key 'vocab'")
                                 .c_str()),
                         Error);
  }
  SUBCASE("a broken vocabulary") {
    nn::save_model(path, model, {{"vocab", "hello"}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path),
                         doctest::Contains("metadata 'vocab': Vocab::deserialize"), Error);
  }
  SUBCASE("a vocabulary whose size is not the embedding's") {
    nn::save_model(path, model, {{"vocab", task_vocab(Task::add).serialize()}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path),
                         doctest::Contains("the vocab has 14 ids but config.vocab_size is 13"),
                         Error);
  }
  SUBCASE("special ids that are not the vocabulary's") {
    TransformerConfig other_ids = tiny_config();
    other_ids.pad_id = 3;
    nn::save_model(path, Seq2SeqTransformer(other_ids, 2), {{"vocab", vocab}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path),
                         doctest::Contains("the model's special ids (pad_id 3, bos_id 1, "
                                           "eos_id 2)"),
                         Error);
  }
  SUBCASE("source symbols that are broken, of another mode or not in the vocabulary") {
    nn::save_model(path, model, {{"vocab", vocab}, {"source_symbols", "digits"}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path),
                         doctest::Contains("metadata 'source_symbols': Vocab::deserialize"), Error);
    nn::save_model(path, model,
                   {{"vocab", vocab}, {"source_symbols", Vocab(TokenMode::words, {"1"}).serialize()}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path),
                         doctest::Contains("'source_symbols' is in words mode but the vocab in "
                                           "characters mode"),
                         Error);
    nn::save_model(path, model,
                   {{"vocab", vocab},
                    {"source_symbols", Vocab(TokenMode::characters, {"1", "x"}).serialize()}});
    CHECK_THROWS_WITH_AS(load_checkpoint(path),
                         doctest::Contains("'source_symbols' holds 'x', which the vocab lacks"),
                         Error);
  }
  SUBCASE("an error inside the model file is load_model's") {
    testing::write_file(path, "not a safetensors file");
    CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("load_model: "), Error);
  }
}

TEST_CASE("checkpoint: a checkpoint saved before the special ids were in the config loads") {
  // The metadata such a checkpoint holds: the config without pad_id, bos_id and eos_id.
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 3);
  std::string config = nn::config_to_json(model.config());
  config = config.substr(0, config.find(R"(,"pad_id")")) + "}";
  CHECK(config.find("_id") == std::string::npos);
  const Vocab vocab = task_vocab(Task::reverse);
  save_safetensors(dir.file("old.safetensors"), model.named_parameters(),
                   {{"format", nn::kModelFormat},
                    {"config", config},
                    {"vocab", vocab.serialize()},
                    {"step", "30"}},
                   kRealDtype);
  const Checkpoint loaded = load_checkpoint(dir.file("old.safetensors"));
  CHECK(loaded.vocab == vocab);
  CHECK(loaded.metadata == Metadata{{"step", "30"}});
  CHECK(nn::config_to_json(loaded.model->config()) == nn::config_to_json(model.config()));
  check_same_weights(model, *loaded.model);
}

TEST_CASE("checkpoint: training state round-trips every field, and corrupt state is refused") {
  TempDir dir;
  Generator gen(5);
  gen.next_u64();
  TrainingState state;
  state.step = 12;
  state.optimizer = {{"step_count", Tensor::scalar(12)},
                     {"exp_avg.0", testing::random_input({2, 3})}};
  state.history = {{"loss", Tensor::from({real(2.5), real(1.25)}, {2})},
                   {"evaluations", Tensor::zeros({0, 3})}};
  state.data_generator = gen.state();
  state.dropout_generator = Generator(9).state();
  state.batch_position = "crossgrad-batches 1 ...";
  state.settings = {{"lr", "0.003"}, {"task", "reverse"}};
  const std::string path = dir.file("s.state.safetensors");
  save_training_state(path, state);
  const TrainingState loaded = load_training_state(path);
  CHECK(loaded.step == 12);
  REQUIRE(loaded.optimizer.size() == 2);
  CHECK(loaded.optimizer[1].first == "exp_avg.0");
  CHECK(same_bits(loaded.optimizer[1].second, state.optimizer[1].second));
  REQUIRE(loaded.history.size() == 2);
  CHECK(same_bits(loaded.history[0].second, state.history[0].second));
  CHECK(loaded.history[1].second.shape() == Shape{0, 3});
  CHECK(loaded.data_generator == state.data_generator);
  CHECK(loaded.dropout_generator == state.dropout_generator);
  CHECK(loaded.batch_position == state.batch_position);
  CHECK(loaded.settings == state.settings);

  SafetensorsFile file = load_safetensors(path);
  const auto rewrite = [&](const std::string& key, const std::string& value) {
    std::map<std::string, std::string> metadata = file.metadata;
    metadata[key] = value;
    save_safetensors(path, file.tensors, metadata, kRealDtype);
  };
  rewrite("step", "-3");
  CHECK_THROWS_WITH_AS(
      load_training_state(path),
      doctest::Contains("metadata 'step' must be a non-negative integer, got '-3'"), Error);
  rewrite("dropout_generator", "not a state");
  CHECK_THROWS_WITH_AS(load_training_state(path),
                       doctest::Contains("dropout_generator: Generator::set_state"), Error);
  rewrite("format", "crossgrad-seq2seq 1");  // a model file given as state
  CHECK_THROWS_WITH_AS(load_training_state(path),
                       doctest::Contains("expected 'crossgrad-training-state 1'"), Error);
  file.tensors.emplace_back("weights", Tensor::zeros({1}));
  save_safetensors(path, file.tensors,
                   {{"format", "crossgrad-training-state 1"},
                    {"step", "1"},
                    {"data_generator", ""},
                    {"dropout_generator", Generator().state()},
                    {"batch_position", ""}},
                   kRealDtype);
  CHECK_THROWS_WITH_AS(load_training_state(path), doctest::Contains("unexpected tensor 'weights'"),
                       Error);
}

TEST_CASE("checkpoint: companion paths sit beside the checkpoint") {
  CHECK(companion_path("runs/rev.safetensors", ".loss.csv") == "runs/rev.loss.csv");
  CHECK(training_state_path("runs/rev.safetensors") == "runs/rev.state.safetensors");
  CHECK(training_state_path("model.bin") == "model.bin.state.safetensors");
  CHECK(companion_path("dir/.safetensors", ".x") == "dir/.safetensors.x");  // no empty stem
}
