// trainer_resume.cpp — saving a run and resuming it bit-identically (see trainer.h): the
// model file, and beside it the training state (nn/checkpoint.h). A run's settings travel as
// strings keyed by flag name, so a resumed run can be checked against the saved one setting
// by setting. The loop itself is trainer.cpp. Read next: examples/train.cpp (--resume).
#include "nn/trainer.h"

#include <charconv>
#include <filesystem>
#include <functional>
#include <type_traits>
#include <utility>

#include "nn/trainer_internal.h"

namespace crossgrad::nn {

using trainer_internal::number;

namespace {

// One setting of a run as text keyed by its flag name, and back. `session` settings may
// differ when a run resumes; the others must match the saved run exactly.
struct Setting {
  const char* key;
  bool session;
  std::function<std::string(const TrainConfig&)> get;
  std::function<void(TrainConfig&, const std::string&)> set;
};

template <class T>
Setting field(const char* key, T TrainConfig::*member, bool session = false) {
  const auto get = [member](const TrainConfig& c) -> std::string {
    if constexpr (std::is_same_v<T, std::string>)
      return c.*member;
    else if constexpr (std::is_floating_point_v<T>)
      return number(c.*member);
    else
      return std::to_string(c.*member);
  };
  const auto set = [member, key](TrainConfig& c, const std::string& text) {
    if constexpr (std::is_same_v<T, std::string>) {
      c.*member = text;
    } else {
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), c.*member);
      if (error != std::errc() || end != text.data() + text.size() || text.empty())
        fail(std::string("resume: setting '") + key + "' is not a valid number: '" + text + "'");
    }
  };
  return {key, session, get, set};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      field("task", &TrainConfig::task),
      field("data", &TrainConfig::data_path),
      {"tokens", false, [](const TrainConfig& c) { return to_string(c.tokens); },
       [](TrainConfig& c, const std::string& text) { c.tokens = parse_token_mode(text); }},
      field("valid-fraction", &TrainConfig::valid_fraction),
      field("min-len", &TrainConfig::min_len),
      field("max-len", &TrainConfig::max_len),
      field("generalisation", &TrainConfig::generalisation),
      field("steps", &TrainConfig::steps),
      field("batch", &TrainConfig::batch),
      field("lr", &TrainConfig::lr),
      field("warmup", &TrainConfig::warmup),
      field("schedule", &TrainConfig::schedule),
      field("clip", &TrainConfig::clip),
      field("label-smoothing", &TrainConfig::label_smoothing),
      field("seed", &TrainConfig::seed),
      field("eval-every", &TrainConfig::eval_every, true),
      field("eval-size", &TrainConfig::eval_size, true),
      field("target-acc", &TrainConfig::target_acc, true)};
  return table;
}

}  // namespace

