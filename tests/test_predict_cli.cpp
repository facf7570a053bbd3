// Tests for examples/predict.cpp, run as a program (build/predict, the float32 build; `make
// test` builds it first) on a tiny random model saved here with examples/training/checkpoint.h:
// decoding, beam 1 = greedy, --score, --svg, --show-attention, and every kind of bad input
// giving one line on stderr, a non-zero exit and no output file.
#include <algorithm>
#include <filesystem>

#include "data/tasks.h"
#include "examples/training/checkpoint.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;
namespace fs = std::filesystem;

namespace {

const char* const kProgram = "build/predict";

// A directory with a tiny checkpoint ("model.safetensors": 1 encoder and 2 decoder layers,
// 2 heads, the reversal vocabulary) and room for the files predict writes. The program's
// stdin/stdout/stderr live in another directory, so `files()` lists only what it wrote.
struct Fixture {
  TempDir work, io;
  std::string checkpoint = work.file("model.safetensors");

  Fixture() {
    nn::TransformerConfig config = tiny_config(16);
    config.num_decoder_layers = 2;
    config.max_len = 40;
    nn::Seq2SeqTransformer model(config, 3);
    training::save_checkpoint(checkpoint, model, task_vocab(Task::reverse));
  }

  std::vector<std::string> files() const { return work.listing(); }

  // build/predict with args (already quoted where needed) and the given stdin.
  Run run(const std::string& args, const std::string& input = "") const {
    return run_program(kProgram, args, io.path, input);
  }
  Run predict(const std::string& args, const std::string& input = "") const {
    return run("--checkpoint " + quote(checkpoint) + " " + args, input);
  }
};

// A failed run: non-zero status, nothing on stdout, exactly one line on stderr holding
// every fragment.
void check_clean_failure(const Run& run, const std::vector<std::string>& fragments) {
  INFO("stderr: " << run.err << "stdout: " << run.out);
  CHECK(run.status != 0);
  CHECK(run.out.empty());
  CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
  CHECK(run.err.rfind("predict: error: ", 0) == 0);
  for (const std::string& fragment : fragments) CHECK(run.err.find(fragment) != std::string::npos);
}

// The lines of stderr but the "no EOS" warnings, which a random model's outputs all get.
std::vector<std::string> messages(const std::string& err) {
  std::vector<std::string> kept;
  for (const std::string& line : lines_of(err))
    if (line.find(": no EOS within ") == std::string::npos) kept.push_back(line);
  return kept;
}

}  // namespace

TEST_CASE("predict: decodes arguments and stdin lines, one output a line") {
  Fixture f;
  const Run from_args = f.predict("123 4567 9");
  CHECK(from_args.status == 0);
  REQUIRE(lines_of(from_args.out).size() == 3);
  const Run from_stdin = f.predict("", "123\n4567\r\n9\n");
  CHECK(from_stdin.status == 0);
  CHECK(from_stdin.out == from_args.out);  // the same batch, so the same tokens
  for (const std::string& line : lines_of(from_args.out))
    CHECK(line.find_first_not_of("0123456789") == std::string::npos);  // digits only
}

TEST_CASE("predict: beam search with one beam prints exactly the greedy outputs") {
  Fixture f;
  const std::string inputs = "1 22 333 4444 55555 987654321";
  const Run greedy = f.predict(inputs);
  const Run beam = f.predict("--beam 1 " + inputs);
  REQUIRE(greedy.status == 0);
  REQUIRE(beam.status == 0);
  CHECK(beam.out == greedy.out);
  const Run wide = f.predict("--beam 3 --length-penalty 0.5 --max-len 6 " + inputs);
  CHECK(wide.status == 0);
  for (const std::string& line : lines_of(wide.out)) CHECK(line.size() <= 6);
}

TEST_CASE("predict: --score prints each pair beside its log-probability") {
  Fixture f;
  const Run run =
      f.predict("--score", "123\t321\n\n9\t9\n4567\t7654\n");  // the empty line is skipped
  REQUIRE(run.status == 0);
  const std::vector<std::string> lines = lines_of(run.out);
  REQUIRE(lines.size() == 3);
  const char* const pairs[] = {"123\t321\t", "9\t9\t", "4567\t7654\t"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    INFO(line);
    REQUIRE(line.rfind(pairs[i], 0) == 0);  // source<TAB>target<TAB>score
    const std::string number = line.substr(std::string(pairs[i]).size());
    std::size_t used = 0;
    const double value = std::stod(number, &used);
    CHECK(used == number.size());
    CHECK(value < 0);  // a probability below 1 of at least one token
  }
  f.work.write("pairs.tsv", "123\t321\n9\t9\n4567\t7654\n");
  const Run from_file = f.predict("--score --data " + quote(f.work.file("pairs.tsv")));
  CHECK(from_file.out == run.out);
}

