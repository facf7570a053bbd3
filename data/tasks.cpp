// tasks.cpp — the toy tasks (see tasks.h).
#include "data/tasks.h"

#include <algorithm>
#include <cstdio>

namespace crossgrad {

namespace {

// n uniform digits: the reference's [rng.randrange(10) for _ in range(n)].
std::string random_digits(std::size_t n, Generator& gen) {
  std::string digits;
  for (std::size_t i = 0; i < n; ++i) digits += char('0' + gen.below(10));
  return digits;
}

// A number of exactly n digits, uniform among them: no leading zero, except "0" itself.
std::string random_number(std::size_t n, Generator& gen) {
  if (n == 1) return random_digits(1, gen);
  return char('1' + gen.below(9)) + random_digits(n - 1, gen);
}

// a + b on decimal strings, so operands of any length add exactly.
std::string decimal_sum(const std::string& a, const std::string& b) {
  std::string sum;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    const int da = i < a.size() ? a[a.size() - 1 - i] - '0' : 0;
    const int db = i < b.size() ? b[b.size() - 1 - i] - '0' : 0;
    sum += char('0' + (da + db + carry) % 10);
    carry = (da + db + carry) / 10;
  }
  std::reverse(sum.begin(), sum.end());
  return sum;
}

std::size_t random_length(const TaskSpec& spec, Generator& gen) {
  return spec.min_len + gen.below(spec.max_len - spec.min_len + 1);  // uniform in [min, max]
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"reverse", "copy", "sort", "add", "mix"};
  return names;
}

std::string instruction_symbol(Task task) {
  if (task == Task::reverse) return "R";
  if (task == Task::copy) return "C";
  if (task == Task::sort) return "S";
  fail("instruction_symbol: task " + task_name(task) + " is not an instruction of mix "
       "(reverse, copy or sort)");
}

Task instruction_of(const Pair& mix_example) {
  for (const Task task : {Task::reverse, Task::copy, Task::sort})
    if (mix_example.source.rfind(instruction_symbol(task), 0) == 0) return task;
  fail("instruction_of: mix source '" + mix_example.source +
       "' does not start with an instruction (R, C or S)");
}

std::string task_name(Task task) { return task_names()[std::size_t(task)]; }

Task parse_task(const std::string& name) {
  const auto& names = task_names();
  const auto found = std::find(names.begin(), names.end(), name);
  if (found != names.end()) return Task(found - names.begin());
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  fail("task: unknown task '" + name + "' (known tasks: " + known + ")");
}

TaskSpec default_spec(Task task) {
  TaskSpec spec;
  spec.task = task;
  spec.max_len = task == Task::add ? 3 : 16;
  return spec;
}

void validate(const TaskSpec& spec) {
  const std::string what = "task " + task_name(spec.task) + ": ";
  if (spec.min_len < 1) fail(what + "min_len must be at least 1, got 0");
  if (spec.min_len > spec.max_len)
    fail(what + "min_len " + std::to_string(spec.min_len) + " is greater than max_len " +
         std::to_string(spec.max_len));
}

Vocab task_vocab(Task task) {
  std::vector<std::string> symbols;
  for (char digit = '0'; digit <= '9'; ++digit) symbols.emplace_back(1, digit);
  if (task == Task::add) symbols.emplace_back("+");
  if (task == Task::mix)
    for (const char* instruction : {"C", "R", "S"}) symbols.emplace_back(instruction);
  return Vocab(TokenMode::characters, symbols);
}

Pair make_example(const TaskSpec& spec, Generator& gen) {
  validate(spec);
  if (spec.task == Task::add) {
    const std::string a = random_number(random_length(spec, gen), gen);
    const std::string b = random_number(random_length(spec, gen), gen);
    return {a + "+" + b, decimal_sum(a, b)};
  }
  // mix: the instruction first, then the digits it applies to
  const Task task = spec.task == Task::mix ? Task(gen.below(3)) : spec.task;  // reverse, copy, sort
  const std::string source = random_digits(random_length(spec, gen), gen);
  std::string target = source;
  if (task == Task::reverse) std::reverse(target.begin(), target.end());
  if (task == Task::sort) std::sort(target.begin(), target.end());
  if (spec.task == Task::mix) return {instruction_symbol(task) + source, target};
  return {source, target};
}

