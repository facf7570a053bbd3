// Tests for nn/checkpoint.cpp: a model round-trips bit for bit with its config, vocab and
// metadata; the file reads like PyTorch's state_dict; each kind of corrupt or mismatched
// checkpoint is an error that says what is wrong; training state round-trips; files are
// written atomically. Resuming a whole run is tested in test_trainer.cpp.
#include <map>

#include "data/tasks.h"
#include "nn/checkpoint.h"
#include "nn/json.h"
#include "testing.h"

using namespace crossgrad;
using namespace crossgrad::nn;
// Named one by one: this suite's tiny_config is not testing::tiny_config.
using testing::read_file;
using testing::same_bits;
using testing::TempDir;

namespace {

// d_model 8, 2 heads, ff 16, 1 encoder and 2 decoder layers, dropout 0.25, max_len 40.
TransformerConfig tiny_config() {
  TransformerConfig config = testing::tiny_config(8);
  config.num_decoder_layers = 2;  // unequal stacks: the loader must not assume symmetry
  config.dropout = real(0.25);
  config.max_len = 40;
  return config;
}

// The tensors and metadata of a valid tiny checkpoint, to corrupt one piece at a time.
struct Parts {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
};
Parts valid_parts(const TempDir& dir) {
  Seq2SeqTransformer model(tiny_config(), 3);
  save_model(dir.file("valid.safetensors"), model, task_vocab(Task::reverse), {{"step", "7"}});
  const SafetensorsFile file = load_safetensors(dir.file("valid.safetensors"));
  return {file.tensors, file.metadata};
}

}  // namespace

TEST_CASE("checkpoint: a model round-trips bit for bit with its config, vocab and metadata") {
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 11);
  const Vocab vocab = task_vocab(Task::reverse);
  save_model(dir.file("m.safetensors"), model, vocab, {{"task", "reverse"}, {"step", "42"}},
             kRealDtype);
  CHECK(dir.listing() == std::vector<std::string>{"m.safetensors"});  // no temporary left

  const LoadedModel loaded = load_model(dir.file("m.safetensors"));
  CHECK(config_to_json(loaded.model->config()) == config_to_json(model.config()));
  CHECK(loaded.model->config().dropout == real(0.25));
  CHECK(loaded.vocab == vocab);
  CHECK(loaded.metadata == Metadata{{"task", "reverse"}, {"step", "42"}});  // reserved keys removed
  CHECK_FALSE(loaded.model->is_training());
  const NamedTensors original = model.named_parameters(),
                     restored = loaded.model->named_parameters();
  REQUIRE(original.size() == restored.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    CAPTURE(original[i].first);
    CHECK(restored[i].first == original[i].first);
    CHECK(same_bits(restored[i].second, original[i].second));
  }
}

TEST_CASE(
    "checkpoint: the file holds PyTorch's state_dict names in F32 and a self-describing header") {
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 1);
  save_model(dir.file("m.safetensors"), model, task_vocab(Task::reverse));
  const std::string bytes = read_file(dir.file("m.safetensors"));
  CHECK(bytes.find(R"("src_embed.weight":{"dtype":"F32","shape":[13,8])") != std::string::npos);
  CHECK(
      bytes.find(
          R"("transformer.decoder.layers.1.multihead_attn.in_proj_weight":{"dtype":"F32","shape":[24,8])") !=
      std::string::npos);
  const SafetensorsFile file = load_safetensors(dir.file("m.safetensors"));
  CHECK(file.metadata.at("format") == kModelFormat);
  CHECK(file.metadata.at("vocab") == task_vocab(Task::reverse).serialize());
  // Every field of the config, so PyTorch-side tools can rebuild the model too.
  CHECK(file.metadata.at("config") ==
        R"({"vocab_size":13,"d_model":8,"num_heads":2,"d_ff":16,"num_encoder_layers":1,)"
        R"("num_decoder_layers":2,"max_len":40,"dropout":0.25,"layer_norm_eps":)" +
            json::Value(double(real(1e-5))).dump() + "}");
  REQUIRE(file.tensors.size() == model.named_parameters().size());
  for (std::size_t i = 0; i < file.tensors.size(); ++i)
    CHECK(file.tensors[i].first == model.named_parameters()[i].first);
}

