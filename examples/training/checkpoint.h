// checkpoint.h — what a training run leaves on disk. The checkpoint is nn/'s model file
// (nn/model_checkpoint.h) with the vocabulary stored as plain metadata under "vocab", so
// build/predict can turn text into ids and back from the file alone. Beside it, the training
// state: optimizer moments, step, random generator states and data position, enough to
// resume bit-identically. Read next: examples/training/trainer.h (who writes both).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "data/vocab.h"
#include "nn/io/atomic_file.h"  // write_file_atomically, for the files a run writes beside it
#include "nn/model_checkpoint.h"

namespace crossgrad::training {

using nn::Metadata;

// --- Checkpoints: a model and its vocabulary ---
// The metadata key the vocabulary is stored under (Vocab::serialize()); caller metadata may
// not use it, nor nn's reserved keys (format, config).
inline constexpr const char* kVocabKey = "vocab";
// Optional: the symbols that appeared in the training sources, as a serialised Vocab. The
// vocabulary is shared by sources and targets, so a symbol may be known only from targets;
// build/predict warns when an input holds one. Checkpoints from before it lack the key.
inline constexpr const char* kSourceSymbolsKey = "source_symbols";

// save_model with the vocabulary added. Throws if the vocab's size differs from
// config().vocab_size, if the model's special ids are not the vocabulary's (PAD, BOS, EOS),
// or if `extra` uses a reserved key; nothing is written then.
void save_checkpoint(const std::string& path, const nn::Seq2SeqTransformer& model,
                     const Vocab& vocab, const Metadata& extra = {}, Dtype dtype = Dtype::F32);
// The bytes save_checkpoint writes, for saving with other files (nn::write_files_atomically).
std::string serialize_checkpoint(const nn::Seq2SeqTransformer& model, const Vocab& vocab,
                                 const Metadata& extra = {}, Dtype dtype = Dtype::F32);

struct Checkpoint {
  std::unique_ptr<nn::Seq2SeqTransformer> model;  // in eval mode, built from the saved config
  Vocab vocab;
  Metadata metadata;  // the caller's extra metadata (the reserved keys removed)
  // The symbols of the training sources (kSourceSymbolsKey), if the checkpoint says.
  std::optional<Vocab> source_vocab;
};

// load_model, then the vocabulary: it must be valid, its size must equal config.vocab_size
// and the config's special ids must be PAD, BOS and EOS; the source symbols, when present,
// must be a valid vocabulary of the same mode whose symbols are all in it. Errors from here
// start with "load_checkpoint: '<path>': " (those of load_model with "load_model: ").
Checkpoint load_checkpoint(const std::string& path);

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
std::string serialize_training_state(const TrainingState& state);  // the bytes it writes
TrainingState load_training_state(const std::string& path);

// "runs/rev.safetensors" -> "runs/rev" + suffix: a trailing ".safetensors" is dropped, so the
// files of one run sit together: rev.safetensors, rev.state.safetensors, rev.loss.csv, ...
std::string companion_path(const std::string& checkpoint_path, const std::string& suffix);
inline std::string training_state_path(const std::string& checkpoint_path) {
  return companion_path(checkpoint_path, ".state.safetensors");
}

}  // namespace crossgrad::training
