// train.cpp — the main job: train a seq2seq transformer on a toy task or your own TSV file.
//   build/train                                   # the standard reversal model and recipe
//   build/train --task add --steps 6000 --target-acc 0.95
//   build/train --data pairs.tsv --tokens words --save runs/mine.safetensors
//   build/train --resume runs/reverse.safetensors # continue a saved run bit-identically
// Progress goes to stdout (a bar on a terminal, plain lines otherwise); errors go to stderr
// as one line, with exit status 2 for bad flags or input and 1 for a failure while training.
// Nothing is written until the run ends (or is interrupted with Ctrl-C), and then atomically.
// Read next: nn/trainer.h (the loop), examples/predict.cpp (using the checkpoint).
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
#include "nn/trainer.h"

using namespace crossgrad;
using namespace crossgrad::nn;
namespace fs = std::filesystem;

namespace {

// --- Flags ---

// What the flags set besides TrainConfig: the session and the spelled-out forms.
struct Options {
  std::string tokens = "chars", length_generalisation, save, resume;
  std::size_t layers = 2, threads = num_threads(), samples = 5, seed = 0;
  double dropout = 0;
  std::int64_t log_every = 100;
  bool no_save = false, quiet = false;
};

void declare_data(cli::Flags& flags, TrainConfig& c, Options& o) {
  flags.section("What to learn");
  flags.add("--task", c.task, "reverse | copy | sort | add", "NAME");
  flags.add("--data", c.data_path, "train on source<TAB>target lines of FILE instead of a task",
            "FILE");
  flags.add("--tokens", o.tokens, "with --data: chars (one token a character) or words", "MODE");
  flags.add("--valid-fraction", c.valid_fraction, "with --data: share of pairs held out", 0.0, 1.0);
  flags.add("--min-len", c.min_len, "shortest task input (add: digits per operand)", 1, 1000);
  flags.add("--max-len", c.max_len, "longest task input; 0: the task's standard (16, add 3)", 0,
            1000);
  flags.add("--length-generalisation", o.length_generalisation,
            "train on lengths <= L, also evaluate on L+1..L+K by length", "L:K");
}

void declare_model(cli::Flags& flags, TrainConfig& c, Options& o) {
  flags.section("Model");
  flags.add("--d-model", c.model.d_model, "width of every layer", 1, 4096);
  flags.add("--heads", c.model.num_heads, "attention heads (must divide --d-model)", 1, 4096);
  flags.add("--layers", o.layers, "encoder and decoder layers each", 1, 64);
  flags.add("--encoder-layers", c.model.num_encoder_layers, "encoder layers (overrides --layers)",
            1, 64);
  flags.add("--decoder-layers", c.model.num_decoder_layers, "decoder layers (overrides --layers)",
            1, 64);
  flags.add("--ff", c.model.d_ff, "feed-forward width", 1, 65536);
  flags.add("--dropout", o.dropout, "dropout probability", 0.0, 0.99);
}

void declare_training(cli::Flags& flags, TrainConfig& c, Options& o) {
  flags.section("Training");
  flags.add("--steps", c.steps, "optimizer steps; the schedule spans them", 1, 100'000'000);
  flags.add("--batch", c.batch, "examples a step", 1, 1'000'000);
  flags.add("--lr", c.lr, "peak learning rate", 1e-9, 10.0);
  flags.add("--warmup", c.warmup, "linear warmup steps", 0, 100'000'000);
  flags.add("--schedule", c.schedule, "constant | inverse-sqrt | cosine (to 0 at --steps)", "NAME");
  flags.add("--clip", c.clip, "max gradient norm; 0: no clipping", 0.0, 1e9);
  flags.add("--label-smoothing", c.label_smoothing, "label smoothing of the loss", 0.0, 0.99);
  flags.add("--seed", o.seed, "seed of init, data and held-out set");
  flags.add("--threads", o.threads, "threads for the kernels (results are identical for any count)",
            1, 256);
}

void declare_session(cli::Flags& flags, TrainConfig& c, Options& o) {
  flags.section("Evaluation and output");
  flags.add("--eval-every", c.eval_every, "evaluate every N steps; 0: only at the end", 0);
  flags.add("--eval-size", c.eval_size, "held-out examples of a task", 1, 1'000'000);
  flags.add("--target-acc", c.target_acc, "stop once held-out exact match reaches X; 0: off", 0.0,
            1.0);
  flags.add("--samples", o.samples, "held-out predictions shown at the end", 0, 1000);
  flags.add("--save", o.save,
            "checkpoint path (default: runs/<task or data name>.safetensors;"
            " with --resume, the resumed path); the training state, loss CSV and SVG go beside it",
            "PATH");
  flags.add_switch("--no-save", o.no_save, "write no files");
  flags.add("--resume", o.resume,
            "continue the run saved at PATH bit-identically: its settings are the defaults, and "
            "only the evaluation and output flags may differ",
            "PATH");
  flags.add("--stop-at", c.stop_at, "stop after step N and save, to --resume later; 0: off", 0);
  flags.add("--log-every", o.log_every, "steps between progress lines when not on a terminal", 1);
  flags.add_switch("--quiet", o.quiet, "print only the final summary");
}

// Declares every flag over `config`'s current values (the defaults --help shows) and parses.
cli::Flags parse_flags(int argc, const char* const* argv, TrainConfig& config, Options& options) {
  cli::Flags flags("train", "build/train [flags]",
                   "Trains an encoder-decoder transformer, evaluates it by greedy decoding on\n"
                   "held-out data and saves a checkpoint that build/predict reads. The defaults\n"
                   "are the standard model and recipe of DESIGN.md (lr 3e-3, 200 warmup steps,\n"
                   "cosine decay over --steps, batch 64, Adam 0.9/0.98, clip 1).");
  options.layers = config.model.num_encoder_layers;  // the flags' defaults come from config
  options.dropout = config.model.dropout;
  options.seed = std::size_t(config.seed);
  options.tokens = config.tokens == TokenMode::words ? "words" : "chars";
  declare_data(flags, config, options);
  declare_model(flags, config, options);
  declare_training(flags, config, options);
  declare_session(flags, config, options);
  const std::vector<std::string> positional = flags.parse(argc, argv);
  if (!positional.empty() && !flags.help_requested())
    throw cli::FlagError("unexpected argument '" + positional[0] + "' (flags start with --)");
  return flags;
}

// The spelled-out flags into the config: layers, dropout, tokens, seed, L:K.
void apply_options(const cli::Flags& flags, TrainConfig& c, const Options& o) {
  if (flags.given("--layers")) {
    if (!flags.given("--encoder-layers")) c.model.num_encoder_layers = o.layers;
    if (!flags.given("--decoder-layers")) c.model.num_decoder_layers = o.layers;
  }
  c.model.dropout = real(o.dropout);
  if (o.tokens == "chars" || o.tokens == "characters")
    c.tokens = TokenMode::characters;
  else if (o.tokens == "words")
    c.tokens = TokenMode::words;
  else
    throw cli::FlagError("--tokens must be chars or words, got '" + o.tokens + "'");
  c.seed = o.seed;
  if (o.length_generalisation.empty()) return;
  const std::size_t colon = o.length_generalisation.find(':');
  if (colon == std::string::npos)
    throw cli::FlagError("--length-generalisation must be L:K, e.g. 8:4, got '" +
                         o.length_generalisation + "'");
  const std::uint64_t L =
      cli::parse_unsigned(o.length_generalisation.substr(0, colon), "--length-generalisation L");
  const std::uint64_t K =
      cli::parse_unsigned(o.length_generalisation.substr(colon + 1), "--length-generalisation K");
  if (L < 1 || K < 1 || L + K > 1000)
    throw cli::FlagError("--length-generalisation L:K needs L >= 1, K >= 1 and L+K <= 1000");
  if (flags.given("--max-len") && c.max_len != L)
    throw cli::FlagError("--length-generalisation " + o.length_generalisation + " and --max-len " +
                         std::to_string(c.max_len) + " disagree on the longest training length");
  c.max_len = L;
  c.generalisation = K;
}

// --- Setting up ---

std::string default_save_path(const TrainConfig& config) {
  const std::string name =
      config.data_path.empty() ? config.task : fs::path(config.data_path).stem().string();
  return "runs/" + name + ".safetensors";
}

// Flags and config for this command line; for --resume, the saved run's settings are the
// defaults the flags start from, so only what the user spells out can differ (and the
// Trainer refuses a difference that would change the run).
TrainConfig read_command_line(int argc, const char* const* argv, Options& options, bool& help) {
  TrainConfig config;
  cli::Flags flags = parse_flags(argc, argv, config, options);
  help = flags.help_requested();
  if (help) {
    std::cout << flags.help();
    return config;
  }
  if (!options.resume.empty()) {
    config = Trainer::saved_config(options.resume);
    options = Options();
    flags = parse_flags(argc, argv, config, options);
  }
  apply_options(flags, config, options);
  if (options.save.empty())
    options.save = options.resume.empty() ? default_save_path(config) : options.resume;
  if (!options.no_save && fs::is_directory(options.save))
    throw cli::FlagError("--save " + options.save + " is a directory; give a file path");
  return config;
}

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
                with_commas(count_parameters(m)).c_str(), m.d_model, m.num_heads, m.d_ff,
                m.num_encoder_layers, m.num_decoder_layers, double(m.dropout));
  return line;
}

void print_header(const Trainer& trainer, const Options& options) {
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

RunSummary train(Trainer& trainer, const Options& options) {
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

void print_summary(Trainer& trainer, const RunSummary& summary, const Options& options) {
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
void save_run(Trainer& trainer, const Options& options) {
  const std::string csv = companion_path(options.save, ".loss.csv");
  const std::string svg = companion_path(options.save, ".loss.svg");
  const std::vector<std::string> files = {csv, svg, training_state_path(options.save),
                                          options.save};
  try {
    trainer.save(options.save);  // creates the directory, writes the state, then the model
    const cli::LossHistory history = history_of(trainer);
    write_file_atomically(csv, cli::loss_csv(history));
    write_file_atomically(svg, cli::loss_svg(history, "crossgrad train: " + trainer.description()));
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
  Options options;
  std::unique_ptr<Trainer> trainer;
  try {
    bool help = false;
    TrainConfig config = read_command_line(argc, argv, options, help);
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
