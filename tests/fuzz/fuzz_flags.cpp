// fuzz_flags.cpp — build/train's command line (examples/common/train_flags.h over the flag
// parser of examples/common/flags.h) on an argv cut from the input at each '\0'. Every value
// type is there (text, integers, sizes, reals, switches) and the spelled-out forms (--layers,
// --tokens, --length-generalisation L:K); a command line it accepts must give a config that
// passes the trainer's own checks. --resume is left out: it reads the file it names.
#include <iostream>
#include <sstream>

#include "examples/common/flags.h"
#include "examples/common/train_flags.h"
#include "fuzzing.h"

using namespace crossgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = fuzzing::split_at_nul(data, size);
  for (const std::string& arg : args)
    if (arg.rfind("--resume", 0) == 0) return 0;
  std::vector<const char*> argv = {"train"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  static std::ostringstream sink;  // --help prints here, not on the fuzzer's output
  std::streambuf* const previous = std::cout.rdbuf(sink.rdbuf());
  try {
    cli::TrainOptions options;
    bool help = false;
    const training::TrainConfig config =
        cli::read_train_command_line(int(argv.size()), argv.data(), options, help);
    if (!help) training::validate(config);  // may refuse combinations the flags allow
  } catch (const cli::FlagError&) {
  } catch (const Error&) {
  }
  std::cout.rdbuf(previous);
  sink.str("");
  return 0;
}
