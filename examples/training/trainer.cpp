// trainer.cpp — the training loop (see trainer.h): the config's checks, the data, one step,
// evaluation and samples; then saving a run and resuming it bit-identically. A run's
// settings travel as strings keyed by flag name, so a resumed run can be checked against the
// saved one setting by setting. Read next: examples/train.cpp (the command line over it).
#include "examples/training/trainer.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "data/tsv.h"
#include "nn/decode.h"

namespace crossgrad::training {

// Where a run's examples come from (a task's stream, or a TSV file's shuffled batches), the
// held-out sets it is evaluated on, and what a resumed run must find unchanged.
struct Trainer::Data {
  Vocab vocab;
  bool is_task = true;
  TaskSpec spec;                           // tasks: what the training stream draws
  Generator stream;                        // tasks: the training stream
  std::vector<Pair> train;                 // TSV: the training split ...
  std::unique_ptr<BatchIterator> batches;  // ... and its shuffled batches
  std::vector<Pair> held_out, generalisation;
  std::optional<Vocab> source_vocab;  // the symbols training sources hold (a task: all)
  std::string fingerprint;  // TSV: of the whole file
  std::size_t longest = 0;  // most tokens in a source or target, for the position table

  explicit Data(Vocab v) : vocab(std::move(v)) {}
};

namespace {

std::string number(double x) {  // shortest text that reads back to the same double
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, x).ptr);
}
// The same for a value the training state stores as `real`: an evaluation restored from it
// and the one computed before saving print alike ("0.168", not "0.1679999977350235").
std::string real_number(double x) {
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, real(x)).ptr);
}

constexpr std::size_t kEvalBatch = 250;  // rows decoded together, as the reference

// Independent seeds for the streams of one run (splitmix64's finaliser on seed + k·C, with a
// constant unlike held_out_seed's, so no stream repeats the held-out set's).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + stream * 0xD1B54A32D192ED03ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// FNV-1a over the pairs: tells whether a TSV file changed between a run and its resumption.
std::string fingerprint(const std::vector<Pair>& pairs) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const Pair& pair : pairs)
    for (const std::string* text : {&pair.source, &pair.target})
      for (const char c : *text + '\t') hash = (hash ^ std::uint8_t(c)) * 0x100000001b3ULL;
  return number(double(hash >> 11));  // 53 bits, exact as a double
}

void require(bool ok, const std::string& what, const std::string& got) {  // "what, got x"
  if (!ok) fail(what + ", got " + got);
}

// What the model should generate for a target: the target's ids, then EOS.
std::vector<std::int64_t> expected_output(const Vocab& vocab, const std::string& target) {
  std::vector<std::int64_t> ids = vocab.encode(target);
  ids.push_back(EOS);
  return ids;
}

// The model's config for this vocabulary: its size and its special ids.
TransformerConfig for_vocab(TransformerConfig model, std::size_t vocab_size) {
  model.vocab_size = vocab_size;
  model.pad_id = PAD;
  model.bos_id = BOS;
  model.eos_id = EOS;
  return model;
}

}  // namespace

