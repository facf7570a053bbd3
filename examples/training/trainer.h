// trainer.h — the training loop, reusable in-process (tests, your own programs) and driven by
// examples/train.cpp: it ties a dataset (data/), a model and an optimizer (nn/) together.
// One step: a batch -> forward -> sequence_cross_entropy -> zero_grad, backward ->
// clip_grad_norm -> lr from the schedule -> Adam (betas 0.9/0.98, eps 1e-9). Evaluation:
// greedy decoding of a held-out set, exact match and token accuracy. A run saves to a
// checkpoint (examples/training/checkpoint.h) and resumes from one bit-identically.
// Read next: examples/training/trainer.cpp (the loop, then saving and resuming a run).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/tasks.h"
#include "examples/training/checkpoint.h"
#include "nn/optim.h"
#include "nn/schedule.h"

namespace crossgrad::training {

using nn::Seq2SeqTransformer;
using nn::TransformerConfig;

// Everything that defines a run. The defaults are the standard model and the recipe measured
// with the PyTorch reference (a schedule helps a lot): lr 3e-3, 200 warmup steps, cosine
// decay over the whole step budget, batch 64, clip 1.0. Field names are the flag names of
// build/train (--max-len is max_len), and validate() names fields that way.
struct TrainConfig {
  // What to learn: a task, or source<TAB>target pairs from a file (then `task` is ignored).
  std::string task = "reverse";
  std::string data_path;
  TokenMode tokens = TokenMode::characters;
  double valid_fraction = 0.1;  // TSV: the validation split
  std::size_t min_len = 1;
  std::size_t max_len = 0;         // 0: the task's standard (16; add: 3 digits)
  std::size_t generalisation = 0;  // > 0: also evaluate on unseen lengths max_len+1 ..
                                   // max_len+generalisation, reported by length
  TransformerConfig model;         // vocab_size and the special ids are set from the vocabulary
  // How to learn.
  std::int64_t steps = 4000;  // the budget; the schedule spans it (build/train: 30000 for add)
  std::size_t batch = 64;
  double lr = 3e-3;  // peak learning rate
  std::int64_t warmup = 200;
  std::string schedule = "cosine";  // constant | inverse-sqrt | cosine (nn/schedule.h)
  double clip = 1.0;                // max gradient norm; 0 turns clipping off
  double label_smoothing = 0;
  std::uint64_t seed = 0;  // model init, data stream, split and held-out set
  // The session: free to differ between a run and its resumption.
  std::int64_t eval_every = 250;  // evaluate every N steps (0: only at the end)
  std::size_t eval_size = 1000;   // held-out examples of a task (TSV: the validation split)
  double target_acc = 0;          // stop at an evaluation with exact match >= this (0: off)
  std::int64_t stop_at = 0;       // stop after this step, to resume later (0: run to steps)
};

// Range checks, each error naming the flag: "--batch must be at least 1, got 0".
void validate(const TrainConfig& config);

struct StepResult {
  std::int64_t step = 0;                // updates done, this one included
  double loss = 0, token_accuracy = 0;  // teacher-forced, on this batch
  double grad_norm = 0, lr = 0;
  std::size_t tokens = 0;  // non-PAD labels in the batch
  double seconds = 0;      // wall time of the step (batch included)
};

struct Evaluation {
  std::int64_t step = 0;
  double exact_match = 0;     // fraction of held-out examples decoded exactly
  double token_accuracy = 0;  // fraction of target tokens (EOS included) right in place
  std::size_t examples = 0;
  LengthAccuracy generalisation;  // unseen lengths, when config.generalisation > 0
};

struct Sample {
  std::string source, target, prediction;
  bool correct = false;
};

struct TrainHooks {
  std::function<void(const StepResult&)> on_step;
  std::function<void(const Evaluation&)> on_eval;
  // After each step and its evaluation, if one was due: the run is where a resumed run
  // would continue from, so this is where a periodic checkpoint is saved.
  std::function<void(std::int64_t step)> after_step;
  std::function<bool()> should_stop;  // asked after after_step; true ends the run (Ctrl-C)
};

enum class StopReason { budget_done, target_reached, stopped_at, interrupted };

class Trainer {
 public:
  // A fresh run. Throws on an invalid config or unreadable data, before any training.
  explicit Trainer(TrainConfig config);
  // Continues the run saved at checkpoint_path (and training_state_path of it). `config`
  // must match the saved run in everything but the session fields and the budget;
  // saved_config() gives one. A different `steps` (not below the saved step) extends or
  // shortens the budget: from the next step on, the learning rate is that of the schedule
  // over the new budget (a cosine that had decayed to 0 at step 600 of 600 is, over 1000
  // steps, back at half the peak at step 600), so the run is no longer the one saved.
  Trainer(TrainConfig config, const std::string& checkpoint_path);
  ~Trainer();
  static TrainConfig saved_config(const std::string& checkpoint_path);

  StepResult train_step();
  Evaluation evaluate();
  // Steps until config.steps (or stop_at), evaluating every eval_every steps and at the end;
  // stops early once an evaluation reaches target_acc or hooks.should_stop() says so.
  // With no step left to take it returns at once (see steps_left()).
  StopReason run(const TrainHooks& hooks = {});
  // The model (F32 in the float32 build, exact in either) and the training state, saved
  // together (nn::write_files_atomically): a crash leaves the old pair or the new one.
  void save(const std::string& checkpoint_path) const;
  // The two files save() writes, as bytes, for saving with more files of the run.
  std::vector<nn::FileContents> checkpoint_files(const std::string& checkpoint_path) const;
  // Steps run() would take: to stop_at if set, else to the budget.
  std::int64_t steps_left() const;
  // The first `count` held-out examples, decoded greedily.
  std::vector<Sample> samples(std::size_t count);

  const TrainConfig& config() const { return config_; }
  Seq2SeqTransformer& model() { return *model_; }
  const optim::Optimizer& optimizer() const { return *optimizer_; }
  const Vocab& vocab() const;
  std::int64_t step() const { return step_; }
  // The budget of the run this one resumed, which `steps` may extend (0 for a fresh run).
  std::int64_t saved_steps() const { return saved_steps_; }
  const std::string& description() const { return description_; }  // "task reverse, lengths 1..16"
  // Per step: loss and token accuracy; per evaluation: step, exact match, token accuracy.
  const std::vector<real>& losses() const { return losses_; }
  const std::vector<real>& token_accuracies() const { return token_accuracies_; }
  const std::vector<Evaluation>& evaluations() const { return evaluations_; }

 private:
  struct Data;  // the example source (task stream or TSV batches) and held-out sets
  static std::unique_ptr<Data> make_data(TrainConfig& config);  // fills in max_len
  Batch next_batch();
  Evaluation evaluate_on(const std::vector<Pair>& examples, LengthAccuracy* by_length);
  void make_optimizer();
  // Also reads the saved budget into saved_steps_.
  void check_same_run(const Checkpoint& loaded, const TrainingState& state,
                      const std::string& where, const std::string& state_path);
  void restore(const std::string& checkpoint_path);

  TrainConfig config_;
  std::unique_ptr<Data> data_;  // holds the vocab
  std::unique_ptr<Seq2SeqTransformer> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::Schedule> schedule_;
  std::int64_t step_ = 0, saved_steps_ = 0;
  std::string description_;
  std::vector<real> losses_, token_accuracies_;
  std::vector<Evaluation> evaluations_;
};

}  // namespace crossgrad::training
