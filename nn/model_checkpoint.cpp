// model_checkpoint.cpp — model files (see model_checkpoint.h). Loading checks the metadata
// and the sizes it implies before building a model, so a corrupt or hostile file fails with
// a message instead of a huge allocation.
#include "nn/model_checkpoint.h"

#include <cmath>
#include <utility>

#include "nn/io/json.h"

namespace crossgrad::nn {

namespace {

// Any one size above this is corruption, not a toy transformer; it also keeps the
// parameter-count arithmetic far from overflow.
constexpr std::int64_t kMaxSize = 1 << 20;
constexpr std::size_t kMaxPositionTable = std::size_t(1) << 26;  // max_len * d_model values

bool is_reserved_model_key(const std::string& key) { return key == "format" || key == "config"; }

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

// The special ids, written after the other fields. Checkpoints saved before they were
// configurable lack them, and were trained with PAD 0, BOS 1, EOS 2: an absent id keeps
// TransformerConfig's default, which is that id, so every such checkpoint still loads.
struct IdField {
  const char* name;
  std::int64_t TransformerConfig::*member;
};
constexpr IdField kIdFields[] = {
    {"pad_id", &TransformerConfig::pad_id},
    {"bos_id", &TransformerConfig::bos_id},
    {"eos_id", &TransformerConfig::eos_id},
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
  for (const IdField& field : kIdFields) {
    const std::int64_t id = c.*field.member;
    if (id < 0 || std::uint64_t(id) >= c.vocab_size)
      fail(prefix + field.name + " must lie in the vocabulary [0, " +
           std::to_string(c.vocab_size) + "), got " + std::to_string(id));
  }
  if (c.pad_id == c.bos_id || c.pad_id == c.eos_id || c.bos_id == c.eos_id)
    fail(prefix + "pad_id, bos_id and eos_id must differ, got " + std::to_string(c.pad_id) +
         ", " + std::to_string(c.bos_id) + " and " + std::to_string(c.eos_id));
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
  for (const IdField& field : kIdFields) object.set(field.name, config.*field.member);
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
  for (const IdField& id : kIdFields) {
    const json::Value* v = value.find(id.name);
    if (!v) continue;  // a checkpoint from before the ids were configurable: the default
    ++known;
    if (!v->is_integer() || v->as_integer() < 0 || v->as_integer() > kMaxSize)
      fail(where + ": " + id.name + " must be an integer between 0 and " +
           std::to_string(kMaxSize) + ", got " + v->dump());
    config.*id.member = v->as_integer();
  }
  if (known != value.as_object().size())  // every key is unique (the parser checks), so extra
    for (const auto& member : value.as_object()) {
      bool is_known = member.first == "dropout" || member.first == "layer_norm_eps";
      for (const SizeField& size : kSizeFields) is_known = is_known || member.first == size.name;
      for (const IdField& id : kIdFields) is_known = is_known || member.first == id.name;
      if (!is_known) fail(where + ": unknown field '" + member.first + "'");
    }
  validate_config(config, where);
  return config;
}

// --- Model files ---

namespace {

// The caller's metadata with the format and the config added; refuses reserved keys.
Metadata model_metadata(const std::string& where, const Seq2SeqTransformer& model,
                        const Metadata& metadata) {
  for (const auto& entry : metadata)
    if (is_reserved_model_key(entry.first))
      fail(where + "metadata key '" + entry.first + "' is reserved (format, config)");
  Metadata all = metadata;
  all["format"] = kModelFormat;
  all["config"] = config_to_json(model.config());
  return all;
}

// A weight that is NaN or infinite makes every output NaN (or garbage picked from NaN
// scores), so a model holding one is refused where it is written and where it is read,
// naming the first such tensor and element.
void check_finite_weights(const NamedTensors& tensors, const std::string& where) {
  for (const auto& [name, tensor] : tensors) {
    const real* values = tensor.data();
    for (std::size_t i = 0; i < tensor.numel(); ++i)
      if (!std::isfinite(values[i]))
        fail(where + "tensor '" + name + "' holds " +
             (std::isnan(values[i]) ? "NaN" : values[i] > 0 ? "inf" : "-inf") + " at element " +
             std::to_string(i) + " of shape " + to_string(tensor.shape()) +
             ": a model with non-finite weights computes nothing meaningful (the run that "
             "saved it diverged; retrain it, or use an earlier checkpoint)");
  }
}

}  // namespace

void save_model(const std::string& path, const Seq2SeqTransformer& model,
                const Metadata& metadata, Dtype dtype) {
  const std::string where = "save_model: '" + path + "': ";
  const Metadata all = model_metadata(where, model, metadata);
  check_finite_weights(model.named_parameters(), where);
  save_safetensors(path, model.named_parameters(), all, dtype);
}

std::string serialize_model(const Seq2SeqTransformer& model, const Metadata& metadata,
                            Dtype dtype) {
  const Metadata all = model_metadata("serialize_model: ", model, metadata);
  check_finite_weights(model.named_parameters(), "serialize_model: ");
  return serialize_safetensors(model.named_parameters(), all, dtype);
}

LoadedModel load_model(const std::string& path) {
  const std::string where = "load_model: '" + path + "': ";
  SafetensorsFile file = load_file_of_format(path, kModelFormat, "load_model", where);
  const TransformerConfig config = config_from_json(
      required_metadata(file.metadata, "config", where), where + "metadata 'config'");
  std::size_t stored = 0;
  for (const auto& entry : file.tensors) stored += entry.second.numel();
  if (stored != count_parameters(config))
    fail(where + "the config implies " + std::to_string(count_parameters(config)) +
         " parameters but the file holds " + std::to_string(stored) + " values");
  check_finite_weights(file.tensors, where);

  auto model = std::make_unique<Seq2SeqTransformer>(config);
  try {
    load_into(model->named_parameters(), file.tensors, /*strict=*/true);
  } catch (const Error& error) {
    fail(where + error.what());
  }
  model->eval();
  Metadata metadata = std::move(file.metadata);
  for (const char* key : {"format", "config"}) metadata.erase(key);
  return LoadedModel{std::move(model), std::move(metadata)};
}

// --- Files with a format key ---

const std::string& required_metadata(const Metadata& metadata, const std::string& key,
                                     const std::string& where) {
  const auto found = metadata.find(key);
  if (found == metadata.end()) fail(where + "missing metadata key '" + key + "'");
  return found->second;
}

SafetensorsFile load_file_of_format(const std::string& path, const std::string& format,
                                    const std::string& op, const std::string& where) {
  SafetensorsFile file = [&] {
    try {
      return load_safetensors(path);
    } catch (const Error& error) {
      fail(op + ": " + error.what());
    }
  }();
  const std::string& found = required_metadata(file.metadata, "format", where);
  if (found != format)
    fail(where + "metadata 'format' is '" + found + "', expected '" + format + "'");
  return file;
}

}  // namespace crossgrad::nn