void validate(const TrainConfig& c) {
  if (c.data_path.empty()) parse_task(c.task);
  require(c.valid_fraction > 0 && c.valid_fraction < 1,
          "--valid-fraction must lie strictly between 0 and 1", number(c.valid_fraction));
  require(c.min_len >= 1, "--min-len must be at least 1", std::to_string(c.min_len));
  require(c.max_len == 0 || c.max_len >= c.min_len,
          "--max-len must be at least --min-len (" + std::to_string(c.min_len) + ")",
          std::to_string(c.max_len));
  require(c.generalisation == 0 || c.data_path.empty(),
          "--length-generalisation needs a --task, not --data", "--data " + c.data_path);
  require(c.steps >= 1, "--steps must be at least 1", std::to_string(c.steps));
  require(c.batch >= 1, "--batch must be at least 1", std::to_string(c.batch));
  require(c.lr > 0 && std::isfinite(c.lr), "--lr must be positive", number(c.lr));
  require(c.warmup >= 0, "--warmup must be at least 0", std::to_string(c.warmup));
  try {
    optim::make_schedule(c.schedule, c.lr, c.warmup, c.steps);
  } catch (const Error& error) {
    fail("--schedule " + c.schedule + ": " + error.what());
  }
  require(c.clip >= 0 && std::isfinite(c.clip), "--clip must be 0 (off) or positive",
          number(c.clip));
  require(c.label_smoothing >= 0 && c.label_smoothing < 1, "--label-smoothing must lie in [0, 1)",
          number(c.label_smoothing));
  require(c.eval_every >= 0, "--eval-every must be at least 0", std::to_string(c.eval_every));
  require(c.eval_size >= 1, "--eval-size must be at least 1", std::to_string(c.eval_size));
  require(c.target_acc >= 0 && c.target_acc <= 1, "--target-acc must lie in [0, 1]",
          number(c.target_acc));
  require(c.stop_at >= 0 && c.stop_at <= c.steps,
          "--stop-at must lie in [0, --steps " + std::to_string(c.steps) + "]",
          std::to_string(c.stop_at));
  // The vocabulary is not read yet: a stand-in size, at least the smallest valid one.
  const TransformerConfig model = for_vocab(c.model, std::max<std::size_t>(c.model.vocab_size, 4));
  nn::validate_config(model, "model");
}

// --- Data ---
// Builds the examples of a task (streams and held-out sets) or of a TSV file.
std::unique_ptr<Trainer::Data> Trainer::make_data(TrainConfig& config) {
  if (!config.data_path.empty()) {
    const TsvDataset dataset = TsvDataset::load(config.data_path, config.tokens);
    auto data = std::make_unique<Data>(dataset.build_vocab());
    data->is_task = false;
    TrainValidationSplit split =
        split_train_validation(dataset.pairs(), config.valid_fraction, derive_seed(config.seed, 2));
    data->train = std::move(split.train);
    data->held_out = std::move(split.validation);
    data->batches = std::make_unique<BatchIterator>(data->train.size(), config.batch,
                                                    derive_seed(config.seed, 3));
    data->fingerprint = fingerprint(dataset.pairs());
    std::vector<std::string> sources;
    for (const Pair& pair : dataset.pairs()) sources.push_back(pair.source);
    data->source_vocab = Vocab::from_texts(sources, config.tokens);
    for (const Pair& pair : dataset.pairs())
      data->longest = std::max({data->longest, data->vocab.tokenize(pair.source).size(),
                                data->vocab.tokenize(pair.target).size()});
    return data;
  }
  const Task task = parse_task(config.task);
  if (config.max_len == 0) config.max_len = default_spec(task).max_len;
  auto data = std::make_unique<Data>(task_vocab(task));
  data->source_vocab = data->vocab;  // every symbol of a task appears in its sources
  data->spec = TaskSpec{task, config.min_len, config.max_len};
  validate(data->spec);
  data->stream = Generator(derive_seed(config.seed, 1));
  data->held_out = make_held_out(data->spec, config.eval_size, config.seed);
  std::size_t longest_len = config.max_len;
  if (config.generalisation > 0) {
    const LengthSplit split =
        length_generalisation(task, config.max_len, config.generalisation, config.min_len);
    data->generalisation = make_held_out(split.eval, config.eval_size, config.seed);
    longest_len = split.eval.max_len;
  }
  data->longest = task == Task::add   ? 2 * longest_len + 1  // "a+b"; the sum is no longer
                  : task == Task::mix ? longest_len + 1      // the instruction, then the digits
                                      : longest_len;
  return data;
}

// --- Setting up ---

