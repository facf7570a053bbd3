// Tests for nn/model_checkpoint.cpp: a model round-trips bit for bit with its config and the
// caller's metadata; the file reads like PyTorch's state_dict; the config's JSON, with the
// special ids optional so that checkpoints saved before them still load; each kind of corrupt
// or mismatched file is an error that says what is wrong. The vocabulary and training state
// on top are tested in test_checkpoint.cpp, resuming a whole run in test_trainer.cpp.
#include <map>

#include "nn/io/json.h"
#include "nn/model_checkpoint.h"
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
  save_model(dir.file("valid.safetensors"), model, {{"step", "7"}});
  const SafetensorsFile file = load_safetensors(dir.file("valid.safetensors"));
  return {file.tensors, file.metadata};
}

}  // namespace

TEST_CASE("model_checkpoint: a model round-trips bit for bit with its config and metadata") {
  TempDir dir;
  TransformerConfig config = tiny_config();
  config.pad_id = 12;  // the special ids travel with the config
  config.bos_id = 0;
  config.eos_id = 5;
  Seq2SeqTransformer model(config, 11);
  save_model(dir.file("m.safetensors"), model, {{"vocab", "opaque text"}, {"step", "42"}},
             kRealDtype);
  CHECK(dir.listing() == std::vector<std::string>{"m.safetensors"});  // no temporary left

  const LoadedModel loaded = load_model(dir.file("m.safetensors"));
  CHECK(config_to_json(loaded.model->config()) == config_to_json(model.config()));
  CHECK(loaded.model->config().dropout == real(0.25));
  CHECK(loaded.model->config().pad_id == 12);
  CHECK(loaded.model->config().bos_id == 0);
  CHECK(loaded.model->config().eos_id == 5);
  // The caller's metadata, untouched; format and config are removed.
  CHECK(loaded.metadata == Metadata{{"step", "42"}, {"vocab", "opaque text"}});
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
    "model_checkpoint: the file holds PyTorch's state_dict names in F32 and a self-describing "
    "header") {
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 1);
  save_model(dir.file("m.safetensors"), model);
  const std::string bytes = read_file(dir.file("m.safetensors"));
  CHECK(bytes.find(R"("src_embed.weight":{"dtype":"F32","shape":[13,8])") != std::string::npos);
  CHECK(
      bytes.find(
          R"("transformer.decoder.layers.1.multihead_attn.in_proj_weight":{"dtype":"F32","shape":[24,8])") !=
      std::string::npos);
  const SafetensorsFile file = load_safetensors(dir.file("m.safetensors"));
  CHECK(file.metadata.size() == 2);
  CHECK(file.metadata.at("format") == kModelFormat);
  // Every field of the config, so PyTorch-side tools can rebuild the model too.
  CHECK(file.metadata.at("config") ==
        R"({"vocab_size":13,"d_model":8,"num_heads":2,"d_ff":16,"num_encoder_layers":1,)"
        R"("num_decoder_layers":2,"max_len":40,"dropout":0.25,"layer_norm_eps":)" +
            json::Value(double(real(1e-5))).dump() + R"(,"pad_id":0,"bos_id":1,"eos_id":2})");
  REQUIRE(file.tensors.size() == model.named_parameters().size());
  for (std::size_t i = 0; i < file.tensors.size(); ++i)
    CHECK(file.tensors[i].first == model.named_parameters()[i].first);
}

TEST_CASE("model_checkpoint: count_parameters matches the built model, 236,237 for the standard") {
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

TEST_CASE("model_checkpoint: config_from_json reads every field back and refuses bad ones") {
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
  CHECK_THROWS_WITH_AS(config_from_json(with("eos_id", "13")),
                       doctest::Contains("eos_id must lie in the vocabulary [0, 13), got 13"),
                       Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("pad_id", "-1")),
                       doctest::Contains("pad_id must be an integer between 0 and"), Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("bos_id", "2.5")),
                       doctest::Contains("bos_id must be an integer"), Error);
  CHECK_THROWS_WITH_AS(config_from_json(with("bos_id", "0")),
                       doctest::Contains("pad_id, bos_id and eos_id must differ, got 0, 0 and 2"),
                       Error);
}

