// train.cpp — the main job: train a seq2seq transformer on a toy task or your own TSV file.
//   build/train                                   # the standard reversal model and recipe
//   build/train --task add --target-acc 0.99      # addition: a budget of 30,000 steps
//   build/train --data pairs.tsv --tokens words --save runs/mine.safetensors
//   build/train --resume runs/reverse.safetensors # continue a saved run bit-identically
// Progress goes to stdout (a bar on a terminal, plain lines otherwise); errors go to stderr
// as one line, with exit status 2 for bad flags or input and 1 for a failure while training.
// Nothing is written until the run ends, is interrupted (Ctrl-C, SIGTERM, SIGHUP: then the
// exit status is 128 + the signal) or reaches a --save-every step, and then atomically.
// The loop itself, its checkpoints and resuming are examples/training/trainer.h; the flags
// are declared and parsed in examples/common/train_flags.cpp.
// Read next: examples/predict.cpp (the checkpoint at work).
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
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
  if (!options.resume.empty() && trainer.saved_steps() != c.steps) {
    const auto lr_of = [&](std::int64_t budget) {
      return optim::make_schedule(c.schedule, c.lr, c.warmup, budget)->lr_at(trainer.step());
    };
    std::cout << "budget: " << c.steps << " steps instead of the saved run's "
              << trainer.saved_steps() << "; the " << c.schedule << " schedule now spans "
              << c.steps << " steps: lr " << lr_of(c.steps) << " at step " << trainer.step() + 1
              << " (the saved schedule's: " << lr_of(trainer.saved_steps()) << ")\n";
  }
  std::cout << std::flush;
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * fraction);
  return text;
}

// A resumed run with no step left: say where it stands and change nothing.
void report_nothing_to_do(const Trainer& trainer, const TrainOptions& options) {
  const TrainConfig& c = trainer.config();
  std::cout << "nothing to train: the run saved at " << options.resume << " is at step "
            << trainer.step();
  if (c.stop_at > 0 && trainer.step() < c.steps)
    std::cout << " and --stop-at " << c.stop_at << " is not after it";
  else
    std::cout << ", the end of its " << c.steps << "-step budget";
  if (!trainer.evaluations().empty())
    std::cout << " (exact match " << percent(trainer.evaluations().back().exact_match)
              << " at step " << trainer.evaluations().back().step << ")";
  std::cout << "; no file was changed.\n";
  if (trainer.step() >= c.steps)
    std::cout << "To train longer, give a larger budget: build/train --resume " << options.resume
              << " --steps N (N > " << c.steps << "; the " << c.schedule
              << " schedule then spans N steps)\n";
}

// --- Interruption ---
// SIGINT (Ctrl-C), SIGTERM and SIGHUP (a killed terminal, a closed laptop lid) ask the run to
// stop after the current step and save; the exit status is then 128 + the signal (130 for
// Ctrl-C), as a shell reports a program a signal ended. A second signal before the save
// begins ends the program at once, writing nothing; during a save a signal only prints a
// note, so every file is written whole and no temporary file is left behind.

volatile std::sig_atomic_t stop_signal = 0;  // the first signal received; 0: none yet
volatile std::sig_atomic_t saving = 0;       // a save is writing files, or the run is ending

void say(const char* text) {  // write(2) is safe in a signal handler; iostreams are not
  std::size_t length = 0;
  while (text[length] != '\0') ++length;
  while (length > 0) {
    const ssize_t written = ::write(STDERR_FILENO, text, length);
    if (written <= 0) return;
    text += written;
    length -= std::size_t(written);
  }
}

extern "C" void on_stop_signal(int signal_number) {
  if (stop_signal == 0) {
    stop_signal = signal_number;
    std::signal(SIGPIPE, SIG_IGN);  // a closed terminal or pipe must not cut the save short
    say("\ntrain: stopping after this step to save; a second signal quits without saving\n");
  } else if (saving) {
    say("\ntrain: saving the run; the program ends when its files are written\n");
  } else {
    std::signal(signal_number, SIG_DFL);  // nothing is being written: end at once
    std::raise(signal_number);
  }
}

void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  action.sa_flags = SA_RESTART;  // a write or read the signal interrupts carries on
  sigemptyset(&action.sa_mask);
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&action.sa_mask, signal_number);
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal_number, &action, nullptr);
}

const char* signal_name(int signal_number) {
  return signal_number == SIGINT ? "Ctrl-C" : signal_number == SIGTERM ? "SIGTERM" : "SIGHUP";
}

// --- Training ---

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

void write_run_files(const Trainer& trainer, const TrainOptions& options);

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
  hooks.after_step = [&](std::int64_t step) {  // --save-every; the end saves anyway
    if (options.save_every <= 0 || step % options.save_every != 0 || trainer.steps_left() == 0)
      return;
    write_run_files(trainer, options);
    if (!options.quiet) progress.message("saved step " + std::to_string(step) + " to " + options.save);
  };
  hooks.should_stop = [] { return stop_signal != 0; };
  std::optional<DetectAnomalyGuard> detect_anomaly;
  if (options.detect_anomaly) detect_anomaly.emplace();
  const auto start = std::chrono::steady_clock::now();
  summary.reason = trainer.run(hooks);
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
      std::cout << "interrupted (" << signal_name(stop_signal) << ") at step " << trainer.step()
                << "\n";
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

// Every file of the run together: the model, its training state, the loss CSV and SVG, all
// written before any is renamed (nn::write_files_atomically), so a failure or a crash
// leaves the previous files. Signals during the write only print a note (on_stop_signal).
void write_run_files(const Trainer& trainer, const TrainOptions& options) {
  struct Saving {  // from the first byte serialised to the last one renamed
    const std::sig_atomic_t before = saving;
    Saving() { saving = 1; }
    ~Saving() { saving = before; }
  } during_the_save;
  const fs::path parent = fs::path(options.save).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  std::vector<nn::FileContents> files = trainer.checkpoint_files(options.save);
  const cli::LossHistory history = history_of(trainer);
  const std::string csv = companion_path(options.save, ".loss.csv");
  const std::string svg = companion_path(options.save, ".loss.svg");
  files.push_back({csv, cli::loss_csv(history)});
  files.push_back({svg, cli::loss_svg(history, "crossgrad train: " + trainer.description())});
  nn::write_files_atomically(files, "train: save");
}

void save_run(Trainer& trainer, const TrainOptions& options) {
  write_run_files(trainer, options);
  const std::string csv = companion_path(options.save, ".loss.csv");
  const std::string svg = companion_path(options.save, ".loss.svg");
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
    if (trainer->steps_left() == 0) {  // only a resumed run can have none
      report_nothing_to_do(*trainer, options);
      return 0;
    }
    catch_stop_signals();
    const RunSummary summary = train(*trainer, options);
    saving = 1;  // the run is over: from here to the exit a signal only prints a note
    print_summary(*trainer, summary, options);
    if (!options.no_save) save_run(*trainer, options);
  } catch (const std::exception& error) {
    // An anomaly names the op; the step it happened in is the one after the steps done.
    const std::string what = error.what();
    std::cerr << "train: error: "
              << (what.rfind("anomaly: ", 0) == 0
                      ? "step " + std::to_string(trainer->step() + 1) + ": " + what
                      : what)
              << "\n";
    return 1;
  }
  return stop_signal != 0 ? 128 + stop_signal : 0;
}
