// Tests for examples/training/trainer.cpp, in-process: a tiny seeded reversal run learns its
// task exactly; a run resumed from a mid-run checkpoint ends bit-identical to an uninterrupted
// one (task stream with dropout, and TSV batches); TSV data trains end to end; hooks, stop_at
// and the schedule behave; bad configs and mismatched resumptions are refused with clear
// errors.
#include <filesystem>
#include <fstream>

#include "examples/training/trainer.h"
#include "testing.h"

using namespace crossgrad;
using namespace crossgrad::training;
using namespace testing;
namespace fs = std::filesystem;

namespace {

// A small model that still learns: d_model 16-32, 2 heads, 1 + 1 layers.
TrainConfig tiny_run(std::size_t d_model = 16) {
  TrainConfig c;
  c.model = tiny_config(d_model);
  c.min_len = 1;
  c.max_len = 5;
  c.batch = 8;
  c.steps = 20;
  c.lr = 1e-2;
  c.warmup = 5;
  c.eval_every = 5;
  c.eval_size = 20;
  return c;
}

// 60 lines mapping a word of letters to its reverse, e.g. "cab\tbac".
std::string write_letters_tsv(const TempDir& dir) {
  std::string text;
  Generator gen(4);
  for (int line = 0; line < 60; ++line) {
    std::string word;
    for (std::size_t i = 0, n = 1 + gen.below(4); i < n; ++i) word += char('a' + gen.below(5));
    text += word + "\t" + std::string(word.rbegin(), word.rend()) + "\n";
  }
  return dir.write("letters.tsv", text);
}

void check_same_named(const NamedTensors& a, const NamedTensors& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(a[i].first == b[i].first);
    CHECK(same_bits(a[i].second, b[i].second));
  }
}

// Trains `config` in one go and, separately, stopped at step `stop_at`, saved, resumed in a
// fresh Trainer and trained on; every parameter, optimizer moment, curve and file must agree.
void check_resume_is_bit_identical(TrainConfig config, std::int64_t stop_at, const TempDir& dir) {
  Trainer whole(config);
  whole.run();
  whole.save(dir.file("whole.safetensors"));

  config.stop_at = stop_at;
  Trainer first_half(config);
  CHECK(first_half.run() == StopReason::stopped_at);
  CHECK(first_half.step() == stop_at);
  first_half.save(dir.file("half.safetensors"));

  const TrainConfig resumed_config = Trainer::saved_config(dir.file("half.safetensors"));
  CHECK(resumed_config.eval_every == config.eval_every);  // session settings are kept too
  CHECK(resumed_config.eval_size == config.eval_size);
  CHECK(resumed_config.stop_at == 0);  // ... but a pause is not: run to the end
  Trainer resumed(resumed_config, dir.file("half.safetensors"));
  CHECK(resumed.step() == stop_at);
  CHECK(resumed.run() == StopReason::budget_done);
  resumed.save(dir.file("resumed.safetensors"));

  check_same_named(resumed.model().named_parameters(), whole.model().named_parameters());
  check_same_named(resumed.optimizer().state_dict(), whole.optimizer().state_dict());
  CHECK(resumed.losses() == whole.losses());
  CHECK(resumed.model().dropout_generator().state() == whole.model().dropout_generator().state());
  REQUIRE(resumed.evaluations().size() == whole.evaluations().size());
  CHECK(resumed.evaluations().back().exact_match == whole.evaluations().back().exact_match);
  // The files hold all of it (generator states and data position included), byte for byte.
  CHECK(read_file(dir.file("resumed.safetensors")) == read_file(dir.file("whole.safetensors")));
  CHECK(read_file(dir.file("resumed.state.safetensors")) ==
        read_file(dir.file("whole.state.safetensors")));
}

}  // namespace

// The sanitizer build runs every op ~40x slower, so there the run learns an easier version
// of the same task (lengths 1..2, larger batches, fewer steps) — still to exactly 100%.
// Measured with warmup 5%, lr 1e-2, cosine over the budget: at lengths 1..5 / 1200 steps /
// batch 64, seeds 0-13 (float) and 0-7 (double) reach 100% by step 950; at lengths 1..2 /
// 300 steps / batch 128, seeds 0-11 by step 250. The budgets leave room for kernels that
// round differently (each build and sanitizer level takes its own trajectory).
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kLearnMaxLen = 2, kLearnBatch = 128;
constexpr std::int64_t kLearnSteps = 300;
#else
constexpr std::size_t kLearnMaxLen = 5, kLearnBatch = 64;
constexpr std::int64_t kLearnSteps = 1200;
#endif

