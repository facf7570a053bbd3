// checkpoint.cpp — model checkpoints and training state (see checkpoint.h). Loading checks
// the metadata and the sizes it implies before building a model, so a corrupt or hostile
// file fails with a message instead of a huge allocation.
#include "nn/checkpoint.h"

#include <cmath>
#include <utility>

#include "nn/json.h"

namespace crossgrad::nn {

namespace {

constexpr const char* kStateFormat = "crossgrad-training-state 1";
// Any one size above this is corruption, not a toy transformer; it also keeps the
// parameter-count arithmetic far from overflow.
constexpr std::int64_t kMaxSize = 1 << 20;
constexpr std::size_t kMaxPositionTable = std::size_t(1) << 26;  // max_len * d_model values

bool is_reserved_model_key(const std::string& key) {
  return key == "format" || key == "config" || key == "vocab";
}

// The value under key, or an error naming the missing key.
const std::string& required(const Metadata& metadata, const std::string& key,
                            const std::string& where) {
  const auto found = metadata.find(key);
  if (found == metadata.end()) fail(where + "missing metadata key '" + key + "'");
  return found->second;
}

// The safetensors file at path, whose metadata says it is `format`. A load error is
// prefixed with "<op>: " (it names the path already); the rest with `where`.
SafetensorsFile load_file_of_format(const std::string& path, const std::string& format,
                                    const std::string& op, const std::string& where) {
  SafetensorsFile file = [&] {
    try {
      return load_safetensors(path);
    } catch (const Error& error) {
      fail(op + ": " + error.what());
    }
  }();
  const std::string& found = required(file.metadata, "format", where);
  if (found != format)
    fail(where + "metadata 'format' is '" + found + "', expected '" + format + "'");
  return file;
}

// A decimal count as written by std::to_string: digits only, no sign, no overflow.
std::int64_t parse_count(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    fail(what + " must be a non-negative integer, got '" + text + "'");
  return std::stoll(text);
}

// Sizes of the integer fields, in the order they are written.
struct SizeField {
  const char* name;
  std::size_t TransformerConfig::*member;
};
constexpr SizeField kSizeFields[] = {
    {"vocab_size", &TransformerConfig::vocab_size},
    {"d_model", &TransformerConfig::d_model},
    {"num_heads", &TransformerConfig::num_heads},
    {"d_ff", &TransformerConfig::d_ff},
    {"num_encoder_layers", &TransformerConfig::num_encoder_layers},
    {"num_decoder_layers", &TransformerConfig::num_decoder_layers},
    {"max_len", &TransformerConfig::max_len},
};

}  // namespace

// --- Config ---

void validate_config(const TransformerConfig& c, const std::string& where) {
  const std::string prefix = where + ": ";
  for (const SizeField& field : kSizeFields) {
    const std::size_t value = c.*field.member;
    if (value < 1 || value > std::size_t(kMaxSize))
      fail(prefix + field.name + " must be between 1 and " + std::to_string(kMaxSize) + ", got " +
           std::to_string(value));
  }
  if (c.vocab_size < 4)
    fail(prefix + "vocab_size must be at least 4 (PAD, BOS, EOS and one symbol), got " +
         std::to_string(c.vocab_size));
  if (c.d_model % c.num_heads != 0)
    fail(prefix + "num_heads " + std::to_string(c.num_heads) + " must divide d_model " +
         std::to_string(c.d_model));
  if (c.max_len * c.d_model > kMaxPositionTable)
    fail(prefix + "max_len * d_model = " + std::to_string(c.max_len * c.d_model) +
         " is too large for the positional table (at most " + std::to_string(kMaxPositionTable) +
         ")");
  if (!(c.dropout >= 0 && c.dropout < 1))
    fail(prefix + "dropout must be in [0, 1), got " + std::to_string(double(c.dropout)));
  if (!(c.layer_norm_eps > 0 && std::isfinite(double(c.layer_norm_eps))))
    fail(prefix + "layer_norm_eps must be positive and finite, got " +
         std::to_string(double(c.layer_norm_eps)));
}

std::size_t count_parameters(const TransformerConfig& c) {
  const std::size_t D = c.d_model, F = c.d_ff, V = c.vocab_size;
  const std::size_t attention = 3 * D * D + 3 * D + D * D + D;  // in_proj, out_proj
  const std::size_t feed_forward = F * D + F + D * F + D;       // linear1, linear2
  const std::size_t norm = 2 * D;                               // weight and bias
  const std::size_t encoder_layer = attention + feed_forward + 2 * norm;
  const std::size_t decoder_layer = 2 * attention + feed_forward + 3 * norm;
  return 2 * V * D                                      // src_embed, tgt_embed
         + c.num_encoder_layers * encoder_layer + norm  // encoder and its final norm
         + c.num_decoder_layers * decoder_layer + norm  // decoder and its final norm
         + V * D + V;                                   // generator
}

std::string config_to_json(const TransformerConfig& config) {
  json::Value object = json::Value::object();
  for (const SizeField& field : kSizeFields) object.set(field.name, config.*field.member);
  object.set("dropout", double(config.dropout));
  object.set("layer_norm_eps", double(config.layer_norm_eps));
  return object.dump();
}

TransformerConfig config_from_json(const std::string& text, const std::string& where) {
  const json::Value value = [&] {
    try {
      return json::parse(text);
    } catch (const Error& error) {
      fail(where + ": not valid JSON: " + error.what());
    }
  }();
  if (!value.is_object()) fail(where + ": expected a JSON object, got " + value.type_name());
  TransformerConfig config;
  std::size_t known = 0;
  const auto field = [&](const char* name) -> const json::Value& {
    const json::Value* found = value.find(name);
    if (!found) fail(where + ": missing field '" + name + "'");
    ++known;
    return *found;
  };
  for (const SizeField& size : kSizeFields) {
    const json::Value& v = field(size.name);
    if (!v.is_integer() || v.as_integer() < 1 || v.as_integer() > kMaxSize)
      fail(where + ": " + size.name + " must be an integer between 1 and " +
           std::to_string(kMaxSize) + ", got " + v.dump());
    config.*size.member = std::size_t(v.as_integer());
  }
  for (auto [name, member] : {std::pair{"dropout", &TransformerConfig::dropout},
                              std::pair{"layer_norm_eps", &TransformerConfig::layer_norm_eps}}) {
    const json::Value& v = field(name);
    if (v.type() != json::Value::Type::number && !v.is_integer())
      fail(where + ": " + name + " must be a number, got " + v.dump());
    config.*member = static_cast<real>(v.as_number());
  }
  if (known != value.as_object().size())  // every key is unique (the parser checks), so extra
    for (const auto& member : value.as_object()) {
      bool is_known = member.first == "dropout" || member.first == "layer_norm_eps";
      for (const SizeField& size : kSizeFields) is_known = is_known || member.first == size.name;
      if (!is_known) fail(where + ": unknown field '" + member.first + "'");
    }
  validate_config(config, where);
  return config;
}

// --- Model checkpoints ---

void save_model(const std::string& path, const Seq2SeqTransformer& model, const Vocab& vocab,
                const Metadata& extra, Dtype dtype) {
  const std::string where = "save_model: '" + path + "': ";
  if (vocab.size() != model.config().vocab_size)
    fail(where + "the vocab has " + std::to_string(vocab.size()) + " ids but the model's " +
         "vocab_size is " + std::to_string(model.config().vocab_size));
  Metadata metadata = extra;
  for (const auto& entry : extra)
    if (is_reserved_model_key(entry.first))
      fail(where + "metadata key '" + entry.first + "' is reserved (format, config, vocab)");
  metadata["format"] = kModelFormat;
  metadata["config"] = config_to_json(model.config());
  metadata["vocab"] = vocab.serialize();
  save_safetensors(path, model.named_parameters(), metadata, dtype);
}

LoadedModel load_model(const std::string& path) {
  const std::string where = "load_model: '" + path + "': ";
  SafetensorsFile file = load_file_of_format(path, kModelFormat, "load_model", where);
  const TransformerConfig config =
      config_from_json(required(file.metadata, "config", where), where + "metadata 'config'");
  const Vocab vocab = [&] {
    try {
      return Vocab::deserialize(required(file.metadata, "vocab", where));
    } catch (const Error& error) {
      fail(where + "metadata 'vocab': " + error.what());
    }
  }();
  if (vocab.size() != config.vocab_size)
    fail(where + "the vocab has " + std::to_string(vocab.size()) +
         " ids but config.vocab_size is " + std::to_string(config.vocab_size));
  std::size_t stored = 0;
  for (const auto& entry : file.tensors) stored += entry.second.numel();
  if (stored != count_parameters(config))
    fail(where + "the config implies " + std::to_string(count_parameters(config)) +
         " parameters but the file holds " + std::to_string(stored) + " values");

  auto model = std::make_unique<Seq2SeqTransformer>(config);
  try {
    load_into(model->named_parameters(), file.tensors, /*strict=*/true);
  } catch (const Error& error) {
    fail(where + error.what());
  }
  model->eval();
  Metadata metadata = std::move(file.metadata);
  for (const char* key : {"format", "config", "vocab"}) metadata.erase(key);
  return LoadedModel{std::move(model), vocab, std::move(metadata)};
}

// --- Training state ---

void save_training_state(const std::string& path, const TrainingState& state) {
  NamedTensors tensors;
  for (const auto& [name, tensor] : state.optimizer)
    tensors.emplace_back("optimizer." + name, tensor);
  for (const auto& [name, tensor] : state.history) tensors.emplace_back("history." + name, tensor);
  Metadata metadata = {{"format", kStateFormat},
                       {"step", std::to_string(state.step)},
                       {"data_generator", state.data_generator},
                       {"dropout_generator", state.dropout_generator},
                       {"batch_position", state.batch_position}};
  for (const auto& [key, value] : state.settings) metadata["setting." + key] = value;
  save_safetensors(path, tensors, metadata, kRealDtype);
}

TrainingState load_training_state(const std::string& path) {
  const std::string where = "load_training_state: '" + path + "': ";
  SafetensorsFile file = load_file_of_format(path, kStateFormat, "load_training_state", where);
  TrainingState state;
  state.step = parse_count(required(file.metadata, "step", where), where + "metadata 'step'");
  state.data_generator = required(file.metadata, "data_generator", where);
  state.dropout_generator = required(file.metadata, "dropout_generator", where);
  state.batch_position = required(file.metadata, "batch_position", where);
  for (const std::string* text : {&state.data_generator, &state.dropout_generator}) {
    if (text->empty() && text == &state.data_generator) continue;
    try {
      Generator().set_state(*text);
    } catch (const Error& error) {
      fail(where + (text == &state.data_generator ? "data_generator: " : "dropout_generator: ") +
           error.what());
    }
  }
  const std::string setting = "setting.";
  for (const auto& [key, value] : file.metadata)
    if (key.compare(0, setting.size(), setting) == 0)
      state.settings[key.substr(setting.size())] = value;
  for (auto& [name, tensor] : file.tensors) {
    if (name.compare(0, 10, "optimizer.") == 0)
      state.optimizer.emplace_back(name.substr(10), std::move(tensor));
    else if (name.compare(0, 8, "history.") == 0)
      state.history.emplace_back(name.substr(8), std::move(tensor));
    else
      fail(where + "unexpected tensor '" + name + "' (expected optimizer.* or history.*)");
  }
  return state;
}

// --- Files ---

std::string companion_path(const std::string& checkpoint_path, const std::string& suffix) {
  const std::string extension = ".safetensors";
  const std::size_t n = checkpoint_path.size(), e = extension.size();
  const bool strip = n > e && checkpoint_path.compare(n - e, e, extension) == 0 &&
                     checkpoint_path[n - e - 1] != '/';
  return (strip ? checkpoint_path.substr(0, n - e) : checkpoint_path) + suffix;
}

}  // namespace crossgrad::nn