Trainer::Trainer(TrainConfig config) : config_(std::move(config)) {
  validate(config_);
  data_ = make_data(config_);
  config_.model = for_vocab(config_.model, data_->vocab.size());
  nn::validate_config(config_.model, "model");
  if (data_->longest + 2 > config_.model.max_len)  // + EOS, + BOS
    fail("the longest sequence has " + std::to_string(data_->longest) +
         " tokens, more than the model's positional table allows (max_len " +
         std::to_string(config_.model.max_len) + " - 2)");
  schedule_ = optim::make_schedule(config_.schedule, config_.lr, config_.warmup, config_.steps);
  description_ = data_->is_task
                     ? "task " + config_.task + ", lengths " + std::to_string(config_.min_len) +
                           ".." + std::to_string(config_.max_len)
                     : "data " + config_.data_path + " (" + std::to_string(data_->train.size()) +
                           " training, " + std::to_string(data_->held_out.size()) +
                           " validation pairs, " + to_string(config_.tokens) + ")";
  model_ = std::make_unique<Seq2SeqTransformer>(config_.model, config_.seed);
  make_optimizer();
}

Trainer::Trainer(TrainConfig config, const std::string& checkpoint_path)
    : Trainer(std::move(config)) {
  restore(checkpoint_path);
}

Trainer::~Trainer() = default;

const Vocab& Trainer::vocab() const { return data_->vocab; }

void Trainer::make_optimizer() {
  optim::AdamOptions options;
  options.lr = schedule_->lr_at(0);
  options.beta1 = 0.9;
  options.beta2 = 0.98;
  options.eps = 1e-9;
  optimizer_ = std::make_unique<optim::Adam>(model_->parameters(), options);
}

// --- Training ---

Batch Trainer::next_batch() {
  if (data_->is_task)
    return make_batch(make_examples(data_->spec, config_.batch, data_->stream), vocab());
  return make_batch(pick_examples(data_->train, data_->batches->next()), vocab());
}

