// model_checkpoint.h — a model on disk, self-describing: the weights under the reference's
// state_dict names (nn/io/safetensors.h), and in "__metadata__" the TransformerConfig as JSON
// plus whatever string metadata the caller adds (a vocabulary, a task, a step: opaque here),
// so `load_model(path)` rebuilds the model from the file alone. Vocabularies and training
// state belong to the application (examples/training/checkpoint.h).
// Read next: examples/training/checkpoint.h (the application's checkpoint on top).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "nn/io/safetensors.h"
#include "nn/transformer.h"

namespace crossgrad::nn {

using Metadata = std::map<std::string, std::string>;

// Metadata keys written by save_model; caller metadata may not use them:
//   "format"  "crossgrad-seq2seq 1"
//   "config"  the TransformerConfig as JSON, every field: {"vocab_size":13,"d_model":64,...}
inline constexpr const char* kModelFormat = "crossgrad-seq2seq 1";

// Writes the model's named_parameters() (PyTorch loads them with strict=True) atomically.
// F32 is PyTorch's dtype and exact in the float32 build; the float64 build passes
// kRealDtype where it needs a bit-exact file. Throws if `metadata` uses a reserved key or a
// weight is NaN or infinite (load_model would refuse the file).
void save_model(const std::string& path, const Seq2SeqTransformer& model,
                const Metadata& metadata = {}, Dtype dtype = Dtype::F32);
// The bytes save_model writes, for a file saved together with others
// (nn/io/atomic_file.h's write_files_atomically).
std::string serialize_model(const Seq2SeqTransformer& model, const Metadata& metadata = {},
                            Dtype dtype = Dtype::F32);

struct LoadedModel {
  std::unique_ptr<Seq2SeqTransformer> model;  // in eval mode, built from the saved config
  Metadata metadata;                          // the caller's metadata (reserved keys removed)
};

// Validates everything before building anything: the file (load_safetensors), the format
// key, the config (every field present, integral, in range), that the tensor count and
// sizes are what the config implies, that every weight is finite (a NaN or inf is refused,
// naming the tensor: such a model computes nothing meaningful); then copies the weights
// strictly by name and shape (load_into). Every error starts with "load_model: '<path>': ".
LoadedModel load_model(const std::string& path);

// The config as the JSON text stored under "config", and back (no unknown fields, each value
// in range; `where` prefixes errors). Every field is required except the special ids, which
// checkpoints saved before they were configurable lack: absent, they are 0, 1 and 2, the ids
// those checkpoints were trained with.
std::string config_to_json(const TransformerConfig& config);
TransformerConfig config_from_json(const std::string& text, const std::string& where = "config");
// Range checks shared with the command line: every size >= 1 (layers too), num_heads
// divides d_model, 0 <= dropout < 1, eps > 0, sizes small enough to allocate, and distinct
// special ids inside the vocabulary.
void validate_config(const TransformerConfig& config, const std::string& where = "config");
// The number of parameters the model of `config` has (236,237 for the standard model).
std::size_t count_parameters(const TransformerConfig& config);

// --- For any file built on safetensors with a "format" key (this one, an application's) ---
// The file at path, whose metadata says it is `format`. A load error is prefixed with
// "<op>: " (it names the path already); the rest with `where`.
SafetensorsFile load_file_of_format(const std::string& path, const std::string& format,
                                    const std::string& op, const std::string& where);
// metadata[key], or an error "<where>missing metadata key '<key>'".
const std::string& required_metadata(const Metadata& metadata, const std::string& key,
                                     const std::string& where);

}  // namespace crossgrad::nn
