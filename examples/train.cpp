// train.cpp — the main job: train a seq2seq transformer on a toy task or your own TSV file.
//   build/train                                   # the standard reversal model and recipe
//   build/train --task add --target-acc 0.99      # addition: a budget of 30,000 steps
//   build/train --data pairs.tsv --tokens words --save runs/mine.safetensors
//   build/train --resume runs/reverse.safetensors # continue a saved run bit-identically
// Progress goes to stdout (a bar on a terminal, plain lines otherwise); errors go to stderr
// as one line, with exit status 2 for bad flags or input and 1 for a failure while training.
// Nothing is written until the run ends (or is interrupted with Ctrl-C), and then atomically.
// The loop itself, its checkpoints and resuming are examples/training/trainer.h; the flags
// are declared and parsed in examples/common/train_flags.cpp.
// Read next: examples/predict.cpp (the checkpoint at work).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "autograd/thread_pool.h"
#include "examples/common/flags.h"
#include "examples/common/loss_plot.h"
#include "examples/common/progress.h"
#include "examples/common/train_flags.h"
#include "examples/training/trainer.h"

using namespace crossgrad;
using namespace crossgrad::training;
using cli::TrainOptions;
namespace fs = std::filesystem;

namespace {

// --- The run's header ---

std::string with_commas(std::size_t n) {  // 236237 -> "236,237"
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i)
    out += (i > 0 && (digits.size() - i) % 3 == 0 ? "," : "") + std::string(1, digits[i]);
  return out;
}

std::string describe_model(const Trainer& trainer) {
  const TransformerConfig& m = trainer.config().model;
  char line[256];
  std::snprintf(line, sizeof line,
                "model: %s parameters: d_model %zu, %zu heads, ff %zu, %zu+%zu layers, dropout %g",
                with_commas(nn::count_parameters(m)).c_str(), m.d_model, m.num_heads, m.d_ff,
                m.num_encoder_layers, m.num_decoder_layers, double(m.dropout));
  return line;
}

void print_header(const Trainer& trainer, const TrainOptions& options) {
  const TrainConfig& c = trainer.config();
  std::cout << "crossgrad train: " << trainer.description() << " (vocab " << trainer.vocab().size()
            << ")\n"
            << describe_model(trainer) << "\n"
            << "recipe: " << c.steps << " steps, batch " << c.batch
            << ", Adam (betas 0.9/0.98, eps 1e-9), "
            << optim::make_schedule(c.schedule, c.lr, c.warmup, c.steps)->describe() << ", clip "
            << c.clip << ", seed " << c.seed << ", " << options.threads << " thread"
            << (options.threads == 1 ? "" : "s") << "\n";
  if (!options.resume.empty())
    std::cout << "resuming " << options.resume << " at step " << trainer.step() << "\n";
  std::cout << std::flush;
}

// --- Training ---

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) { interrupted = 1; }

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * fraction);
  return text;
}

std::string evaluation_line(const Evaluation& e) {
  std::string line =
      "eval step " + std::to_string(e.step) + ": exact match " + percent(e.exact_match) + " (" +
      std::to_string(std::size_t(std::lround(e.exact_match * double(e.examples)))) + "/" +
      std::to_string(e.examples) + "), token accuracy " + percent(e.token_accuracy);
  if (e.generalisation.total() == 0) return line;
  line += "\n  unseen lengths: " + percent(e.generalisation.accuracy()) + " exact match";
  std::string report = e.generalisation.report();
  for (std::size_t start = 0; start < report.size();) {
    const std::size_t end = std::min(report.find('\n', start), report.size());
    line += "\n    " + report.substr(start, end - start);
    start = end + 1;
  }
  return line;
}

struct RunSummary {
  StopReason reason = StopReason::budget_done;
  double train_seconds = 0;          // training steps only, evaluation excluded
  std::vector<double> step_seconds;  // of this session's steps
  double wall_seconds = 0;
};

RunSummary train(Trainer& trainer, const TrainOptions& options) {
  cli::Progress progress(
      std::cout, cli::is_terminal(std::cout), trainer.step(),
      trainer.config().stop_at > 0 ? trainer.config().stop_at : trainer.config().steps,
      options.log_every);
  RunSummary summary;
  TrainHooks hooks;
  hooks.on_step = [&](const StepResult& r) {
    summary.train_seconds += r.seconds;
    summary.step_seconds.push_back(r.seconds);
    if (!options.quiet) progress.update(r.step, r.loss, r.token_accuracy, r.tokens, r.seconds);
  };
  hooks.on_eval = [&](const Evaluation& e) {
    if (!options.quiet) progress.message(evaluation_line(e));
  };
  hooks.should_stop = [] { return interrupted != 0; };
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the program at once
  sigaction(SIGINT, &action, nullptr);
  const auto start = std::chrono::steady_clock::now();
  summary.reason = trainer.run(hooks);
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  signal(SIGINT, SIG_DFL);
  progress.finish();
  return summary;
}