StepResult Trainer::train_step() {
  const auto start = std::chrono::steady_clock::now();
  if (step_ >= config_.steps)
    fail("Trainer::train_step: the budget of " + std::to_string(config_.steps) + " steps is spent");
  const Batch batch = next_batch();
  model_->train();
  // The packed path: logits (N, V) for the N non-PAD labels only, nothing computed for PAD.
  const Tensor logits = model_->forward_packed(batch.src, batch.tgt_in, batch.labels);
  Tensor loss = nn::packed_cross_entropy(logits, batch.labels, real(config_.label_smoothing),
                                         config_.model.pad_id);
  // Token accuracy: argmax over V at every non-PAD label, read before backward frees anything.
  const std::size_t V = logits.size(1);
  const real* scores = logits.data();
  std::size_t right = 0, row = 0;
  for (std::int64_t label : batch.labels.ids)
    if (label != config_.model.pad_id) {
      const real* logit = scores + row++ * V;
      right += std::int64_t(std::max_element(logit, logit + V) - logit) == label;
    }
  optimizer_->zero_grad();
  loss.backward();
  const double max_norm = config_.clip > 0 ? config_.clip : std::numeric_limits<double>::max();
  StepResult result;
  result.grad_norm = optim::clip_grad_norm(optimizer_->parameters(), max_norm);
  result.loss = loss.item();
  if (!std::isfinite(result.grad_norm) || !std::isfinite(result.loss))
    fail("training diverged at step " + std::to_string(step_ + 1) + ": loss " +
         number(result.loss) + ", gradient norm " + number(result.grad_norm) +
         " (try a lower --lr or a longer --warmup)");
  result.lr = schedule_->lr_at(step_);
  optimizer_->set_lr(result.lr);
  optimizer_->step();
  result.step = ++step_;
  result.tokens = batch.label_tokens;
  result.token_accuracy = double(right) / double(std::max<std::size_t>(1, batch.label_tokens));
  losses_.push_back(real(result.loss));
  token_accuracies_.push_back(real(result.token_accuracy));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::int64_t Trainer::steps_left() const {
  return std::max<std::int64_t>(0, (config_.stop_at > 0 ? config_.stop_at : config_.steps) - step_);
}

StopReason Trainer::run(const TrainHooks& hooks) {
  // Evaluations fall on multiples of eval_every and on the last step of the budget, never
  // on stop_at: where a run pauses must not change its history. A stop (Ctrl-C) is taken
  // after the step's evaluation, so a run saved there resumes with the same history.
  const std::int64_t end = step_ + steps_left();
  while (step_ < end) {
    const StepResult result = train_step();
    if (hooks.on_step) hooks.on_step(result);
    if ((config_.eval_every > 0 && step_ % config_.eval_every == 0) || step_ == config_.steps) {
      const Evaluation evaluation = evaluate();
      if (hooks.on_eval) hooks.on_eval(evaluation);
      if (config_.target_acc > 0 && evaluation.exact_match >= config_.target_acc)
        return StopReason::target_reached;
    }
    if (hooks.after_step) hooks.after_step(step_);
    if (hooks.should_stop && hooks.should_stop()) return StopReason::interrupted;
  }
  return step_ >= config_.steps ? StopReason::budget_done : StopReason::stopped_at;
}

// --- Evaluation ---

Evaluation Trainer::evaluate_on(const std::vector<Pair>& examples, LengthAccuracy* by_length) {
  NoGradGuard no_grad;
  model_->eval();
  Evaluation result;
  result.step = step_;
  result.examples = examples.size();
  std::size_t exact = 0, right_tokens = 0, target_tokens = 0;
  for (std::size_t begin = 0; begin < examples.size(); begin += kEvalBatch) {
    const std::vector<Pair> chunk(
        examples.begin() + std::ptrdiff_t(begin),
        examples.begin() + std::ptrdiff_t(std::min(examples.size(), begin + kEvalBatch)));
    const Batch batch = make_batch(chunk, vocab());
    nn::DecodeOptions options;
    options.max_len = batch.labels.cols;  // the longest target + EOS: enough to be right
    const std::vector<nn::Hypothesis> hypotheses = nn::greedy_decode(*model_, batch.src, options);
    for (std::size_t row = 0; row < chunk.size(); ++row) {
      const std::vector<std::int64_t> want = expected_output(vocab(), chunk[row].target);
      const std::vector<std::int64_t>& got = hypotheses[row].tokens;
      for (std::size_t t = 0; t < want.size(); ++t)
        right_tokens += t < got.size() && got[t] == want[t];
      target_tokens += want.size();
      exact += got == want;
      if (by_length) by_length->record(example_length(data_->spec.task, chunk[row]), got == want);
    }
  }
  model_->train();
  result.exact_match = double(exact) / double(std::max<std::size_t>(1, examples.size()));
  result.token_accuracy = double(right_tokens) / double(std::max<std::size_t>(1, target_tokens));
  return result;
}

Evaluation Trainer::evaluate() {
  Evaluation result = evaluate_on(data_->held_out, nullptr);
  if (!data_->generalisation.empty()) evaluate_on(data_->generalisation, &result.generalisation);
  evaluations_.push_back(result);
  return result;
}

std::vector<Sample> Trainer::samples(std::size_t count) {
  NoGradGuard no_grad;
  model_->eval();
  const std::vector<Pair> chosen(
      data_->held_out.begin(),
      data_->held_out.begin() + std::ptrdiff_t(std::min(count, data_->held_out.size())));
  std::vector<Sample> samples;
  if (chosen.empty()) return samples;
  const std::vector<nn::Hypothesis> hypotheses =
      nn::greedy_decode(*model_, make_batch(chosen, vocab()).src);
  for (std::size_t i = 0; i < chosen.size(); ++i)
    samples.push_back({chosen[i].source, chosen[i].target, vocab().decode(hypotheses[i].tokens),
                       hypotheses[i].tokens == expected_output(vocab(), chosen[i].target)});
  model_->train();
  return samples;
}

// --- Saving and resuming ---

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
      static_cast<void>(key);  // only numbers can be malformed
      c.*member = text;
    } else {
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), c.*member);
      if (error != std::errc() || end != text.data() + text.size() || text.empty())
        fail(std::string("resume: setting '") + key + "' is not a valid number: '" + text + "'");
    }
  };
  return {key, session, get, set};
}

