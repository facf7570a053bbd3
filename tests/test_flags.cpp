// Tests for examples/common/flags.cpp: both value forms, switches, defaults in --help, and a
// one-line FlagError for each kind of mistake (unknown, misspelt, repeated, missing value,
// bad number, out of range).
#include "examples/common/flags.h"
#include "testing.h"

using namespace crossgrad::cli;

namespace {

// A parser over a small set of variables, like a program's.
struct Program {
  std::string task = "reverse";
  std::int64_t steps = 4000;
  std::size_t batch = 64;
  double lr = 0.003;
  bool quiet = false;
  Flags flags{"demo", "demo [flags]", "A demonstration."};

  Program() {
    flags.section("Training");
    flags.add("--task", task, "what to learn", "NAME");
    flags.add("--steps", steps, "optimizer steps", 1, 1'000'000);
    flags.add("--batch", batch, "examples a step", 1);
    flags.add("--lr", lr, "learning rate", 1e-9, 10.0);
    flags.add_switch("--quiet", quiet, "less output");
  }
  std::vector<std::string> parse(std::vector<const char*> args) {
    args.insert(args.begin(), "demo");
    return flags.parse(int(args.size()), args.data());
  }
};

}  // namespace

TEST_CASE("flags: values are read as --name value and --name=value, switches alone") {
  Program p;
  const std::vector<std::string> rest =
      p.parse({"--steps", "250", "--lr=0.01", "--quiet", "--task", "add", "extra"});
  CHECK(p.steps == 250);
  CHECK(p.lr == 0.01);
  CHECK(p.quiet);
  CHECK(p.task == "add");
  CHECK(p.batch == 64);  // not given: the default stays
  CHECK(rest == std::vector<std::string>{"extra"});
  CHECK(p.flags.given("--steps"));
  CHECK_FALSE(p.flags.given("--batch"));
  CHECK_FALSE(p.flags.help_requested());
}

TEST_CASE("flags: a negative number is a value, not a flag, and is range-checked") {
  Program p;
  CHECK_THROWS_WITH_AS(p.parse({"--lr", "-1"}), "--lr must be between 1e-09 and 10, got -1",
                       FlagError);
  Program q;
  CHECK_THROWS_WITH_AS(q.parse({"--steps", "-5"}), "--steps must be between 1 and 1000000, got -5",
                       FlagError);
}

TEST_CASE("flags: --help lists every flag with its default, under its section") {
  Program p;
  p.parse({"--steps", "7", "--help", "--bogus"});  // stops at --help: nothing after it matters
  CHECK(p.flags.help_requested());
  const std::string help = p.flags.help();
  CHECK(help.rfind("usage: demo [flags]\n\nA demonstration.\n\nTraining:\n", 0) == 0);
  CHECK(help.find("  --task NAME             what to learn (default: reverse)\n") !=
        std::string::npos);
  CHECK(help.find("--lr X                  learning rate (default: 0.003)") != std::string::npos);
  CHECK(help.find("--quiet                 less output\n") != std::string::npos);
  CHECK(help.find("--help") != std::string::npos);
}

TEST_CASE("flags: long help text wraps at 100 columns under the help column") {
  std::string mode = "fast";
  Flags flags("demo", "demo [flags]");
  flags.add("--mode", mode,
            std::string(30, 'a') + " " + std::string(30, 'b') + " " + std::string(30, 'c'), "M");
  const std::string help = flags.help();
  CHECK(help.find("  --mode M                " + std::string(30, 'a') + " " + std::string(30, 'b') +
                  "\n" + std::string(26, ' ') + std::string(30, 'c') + " (default: fast)\n") !=
        std::string::npos);
}

TEST_CASE("flags: each mistake is one FlagError line naming the flag") {
  SUBCASE("unknown, with a suggestion when close") {
    CHECK_THROWS_WITH_AS(Program().parse({"--step", "3"}),
                         "unknown flag '--step' (did you mean --steps?)", FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--colour"}), "unknown flag '--colour' (see --help)",
                         FlagError);
  }
  SUBCASE("not a number") {
    CHECK_THROWS_WITH_AS(Program().parse({"--steps", "ten"}), "--steps: 'ten' is not an integer",
                         FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--lr=1e-3x"}), "--lr: '1e-3x' is not a number",
                         FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--batch", "2.5"}),
                         "--batch: '2.5' is not a non-negative integer", FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--batch="}), "--batch: '' is not a non-negative integer",
                         FlagError);
  }
  SUBCASE("out of range") {
    CHECK_THROWS_WITH_AS(Program().parse({"--batch", "0"}), "--batch must be at least 1, got 0",
                         FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--steps", "99999999999999999999"}),
                         "--steps: '99999999999999999999' is out of range", FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--lr", "inf"}), "--lr: 'inf' is not a finite number",
                         FlagError);
  }
  SUBCASE("a value missing, or given to a switch") {
    CHECK_THROWS_WITH_AS(Program().parse({"--steps"}), "--steps needs a value (N)", FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--steps", "--quiet"}), "--steps needs a value (N)",
                         FlagError);
    CHECK_THROWS_WITH_AS(Program().parse({"--quiet=yes"}), "--quiet takes no value", FlagError);
  }
  SUBCASE("given twice") {
    CHECK_THROWS_WITH_AS(Program().parse({"--steps", "1", "--steps", "2"}),
                         "--steps is given twice", FlagError);
  }
}

TEST_CASE("flags: parse_integer, parse_unsigned and parse_real take whole texts only") {
  CHECK(parse_integer("-12", "n") == -12);
  CHECK(parse_unsigned("18446744073709551615", "seed") == 18446744073709551615ULL);
  CHECK(parse_real("2.5e-3", "lr") == 0.0025);
  CHECK_THROWS_WITH_AS(parse_integer(" 3", "n"), "n: ' 3' is not an integer", FlagError);
  CHECK_THROWS_WITH_AS(parse_unsigned("-1", "seed"), "seed: '-1' is negative", FlagError);
  CHECK_THROWS_WITH_AS(parse_real("nan", "lr"), "lr: 'nan' is not a finite number", FlagError);
}
