// predict.cpp — a trained checkpoint at work: decode inputs (greedy or beam search), score
// given targets, and show where the decoder looked in the source (cross-attention).
// A mistake on the command line or in the checkpoint is one line on stderr and a non-zero
// exit before anything is printed; each input (an argument or a line) gets its output on
// stdout or a one-line error on stderr naming it, and the exit status says whether any
// failed. Read next: docs/architecture.md (how the layers fit together).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/tsv.h"
#include "examples/common/attention_view.h"
#include "examples/common/flags.h"
#include "examples/common/predict_input.h"
#include "examples/common/steering.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

const char* const kDescription =
    "Decodes each INPUT with a trained model, or one input a line from stdin when none is\n"
    "given (with a \"> \" prompt on a terminal), and prints one output a line. An input\n"
    "that cannot be decoded (an empty line, an unknown symbol) gets a one-line error on\n"
    "stderr naming it instead, and the exit status is then 1. Heatmaps are in colour on a\n"
    "terminal unless NO_COLOR is set. For example:\n"
    "  build/predict --checkpoint runs/reverse.safetensors 12345 --show-attention\n"
    "Steering flags edit the cross-attention while decoding and print each input's\n"
    "unedited output, then its steered one (docs/steering-cross-attention.md):\n"
    "  build/predict --checkpoint docs/models/reverse.safetensors --force-attention diagonal\n"
    "      --edit-layer 1 12345\n";

struct Options {
  std::string checkpoint, svg, data, head_text;
  std::size_t beam = 0;  // 0: greedy decoding
  double length_penalty = 1;
  std::size_t max_len = 0;  // 0: nn/decode.h's default
  bool show_attention = false, score = false;
  long head = -1;  // -1: the mean of the heads
  std::vector<std::string> inputs;
  std::string force_text, block_text, weight_text, layer_text, edit_head_text;
  steer::Steering steering;
};

// --- Command line ---

cli::Flags declare_flags(Options& o) {
  cli::Flags flags("predict", "build/predict --checkpoint PATH [flags] [INPUT ...]", kDescription);
  flags.add("--checkpoint", o.checkpoint, "the model to load (from train --save); required",
            "PATH");
  flags.section("Decoding");
  flags.add("--beam", o.beam, "beam search with N beams; 0: greedy decoding", 0, 1000);
  flags.add("--length-penalty", o.length_penalty, "beams rank by log p / length^X", 0.0, 10.0);
  flags.add("--max-len", o.max_len, "most tokens made (EOS too); 0: 2 * source + 10", 0, 100'000);
  flags.add_switch("--show-attention", o.show_attention,
                   "print each input's cross-attention heatmap per decoder layer");
  flags.add("--head", o.head_text,
            "show head N (from 0) instead of the mean; implies --show-attention", "N");
  flags.add("--svg", o.svg, "write every layer's and head's cross-attention as SVG", "FILE");
  flags.section("Steering (each input's unedited output, then its steered one)");
  flags.add("--force-attention", o.force_text,
            "force the cross-attention: diagonal, anti-diagonal, or FILE with one row of weights "
            "per output step (source tokens, then EOS)",
            "MAP");
  flags.add("--block-source", o.block_text,
            "set source position I's weight to 0 (I,J: several), then renormalise", "I");
  flags.add("--weight-source", o.weight_text,
            "multiply source position I's weight by X in [0, 1e6] (I:X,J:Y: several), then "
            "renormalise",
            "I:X");
  flags.add("--edit-layer", o.layer_text, "edit decoder layer L only (L,M: several); default: all",
            "L");
  flags.add("--edit-head", o.edit_head_text, "edit head H only; default: every head", "H");
  flags.section("Scoring");
  flags.add_switch("--score", o.score,
                   "read source<TAB>target lines, print each as source<TAB>target<TAB>log p(target"
                   " | source)");
  flags.add("--data", o.data, "with --score: read the lines from FILE, not stdin", "FILE");
  return flags;
}

// The options, checked for combinations that cannot mean what the user hoped; or nothing
// after printing --help.
std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  cli::Flags flags = declare_flags(o);
  o.inputs = flags.parse(argc, argv);
  if (flags.help_requested()) return std::cout << flags.help(), std::nullopt;
  if (flags.given("--head")) o.head = long(cli::parse_unsigned(o.head_text, "--head"));
  o.show_attention = o.show_attention || o.head >= 0;
  if (o.checkpoint.empty()) throw cli::FlagError("--checkpoint PATH is required");
  if (flags.given("--length-penalty") && o.beam == 0)
    throw cli::FlagError("--length-penalty only applies to beam search: add --beam N");
  if (!o.data.empty() && !o.score) throw cli::FlagError("--data FILE only applies to --score");
  if (o.score && (o.show_attention || !o.svg.empty() || o.beam || o.max_len))
    throw cli::FlagError("--beam, --max-len, --show-attention, --head and --svg are for decoding");
  if (flags.given("--force-attention")) steer::parse_force(o.force_text, o.steering);
  if (flags.given("--block-source")) steer::parse_block(o.block_text, o.steering);
  if (flags.given("--weight-source")) steer::parse_weights(o.weight_text, o.steering);
  if (flags.given("--edit-layer"))
    o.steering.layers = steer::parse_indices(o.layer_text, "--edit-layer");
  if (flags.given("--edit-head"))
    o.steering.head = std::size_t(cli::parse_unsigned(o.edit_head_text, "--edit-head"));
  if ((flags.given("--edit-layer") || flags.given("--edit-head")) && !o.steering.any())
    throw cli::FlagError("--edit-layer and --edit-head choose what to steer: add "
                         "--force-attention, --block-source or --weight-source");
  if (o.score && o.steering.any())
    throw cli::FlagError("--force-attention, --block-source and --weight-source are for decoding");
  if (o.score && !o.inputs.empty())
    throw cli::FlagError("--score reads lines from stdin or --data FILE, not arguments ('" +
                         o.inputs[0] + "')");
  return o;
}