// The training state saved beside a checkpoint; a missing one is named with what it is for.
TrainingState load_state_beside(const std::string& checkpoint_path) {
  const std::string state_path = training_state_path(checkpoint_path);
  std::error_code error;
  if (!std::filesystem::exists(state_path, error))
    fail("resume from '" + checkpoint_path + "': its training state '" + state_path +
         "' is missing; --resume needs both files build/train saves (a model alone can be "
         "used by build/predict, not resumed)");
  return load_training_state(state_path);
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
  nn::write_files_atomically(checkpoint_files(checkpoint_path), "Trainer::save");
}

std::vector<nn::FileContents> Trainer::checkpoint_files(const std::string& checkpoint_path) const {
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
  Metadata extra = {{"step", std::to_string(step_)},
                    {"task", data_->is_task ? config_.task : ""},
                    {"data", config_.data_path},
                    {"tokens", to_string(config_.tokens)}};
  if (!evaluations_.empty()) extra["exact_match"] = real_number(evaluations_.back().exact_match);
  if (data_->source_vocab) extra[kSourceSymbolsKey] = data_->source_vocab->serialize();
  // Written together (nn::write_files_atomically); were the pair ever torn (a crash between
  // the two renames), their steps disagree and restore() says so.
  return {{training_state_path(checkpoint_path), serialize_training_state(state)},
          {checkpoint_path, serialize_checkpoint(*model_, vocab(), extra, kRealDtype)}};
}

TrainConfig Trainer::saved_config(const std::string& checkpoint_path) {
  TrainConfig config;  // the checkpoint first: an error names the file the user gave
  config.model = load_checkpoint(checkpoint_path).model->config();
  const TrainingState state = load_state_beside(checkpoint_path);
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
void Trainer::check_same_run(const Checkpoint& loaded, const TrainingState& state,
                             const std::string& where, const std::string& state_path) {
  for (const Setting& setting : settings()) {
    const auto found = state.settings.find(setting.key);
    const std::string saved = found == state.settings.end() ? "(none)" : found->second;
    if (setting.key == std::string("steps")) {  // the budget may change, not vanish
      const auto [end, error] =
          std::from_chars(saved.data(), saved.data() + saved.size(), saved_steps_);
      if (error != std::errc() || end != saved.data() + saved.size() || saved_steps_ < 1)
        fail(where + "'" + state_path + "' has no valid setting 'steps' (got '" + saved + "')");
      continue;
    }
    if (!setting.session && saved != setting.get(config_))
      fail(where + "--" + setting.key + " is '" + setting.get(config_) +
           "' but the saved run used '" + saved +
           "'; a resumed run keeps every setting but --steps and the session ones");
  }
  const auto fingerprint = state.settings.find("fingerprint");
  if (fingerprint == state.settings.end() || fingerprint->second != data_->fingerprint)
    fail(where + "the data in '" + config_.data_path + "' changed since the checkpoint was saved");
  if (nn::config_to_json(loaded.model->config()) != nn::config_to_json(config_.model))
    fail(where + "the checkpoint's model is " + nn::config_to_json(loaded.model->config()) +
         " but the config asks for " + nn::config_to_json(config_.model));
  if (loaded.vocab != vocab()) fail(where + "the checkpoint's vocab differs from the data's");
  const auto step = loaded.metadata.find("step");
  if (step == loaded.metadata.end() || step->second != std::to_string(state.step))
    fail(where + "the model (step " + (step == loaded.metadata.end() ? "?" : step->second) +
         ") and '" + state_path + "' (step " + std::to_string(state.step) +
         ") come from different saves");
  if (state.step > config_.steps)
    fail(where + "the saved run is at step " + std::to_string(state.step) + ", past --steps " +
         std::to_string(config_.steps) + "; a budget can be extended, not cut below the steps done");
}

void Trainer::restore(const std::string& checkpoint_path) {
  Checkpoint loaded = load_checkpoint(checkpoint_path);
  const std::string state_path = training_state_path(checkpoint_path);
  const TrainingState state = load_state_beside(checkpoint_path);
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

}  // namespace crossgrad::training