TEST_CASE("checkpoint: count_parameters matches the built model, 236,237 for the standard one") {
  CHECK(count_parameters(TransformerConfig()) == 236237);
  CHECK(count_parameters(tiny_config()) == Seq2SeqTransformer(tiny_config()).num_parameters());
  // By hand for d_model 2, 1 head, ff 3, V 4, 1+1 layers:
  //   embeddings 2·4·2 = 16; encoder layer: attention 3·4+6 + 4+2 = 24, ff 6+3+6+2 = 17,
  //   norms 8 -> 49, + final norm 4; decoder layer: 2·24 + 17 + 12 = 77, + 4; generator 8+4 = 12.
  TransformerConfig small;
  small.vocab_size = 4;
  small.d_model = 2;
  small.num_heads = 1;
  small.d_ff = 3;
  small.num_encoder_layers = small.num_decoder_layers = 1;
  CHECK(count_parameters(small) == 16 + 49 + 4 + 77 + 4 + 12);
  CHECK(count_parameters(small) == Seq2SeqTransformer(small).num_parameters());
}

TEST_CASE("checkpoint: config_from_json reads every field back and refuses bad ones") {
  const TransformerConfig config = tiny_config();
  CHECK(config_to_json(config_from_json(config_to_json(config))) == config_to_json(config));
  const auto with = [&](const std::string& key, const std::string& value) {
    std::string text = config_to_json(config);
    const std::size_t at = text.find("\"" + key + "\":") + key.size() + 3;
    const std::size_t end = text.find_first_of(",}", at);
    return text.substr(0, at) + value + text.substr(end);
  };
  CHECK_THROWS_WITH_AS(config_from_json("{\"d_model\":8"),
                       doctest::Contains("config: not valid JSON"), Error);
  CHECK_THROWS_WITH_AS(config_from_json("[1]"),
                       doctest::Contains("expected a JSON object, got array"), Error);
  CHECK_THROWS_WITH_AS(config_from_json("{}"), doctest::Contains("missing field 'vocab_size'"),
                       Error);
  CHECK_THROWS_WITH_AS(
      config_from_json(with("d_model", "\"8\"")),
      doctest::Contains("d_model must be an integer between 1 and 1048576, got \"8\""), Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("d_ff", "0")),
                       doctest::Contains("d_ff must be an integer"), Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("num_heads", "3")),
                       doctest::Contains("num_heads 3 must divide d_model 8"), Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("dropout", "1")),
                       doctest::Contains("dropout must be in [0, 1), got 1"), Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("layer_norm_eps", "-1")),
                       doctest::Contains("layer_norm_eps must be positive"), Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("vocab_size", "3")),
                       doctest::Contains("vocab_size must be at least 4"), Error);
  TransformerConfig long_table = config;  // 2^20 positions of width 128: 512 MB of floats
  long_table.d_model = 128;
  long_table.max_len = 1 << 20;
  CHECK_THROWS_WITH_AS(
      config_from_json(config_to_json(long_table)),
      doctest::Contains("max_len * d_model = 134217728 is too large for the positional table"),
      Error);
  std::string extra = config_to_json(config);
  extra.insert(1, "\"d_head\":4,");
  CHECK_THROWS_WITH_AS(config_from_json(extra), doctest::Contains("unknown field 'd_head'"), Error);
}

TEST_CASE(
    "checkpoint: save_model refuses a vocab of the wrong size and reserved keys, writing nothing") {
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 1);
  CHECK_THROWS_WITH_AS(save_model(dir.file("m.safetensors"), model, task_vocab(Task::add)),
                       doctest::Contains("the vocab has 14 ids but the model's vocab_size is 13"),
                       Error);
  CHECK_THROWS_WITH_AS(
      save_model(dir.file("m.safetensors"), model, task_vocab(Task::reverse), {{"config", "x"}}),
      doctest::Contains("metadata key 'config' is reserved"), Error);
  CHECK(dir.listing().empty());
}