TEST_CASE("trainer: a tiny seeded reversal run reaches 100% exact match on its held-out set") {
  TrainConfig config = tiny_run(16);  // 2 + 2 layers of width 16 learn reversal faster than
  config.model.num_encoder_layers = config.model.num_decoder_layers = 2;  // 1 + 1 of 32
  config.max_len = kLearnMaxLen;
  config.batch = kLearnBatch;
  config.steps = kLearnSteps;
  config.warmup = kLearnSteps / 20;
  config.eval_every = 50;
  config.eval_size = 200;
  config.target_acc = 1.0;
  Trainer trainer(config);
  const StopReason reason = trainer.run();
  REQUIRE_FALSE(trainer.evaluations().empty());
  const Evaluation& last = trainer.evaluations().back();
  INFO("stopped at step " << trainer.step() << " with exact match " << last.exact_match);
  CHECK(reason == StopReason::target_reached);
  CHECK(last.exact_match == 1.0);
  CHECK(last.token_accuracy == 1.0);
  CHECK(last.examples == 200);
  for (const Sample& sample : trainer.samples(5)) {
    CHECK(sample.correct);
    CHECK(sample.prediction == std::string(sample.source.rbegin(), sample.source.rend()));
  }
}

TEST_CASE(
    "trainer: resuming from a mid-run checkpoint ends bit-identical to an uninterrupted run") {
  TempDir dir;
  SUBCASE("a task stream, with dropout drawing from the model's generator") {
    TrainConfig config = tiny_run();
    config.model.dropout = real(0.1);
    check_resume_is_bit_identical(config, 8, dir);
  }
  SUBCASE("TSV batches, resumed in the middle of an epoch, with label smoothing") {
    TrainConfig config = tiny_run();
    config.data_path = write_letters_tsv(dir);
    config.batch = 7;  // 54 training pairs: 8 batches an epoch, the last one short
    config.label_smoothing = 0.1;
    check_resume_is_bit_identical(config, 11, dir);
  }
}