// --- Inputs ---

struct Session {
  const Options& options;
  nn::Seq2SeqTransformer& model;
  const Vocab& vocab;
  cli::InputReader& reader;
  bool color;
};

using cli::Input;

// An input read and checked against the steering: a source position it lacks is its error.
Input read_source(Session& session, const std::string& text, const std::string& where) {
  Input input = session.reader.read(text, where);
  if (session.options.steering.any())
    steer::check_source(session.options.steering, input.ids.size() + 1, where);  // + EOS
  return input;
}

std::string without_cr(std::string line) {  // Windows line ends
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// --- Decoding and showing ---

// With `steered`, the options' steering edits the cross-attention while decoding.
std::vector<nn::Hypothesis> decode_all(Session& session, const std::vector<Input>& inputs,
                                       bool steered) {
  const Options& o = session.options;
  steer::install(steered ? o.steering : steer::Steering(), session.model);
  nn::DecodeOptions decode;
  decode.max_len = o.max_len;
  decode.keep_attention = o.show_attention || !o.svg.empty();
  decode.beam = std::max<std::size_t>(o.beam, 1);
  decode.length_penalty = o.length_penalty;
  std::vector<nn::Hypothesis> out =
      cli::decode_inputs(session.model, inputs, decode, /*beam_search=*/o.beam != 0);
  session.model.clear_cross_attention_edits();
  return out;
}

// Labels and maps for one input; the batch's padding columns are cut from the maps.
view::AttentionExample attention_example(const Vocab& vocab, const std::string& text,
                                         const nn::Hypothesis& hypothesis,
                                         const std::string& caption = "") {
  view::AttentionExample example;
  example.caption = caption;
  for (const std::string& token : vocab.tokenize(text))
    example.source.push_back(view::token_label(token));
  example.source.push_back(view::token_label(vocab.symbol(EOS)));
  for (const std::int64_t id : hypothesis.tokens)
    example.output.push_back(view::token_label(vocab.symbol(id)));
  for (const Tensor& layer : hypothesis.cross_attention)  // (H, T, S_batch) -> (H, T, S)
    example.layers.push_back(layer.slice(2, 0, example.source.size()));
  return example;
}

void print_attention(const Session& session, const view::AttentionExample& example) {
  const long head = session.options.head;
  for (std::size_t l = 0; l < example.layers.size(); ++l) {
    const Tensor& layer = example.layers[l];
    const std::string heads = std::to_string(layer.size(0));
    const std::string title = "cross-attention, decoder layer " + std::to_string(l) + " of " +
                              std::to_string(example.layers.size()) + ", " +
                              (head < 0 ? "mean of " + heads + " heads"
                                        : "head " + std::to_string(head) + " of " + heads);
    const Tensor weights = head < 0 ? view::head_mean(layer) : view::head_slice(layer, head);
    std::cout << view::render_heatmap(weights, example.source, example.output,
                                      {session.color, title});
  }
  std::cout << "\n";
}

// Decodes the inputs, then prints each output and, if asked, its heatmaps; the attention
// of each is added to svg_examples when --svg asks for them. Steering decodes each input
// twice and prints "unedited: ..." and "steered: ..." lines, each followed by its maps.
void decode_and_show(Session& session, const std::vector<Input>& inputs,
                     std::vector<view::AttentionExample>& svg_examples) {
  const Options& o = session.options;
  const bool steering = o.steering.any(), maps = o.show_attention || !o.svg.empty();
  const std::vector<nn::Hypothesis> hypotheses = decode_all(session, inputs, false);
  const std::vector<nn::Hypothesis> steered =
      steering ? decode_all(session, inputs, true) : std::vector<nn::Hypothesis>();
  const auto show = [&](const std::string& label, const Input& input,
                        const nn::Hypothesis& hypothesis, const std::string& caption) {
    std::cout << label << session.vocab.decode(hypothesis.tokens) << "\n";
    if (hypothesis.tokens.empty() || hypothesis.tokens.back() != EOS)
      std::cerr << "predict: warning: " << input.where << ": no EOS within "
                << hypothesis.tokens.size() << " tokens; the output is cut (raise --max-len)\n";
    if (!maps) return;
    const view::AttentionExample example =
        attention_example(session.vocab, input.text, hypothesis, caption);
    if (!o.svg.empty()) svg_examples.push_back(example);
    if (o.show_attention) print_attention(session, example);
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!steering) {
      show("", inputs[i], hypotheses[i], "");
      continue;
    }
    show("unedited: ", inputs[i], hypotheses[i], "unedited");
    show("steered:  ", inputs[i], steered[i], "steered, " + o.steering.describe());
  }
  std::cout.flush();
}