void Trainer::save(const std::string& checkpoint_path) const {
  const std::filesystem::path parent = std::filesystem::path(checkpoint_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  TrainingState state;
  state.step = step_;
  state.optimizer = optimizer_->state_dict();
  std::vector<real> evaluations;  // (E, 3): step, exact match, token accuracy
  for (const Evaluation& e : evaluations_)
    evaluations.insert(evaluations.end(),
                       {real(e.step), real(e.exact_match), real(e.token_accuracy)});
  state.history = {{"loss", Tensor::from(losses_, {losses_.size()})},
                   {"token_accuracy", Tensor::from(token_accuracies_, {losses_.size()})},
                   {"evaluations", Tensor::from(evaluations, {evaluations_.size(), 3})}};
  state.data_generator = data_->is_task ? data_->stream.state() : "";
  state.dropout_generator = model_->dropout_generator().state();
  state.batch_position = data_->is_task ? "" : data_->batches->save();
  for (const Setting& setting : settings()) state.settings[setting.key] = setting.get(config_);
  state.settings["fingerprint"] = data_->fingerprint;
  // The state first, the model last: a model file always has its state beside it, and a
  // crash in between leaves steps that disagree, which restore() reports.
  save_training_state(training_state_path(checkpoint_path), state);
  Metadata extra = {{"step", std::to_string(step_)},
                    {"task", data_->is_task ? config_.task : ""},
                    {"data", config_.data_path},
                    {"tokens", to_string(config_.tokens)}};
  if (!evaluations_.empty()) extra["exact_match"] = number(evaluations_.back().exact_match);
  save_model(checkpoint_path, *model_, vocab(), extra, kRealDtype);
}

TrainConfig Trainer::saved_config(const std::string& checkpoint_path) {
  const TrainingState state = load_training_state(training_state_path(checkpoint_path));
  TrainConfig config;
  config.model = load_model(checkpoint_path).model->config();
  for (const Setting& setting : settings()) {
    const auto found = state.settings.find(setting.key);
    if (found == state.settings.end())
      fail("resume: the training state lacks setting '" + std::string(setting.key) + "'");
    setting.set(config, found->second);
  }
  return config;
}

// Everything that must match for a resumed run to be the same run, checked before any of it
// is used: settings, data, model shape, vocab, and that both files come from one save.
void Trainer::check_same_run(const LoadedModel& loaded, const TrainingState& state,
                             const std::string& where, const std::string& state_path) const {
  for (const Setting& setting : settings()) {
    const auto found = state.settings.find(setting.key);
    const std::string saved = found == state.settings.end() ? "(none)" : found->second;
    if (!setting.session && saved != setting.get(config_))
      fail(where + "--" + setting.key + " is '" + setting.get(config_) +
           "' but the saved run used '" + saved +
           "'; a resumed run keeps every setting but the session ones");
  }
  const auto fingerprint = state.settings.find("fingerprint");
  if (fingerprint == state.settings.end() || fingerprint->second != data_->fingerprint)
    fail(where + "the data in '" + config_.data_path + "' changed since the checkpoint was saved");
  if (config_to_json(loaded.model->config()) != config_to_json(config_.model))
    fail(where + "the checkpoint's model is " + config_to_json(loaded.model->config()) +
         " but the config asks for " + config_to_json(config_.model));
  if (loaded.vocab != vocab()) fail(where + "the checkpoint's vocab differs from the data's");
  const auto step = loaded.metadata.find("step");
  if (step == loaded.metadata.end() || step->second != std::to_string(state.step))
    fail(where + "the model (step " + (step == loaded.metadata.end() ? "?" : step->second) +
         ") and '" + state_path + "' (step " + std::to_string(state.step) +
         ") come from different saves");
  if (state.step > config_.steps)
    fail(where + "step " + std::to_string(state.step) + " is past --steps " +
         std::to_string(config_.steps));
}

void Trainer::restore(const std::string& checkpoint_path) {
  LoadedModel loaded = load_model(checkpoint_path);
  const std::string state_path = training_state_path(checkpoint_path);
  const TrainingState state = load_training_state(state_path);
  const std::string where = "resume from '" + checkpoint_path + "': ";
  check_same_run(loaded, state, where, state_path);
  model_ = std::move(loaded.model);
  model_->train();
  model_->dropout_generator().set_state(state.dropout_generator);
  make_optimizer();
  optimizer_->load_state_dict(state.optimizer);
  if (data_->is_task)
    data_->stream.set_state(state.data_generator);
  else
    data_->batches->load(state.batch_position);
  // The curves: one value a step, and one (step, exact, token) row an evaluation.
  const auto history = [&](const std::string& name, std::size_t columns) -> const Tensor& {
    for (const auto& [key, tensor] : state.history)
      if (key == name && tensor.dim() == (columns ? 2u : 1u) &&
          (columns ? tensor.size(1) == columns : tensor.size(0) == std::size_t(state.step)))
        return tensor;
    fail(where + "'" + state_path + "' lacks a well-formed history '" + name + "'");
  };
  losses_ = history("loss", 0).values();
  token_accuracies_ = history("token_accuracy", 0).values();
  const std::vector<real>& rows = history("evaluations", 3).values();
  evaluations_.clear();
  for (std::size_t i = 0; i + 2 < rows.size(); i += 3) {
    Evaluation e;
    e.step = std::int64_t(rows[i]);
    e.exact_match = rows[i + 1];
    e.token_accuracy = rows[i + 2];
    evaluations_.push_back(e);
  }
  step_ = state.step;
}

}  // namespace crossgrad::nn
