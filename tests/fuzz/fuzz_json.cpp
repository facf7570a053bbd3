// fuzz_json.cpp — nn/io/json.h's parser on arbitrary text (a safetensors header, the model's
// config in the checkpoint metadata). A value it accepts must write back (dump) to text that
// parses to the same value; the model config parser on the same text either gives a config
// that validates or throws.
#include "fuzzing.h"
#include "nn/io/json.h"
#include "nn/model_checkpoint.h"

using namespace crossgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const json::Value value = json::parse(text);
    const std::string written = value.dump();
    fuzzing::require(json::parse(written) == value, "json: parse(dump(v)) != v");
    fuzzing::require(json::parse(written).dump() == written, "json: dump is not stable");
  } catch (const Error&) {
  }
  try {
    const nn::TransformerConfig config = nn::config_from_json(text);
    nn::validate_config(config);  // config_from_json promises a valid config
    fuzzing::require(nn::config_from_json(nn::config_to_json(config)).d_model == config.d_model,
                     "config: from_json(to_json(c)) differs");
  } catch (const Error&) {
  }
  return 0;
}
