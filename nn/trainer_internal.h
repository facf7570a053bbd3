// trainer_internal.h — what the training loop (trainer.cpp) and saving and resuming a run
// (trainer_resume.cpp) share: Trainer::Data, the run's source of examples, and the shortest
// text of a number. Not part of the library's interface. Read next: nn/trainer.cpp.
#pragma once

#include <charconv>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/batch.h"
#include "data/tasks.h"
#include "data/vocab.h"
#include "nn/trainer.h"

namespace crossgrad::nn {

// Where a run's examples come from (a task's stream, or a TSV file's shuffled batches), the
// held-out sets it is evaluated on, and what a resumed run must find unchanged.
struct Trainer::Data {
  Vocab vocab;
  bool is_task = true;
  TaskSpec spec;                           // tasks: what the training stream draws
  Generator stream;                        // tasks: the training stream
  std::vector<Pair> train;                 // TSV: the training split ...
  std::unique_ptr<BatchIterator> batches;  // ... and its shuffled batches
  std::vector<Pair> held_out, generalisation;
  std::string fingerprint;  // TSV: of the whole file
  std::size_t longest = 0;  // most tokens in a source or target, for the position table

  explicit Data(Vocab v) : vocab(std::move(v)) {}
};

namespace trainer_internal {

inline std::string number(double x) {  // shortest text that reads back to the same double
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, x).ptr);
}

}  // namespace trainer_internal

}  // namespace crossgrad::nn
