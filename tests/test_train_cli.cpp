// Tests for examples/train.cpp, run as a program (build/train, the float32 build; `make test`
// builds it first): --help, a tiny TSV run end to end with all its files, --stop-at then
// --resume giving byte-identical files, and each kind of bad flag or input giving one line on
// stderr, exit status 2 and no files.
#include <filesystem>

#include "examples/training/checkpoint.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;
namespace fs = std::filesystem;

namespace {

const char* const kProgram = "build/train";
// A tiny, quick model and run; each test adds what it is about.
const std::string kTiny =
    "--d-model 16 --heads 2 --ff 32 --layers 1 --batch 8 --eval-size 20 --samples 2 ";

// `work` is where the program may write (and where inputs live); its stdin, stdout and
// stderr go to another directory, so files() lists only what the program left behind.
struct Fixture {
  TempDir work, io;

  std::string path(const std::string& name) const { return work.file(name); }
  std::string write(const std::string& name, const std::string& text) const {
    return work.write(name, text);
  }
  std::vector<std::string> files() const { return work.listing(); }
  Run run(const std::string& args) const { return run_program(kProgram, args, io.path); }
};

// 40 lines mapping a word to its reverse, e.g. "cab\tbac".
std::string letters_tsv() {
  std::string text;
  const char* words[] = {"a", "ab", "ba", "abc", "cab", "bca", "cc", "acb"};
  for (int line = 0; line < 40; ++line) {
    const std::string word = words[line % 8];
    text += word + "\t" + std::string(word.rbegin(), word.rend()) + "\n";
  }
  return text;
}

// Runs a command that must fail: status 2, one line "train: error: ...", nothing on stdout,
// and no file written beside the inputs.
void check_refused(const Fixture& f, const std::string& args, const std::string& message) {
  CAPTURE(args);
  const std::vector<std::string> before = f.files();
  const Run r = f.run(args + " --save " + f.path("out/run.safetensors"));
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.rfind("train: error: ", 0) == 0);
  CHECK_MESSAGE(r.err.find(message) != std::string::npos, "stderr: " << r.err);
  CHECK(f.files() == before);
}

}  // namespace

TEST_CASE("train CLI: --help documents every flag with its default and exits 0") {
  Fixture f;
  const Run r = f.run("--help");
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  for (const char* flag : {"--task",
                           "--data",
                           "--tokens",
                           "--valid-fraction",
                           "--min-len",
                           "--max-len",
                           "--length-generalisation",
                           "--d-model",
                           "--heads",
                           "--layers",
                           "--encoder-layers",
                           "--decoder-layers",
                           "--ff",
                           "--dropout",
                           "--steps",
                           "--batch",
                           "--lr",
                           "--warmup",
                           "--schedule",
                           "--clip",
                           "--label-smoothing",
                           "--seed",
                           "--threads",
                           "--eval-every",
                           "--eval-size",
                           "--target-acc",
                           "--samples",
                           "--save",
                           "--no-save",
                           "--resume",
                           "--stop-at",
                           "--log-every",
                           "--quiet"})
    CHECK_MESSAGE(r.out.find(std::string("\n  ") + flag + " ") != std::string::npos, flag);
  CHECK(r.out.find("--steps N               optimizer steps, spanned by the schedule; add: 30000 "
                   "(default: 4000)") != std::string::npos);
  CHECK(r.out.find("--lr X                  peak learning rate (default: 0.003)") !=
        std::string::npos);
  CHECK(f.files().empty());
}

TEST_CASE("train CLI: addition's budget is 30000 steps unless --steps says otherwise") {
  // Addition plateaus near 30% for ~7,000 steps before it learns to carry; the standard
  // 4,000-step schedule would end on the plateau. The recipe line shows the budget chosen.
  Fixture f;
  const std::string quick = kTiny + "--no-save --stop-at 1 --eval-every 0 ";
  const Run add = f.run(quick + "--task add");
  CHECK_MESSAGE(add.status == 0, add.err);
  CHECK_MESSAGE(add.out.find("recipe: 30000 steps") != std::string::npos, add.out);
  const Run given = f.run(quick + "--task add --steps 50");
  CHECK_MESSAGE(given.out.find("recipe: 50 steps") != std::string::npos, given.out);
  const Run reverse = f.run(quick + "--task reverse");
  CHECK_MESSAGE(reverse.out.find("recipe: 4000 steps") != std::string::npos, reverse.out);
  CHECK(f.files().empty());
}

