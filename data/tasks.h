// tasks.h — the toy seq2seq tasks, generated from a seed: reverse, copy and sort a string of
// digits, add two numbers ("57+68" -> "125"), or mix: one of the first three, named by an
// instruction symbol before the digits ("R123" -> "321", "C123" -> "123", "S312" -> "123").
// Lengths are drawn uniformly, so short and long inputs are equally common, as in the PyTorch
// reference's make_pair. Also: a held-out set from a separate seed, length generalisation
// (train on lengths <= L, evaluate on L+1..L+k) and accuracy by length.
// Read next: data/batch.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/random.h"
#include "data/vocab.h"

namespace crossgrad {

enum class Task { reverse, copy, sort, add, mix };

std::string task_name(Task task);
Task parse_task(const std::string& name);      // throws, listing the known names
const std::vector<std::string>& task_names();  // "reverse", "copy", "sort", "add", "mix"

// mix: the instruction symbols, "R" (reverse), "C" (copy) and "S" (sort), and back.
std::string instruction_symbol(Task task);  // reverse, copy or sort; throws for the others
Task instruction_of(const Pair& mix_example);  // from the source's first symbol, or throws

// What to generate. For reverse/copy/sort the length is the number of digits in the source;
// for add it is the number of digits of each operand (each drawn on its own); for mix the
// number of digits after the instruction, the instruction drawn uniformly of the three.
struct TaskSpec {
  Task task = Task::reverse;
  std::size_t min_len = 1, max_len = 16;
};
// The standard lengths: 1..16 for reverse/copy/sort, 1..3 digits a operand for add.
TaskSpec default_spec(Task task);
void validate(const TaskSpec& spec);  // min_len >= 1 and min_len <= max_len, or throws

// Digits '0'..'9' are ids 3..12 (after PAD, BOS, EOS: V = 13); add appends '+' as id 13,
// mix "C", "R" and "S" as ids 13..15.
Vocab task_vocab(Task task);

// One example, and count of them, drawn from gen: a training stream is a Generator whose
// state is saved with the checkpoint. The seed overload starts a fresh Generator(seed).
Pair make_example(const TaskSpec& spec, Generator& gen);
std::vector<Pair> make_examples(const TaskSpec& spec, std::size_t count, Generator& gen);
std::vector<Pair> make_examples(const TaskSpec& spec, std::size_t count, std::uint64_t seed);

// The seed of the held-out set: a fixed, well-mixed function of the training seed that never
// equals it, so evaluation sequences are drawn independently of the training stream.
std::uint64_t held_out_seed(std::uint64_t train_seed);
std::vector<Pair> make_held_out(const TaskSpec& spec, std::size_t count, std::uint64_t train_seed);

// The length an example is grouped by: the number of source symbols for reverse/copy/sort,
// the longer operand's number of digits for add, the digits after the instruction for mix.
std::size_t example_length(Task task, const Pair& example);

// Length generalisation: train on min_len..train_max_len, evaluate on the next `extra`
// lengths (train_max_len+1 .. train_max_len+extra), which training never shows.
struct LengthSplit {
  TaskSpec train, eval;
};
LengthSplit length_generalisation(Task task, std::size_t train_max_len, std::size_t extra,
                                  std::size_t min_len = 1);

// Exact-match accuracy grouped by length: by_length[length] = (correct, total).
struct LengthAccuracy {
  std::map<std::size_t, std::pair<std::size_t, std::size_t>> by_length;

  void record(std::size_t length, bool correct);
  std::size_t correct() const;
  std::size_t total() const;
  double accuracy() const;                    // over every length; 0 when empty
  double accuracy(std::size_t length) const;  // 0 for a length never recorded
  std::string report() const;                 // one "length 17: 45/60 (75.0%)" line a length
};

// Compares predictions[i] with examples[i].target (exact match) and groups by length.
LengthAccuracy accuracy_by_length(Task task, const std::vector<Pair>& examples,
                                  const std::vector<std::string>& predictions);

}  // namespace crossgrad