// --- Results ---

void print_summary(Trainer& trainer, const RunSummary& summary, const TrainOptions& options) {
  const TrainConfig& c = trainer.config();
  const Evaluation* last = trainer.evaluations().empty() ? nullptr : &trainer.evaluations().back();
  const std::string exact = last ? percent(last->exact_match) : "?";
  switch (summary.reason) {
    case StopReason::target_reached:
      std::cout << "reached exact match " << exact << " (target " << percent(c.target_acc)
                << ") at step " << trainer.step() << "\n";
      break;
    case StopReason::budget_done:
      std::cout << "finished " << c.steps << " steps: exact match " << exact << "\n";
      break;
    case StopReason::stopped_at:
      std::cout << "stopped at step " << trainer.step() << " (--stop-at): exact match " << exact
                << "\n";
      break;
    case StopReason::interrupted:
      std::cout << "interrupted at step " << trainer.step() << "\n";
      break;
  }
  std::vector<double> sorted = summary.step_seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.empty() ? 0 : sorted[sorted.size() / 2];
  char timing[160];
  std::snprintf(timing, sizeof timing,
                "time: %.1f s training %zu steps (median %.1f ms/step), %.1f s with evaluation\n",
                summary.train_seconds, sorted.size(), 1000 * median, summary.wall_seconds);
  std::cout << timing;
  const std::vector<Sample> samples = trainer.samples(options.samples);
  if (!samples.empty()) std::cout << "samples (held-out source -> prediction):\n";
  for (const Sample& s : samples)
    std::cout << "  " << s.source << " -> " << s.prediction
              << (s.correct ? "  ok" : "  (want " + s.target + ")") << "\n";
  std::cout << std::flush;
}

cli::LossHistory history_of(const Trainer& trainer) {
  cli::LossHistory history;
  history.loss.assign(trainer.losses().begin(), trainer.losses().end());
  history.token_accuracy.assign(trainer.token_accuracies().begin(),
                                trainer.token_accuracies().end());
  for (const Evaluation& e : trainer.evaluations())
    history.evaluations.push_back({e.step, e.exact_match, e.token_accuracy});
  return history;
}

// Every file of the run, or none: if one write fails, the ones written now are removed.
void save_run(Trainer& trainer, const TrainOptions& options) {
  const std::string csv = companion_path(options.save, ".loss.csv");
  const std::string svg = companion_path(options.save, ".loss.svg");
  const std::vector<std::string> files = {csv, svg, training_state_path(options.save),
                                          options.save};
  try {
    trainer.save(options.save);  // creates the directory, writes the state, then the model
    const cli::LossHistory history = history_of(trainer);
    nn::write_file_atomically(csv, cli::loss_csv(history));
    nn::write_file_atomically(svg,
                              cli::loss_svg(history, "crossgrad train: " + trainer.description()));
  } catch (...) {
    std::error_code ignored;
    for (const std::string& file : files) fs::remove(file, ignored);
    throw;
  }
  std::cout << "checkpoint: " << options.save
            << " (training state: " << training_state_path(options.save) << ")\nloss curve: " << csv
            << ", " << svg << "\n";
  if (trainer.step() < trainer.config().steps)
    std::cout << "continue:   build/train --resume " << options.save << "\n";
  const std::vector<Sample> example = trainer.samples(1);
  const std::string input = example.empty() ? "INPUT" : "'" + example[0].source + "'";
  std::cout << "try:        build/predict --checkpoint " << options.save << " " << input
            << " --show-attention\n";
}

}  // namespace

int main(int argc, char** argv) {
  TrainOptions options;
  std::unique_ptr<Trainer> trainer;
  try {
    bool help = false;
    TrainConfig config = cli::read_train_command_line(argc, argv, options, help);
    if (help) return 0;
    set_num_threads(options.threads);
    trainer = options.resume.empty() ? std::make_unique<Trainer>(config)
                                     : std::make_unique<Trainer>(config, options.resume);
  } catch (const std::exception& error) {  // flags, data, checkpoint: the user's to fix
    std::cerr << "train: error: " << error.what() << "\n";
    return cli::kUsageError;
  }
  try {
    if (!options.quiet) print_header(*trainer, options);
    const RunSummary summary = train(*trainer, options);
    print_summary(*trainer, summary, options);
    if (!options.no_save) save_run(*trainer, options);
  } catch (const std::exception& error) {
    std::cerr << "train: error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