TEST_CASE("train CLI: bad flags and bad input give one line, exit status 2 and no files") {
  Fixture f;
  const std::string tsv = f.write("pairs.tsv", letters_tsv());
  check_refused(f, "--colour red", "unknown flag '--colour' (see --help)");
  check_refused(f, "--step 5", "unknown flag '--step' (did you mean --steps?)");
  check_refused(f, "--steps ten", "--steps: 'ten' is not an integer");
  check_refused(f, "--lr 1e-3x", "--lr: '1e-3x' is not a number");
  check_refused(f, "--batch 0", "--batch must be between 1 and 1000000, got 0");
  check_refused(f, "--dropout 1.5", "--dropout must be between 0 and 0.99, got 1.5");
  check_refused(f, "--steps", "--steps needs a value (N)");
  check_refused(f, "extra", "unexpected argument 'extra'");
  check_refused(f, "--d-model 30 --heads 4", "num_heads 4 must divide d_model 30");
  check_refused(f, "--task multiply", "unknown task 'multiply'");
  check_refused(f, "--schedule linear",
                "--schedule linear: make_schedule: unknown schedule 'linear'");
  check_refused(f, "--stop-at 50 --steps 10", "--stop-at must lie in [0, --steps 10], got 50");
  check_refused(f, "--tokens bytes", "--tokens must be chars or words, got 'bytes'");
  check_refused(f, "--length-generalisation 8", "--length-generalisation must be L:K");
  check_refused(f, "--data " + f.path("missing.tsv"),
                f.path("missing.tsv") + ": cannot read: no such file");
  check_refused(f, "--data " + f.write("bad.tsv", "12\t21\n34 43\n"),
                f.path("bad.tsv") + ":2: expected exactly one tab, found 0");
  check_refused(f, "--data " + f.write("empty.tsv", ""), f.path("empty.tsv") + ":1: empty file");
  check_refused(f, "--data " + tsv + " --valid-fraction 1",
                "--valid-fraction must lie strictly between 0 and 1");
  check_refused(f, "--resume " + f.path("none.safetensors"), "cannot open");
  check_refused(f, "--resume " + f.write("junk.safetensors", "not a checkpoint at all"),
                "junk.state.safetensors");
  // --save naming a directory is caught before training, not after it
  fs::create_directories(f.path("dir"));
  const Run r = f.run("--save " + f.path("dir"));
  CHECK(r.status == 2);
  CHECK(r.err.find("--save " + f.path("dir") + " is a directory") != std::string::npos);
}

TEST_CASE("train CLI: a tiny TSV run writes its checkpoint, training state, loss CSV and SVG") {
  Fixture f;
  const std::string tsv = f.write("pairs.tsv", letters_tsv());
  const Run r =
      f.run(kTiny + "--data " + tsv + " --steps 30 --eval-every 10 --log-every 10 --save " +
            f.path("runs/letters.safetensors"));
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("crossgrad train: data " + tsv +
                   " (36 training, 4 validation pairs, characters)") != std::string::npos);
  CHECK(r.out.find("\nstep 10/30  loss ") != std::string::npos);  // plain lines: not a terminal
  CHECK(r.out.find("\neval step 30: exact match ") != std::string::npos);
  CHECK(r.out.find("\nfinished 30 steps") != std::string::npos);
  CHECK(r.out.find("\nsamples (held-out source -> prediction):\n") != std::string::npos);
  CHECK(r.out.find("\ncheckpoint: " + f.path("runs/letters.safetensors")) != std::string::npos);
  CHECK(f.files() == std::vector<std::string>{"pairs.tsv", "runs", "runs/letters.loss.csv",
                                              "runs/letters.loss.svg", "runs/letters.safetensors",
                                              "runs/letters.state.safetensors"});
  const training::Checkpoint loaded =
      training::load_checkpoint(f.path("runs/letters.safetensors"));
  CHECK(loaded.vocab.symbols() == std::vector<std::string>{"a", "b", "c"});
  CHECK(loaded.metadata.at("data") == tsv);
  CHECK(loaded.metadata.at("step") == "30");
  const std::vector<std::string> csv = lines_of(read_file(f.path("runs/letters.loss.csv")));
  REQUIRE(csv.size() == 31);
  CHECK(csv[0] == "step,loss,token_accuracy,eval_exact_match,eval_token_accuracy");
  CHECK(csv[1].rfind("1,", 0) == 0);
  CHECK(csv[1].substr(csv[1].size() - 2) == ",,");    // no evaluation at step 1
  CHECK(csv[10].substr(csv[10].size() - 2) != ",,");  // one at step 10
  const std::string svg = read_file(f.path("runs/letters.loss.svg"));
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("<polyline") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
}

TEST_CASE(
    "train CLI: --stop-at then --resume gives the same files as one run, at any thread count") {
  Fixture f;
  const std::string run = kTiny + "--max-len 4 --steps 16 --eval-every 4 --dropout 0.1 --quiet ";
  REQUIRE(f.run(run + "--threads 1 --save " + f.path("whole.safetensors")).status == 0);
  const Run first = f.run(run + "--threads 2 --stop-at 7 --save " + f.path("half.safetensors"));
  REQUIRE(first.status == 0);
  CHECK(first.out.find("stopped at step 7 (--stop-at)") != std::string::npos);
  CHECK(first.out.find("continue:   build/train --resume " + f.path("half.safetensors")) !=
        std::string::npos);

  const Run changed = f.run("--resume " + f.path("half.safetensors") + " --lr 0.1");
  CHECK(changed.status == 2);
  CHECK(changed.err.find("--lr is '0.1' but the saved run used '0.003'") != std::string::npos);

  const Run resumed = f.run("--quiet --resume " + f.path("half.safetensors"));  // saves in place
  INFO("stdout: " << resumed.out << "\nstderr: " << resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(resumed.out.find("finished 16 steps") != std::string::npos);
  for (const char* suffix : {".safetensors", ".state.safetensors", ".loss.csv", ".loss.svg"}) {
    CAPTURE(suffix);
    CHECK(read_file(f.path(std::string("half") + suffix)) ==
          read_file(f.path(std::string("whole") + suffix)));
  }
}