TEST_CASE("predict: --svg writes the attention grid whole and leaves no temporary file") {
  Fixture f;
  const std::string svg = f.work.file("attention.svg");
  const Run run = f.predict("--svg " + quote(svg) + " 12 345");
  REQUIRE(run.status == 0);
  CHECK(lines_of(run.out).size() == 2);
  CHECK(f.files() == std::vector<std::string>{"attention.svg", "model.safetensors"});
  const std::string text = read_file(svg);
  CHECK(text.rfind("<?xml", 0) == 0);
  CHECK(text.size() > 100);
  CHECK(text.substr(text.size() - 7) == "</svg>\n");
  CHECK(text.find("layer 1, head 1") != std::string::npos);  // 2 decoder layers, 2 heads
  CHECK(text.find("layer 1, mean of heads") != std::string::npos);
}

TEST_CASE("predict: --show-attention prints a heatmap per decoder layer") {
  Fixture f;
  const Run mean = f.predict("--show-attention --max-len 4 4321");
  REQUIRE(mean.status == 0);
  CHECK(mean.out.find("cross-attention, decoder layer 0 of 2, mean of 2 heads") !=
        std::string::npos);
  CHECK(mean.out.find("cross-attention, decoder layer 1 of 2, mean of 2 heads") !=
        std::string::npos);
  CHECK(mean.out.find("  4  3  2  1 EOS") != std::string::npos);  // source labels across
  CHECK(mean.out.find(" .:-=+*#%@ 1") != std::string::npos);      // the legend, no colour (a file)
  CHECK(mean.out.find('\x1b') == std::string::npos);
  // Rows: the output line, then per layer a title, the labels, 4 output rows and a legend.
  CHECK(lines_of(mean.out).size() == 1 + 2 * (1 + 1 + 4 + 1) + 1);
  const Run head = f.predict("--head 1 --max-len 4 4321");
  CHECK(head.out.find("decoder layer 1 of 2, head 1 of 2") != std::string::npos);
}

TEST_CASE("predict: a missing or corrupt checkpoint is one line of error") {
  Fixture f;
  const std::string missing = f.work.file("none.safetensors");
  check_clean_failure(f.run("--checkpoint " + quote(missing) + " 12"), {"none.safetensors"});

  const std::string bytes = read_file(f.checkpoint);
  const fs::path truncated = f.work.path / "truncated.safetensors";
  write_file(truncated, bytes.substr(0, bytes.size() / 2));
  check_clean_failure(f.run("--checkpoint " + quote(truncated.string()) + " 12"),
                      {"truncated.safetensors"});

  const fs::path bad_header = f.work.path / "bad_header.safetensors";
  write_file(bad_header, std::string(8, '\xff') + bytes.substr(8));  // header length 2^64 - 1
  check_clean_failure(f.run("--checkpoint " + quote(bad_header.string()) + " 12"),
                      {"bad_header.safetensors"});

  const fs::path not_json = f.work.path / "not_json.safetensors";
  write_file(not_json, bytes.substr(0, 8) + "{oops" + bytes.substr(13));
  check_clean_failure(f.run("--checkpoint " + quote(not_json.string()) + " 12"),
                      {"not_json.safetensors"});
}

