// checkpoint.h — a trained model on disk, self-describing: the weights under the reference's
// state_dict names (nn/safetensors.h), and in "__metadata__" the TransformerConfig, the
// vocabulary and whatever the caller adds (task, step, ...), so `load_model(path)` needs
// nothing else. A training run also writes a second file, the training state: optimizer
// moments, step, random generator states and data position, enough to resume bit-identically.
// Read next: nn/trainer.h (who writes both), examples/predict.cpp (who reads the first).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "data/vocab.h"
#include "nn/atomic_file.h"  // write_file_atomically, for the files a run writes beside it
#include "nn/safetensors.h"
#include "nn/transformer.h"

namespace crossgrad::nn {

using Metadata = std::map<std::string, std::string>;

// --- Model checkpoints ---
// Metadata keys written by save_model; caller metadata may not use them:
//   "format"  "crossgrad-seq2seq 1"
//   "config"  the TransformerConfig as JSON, every field: {"vocab_size":13,"d_model":64,...}
//   "vocab"   Vocab::serialize()
inline constexpr const char* kModelFormat = "crossgrad-seq2seq 1";

// Writes the model's named_parameters() (PyTorch loads them with strict=True) atomically.
// F32 is PyTorch's dtype and exact in the float32 build; the float64 build passes
// kRealDtype where it needs a bit-exact file. Throws if the vocab's size differs from
// config().vocab_size or `extra` uses a reserved key.
void save_model(const std::string& path, const Seq2SeqTransformer& model, const Vocab& vocab,
                const Metadata& extra = {}, Dtype dtype = Dtype::F32);

struct LoadedModel {
  std::unique_ptr<Seq2SeqTransformer> model;  // in eval mode, built from the saved config
  Vocab vocab;
  Metadata metadata;  // the caller's extra metadata (the reserved keys removed)
};

// Validates everything before building anything: the file (load_safetensors), the format
// key, the config (every field present, integral, in range), the vocab, that the vocab size
// equals config.vocab_size, that the tensor count and sizes are what the config implies;
// then copies the weights strictly by name and shape (load_into). Every error starts with
// "load_model: '<path>': ".
LoadedModel load_model(const std::string& path);

// The config as the JSON text stored under "config", and back (every field required, no
// unknown fields, each value in range; `where` prefixes errors).
std::string config_to_json(const TransformerConfig& config);
TransformerConfig config_from_json(const std::string& text, const std::string& where = "config");
// Range checks shared with the command line: every size >= 1 (layers too), num_heads
// divides d_model, 0 <= dropout < 1, eps > 0, and sizes small enough to allocate.
void validate_config(const TransformerConfig& config, const std::string& where = "config");
// The number of parameters the model of `config` has (236,237 for the standard model).
std::size_t count_parameters(const TransformerConfig& config);

// --- Training state (for --resume) ---
// Saved beside the model under training_state_path(path). The step is stored in both files,
// so a model and a state from different saves are told apart. Everything a run needs to
// continue exactly where it stopped, and nothing it can recompute (the schedule's lr is a
// pure function of the step and the settings).
struct TrainingState {
  std::int64_t step = 0;          // updates done
  NamedTensors optimizer;         // Optimizer::state_dict()
  NamedTensors history;           // the caller's curves (loss per step, evaluations)
  std::string data_generator;     // Generator::state() of the example stream ("" if none)
  std::string dropout_generator;  // the model's dropout Generator::state()
  std::string batch_position;     // BatchIterator::save() ("" if none)
  Metadata settings;              // the run's settings, to rebuild and check it on resume
};

// Tensor names are "optimizer.<name>" and "history.<name>"; metadata keys "format"
// ("crossgrad-training-state 1"), "step", "data_generator", "dropout_generator",
// "batch_position" and "setting.<key>". Saved with kRealDtype so moments are bit-exact.
void save_training_state(const std::string& path, const TrainingState& state);
TrainingState load_training_state(const std::string& path);

// "runs/rev.safetensors" -> "runs/rev" + suffix: a trailing ".safetensors" is dropped, so the
// files of one run sit together: rev.safetensors, rev.state.safetensors, rev.loss.csv, ...
std::string companion_path(const std::string& checkpoint_path, const std::string& suffix);
inline std::string training_state_path(const std::string& checkpoint_path) {
  return companion_path(checkpoint_path, ".state.safetensors");
}

}  // namespace crossgrad::nn
