// Tests for examples/train.cpp, run as a program (build/train, the float32 build; `make test`
// builds it first): --help, a tiny TSV run end to end with all its files, --stop-at then
// --resume giving byte-identical files, and each kind of bad flag or input giving one line on
// stderr, exit status 2 and no files. Then long runs: signals (Ctrl-C, SIGTERM, SIGHUP, a
// second one during the save, SIGKILL after a --save-every checkpoint), resuming a finished
// run, extending a budget, and --detect-anomaly.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

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

// build/train started in the background with `args` (quoted where needed), its stdout and
// stderr going to files in `io`, so a test can watch its progress and send it signals.
struct Background {
  pid_t pid = -1;
  fs::path io;

  Background(const std::string& args, const fs::path& io_dir) : io(io_dir) {
    REQUIRE_MESSAGE(fs::exists(kProgram), "build/train is missing: run `make build/train`");
    // Built before fork(): the child only calls exec, which is safe in a threaded parent.
    const std::string command = std::string("exec ") + kProgram + " " + args + " < /dev/null > " +
                                quote((io / "stdout").string()) + " 2> " +
                                quote((io / "stderr").string());
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid > 0) {  // a failed test must not leave the program running
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  std::string out() const { return read_file(io / "stdout"); }
  std::string err() const { return read_file(io / "stderr"); }
  void send(int signal_number) const { ::kill(pid, signal_number); }

  // Polls every millisecond, up to a minute, until `ready()` holds; false if the program
  // ended or the minute passed first.
  template <class Condition>
  bool wait_for(Condition ready) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (std::chrono::steady_clock::now() < deadline) {
      if (ready()) return true;
      if (::waitpid(pid, nullptr, WNOHANG) != 0) return ready();  // ended (and reaped)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }
  bool wait_for_output(const std::string& text) const {
    return wait_for([&] { return out().find(text) != std::string::npos; });
  }

  // The exit status, or -(signal) if a signal ended the program.
  int wait() {
    int raw = 0;
    const pid_t ended = ::waitpid(pid, &raw, 0);
    pid = -1;
    if (ended < 0) return -1000;  // already reaped by wait_for: it ended early
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -WTERMSIG(raw);
  }
};

// The file names in dir that are temporary files of an atomic write ("x.tmp-<pid>-<n>").
std::vector<std::string> temporary_files(const TempDir& dir) {
  std::vector<std::string> found;
  for (const std::string& name : dir.listing())
    if (name.find(".tmp-") != std::string::npos) found.push_back(name);
  return found;
}

// The inode of a file: a rewrite through a temporary file and rename gives a new one.
ino_t inode(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_ino;
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
                           "--detect-anomaly",
                           "--eval-every",
                           "--eval-size",
                           "--target-acc",
                           "--samples",
                           "--save",
                           "--no-save",
                           "--save-every",
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
  check_refused(f, "--no-save --save-every 10", "--save-every 10 saves checkpoints, --no-save");
  // A missing or broken checkpoint is named as the user typed it, not its .state file.
  check_refused(f, "--resume " + f.path("none.safetensors"),
                "cannot open '" + f.path("none.safetensors") + "': No such file or directory");
  check_refused(f, "--resume " + f.write("junk.safetensors", "not a checkpoint at all"),
                "load_safetensors: '" + f.path("junk.safetensors") + "': header length");
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

// --- Long runs: signals, periodic checkpoints, finished runs, anomalies ---

namespace {

// A run that would take far longer than any test: it stops by a signal or --stop-at.
const std::string kEndless =
    kTiny + "--max-len 4 --steps 100000 --warmup 10 --log-every 1 ";

}  // namespace

TEST_CASE("train CLI: Ctrl-C, SIGTERM and SIGHUP save a resumable run and exit 128 + signal") {
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    CAPTURE(signal_number);
    Fixture f;
    const std::string path = f.path("run.safetensors");
    Background run(kEndless + "--eval-every 0 --save " + path, f.io.path);
    REQUIRE(run.wait_for_output("step 3/"));
    run.send(signal_number);
    CHECK(run.wait() == 128 + signal_number);  // 130 for Ctrl-C, as a shell reports it
    INFO("stdout: " << run.out() << "\nstderr: " << run.err());
    CHECK(run.out().find(") at step ") != std::string::npos);  // "interrupted (SIGTERM) at ..."
    CHECK(run.out().find("continue:   build/train --resume " + path) != std::string::npos);
    CHECK(run.err().find("train: stopping after this step to save") != std::string::npos);
    CHECK(f.files() == std::vector<std::string>{"run.loss.csv", "run.loss.svg", "run.safetensors",
                                                "run.state.safetensors"});
    const std::string step = training::load_checkpoint(path).metadata.at("step");
    const Run resumed = f.run("--quiet --resume " + path + " --stop-at " +
                              std::to_string(std::stoll(step) + 2));
    CHECK_MESSAGE(resumed.status == 0, resumed.err);
  }
}

TEST_CASE("train CLI: a second signal during the save is harmless and leaves no temporary file") {
  // A model large enough that saving takes a while (11 MB, fsynced), so the second signal can
  // be sent while the temporary files exist. If the save was too quick to be caught, try again.
  const std::string big = "--d-model 128 --heads 4 --ff 512 --layers 2 --batch 2 --max-len 4 "
                          "--eval-size 2 --samples 0 --steps 100000 --eval-every 0 --log-every 1 ";
  bool caught = false;
  for (int attempt = 0; attempt < 3 && !caught; ++attempt) {
    Fixture f;
    const std::string path = f.path("run.safetensors");
    Background run(big + "--save " + path, f.io.path);
    REQUIRE(run.wait_for_output("step 1/"));
    run.send(SIGINT);
    caught = run.wait_for([&] { return !temporary_files(f.work).empty(); });
    run.send(SIGINT);  // while the files are written
    run.send(SIGTERM);
    const int status = run.wait();
    if (!caught) continue;
    INFO("stdout: " << run.out() << "\nstderr: " << run.err());
    CHECK(status == 130);
    CHECK(run.err().find("train: saving the run; the program ends when its files are written") !=
          std::string::npos);
    CHECK(temporary_files(f.work).empty());
    CHECK(f.files() == std::vector<std::string>{"run.loss.csv", "run.loss.svg", "run.safetensors",
                                                "run.state.safetensors"});
    const training::Checkpoint loaded = training::load_checkpoint(path);  // whole
    CHECK(training::load_training_state(training::training_state_path(path)).step ==
          std::stoll(loaded.metadata.at("step")));
  }
  CHECK_MESSAGE(caught, "no attempt sent the second signal while the files were being written");
}

TEST_CASE("train CLI: --save-every N: after SIGKILL a resumed run loses at most N steps") {
  Fixture f;
  const std::string every = "--save-every 5 --eval-every 10 ";
  const std::string path = f.path("run.safetensors");
  Background run(kEndless + every + "--save " + path, f.io.path);
  REQUIRE(run.wait_for_output("saved step 10 to " + path));
  run.send(SIGKILL);  // no handler, no save: what is on disk is what the last save left
  CHECK(run.wait() == -SIGKILL);
  std::int64_t last_logged = 0;
  for (const std::string& line : lines_of(run.out()))
    if (line.rfind("step ", 0) == 0) last_logged = std::stoll(line.substr(5));
  const std::int64_t saved = std::stoll(training::load_checkpoint(path).metadata.at("step"));
  CHECK(saved % 5 == 0);
  CHECK(saved >= 10);
  CHECK(saved >= last_logged - 5);  // a kill during the save of a step keeps the previous one

  // Resumed to step saved + 7, the files are those of a run that never stopped.
  const std::string end = "--stop-at " + std::to_string(saved + 7) + " --quiet ";
  const Run resumed = f.run("--resume " + path + " " + end);
  REQUIRE_MESSAGE(resumed.status == 0, resumed.err);
  const Run whole = f.run(kEndless + every + end + "--save " + f.path("whole.safetensors"));
  REQUIRE_MESSAGE(whole.status == 0, whole.err);
  for (const char* suffix : {".safetensors", ".state.safetensors", ".loss.csv"}) {
    CAPTURE(suffix);
    CHECK(read_file(f.path(std::string("run") + suffix)) ==
          read_file(f.path(std::string("whole") + suffix)));
  }
}

TEST_CASE("train CLI: resuming a finished run changes nothing and says how to train longer") {
  Fixture f;
  const std::string path = f.path("run.safetensors");
  const Run first = f.run(kTiny + "--max-len 4 --steps 8 --eval-every 4 --quiet --save " + path);
  REQUIRE_MESSAGE(first.status == 0, first.err);
  const std::vector<std::string> names = f.files();
  std::vector<std::string> bytes;
  std::vector<ino_t> inodes;
  for (const std::string& name : names) {
    bytes.push_back(read_file(f.path(name)));
    inodes.push_back(inode(f.path(name)));
  }
  const Run again = f.run("--resume " + path);
  INFO("stdout: " << again.out << "\nstderr: " << again.err);
  CHECK(again.status == 0);
  CHECK(again.err.empty());
  CHECK(again.out.find("nothing to train: the run saved at " + path +
                       " is at step 8, the end of its 8-step budget (exact match ") !=
        std::string::npos);
  CHECK(again.out.find("; no file was changed.\n") != std::string::npos);
  CHECK(again.out.find("--resume " + path + " --steps N (N > 8;") != std::string::npos);
  CHECK(again.out.find("(0/0)") == std::string::npos);
  CHECK(f.files() == names);
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(read_file(f.path(names[i])) == bytes[i]);
    CHECK(inode(f.path(names[i])) == inodes[i]);  // not even rewritten with the same bytes
  }
}

TEST_CASE("train CLI: --resume with a larger --steps extends a finished run's budget") {
  Fixture f;
  const std::string path = f.path("run.safetensors");
  REQUIRE(f.run(kTiny + "--max-len 4 --steps 8 --quiet --save " + path).status == 0);
  const Run longer = f.run("--resume " + path + " --steps 12 --log-every 1");
  INFO("stdout: " << longer.out << "\nstderr: " << longer.err);
  CHECK(longer.status == 0);
  CHECK(longer.out.find("budget: 12 steps instead of the saved run's 8; the cosine schedule now "
                        "spans 12 steps: lr ") != std::string::npos);
  CHECK(longer.out.find("\nstep 9/12 ") != std::string::npos);
  CHECK(longer.out.find("\nfinished 12 steps") != std::string::npos);
  CHECK(training::load_checkpoint(path).metadata.at("step") == "12");
  const Run shorter = f.run("--resume " + path + " --steps 10");
  CHECK(shorter.status == 2);
  CHECK(shorter.err.find("the saved run is at step 12, past --steps 10") != std::string::npos);
}

TEST_CASE("train CLI: --detect-anomaly names the op where a too-large learning rate diverges") {
  // Adam moves every weight by about lr a step: at lr 1e4 a 2-layer model overflows float32
  // within a few steps.
  Fixture f;
  const std::string diverging = "--d-model 16 --heads 2 --ff 32 --layers 2 --batch 8 --max-len 6 "
                                "--eval-every 0 --steps 20 --warmup 0 --lr 1e4 --no-save ";
  const Run anomaly = f.run(diverging + "--detect-anomaly");
  INFO("stdout: " << anomaly.out << "\nstderr: " << anomaly.err);
  CHECK(anomaly.status == 1);
  REQUIRE(lines_of(anomaly.err).size() == 1);
  const std::string& line = anomaly.err;
  CHECK(line.rfind("train: error: step ", 0) == 0);
  const std::size_t at = line.find(": anomaly: ");
  REQUIRE(at != std::string::npos);
  const std::string what = line.substr(at + 11);
  CHECK((what.rfind("forward of '", 0) == 0 || what.rfind("backward of '", 0) == 0));
  CHECK(what.find("' produced ") != std::string::npos);  // the op's name, then NaN or inf

  // Without the flag the run still stops, at the first non-finite loss or gradient norm.
  const Run plain = f.run(diverging);
  CHECK(plain.status == 1);
  CHECK(plain.err.find("train: error: training diverged at step ") != std::string::npos);
  CHECK(f.files().empty());
}
