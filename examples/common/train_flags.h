// train_flags.h — build/train's command line: every flag over a TrainConfig (the values it
// holds are the defaults --help shows), and the options that are not part of a run: threads,
// where to save, what to resume, what to print. For --resume, the saved run's settings are
// the defaults. Read next: examples/common/train_flags.cpp, examples/train.cpp (the program).
#pragma once

#include <cstdint>
#include <string>

#include "autograd/thread_pool.h"
#include "examples/training/trainer.h"

namespace crossgrad::cli {

// What the flags set besides TrainConfig: the session and the spelled-out forms.
struct TrainOptions {
  std::string tokens = "chars", length_generalisation, save, resume;
  std::size_t layers = 2, threads = num_threads(), samples = 5, seed = 0;
  double dropout = 0;
  std::int64_t log_every = 100, save_every = 0;
  bool no_save = false, quiet = false, detect_anomaly = false;
};

// Flags and config for this command line; for --resume, the saved run's settings are the
// defaults the flags start from, so only what the user spells out can differ (and the
// Trainer refuses a difference that would change the run). With --help, prints the help to
// stdout and sets `help`. A mistake is a FlagError (or an Error reading the checkpoint).
training::TrainConfig read_train_command_line(int argc, const char* const* argv,
                                              TrainOptions& options, bool& help);

}  // namespace crossgrad::cli