TEST_CASE(
    "trainer: TSV data trains end to end: vocab from the file, a validation split, a falling "
    "loss") {
  TempDir dir;
  TrainConfig config = tiny_run();
  config.data_path = write_letters_tsv(dir);
  config.steps = 60;
  config.eval_every = 0;  // only at the end
  Trainer trainer(config);
  CHECK(trainer.vocab().symbols() == std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(trainer.config().model.vocab_size == 8);
  CHECK(trainer.description() ==
        "data " + config.data_path + " (54 training, 6 validation pairs, characters)");
  CHECK(trainer.run() == StopReason::budget_done);
  REQUIRE(trainer.evaluations().size() == 1);
  CHECK(trainer.evaluations()[0].step == 60);
  CHECK(trainer.evaluations()[0].examples == 6);
  const std::vector<real>& loss = trainer.losses();
  REQUIRE(loss.size() == 60);
  const double first = (loss[0] + loss[1] + loss[2]) / 3,
               last = (loss[57] + loss[58] + loss[59]) / 3;
  CHECK(last < 0.75 * first);
  CHECK(trainer.samples(100).size() == 6);  // the whole validation split
}

TEST_CASE(
    "trainer: run() follows the schedule, evaluates on time, honours stop_at and should_stop") {
  TrainConfig config = tiny_run();
  config.steps = 12;
  config.eval_every = 5;
  config.stop_at = 11;
  Trainer trainer(config);
  const auto schedule = optim::make_schedule("cosine", config.lr, config.warmup, config.steps);
  std::vector<std::int64_t> steps, evaluated;
  TrainHooks hooks;
  hooks.on_step = [&](const StepResult& r) {
    steps.push_back(r.step);
    CHECK(r.lr == schedule->lr_at(r.step - 1));  // the lr of update k is lr_at(k - 1)
    CHECK(r.tokens > 0);
    CHECK(r.token_accuracy >= 0);
    CHECK(r.token_accuracy <= 1);
  };
  hooks.on_eval = [&](const Evaluation& e) { evaluated.push_back(e.step); };
  CHECK(trainer.run(hooks) == StopReason::stopped_at);
  CHECK(steps == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(evaluated == std::vector<std::int64_t>{5, 10});  // not at stop_at: a pause is no milestone
  CHECK(trainer.optimizer().step_count() == 11);
  hooks.should_stop = [] { return true; };
  TrainConfig whole = config;
  whole.stop_at = 0;
  Trainer interrupted(whole);
  CHECK(interrupted.run(hooks) == StopReason::interrupted);
  CHECK(interrupted.step() == 1);
}

TEST_CASE("trainer: length generalisation reports exact match for each unseen length") {
  TrainConfig config = tiny_run();
  config.max_len = 3;
  config.generalisation = 2;
  config.steps = 2;
  Trainer trainer(config);
  CHECK(trainer.description() == "task reverse, lengths 1..3");
  trainer.run();
  const LengthAccuracy& unseen = trainer.evaluations().back().generalisation;
  CHECK(unseen.total() == 20);
  REQUIRE(unseen.by_length.size() == 2);
  CHECK(unseen.by_length.begin()->first == 4);
  CHECK(unseen.by_length.rbegin()->first == 5);
}

TEST_CASE("trainer: an invalid config is refused before training, naming the flag") {
  TrainConfig config = tiny_run();
  const auto refuses = [&](const std::string& message) {
    CHECK_THROWS_WITH_AS(Trainer{config}, doctest::Contains(message.c_str()), Error);
    config = tiny_run();
  };
  config.batch = 0;
  refuses("--batch must be at least 1, got 0");
  config.lr = -1;
  refuses("--lr must be positive, got -1");
  config.schedule = "linear";
  refuses("unknown schedule 'linear'");
  config.task = "multiply";
  refuses("unknown task 'multiply'");
  config.stop_at = 30;
  refuses("--stop-at must lie in [0, --steps 20], got 30");
  config.min_len = 4;
  config.max_len = 3;
  refuses("--max-len must be at least --min-len (4), got 3");
  config.model.num_heads = 3;
  refuses("num_heads 3 must divide d_model 16");
  config.model.max_len = 6;
  refuses("the longest sequence has 5 tokens, more than the model's positional table allows");
  config.data_path = "/nonexistent/pairs.tsv";
  refuses("/nonexistent/pairs.tsv");
  config.data_path = "x.tsv";
  config.generalisation = 2;
  refuses("--length-generalisation needs a --task, not --data");
}

TEST_CASE(
    "trainer: resuming refuses changed settings, changed data and files from different saves") {
  TempDir dir;
  TrainConfig config = tiny_run();
  config.data_path = write_letters_tsv(dir);
  config.steps = 6;
  config.stop_at = 2;
  Trainer first(config);
  first.run();
  const std::string path = dir.file("run.safetensors");
  first.save(path);
  const TrainConfig saved = Trainer::saved_config(path);
  CHECK(saved.data_path == config.data_path);
  CHECK(saved.lr == config.lr);
  CHECK(saved.steps == 6);
  CHECK(nn::config_to_json(saved.model) == nn::config_to_json(first.config().model));

  SUBCASE("a setting that shapes the run") {
    TrainConfig changed = saved;
    changed.lr = 0.02;
    CHECK_THROWS_WITH_AS(Trainer(changed, path),
                         doctest::Contains("--lr is '0.02' but the saved run used '0.01'"), Error);
  }
  SUBCASE("the model's shape") {
    TrainConfig changed = saved;
    changed.model.d_ff = 64;
    CHECK_THROWS_WITH_AS(Trainer(changed, path), doctest::Contains("the checkpoint's model is"),
                         Error);
  }
  SUBCASE("the data file") {
    std::ofstream(config.data_path, std::ios::app) << "abc\tcba\n";
    CHECK_THROWS_WITH_AS(Trainer(saved, path),
                         doctest::Contains("changed since the checkpoint was saved"), Error);
  }
  SUBCASE("a model and a training state from different saves") {
    fs::copy_file(training_state_path(path), dir.file("old.state"));
    Trainer second(saved, path);
    second.train_step();
    second.save(path);
    fs::copy_file(dir.file("old.state"), training_state_path(path),
                  fs::copy_options::overwrite_existing);
    CHECK_THROWS_WITH_AS(Trainer(saved, path),
                         doctest::Contains(("the model (step 3) and '" + training_state_path(path) +
                                            "' (step 2) come from different saves")
                                               .c_str()),
                         Error);
  }
  SUBCASE("no training state") {
    fs::remove(training_state_path(path));
    CHECK_THROWS_WITH_AS(Trainer::saved_config(path),
                         doctest::Contains(("its training state '" + training_state_path(path) +
                                            "' is missing; --resume needs both files")
                                               .c_str()),
                         Error);
  }
}

TEST_CASE("trainer: a stop asked for at an evaluation step comes after that evaluation") {
  // Ctrl-C during step 10 of a run that evaluates every 5 steps: the run saved there holds
  // step 10's evaluation, as an uninterrupted run does, so the resumed history is the same.
  TrainConfig config = tiny_run();
  Trainer trainer(config);
  TrainHooks hooks;
  std::vector<std::int64_t> after;
  hooks.after_step = [&](std::int64_t step) { after.push_back(step); };
  hooks.should_stop = [&] { return trainer.step() == 10; };
  CHECK(trainer.run(hooks) == StopReason::interrupted);
  CHECK(trainer.step() == 10);
  REQUIRE(trainer.evaluations().size() == 2);
  CHECK(trainer.evaluations().back().step == 10);
  CHECK(after == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE("trainer: a resumed run may extend its budget; the schedule is then the new one's") {
  TempDir dir;
  TrainConfig config = tiny_run();
  config.steps = 8;
  Trainer first(config);
  CHECK(first.run() == StopReason::budget_done);
  CHECK(first.steps_left() == 0);
  first.run();  // nothing left: returns at once
  CHECK(first.step() == 8);
  const std::string path = dir.file("run.safetensors");
  first.save(path);

  TrainConfig longer = Trainer::saved_config(path);
  CHECK(longer.steps == 8);
  longer.steps = 12;
  Trainer resumed(longer, path);
  CHECK(resumed.saved_steps() == 8);
  CHECK(resumed.steps_left() == 4);
  const auto schedule = optim::make_schedule("cosine", config.lr, config.warmup, 12);
  TrainHooks hooks;
  std::vector<std::int64_t> steps;
  hooks.on_step = [&](const StepResult& r) {
    steps.push_back(r.step);
    CHECK(r.lr == schedule->lr_at(r.step - 1));
  };
  CHECK(resumed.run(hooks) == StopReason::budget_done);
  CHECK(steps == std::vector<std::int64_t>{9, 10, 11, 12});
  CHECK(resumed.evaluations().back().step == 12);

  TrainConfig shorter = Trainer::saved_config(path);
  shorter.steps = 6;
  CHECK_THROWS_WITH_AS(Trainer(shorter, path),
                       doctest::Contains("the saved run is at step 8, past --steps 6"), Error);
}

TEST_CASE("trainer: the checkpoint's exact_match reads the same whether or not the run resumed") {
  // The training state keeps evaluations as `real`; a resumed run that saves before its next
  // evaluation must still write "0.15", not the float's 0.15000000596046448.
  TempDir dir;
  TrainConfig config = tiny_run();
  config.task = "copy";  // one digit: some are right after a few steps, so the value has digits
  config.max_len = 1;
  config.steps = 40;
  config.lr = 3e-2;
  config.eval_every = 16;
  config.stop_at = 19;  // the last evaluation before the save is step 16's
  Trainer whole(config);
  whole.run();
  whole.save(dir.file("whole.safetensors"));
  config.stop_at = 17;
  Trainer half(config);
  half.run();
  half.save(dir.file("half.safetensors"));
  TrainConfig resumed_config = Trainer::saved_config(dir.file("half.safetensors"));
  resumed_config.stop_at = 19;
  Trainer resumed(resumed_config, dir.file("half.safetensors"));
  resumed.run();
  resumed.save(dir.file("resumed.safetensors"));
  const Metadata a = load_checkpoint(dir.file("whole.safetensors")).metadata;
  const Metadata b = load_checkpoint(dir.file("resumed.safetensors")).metadata;
  INFO("exact_match " << a.at("exact_match"));
  REQUIRE(a.at("exact_match").find('.') != std::string::npos);  // neither 0 nor 1
  CHECK(a.at("exact_match") == b.at("exact_match"));
  CHECK(a == b);
}

TEST_CASE("trainer: the checkpoint records the symbols of the training sources") {
  TempDir dir;
  TrainConfig config = tiny_run();
  // "+" and "=" only ever appear in targets.
  config.data_path =
      dir.write("marks.tsv", "ab\t+a\nba\tb=\naab\taa+\nbb\t=b\na\ta\nb\tb\nab\tba\nba\tab\n");
  config.valid_fraction = 0.25;
  config.steps = 1;
  Trainer trainer(config);
  trainer.run();
  trainer.save(dir.file("marks.safetensors"));
  const Checkpoint loaded = load_checkpoint(dir.file("marks.safetensors"));
  CHECK(loaded.vocab.symbols() == std::vector<std::string>{"+", "=", "a", "b"});
  REQUIRE(loaded.source_vocab.has_value());
  CHECK(loaded.source_vocab->symbols() == std::vector<std::string>{"a", "b"});
  CHECK(loaded.metadata.count(kSourceSymbolsKey) == 0);  // parsed, not left as raw metadata

  Trainer task(tiny_run());  // a task's sources hold every symbol of its vocabulary
  task.save(dir.file("task.safetensors"));
  const Checkpoint task_checkpoint = load_checkpoint(dir.file("task.safetensors"));
  REQUIRE(task_checkpoint.source_vocab.has_value());
  CHECK(*task_checkpoint.source_vocab == task_checkpoint.vocab);
}
