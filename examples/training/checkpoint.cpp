// checkpoint.cpp — checkpoints with their vocabulary, and training state (see checkpoint.h).
// Both are safetensors files with a "format" key, read through nn/model_checkpoint.h's
// helpers, so every error names the file and the problem.
#include "examples/training/checkpoint.h"

#include <utility>

namespace crossgrad::training {

namespace {

constexpr const char* kStateFormat = "crossgrad-training-state 1";

// A decimal count as written by std::to_string: digits only, no sign, no overflow.
std::int64_t parse_count(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    fail(what + " must be a non-negative integer, got '" + text + "'");
  return std::stoll(text);
}

// The model's special ids are the vocabulary's, or an error naming both.
void check_special_ids(const nn::TransformerConfig& config, const std::string& where) {
  if (config.pad_id != PAD || config.bos_id != BOS || config.eos_id != EOS)
    fail(where + "the model's special ids (pad_id " + std::to_string(config.pad_id) +
         ", bos_id " + std::to_string(config.bos_id) + ", eos_id " +
         std::to_string(config.eos_id) + ") are not the vocabulary's (PAD " +
         std::to_string(PAD) + ", BOS " + std::to_string(BOS) + ", EOS " + std::to_string(EOS) +
         ")");
}

}  // namespace

// --- Checkpoints ---

namespace {

// The model's metadata: the caller's, with the vocabulary added, after the checks.
Metadata checkpoint_metadata(const std::string& where, const nn::Seq2SeqTransformer& model,
                             const Vocab& vocab, const Metadata& extra) {
  if (vocab.size() != model.config().vocab_size)
    fail(where + "the vocab has " + std::to_string(vocab.size()) + " ids but the model's " +
         "vocab_size is " + std::to_string(model.config().vocab_size));
  check_special_ids(model.config(), where);
  if (extra.count(kVocabKey))
    fail(where + "metadata key '" + kVocabKey + "' is reserved (format, config, vocab)");
  Metadata metadata = extra;
  metadata[kVocabKey] = vocab.serialize();
  return metadata;
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Seq2SeqTransformer& model,
                     const Vocab& vocab, const Metadata& extra, Dtype dtype) {
  const std::string where = "save_checkpoint: '" + path + "': ";
  nn::save_model(path, model, checkpoint_metadata(where, model, vocab, extra), dtype);
}

std::string serialize_checkpoint(const nn::Seq2SeqTransformer& model, const Vocab& vocab,
                                 const Metadata& extra, Dtype dtype) {
  return nn::serialize_model(model, checkpoint_metadata("save_checkpoint: ", model, vocab, extra),
                             dtype);
}

Checkpoint load_checkpoint(const std::string& path) {
  nn::LoadedModel loaded = nn::load_model(path);
  const std::string where = "load_checkpoint: '" + path + "': ";
  const Vocab vocab = [&] {
    try {
      return Vocab::deserialize(nn::required_metadata(loaded.metadata, kVocabKey, where));
    } catch (const Error& error) {
      fail(where + "metadata 'vocab': " + error.what());
    }
  }();
  const nn::TransformerConfig& config = loaded.model->config();
  if (vocab.size() != config.vocab_size)
    fail(where + "the vocab has " + std::to_string(vocab.size()) +
         " ids but config.vocab_size is " + std::to_string(config.vocab_size));
  check_special_ids(config, where);
  std::optional<Vocab> source_vocab;
  if (const auto found = loaded.metadata.find(kSourceSymbolsKey); found != loaded.metadata.end()) {
    try {
      source_vocab = Vocab::deserialize(found->second);
    } catch (const Error& error) {
      fail(where + "metadata '" + kSourceSymbolsKey + "': " + error.what());
    }
    if (source_vocab->mode() != vocab.mode())
      fail(where + "metadata '" + kSourceSymbolsKey + "' is in " + to_string(source_vocab->mode()) +
           " mode but the vocab in " + to_string(vocab.mode()) + " mode");
    for (const std::string& symbol : source_vocab->symbols())
      if (!vocab.contains(symbol))
        fail(where + "metadata '" + kSourceSymbolsKey + "' holds " + describe_symbol(symbol) +
             ", which the vocab lacks");
  }
  loaded.metadata.erase(kVocabKey);
  loaded.metadata.erase(kSourceSymbolsKey);
  return Checkpoint{std::move(loaded.model), vocab, std::move(loaded.metadata),
                    std::move(source_vocab)};
}

// --- Training state ---

namespace {

NamedTensors state_tensors(const TrainingState& state) {
  NamedTensors tensors;
  for (const auto& [name, tensor] : state.optimizer)
    tensors.emplace_back("optimizer." + name, tensor);
  for (const auto& [name, tensor] : state.history) tensors.emplace_back("history." + name, tensor);
  return tensors;
}

Metadata state_metadata(const TrainingState& state) {
  Metadata metadata = {{"format", kStateFormat},
                       {"step", std::to_string(state.step)},
                       {"data_generator", state.data_generator},
                       {"dropout_generator", state.dropout_generator},
                       {"batch_position", state.batch_position}};
  for (const auto& [key, value] : state.settings) metadata["setting." + key] = value;
  return metadata;
}

}  // namespace

void save_training_state(const std::string& path, const TrainingState& state) {
  save_safetensors(path, state_tensors(state), state_metadata(state), kRealDtype);
}

std::string serialize_training_state(const TrainingState& state) {
  return serialize_safetensors(state_tensors(state), state_metadata(state), kRealDtype);
}

TrainingState load_training_state(const std::string& path) {
  const std::string where = "load_training_state: '" + path + "': ";
  SafetensorsFile file = nn::load_file_of_format(path, kStateFormat, "load_training_state", where);
  const auto required = [&](const std::string& key) {
    return nn::required_metadata(file.metadata, key, where);
  };
  TrainingState state;
  state.step = parse_count(required("step"), where + "metadata 'step'");
  state.data_generator = required("data_generator");
  state.dropout_generator = required("dropout_generator");
  state.batch_position = required("batch_position");
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

}  // namespace crossgrad::training
