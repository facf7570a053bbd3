// trainer.cpp — the training loop (see trainer.h): the config's checks, data, one step,
// evaluation and samples. Saving and resuming a run are in trainer_resume.cpp; the Data both
// use is in trainer_internal.h. Read next: nn/trainer_resume.cpp.
#include "nn/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

#include "data/tsv.h"
#include "nn/decode.h"
#include "nn/trainer_internal.h"

namespace crossgrad::nn {

using trainer_internal::number;

namespace {

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
  TransformerConfig model = c.model;
  model.vocab_size = std::max<std::size_t>(model.vocab_size, 4);  // set from the data later
  validate_config(model, "model");
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
    for (const Pair& pair : dataset.pairs())
      data->longest = std::max({data->longest, data->vocab.tokenize(pair.source).size(),
                                data->vocab.tokenize(pair.target).size()});
    return data;
  }
  const Task task = parse_task(config.task);
  if (config.max_len == 0) config.max_len = default_spec(task).max_len;
  auto data = std::make_unique<Data>(task_vocab(task));
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
  data->longest = task == Task::add ? 2 * longest_len + 1 : longest_len;  // "a+b"; sum <= that
  return data;
}

// --- Setting up ---

Trainer::Trainer(TrainConfig config) : config_(std::move(config)) {
  validate(config_);
  data_ = make_data(config_);
  config_.model.vocab_size = data_->vocab.size();
  validate_config(config_.model, "model");
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
  return make_batch(gather(data_->train, data_->batches->next()), vocab());
}

StepResult Trainer::train_step() {
  const auto start = std::chrono::steady_clock::now();
  if (step_ >= config_.steps)
    fail("Trainer::train_step: the budget of " + std::to_string(config_.steps) + " steps is spent");
  const Batch batch = next_batch();
  model_->train();
  // The packed path: logits (N, V) for the N non-PAD labels only, nothing computed for PAD.
  const Tensor logits = model_->forward_packed(batch.src, batch.tgt_in, batch.labels);
  Tensor loss = packed_cross_entropy(logits, batch.labels, real(config_.label_smoothing));
  // Token accuracy: argmax over V at every non-PAD label, read before backward frees anything.
  const std::size_t V = logits.size(1);
  const real* scores = logits.data();
  std::size_t right = 0, row = 0;
  for (std::int64_t label : batch.labels.ids)
    if (label != PAD) {
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

StopReason Trainer::run(const TrainHooks& hooks) {
  // Evaluations fall on multiples of eval_every and on the last step of the budget, never
  // on stop_at: where a run pauses must not change its history.
  const std::int64_t end = config_.stop_at > 0 ? config_.stop_at : config_.steps;
  const std::int64_t first = step_;
  while (step_ < end) {
    const StepResult result = train_step();
    if (hooks.on_step) hooks.on_step(result);
    if (hooks.should_stop && hooks.should_stop()) return StopReason::interrupted;
    if ((config_.eval_every <= 0 || step_ % config_.eval_every != 0) && step_ != config_.steps)
      continue;
    const Evaluation evaluation = evaluate();
    if (hooks.on_eval) hooks.on_eval(evaluation);
    if (config_.target_acc > 0 && evaluation.exact_match >= config_.target_acc)
      return StopReason::target_reached;
  }
  if (step_ == first && hooks.on_eval)  // nothing left to train: show where the run stands
    hooks.on_eval(evaluations_.empty() ? evaluate() : evaluations_.back());
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
    DecodeOptions options;
    options.max_len = batch.labels.cols;  // the longest target + EOS: enough to be right
    const std::vector<Hypothesis> hypotheses = greedy_decode(*model_, batch.src, options);
    for (std::size_t row = 0; row < chunk.size(); ++row) {
      std::vector<std::int64_t> want = vocab().encode(chunk[row].target);
      want.push_back(EOS);
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
  const std::vector<Hypothesis> hypotheses =
      greedy_decode(*model_, make_batch(chosen, vocab()).src);
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    std::vector<std::int64_t> want = vocab().encode(chosen[i].target);
    want.push_back(EOS);
    samples.push_back({chosen[i].source, chosen[i].target, vocab().decode(hypotheses[i].tokens),
                       hypotheses[i].tokens == want});
  }
  model_->train();
  return samples;
}

}  // namespace crossgrad::nn