std::vector<Pair> make_examples(const TaskSpec& spec, std::size_t count, Generator& gen) {
  std::vector<Pair> examples;
  examples.reserve(count);
  for (std::size_t i = 0; i < count; ++i) examples.push_back(make_example(spec, gen));
  return examples;
}

std::vector<Pair> make_examples(const TaskSpec& spec, std::size_t count, std::uint64_t seed) {
  Generator gen(seed);
  return make_examples(spec, count, gen);
}

std::uint64_t held_out_seed(std::uint64_t train_seed) {
  // splitmix64's finaliser: a bijection, so distinct training seeds get distinct held-out ones.
  std::uint64_t z = train_seed + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return z == train_seed ? z + 1 : z;  // a fixed point is astronomically unlikely; rule it out
}

std::vector<Pair> make_held_out(const TaskSpec& spec, std::size_t count, std::uint64_t train_seed) {
  return make_examples(spec, count, held_out_seed(train_seed));
}

std::size_t example_length(Task task, const Pair& example) {
  if (task == Task::mix) {
    instruction_of(example);  // checks it has one
    return split_code_points(example.source, "example_length").size() - 1;
  }
  if (task != Task::add) return split_code_points(example.source, "example_length").size();
  const std::size_t plus = example.source.find('+');
  if (plus == std::string::npos)
    fail("example_length: add source '" + example.source + "' has no '+'");
  return std::max(plus, example.source.size() - plus - 1);
}

LengthSplit length_generalisation(Task task, std::size_t train_max_len, std::size_t extra,
                                  std::size_t min_len) {
  if (extra < 1) fail("length_generalisation: extra must be at least 1 evaluation length, got 0");
  LengthSplit split;
  split.train.task = split.eval.task = task;
  split.train.min_len = min_len;
  split.train.max_len = train_max_len;
  split.eval.min_len = train_max_len + 1;
  split.eval.max_len = train_max_len + extra;
  validate(split.train);
  return split;
}

void LengthAccuracy::record(std::size_t length, bool correct) {
  auto& [right, total] = by_length[length];
  right += correct ? 1 : 0;
  total += 1;
}

std::size_t LengthAccuracy::correct() const {
  std::size_t sum = 0;
  for (const auto& entry : by_length) sum += entry.second.first;
  return sum;
}

std::size_t LengthAccuracy::total() const {
  std::size_t sum = 0;
  for (const auto& entry : by_length) sum += entry.second.second;
  return sum;
}

double LengthAccuracy::accuracy() const {
  return total() ? double(correct()) / double(total()) : 0.0;
}

double LengthAccuracy::accuracy(std::size_t length) const {
  const auto found = by_length.find(length);
  if (found == by_length.end() || found->second.second == 0) return 0.0;
  return double(found->second.first) / double(found->second.second);
}

std::string LengthAccuracy::report() const {
  std::string text;
  for (const auto& [length, counts] : by_length) {
    char line[96];
    std::snprintf(line, sizeof line, "length %3zu: %zu/%zu (%.1f%%)\n", length, counts.first,
                  counts.second, 100.0 * accuracy(length));
    text += line;
  }
  return text;
}

LengthAccuracy accuracy_by_length(Task task, const std::vector<Pair>& examples,
                                  const std::vector<std::string>& predictions) {
  if (examples.size() != predictions.size())
    fail("accuracy_by_length: " + std::to_string(examples.size()) + " examples but " +
         std::to_string(predictions.size()) + " predictions");
  LengthAccuracy result;
  for (std::size_t i = 0; i < examples.size(); ++i)
    result.record(example_length(task, examples[i]), predictions[i] == examples[i].target);
  return result;
}

}  // namespace crossgrad