TEST_CASE("predict: in a pipe, each line gets its output or an error naming it, in order") {
  Fixture f;
  // Each good line alone: a bad line between two good ones splits their batch, and a random
  // model's near ties can round differently in another batch shape.
  std::vector<std::string> outputs;
  for (const char* input : {"12", "345", "6"}) {
    const Run good = f.predict(input);
    REQUIRE(good.status == 0);
    outputs.push_back(good.out.substr(0, good.out.size() - 1));
  }
  // Bad lines among good ones: the good ones are still decoded, each bad one is one line on
  // stderr naming its line number, and the exit status says one failed.
  const Run mixed = f.predict("", "12\nxyz\n\n345\n \n6\n");
  INFO("stdout: " << mixed.out << "\nstderr: " << mixed.err);
  CHECK(mixed.status == 1);
  CHECK(lines_of(mixed.out) == outputs);
  const std::vector<std::string> errors = messages(mixed.err);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].rfind("predict: error: line 2: vocab: unknown symbol 'x'", 0) == 0);
  CHECK(errors[1] == "predict: error: line 3: empty input");
  CHECK(errors[2].rfind("predict: error: line 5: vocab: unknown symbol U+0020", 0) == 0);
  // Arguments behave alike, named by position.
  const Run arguments = f.predict("12 a 345");
  CHECK(arguments.status == 1);
  CHECK(lines_of(arguments.out) == std::vector<std::string>{outputs[0], outputs[1]});
  REQUIRE(messages(arguments.err).size() == 1);
  CHECK(messages(arguments.err)[0].rfind("predict: error: argument 2: vocab: unknown symbol 'a'",
                                         0) == 0);
  // An empty line alone is an error too, not a decoded empty source.
  const Run empty = f.predict("", "\n");
  CHECK(empty.status == 1);
  CHECK(empty.out.empty());
  CHECK(messages(empty.err) == std::vector<std::string>{"predict: error: line 1: empty input"});
}

TEST_CASE("predict: --svg holds the inputs that decoded; a bad score line stops --score") {
  Fixture f;
  const std::string svg = f.work.file("attention.svg");
  const Run run = f.predict("--svg " + quote(svg), "12\n3x4\n");
  CHECK(run.status == 1);
  CHECK(lines_of(run.out).size() == 1);
  CHECK(run.err.find("line 2: vocab: unknown symbol 'x'") != std::string::npos);
  CHECK(svg_problem(read_file(svg)).empty());
  CHECK(read_file(svg).find(">1<") != std::string::npos);  // the source label of "12"
  const Run nothing = f.predict("--svg " + quote(f.work.file("none.svg")), "x\n");
  CHECK(nothing.status == 1);
  // --score checks the whole file first, as build/train does with its data.
  check_clean_failure(f.predict("--score", "12\t21\n3\t3y\n"), {"<stdin>:2", "target", "'y'"});
  CHECK(f.files() == std::vector<std::string>{"attention.svg", "model.safetensors"});
}

TEST_CASE("predict: a symbol seen only in training targets is accepted with one warning") {
  // A model whose vocabulary is the reversal task's, trained (say) on sources of the digits
  // 1-9 only: 0 appeared in targets alone.
  Fixture f;
  nn::TransformerConfig config = tiny_config(16);
  config.max_len = 40;
  nn::Seq2SeqTransformer model(config, 3);
  const std::string checkpoint = f.work.file("no_zero.safetensors");
  training::save_checkpoint(
      checkpoint, model, task_vocab(Task::reverse),
      {{training::kSourceSymbolsKey,
        Vocab(TokenMode::characters, {"1", "2", "3", "4", "5", "6", "7", "8", "9"}).serialize()}});
  const Run run = f.run("--checkpoint " + quote(checkpoint), "12\n102\n300\n45\n");
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.status == 0);
  CHECK(lines_of(run.out).size() == 4);
  CHECK(messages(run.err) ==
        std::vector<std::string>{
            "predict: warning: line 2: '0' appeared only in training targets, never in a source: "
            "the model never saw it as input, so its output means little"});
  // A checkpoint that does not record its sources (the fixture's) warns about nothing.
  const Run unknown_sources = f.predict("", "102\n");
  CHECK(messages(unknown_sources.err).empty());
}

TEST_CASE("predict: a checkpoint whose weights hold NaN or inf is refused, naming the tensor") {
  Fixture f;
  const SafetensorsFile file = load_safetensors(f.checkpoint);
  for (const real bad : {real(NAN), real(INFINITY)}) {
    NamedTensors tensors = file.tensors;
    Tensor& weight = tensors[3].second;  // a copy of the values: the file's stay as they were
    weight = Tensor::from(weight.values(), weight.shape());
    weight.mutable_data()[5] = bad;
    const std::string path = f.work.file("bad.safetensors");
    save_safetensors(path, tensors, file.metadata);
    check_clean_failure(f.run("--checkpoint " + quote(path) + " 12"),
                        {"load_model: '" + path + "': tensor '" + tensors[3].first + "' holds " +
                             (std::isnan(bad) ? "NaN" : "inf") + " at element 5 of shape",
                         "non-finite weights"});
    fs::remove(path);
  }
}