TEST_CASE("model_checkpoint: a config without the special ids is one saved before them: 0, 1, 2") {
  // Exactly what checkpoints held before the special ids were configurable.
  const std::string before =
      R"({"vocab_size":13,"d_model":64,"num_heads":4,"d_ff":256,"num_encoder_layers":2,)"
      R"("num_decoder_layers":2,"max_len":512,"dropout":0,"layer_norm_eps":9.999999747378752e-06})";
  const TransformerConfig config = config_from_json(before);
  CHECK(config.pad_id == 0);
  CHECK(config.bos_id == 1);
  CHECK(config.eos_id == 2);
  CHECK(config.d_model == 64);
  // One id alone is read, the others keep their defaults.
  std::string only_eos = before;
  only_eos.insert(only_eos.size() - 1, R"(,"eos_id":12)");
  CHECK(config_from_json(only_eos).eos_id == 12);
  CHECK(config_from_json(only_eos).pad_id == 0);

  // A whole file written that way loads, weights and all.
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 5);
  std::string old_config = config_to_json(model.config());
  old_config = old_config.substr(0, old_config.find(R"(,"pad_id")")) + "}";
  save_safetensors(dir.file("old.safetensors"), model.named_parameters(),
                   {{"format", kModelFormat}, {"config", old_config}, {"step", "30"}},
                   kRealDtype);
  const LoadedModel loaded = load_model(dir.file("old.safetensors"));
  CHECK(config_to_json(loaded.model->config()) == config_to_json(model.config()));
  CHECK(loaded.metadata == Metadata{{"step", "30"}});
  const NamedTensors original = model.named_parameters(),
                     restored = loaded.model->named_parameters();
  for (std::size_t i = 0; i < original.size(); ++i)
    CHECK(same_bits(restored[i].second, original[i].second));
}

TEST_CASE("model_checkpoint: save_model refuses reserved metadata keys, writing nothing") {
  TempDir dir;
  Seq2SeqTransformer model(tiny_config(), 1);
  CHECK_THROWS_WITH_AS(save_model(dir.file("m.safetensors"), model, {{"config", "x"}}),
                       doctest::Contains("metadata key 'config' is reserved"), Error);
  CHECK_THROWS_WITH_AS(save_model(dir.file("m.safetensors"), model, {{"format", "x"}}),
                       doctest::Contains("metadata key 'format' is reserved"), Error);
  CHECK(dir.listing().empty());
}

TEST_CASE("model_checkpoint: each corrupt or mismatched file is a clear error naming the problem") {
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


TEST_CASE("model_checkpoint: weights that are NaN or infinite are refused, saved or loaded") {
  // A diverged model computes NaN everywhere; loading it silently would decode garbage.
  TempDir dir;
  const Parts valid = valid_parts(dir);
  const std::string path = dir.file("bad.safetensors");
  const struct {
    real value;
    const char* shown;
  } cases[] = {{real(NAN), "NaN"}, {real(INFINITY), "inf"}, {-real(INFINITY), "-inf"}};
  for (const auto& bad : cases) {
    CAPTURE(bad.shown);
    Parts parts = valid;
    Tensor& weight = parts.tensors[2].second;
    weight = Tensor::from(weight.values(), weight.shape());  // a copy, changed below
    weight.mutable_data()[3] = bad.value;
    save_safetensors(path, parts.tensors, parts.metadata);
    CHECK_THROWS_WITH_AS(load_model(path),
                         doctest::Contains(("load_model: '" + path + "': tensor '" +
                                            parts.tensors[2].first + "' holds " + bad.shown +
                                            " at element 3 of shape " + to_string(weight.shape()))
                                               .c_str()),
                         Error);

    Seq2SeqTransformer model(tiny_config(), 1);
    model.named_parameters()[2].second.mutable_data()[3] = bad.value;
    CHECK_THROWS_WITH_AS(save_model(dir.file("diverged.safetensors"), model),
                         doctest::Contains(("holds " + std::string(bad.shown) + " at element 3").c_str()),
                         Error);
    CHECK_THROWS_WITH_AS(serialize_model(model), doctest::Contains("non-finite weights"), Error);
    CHECK_FALSE(std::filesystem::exists(dir.file("diverged.safetensors")));
  }
}
