// train_flags.cpp — build/train's flags (see train_flags.h): declared section by section over
// a TrainConfig, parsed, then the spelled-out forms applied (--layers, --dropout, --tokens,
// --seed, --length-generalisation L:K). Read next: examples/train.cpp.
#include "examples/common/train_flags.h"

#include <filesystem>
#include <iostream>

#include "examples/common/flags.h"

namespace crossgrad::cli {

using training::TrainConfig;
using training::Trainer;
namespace fs = std::filesystem;

namespace {

// Addition's budget when --steps is not given. Addition sits near 30% exact match for some
// 5,000-7,000 steps and then learns to carry within a few thousand more (chapter 8); the
// standard 4,000-step schedule would decay to zero on that plateau.
constexpr std::int64_t kAddSteps = 30'000;

void declare_data(Flags& flags, TrainConfig& c, TrainOptions& o) {
  flags.section("What to learn");
  flags.add("--task", c.task, "reverse | copy | sort | add | mix", "NAME");
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

void declare_model(Flags& flags, TrainConfig& c, TrainOptions& o) {
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

void declare_training(Flags& flags, TrainConfig& c, TrainOptions& o) {
  flags.section("Training");
  flags.add("--steps", c.steps,
            "optimizer steps, spanned by the schedule; add: " + std::to_string(kAddSteps),
            1, 100'000'000);
  flags.add("--batch", c.batch, "examples a step", 1, 1'000'000);
  flags.add("--lr", c.lr, "peak learning rate", 1e-9, 1e6);
  flags.add("--warmup", c.warmup, "linear warmup steps", 0, 100'000'000);
  flags.add("--schedule", c.schedule, "constant | inverse-sqrt | cosine (to 0 at --steps)", "NAME");
  flags.add("--clip", c.clip, "max gradient norm; 0: no clipping", 0.0, 1e9);
  flags.add("--label-smoothing", c.label_smoothing, "label smoothing of the loss", 0.0, 0.99);
  flags.add("--seed", o.seed, "seed of init, data and held-out set");
  flags.add("--threads", o.threads, "threads for the kernels (results are identical for any count)",
            1, 256);
  flags.add_switch("--detect-anomaly", o.detect_anomaly,
                   "stop at the first op whose output or gradient holds NaN or inf, naming it "
                   "(slower: for finding where a run diverges)");
}

void declare_session(Flags& flags, TrainConfig& c, TrainOptions& o) {
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
  flags.add("--save-every", o.save_every,
            "also save the checkpoint every N steps, so a crash loses at most N; 0: only at the end",
            0);
  flags.add("--resume", o.resume,
            "continue the run saved at PATH bit-identically: its settings are the defaults, and "
            "only the evaluation and output flags may differ",
            "PATH");
  flags.add("--stop-at", c.stop_at, "stop after step N and save, to --resume later; 0: off", 0);
  flags.add("--log-every", o.log_every, "steps between progress lines when not on a terminal", 1);
  flags.add_switch("--quiet", o.quiet, "print only the final summary");
}

// Declares every flag over `config`'s current values (the defaults --help shows) and parses.
Flags parse_flags(int argc, const char* const* argv, TrainConfig& config, TrainOptions& options) {
  Flags flags("train", "build/train [flags]",
              "Trains an encoder-decoder transformer, evaluates it by greedy decoding on\n"
              "held-out data and saves a checkpoint that build/predict reads. The defaults\n"
              "are the standard model and its recipe (lr 3e-3, 200 warmup steps,\n"
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
    throw FlagError("unexpected argument '" + positional[0] + "' (flags start with --)");
  return flags;
}

// The spelled-out flags into the config: layers, dropout, tokens, seed, L:K.
void apply_options(const Flags& flags, TrainConfig& c, const TrainOptions& o) {
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
    throw FlagError("--tokens must be chars or words, got '" + o.tokens + "'");
  c.seed = o.seed;
  if (c.task == "add" && c.data_path.empty() && !flags.given("--steps") && o.resume.empty())
    c.steps = kAddSteps;
  if (o.length_generalisation.empty()) return;
  const std::size_t colon = o.length_generalisation.find(':');
  if (colon == std::string::npos)
    throw FlagError("--length-generalisation must be L:K, e.g. 8:4, got '" +
                    o.length_generalisation + "'");
  const std::uint64_t L =
      parse_unsigned(o.length_generalisation.substr(0, colon), "--length-generalisation L");
  const std::uint64_t K =
      parse_unsigned(o.length_generalisation.substr(colon + 1), "--length-generalisation K");
  if (L < 1 || K < 1 || L + K > 1000)
    throw FlagError("--length-generalisation L:K needs L >= 1, K >= 1 and L+K <= 1000");
  if (flags.given("--max-len") && c.max_len != L)
    throw FlagError("--length-generalisation " + o.length_generalisation + " and --max-len " +
                    std::to_string(c.max_len) + " disagree on the longest training length");
  c.max_len = L;
  c.generalisation = K;
}

std::string default_save_path(const TrainConfig& config) {
  const std::string name =
      config.data_path.empty() ? config.task : fs::path(config.data_path).stem().string();
  return "runs/" + name + ".safetensors";
}

}  // namespace

TrainConfig read_train_command_line(int argc, const char* const* argv, TrainOptions& options,
                                    bool& help) {
  TrainConfig config;
  Flags flags = parse_flags(argc, argv, config, options);
  help = flags.help_requested();
  if (help) {
    std::cout << flags.help();
    return config;
  }
  if (!options.resume.empty()) {
    config = Trainer::saved_config(options.resume);
    options = TrainOptions();
    flags = parse_flags(argc, argv, config, options);
  }
  apply_options(flags, config, options);
  if (options.save.empty())
    options.save = options.resume.empty() ? default_save_path(config) : options.resume;
  if (options.no_save && options.save_every > 0)
    throw FlagError("--save-every " + std::to_string(options.save_every) +
                    " saves checkpoints, --no-save writes no files: give one of them");
  if (!options.no_save && fs::is_directory(options.save))
    throw FlagError("--save " + options.save + " is a directory; give a file path");
  return config;
}

}  // namespace crossgrad::cli