TEST_CASE("checkpoint: each corrupt or mismatched checkpoint is a clear error naming the problem") {
  TempDir dir;
  const Parts valid = valid_parts(dir);
  const std::string path = dir.file("bad.safetensors");
  const auto load_with = [&](const Parts& parts) {
    save_safetensors(path, parts.tensors, parts.metadata);
    return load_model(path);
  };
  SUBCASE("a missing file") {
    CHECK_THROWS_WITH_AS(load_model(dir.file("nope.safetensors")),
                         doctest::Contains("load_model: load_safetensors: cannot open"), Error);
  }
  SUBCASE("a truncated file") {
    const std::string bytes = read_file(dir.file("valid.safetensors"));
    testing::write_file(path, bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("load_model: "), Error);
    CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains(path.c_str()), Error);
  }
  Parts parts = valid;
  SUBCASE("a safetensors file that is not a crossgrad model") {
    parts.metadata.erase("format");
    CHECK_THROWS_WITH_AS(load_with(parts), doctest::Contains("missing metadata key 'format'"),
                         Error);
  }
  SUBCASE("another format version") {
    parts.metadata["format"] = "crossgrad-seq2seq 2";
    CHECK_THROWS_WITH_AS(
        load_with(parts),
        doctest::Contains("'format' is 'crossgrad-seq2seq 2', expected 'crossgrad-seq2seq 1'"),
        Error);
  }
  SUBCASE("no config") {
    parts.metadata.erase("config");
    CHECK_THROWS_WITH_AS(load_with(parts), doctest::Contains("missing metadata key 'config'"),
                         Error);
  }
  SUBCASE("a config that is not JSON") {
    parts.metadata["config"] = "d_model=8";
    CHECK_THROWS_WITH_AS(load_with(parts), doctest::Contains("metadata 'config': not valid JSON"),
                         Error);
  }
  SUBCASE("a config out of range") {
    parts.metadata["config"] =
        config_to_json(tiny_config())
            .replace(config_to_json(tiny_config()).find("\"num_heads\":2"), 13, "\"num_heads\":0");
    CHECK_THROWS_WITH_AS(load_with(parts),
                         doctest::Contains("num_heads must be an integer between 1"), Error);
  }
  SUBCASE("a broken vocab") {
    parts.metadata["vocab"] = "hello";
    CHECK_THROWS_WITH_AS(load_with(parts),
                         doctest::Contains("metadata 'vocab': Vocab::deserialize"), Error);
  }
  SUBCASE("a vocab whose size is not the embedding's") {
    parts.metadata["vocab"] = task_vocab(Task::add).serialize();
    CHECK_THROWS_WITH_AS(load_with(parts),
                         doctest::Contains("the vocab has 14 ids but config.vocab_size is 13"),
                         Error);
  }
  SUBCASE("a config that does not describe the weights") {
    TransformerConfig wider = tiny_config();
    wider.d_model = 16;
    parts.metadata["config"] = config_to_json(wider);
    CHECK_THROWS_WITH_AS(
        load_with(parts),
        doctest::Contains(("the config implies " + std::to_string(count_parameters(wider)) +
                           " parameters but the file holds " +
                           std::to_string(count_parameters(tiny_config())) + " values")
                              .c_str()),
        Error);
  }
  SUBCASE("a renamed tensor") {
    parts.tensors.back().first = "generator.b";
    CHECK_THROWS_WITH_AS(
        load_with(parts),
        doctest::Contains("missing from the checkpoint: generator.bias; unexpected in the "
                          "checkpoint: generator.b"),
        Error);
  }
  SUBCASE("a tensor of the right size but the wrong shape") {
    for (auto& [name, tensor] : parts.tensors)
      if (name == "transformer.encoder.layers.0.linear1.weight") tensor = Tensor::zeros({8, 16});
    CHECK_THROWS_WITH_AS(
        load_with(parts),
        doctest::Contains("transformer.encoder.layers.0.linear1.weight: checkpoint has "
                          "shape (8,16), model expects (16,8)"),
        Error);
  }
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

TEST_CASE("checkpoint: write_file_atomically replaces a file whole and leaves nothing on failure") {
  TempDir dir;
  const std::string path = dir.file("out.csv");
  write_file_atomically(path, "old\n");
  write_file_atomically(path, "step,loss\n1,2.5\n");
  CHECK(read_file(path) == "step,loss\n1,2.5\n");
  CHECK(dir.listing() == std::vector<std::string>{"out.csv"});
  CHECK_THROWS_WITH_AS(write_file_atomically(dir.file("no/such/dir/x.csv"), "x"),
                       doctest::Contains("write_file_atomically: cannot create"), Error);
  CHECK(dir.listing() == std::vector<std::string>{"out.csv"});
}