TEST_CASE("predict: flag mistakes are one line of error with a pointer to --help") {
  Fixture f;
  SUBCASE("unknown flag") {
    check_clean_failure(f.predict("--bogus 12"), {"unknown flag '--bogus'"});
  }
  SUBCASE("missing value") {
    check_clean_failure(f.predict("12 --beam"), {"--beam needs a value"});
  }
  SUBCASE("out of range") { check_clean_failure(f.predict("--beam 1001 12"), {"--beam", "1001"}); }
  SUBCASE("not a number") {
    check_clean_failure(f.predict("--length-penalty x --beam 2 12"), {"--length-penalty", "'x'"});
  }
  SUBCASE("no checkpoint") { check_clean_failure(f.run("12"), {"--checkpoint PATH is required"}); }
  SUBCASE("head beyond the model") { check_clean_failure(f.predict("--head 2 12"), {"2 heads"}); }
  SUBCASE("max-len beyond the model") {
    check_clean_failure(f.predict("--max-len 41 12"), {"positional table of 40"});
  }
  SUBCASE("score with decoding flags") {
    check_clean_failure(f.predict("--score --beam 2"), {"are for decoding"});
  }
  SUBCASE("malformed score line") {
    check_clean_failure(f.predict("--score", "12\t21\n3 3\n"), {"<stdin>:2"});
  }
  SUBCASE("nothing to score") {
    check_clean_failure(f.predict("--score", "\n"), {"no source<TAB>target"});
  }
  SUBCASE("missing score file") {
    check_clean_failure(f.predict("--score --data " + quote(f.work.file("no.tsv"))),
                        {"no.tsv"});
  }
  CHECK(f.files() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("predict: --help documents every flag and needs no checkpoint") {
  Fixture f;
  const Run run = f.run("--help");
  CHECK(run.status == 0);
  for (const char* flag : {"--checkpoint", "--beam", "--length-penalty", "--max-len",
                           "--show-attention", "--head", "--svg", "--score", "--data", "NO_COLOR",
                           "source<TAB>target<TAB>log"})
    CHECK(run.out.find(flag) != std::string::npos);
}

TEST_CASE("predict: steering prints the unedited output, then the steered one, beside its maps") {
  const Fixture f;
  // A factor of 1 edits nothing: the steered output is the unedited one, greedy and beam.
  for (const std::string beam : {"", "--beam 3 "}) {
    const Run same = f.predict(beam + "--weight-source 0:1 123 4567");
    INFO(same.err);
    REQUIRE(same.status == 0);
    const std::vector<std::string> lines = lines_of(same.out);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("unedited: ", 0) == 0);
    CHECK(lines[1].substr(10) == lines[0].substr(10));
    CHECK(lines[3].substr(10) == lines[2].substr(10));
  }
  // The committed reversal model, made to read the source in order by its second decoder
  // layer, copies instead of reversing (docs/steering-cross-attention.md measures how often).
  const std::string model = fs::absolute("docs/models/reverse.safetensors").string();
  const Run copy = run_program(kProgram,
                               "--checkpoint " + quote(model) +
                                   " --force-attention diagonal --edit-layer 1 --svg " +
                                   quote(f.work.file("maps.svg")) + " --show-attention 12345",
                               f.io.path);
  INFO(copy.err);
  REQUIRE(copy.status == 0);
  CHECK(copy.out.find("unedited: 54321\n") != std::string::npos);
  CHECK(copy.out.find("steered:  12345\n") != std::string::npos);
  CHECK(copy.out.find("cross-attention, decoder layer 1 of 2") != std::string::npos);
  const std::string svg = read_file(f.work.file("maps.svg"));
  CHECK(svg.find("unedited: 1 2 3 4 5 EOS -&gt; 5 4 3 2 1 EOS") != std::string::npos);
  CHECK(svg.find("steered, force diagonal (layer 1, every head): 1 2 3 4 5 EOS -&gt; "
                 "1 2 3 4 5 EOS") != std::string::npos);
}

TEST_CASE("predict: a steering edit an input cannot take is that input's error; the rest decode") {
  const Fixture f;
  const Run run = f.predict("--block-source 3 12345 12 678");
  CHECK(run.status == 1);
  CHECK(run.err.find("predict: error: argument 2: source position 3 is beyond this input's 3 "
                     "source positions (0..2, EOS last)\n") != std::string::npos);
  CHECK(lines_of(run.out).size() == 4);  // arguments 1 and 3, unedited and steered
  check_clean_failure(f.predict("--score --block-source 1", "1\t1\n"),
                      {"--block-source and --weight-source are for decoding"});
}