void report_error(const std::exception& error) {  // one line, after the outputs so far
  std::string message = error.what();
  std::replace(message.begin(), message.end(), '\n', ' ');
  std::cerr << "predict: error: " << message << "\n";
}

// Interactive: one input a line, each decoded at once; a mistake is reported, not fatal, and
// the exit status says whether any line failed. An empty line does nothing.
int run_interactive(Session& session) {
  std::cout << "Type an input and press Enter; an empty line does nothing, Ctrl-D quits.\n";
  std::vector<view::AttentionExample> svg_examples;
  bool any_failed = false;
  std::string line;
  for (std::size_t number = 1; std::cout << "> " << std::flush, std::getline(std::cin, line);
       ++number) {
    if ((line = without_cr(line)).empty()) continue;
    try {
      decode_and_show(session, {read_source(session, line, "line " + std::to_string(number))},
                      svg_examples);
      if (!session.options.svg.empty())
        nn::write_file_atomically(session.options.svg, view::render_svg(svg_examples));
    } catch (const std::exception& error) {
      report_error(error);
      any_failed = true;
    }
  }
  std::cout << "\n";
  return any_failed ? 1 : 0;
}

// Arguments, or every line of stdin, in order: each gets its output, or its error on stderr
// naming it ("line 3: empty input"). Good inputs are decoded in batches of up to 64 between
// bad ones. The SVG, if asked for, holds every input that decoded; the exit status is 1 if
// any input failed.
int run_batch(Session& session) {
  std::vector<view::AttentionExample> svg_examples;
  std::vector<Input> pending;
  bool any_failed = false;
  const auto decode_pending = [&] {
    if (!pending.empty()) decode_and_show(session, pending, svg_examples);
    pending.clear();
  };
  const auto take = [&](const std::string& text, const std::string& where) {
    try {
      pending.push_back(read_source(session, text, where));
    } catch (const Error& error) {
      decode_pending();  // the outputs of the lines before this one come first
      report_error(error);
      any_failed = true;
    }
    if (pending.size() == 64) decode_pending();
  };
  const std::vector<std::string>& arguments = session.options.inputs;
  for (std::size_t i = 0; i < arguments.size(); ++i)
    take(arguments[i], "argument " + std::to_string(i + 1));
  std::string line;
  for (std::size_t number = 1; arguments.empty() && std::getline(std::cin, line); ++number)
    take(without_cr(line), "line " + std::to_string(number));
  decode_pending();
  if (!session.options.svg.empty() && !svg_examples.empty())
    nn::write_file_atomically(session.options.svg, view::render_svg(svg_examples));
  return any_failed ? 1 : 0;
}

// --- Scoring ---

// log p(target | source) of every line, printed as source<TAB>target<TAB>score so a long
// file stays readable and sortable (sort -t$'\t' -k3 -g). The whole file is checked first,
// as build/train checks its data: a malformed line stops it before any score is printed.
int run_score(Session& session) {
  const Options& o = session.options;
  std::ostringstream text;
  if (o.data.empty()) text << std::cin.rdbuf();
  const TokenMode mode = session.vocab.mode();
  const TsvDataset data = o.data.empty() ? TsvDataset::parse(text.str(), "<stdin>", mode)
                                         : TsvDataset::load(o.data, mode);
  if (data.size() == 0) fail(data.name() + ": no source<TAB>target lines to score");
  std::vector<std::vector<std::int64_t>> sources, targets;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::string where = data.name() + ":" + std::to_string(data.lines()[i]) + ": ";
    sources.push_back(session.reader.read(data.pairs()[i].source, where + "source").ids);
    targets.push_back(session.reader.read(data.pairs()[i].target, where + "target", false).ids);
  }
  std::ostringstream out;
  for (std::size_t start = 0; start < data.size(); start += 64) {
    const std::size_t end = std::min(start + 64, data.size());
    const Batch batch = make_batch({sources.begin() + start, sources.begin() + end},
                                   {targets.begin() + start, targets.begin() + end});
    const std::vector<double> scores =
        nn::score(session.model, batch.src, batch.tgt_in, batch.labels);
    for (std::size_t i = start; i < end; ++i)
      out << data.pairs()[i].source << '\t' << data.pairs()[i].target << '\t' << std::fixed
          << std::setprecision(6) << scores[i - start] << "\n";
  }
  std::cout << out.str();
  return 0;
}

void check_against_model(const Options& o, const nn::TransformerConfig& config) {
  if (o.head >= long(config.num_heads))
    throw cli::FlagError("--head " + std::to_string(o.head) + ": this model has " +
                         std::to_string(config.num_heads) + " heads, 0.." +
                         std::to_string(config.num_heads - 1));
  steer::check_model(o.steering, config);
  if (o.max_len > config.max_len)
    throw cli::FlagError("--max-len " + std::to_string(o.max_len) + " exceeds this model's " +
                         "positional table of " + std::to_string(config.max_len) + " positions");
}

}  // namespace

int main(int argc, char** argv) {
  // Messages are one line: a multi-line one (e.g. every load_into problem) is joined.
  // std::cerr is tied to std::cout, so outputs printed so far come first.
  const auto report = report_error;
  try {
    const std::optional<Options> parsed = parse_options(argc, argv);
    if (!parsed) return 0;  // --help
    const Options& options = *parsed;
    training::Checkpoint loaded = training::load_checkpoint(options.checkpoint);
    check_against_model(options, loaded.model->config());
    cli::InputReader reader(loaded.vocab, loaded.source_vocab, loaded.model->config().max_len,
                            std::cerr);
    Session session{options, *loaded.model, loaded.vocab, reader,
                    view::use_color(::isatty(STDOUT_FILENO), std::getenv("NO_COLOR"))};
    if (options.score) return run_score(session);
    if (options.inputs.empty() && ::isatty(STDIN_FILENO)) return run_interactive(session);
    return run_batch(session);
  } catch (const cli::FlagError& error) {  // a mistake on the command line
    report(error);
    return cli::kUsageError;
  } catch (const std::exception& error) {
    report(error);
    return 1;
  }
}
