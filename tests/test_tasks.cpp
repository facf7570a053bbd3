// Tests for data/tasks.cpp: correct targets for every task, the reference's make_pair draw
// order, reproducibility from seeds, the length and digit distributions, the held-out set,
// length generalisation and accuracy by length.
#include "testing.h"

#include <algorithm>
#include <set>
#include <string>

#include "data/tasks.h"

using namespace crossgrad;

TEST_CASE("tasks: reverse, copy and sort targets are the source reversed, copied, sorted") {
  for (const Task task : {Task::reverse, Task::copy, Task::sort}) {
    CAPTURE(task_name(task));
    for (const Pair& pair : make_examples(default_spec(task), 300, 11)) {
      std::string expected = pair.source;
      if (task == Task::reverse) std::reverse(expected.begin(), expected.end());
      if (task == Task::sort) std::sort(expected.begin(), expected.end());
      CHECK(pair.target == expected);
      CHECK(std::all_of(pair.source.begin(), pair.source.end(), ::isdigit));
    }
  }
}

TEST_CASE("tasks: mix names its task by an instruction symbol; all three come up evenly") {
  const Vocab vocab = task_vocab(Task::mix);
  CHECK(vocab.size() == 16);
  std::size_t counts[3] = {0, 0, 0};
  for (const Pair& pair : make_examples(default_spec(Task::mix), 900, 5)) {
    const Task task = instruction_of(pair);
    ++counts[std::size_t(task)];
    const std::string digits = pair.source.substr(1);
    CHECK(pair.source.substr(0, 1) == instruction_symbol(task));
    std::string expected = digits;
    if (task == Task::reverse) std::reverse(expected.begin(), expected.end());
    if (task == Task::sort) std::sort(expected.begin(), expected.end());
    CHECK(pair.target == expected);
    CHECK(std::all_of(digits.begin(), digits.end(), ::isdigit));
    CHECK(example_length(Task::mix, pair) == digits.size());
    CHECK(vocab.encode(pair.source).size() == digits.size() + 1);  // every symbol is known
  }
  for (const std::size_t count : counts) CHECK(count > 250);  // 300 expected of each
  CHECK_THROWS_WITH_AS(instruction_of({"123", "321"}),
                       doctest::Contains("mix source '123' does not start with an instruction"),
                       Error);
  CHECK_THROWS_WITH_AS(instruction_symbol(Task::add),
                       doctest::Contains("task add is not an instruction of mix"), Error);
}

TEST_CASE("tasks: add sums its operands exactly, and operands have no leading zeros") {
  TaskSpec spec = default_spec(Task::add);
  spec.max_len = 18;  // two 18-digit operands still sum below 2^64, so uint64 can check them
  for (const Pair& pair : make_examples(spec, 1000, 3)) {
    CAPTURE(pair.source);
    const std::size_t plus = pair.source.find('+');
    REQUIRE(plus != std::string::npos);
    const std::string a = pair.source.substr(0, plus), b = pair.source.substr(plus + 1);
    for (const std::string& operand : {a, b}) {
      CHECK(operand.size() >= 1);
      CHECK(operand.size() <= 18);
      CHECK((operand == "0" || operand[0] != '0'));
    }
    CHECK(pair.target == std::to_string(std::stoull(a) + std::stoull(b)));
  }
}

TEST_CASE("tasks: generation follows the reference's make_pair: the length, then each digit") {
  // make_pair: n = randint(1, maxlen); s = [randrange(10) for _ in range(n)].
  Generator gen(5);
  const std::size_t n = 1 + gen.below(16);
  std::string digits;
  for (std::size_t i = 0; i < n; ++i) digits += char('0' + gen.below(10));
  Generator same(5);
  const Pair pair = make_example(default_spec(Task::copy), same);
  CHECK(pair.source == digits);
  CHECK(same.state() == gen.state());  // and nothing else was drawn
}

TEST_CASE("tasks: the same seed gives the same examples, another seed other examples") {
  const TaskSpec spec = default_spec(Task::reverse);
  const std::vector<Pair> a = make_examples(spec, 50, 42), b = make_examples(spec, 50, 42);
  const std::vector<Pair> c = make_examples(spec, 50, 43);
  std::size_t same_as_c = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].source == b[i].source);
    CHECK(a[i].target == b[i].target);
    same_as_c += a[i].source == c[i].source;
  }
  CHECK(same_as_c < 5);  // two sources agree by chance with probability about 1/16 * 1/10^n
}

TEST_CASE("tasks: a training stream resumes from its Generator's saved state") {
  const TaskSpec spec = default_spec(Task::sort);
  Generator gen(9);
  make_examples(spec, 10, gen);
  const std::string saved = gen.state();
  const std::vector<Pair> continued = make_examples(spec, 10, gen);
  Generator resumed(0);
  resumed.set_state(saved);
  const std::vector<Pair> replayed = make_examples(spec, 10, resumed);
  for (std::size_t i = 0; i < continued.size(); ++i)
    CHECK(continued[i].source == replayed[i].source);
}

TEST_CASE("tasks: every length in range appears about equally often, and digits too") {
  const std::vector<Pair> examples = make_examples(default_spec(Task::reverse), 3200, 1);
  std::map<std::size_t, std::size_t> lengths;
  std::map<char, std::size_t> digits;
  std::size_t symbols = 0;
  for (const Pair& pair : examples) {
    ++lengths[pair.source.size()];
    for (char digit : pair.source) ++digits[digit];
    symbols += pair.source.size();
  }
  // 3200 / 16 = 200 a length, standard deviation about 14: 120..280 is more than 5 sigma.
  REQUIRE(lengths.size() == 16);
  CHECK(lengths.begin()->first == 1);
  CHECK(lengths.rbegin()->first == 16);
  for (const auto& [length, count] : lengths) {
    CAPTURE(length);
    CHECK(count > 120);
    CHECK(count < 280);
  }
  REQUIRE(digits.size() == 10);
  for (const auto& [digit, count] : digits) {
    CAPTURE(digit);
    CHECK(double(count) == doctest::Approx(symbols / 10.0).epsilon(0.1));
  }
}

TEST_CASE("tasks: add draws each operand's length in range, so example lengths cover it") {
  std::set<std::size_t> operand_lengths, example_lengths;
  for (const Pair& pair : make_examples(default_spec(Task::add), 500, 2)) {
    const std::size_t plus = pair.source.find('+');
    operand_lengths.insert(plus);
    operand_lengths.insert(pair.source.size() - plus - 1);
    example_lengths.insert(example_length(Task::add, pair));
  }
  CHECK(operand_lengths == std::set<std::size_t>{1, 2, 3});
  CHECK(example_lengths == std::set<std::size_t>{1, 2, 3});
  CHECK(example_length(Task::add, {"123+4", "127"}) == 3);
  CHECK(example_length(Task::add, {"5+6789", "6794"}) == 4);
  CHECK_THROWS_WITH_AS(example_length(Task::add, {"123", "123"}),
                       doctest::Contains("add source '123' has no '+'"), Error);
}

TEST_CASE("tasks: the held-out set comes from another seed and shares no long sequence") {
  for (std::uint64_t seed = 0; seed < 1000; ++seed) CHECK(held_out_seed(seed) != seed);
  CHECK(held_out_seed(1) != held_out_seed(2));
  const TaskSpec spec = default_spec(Task::reverse);
  const std::vector<Pair> held = make_held_out(spec, 1000, 0);
  CHECK(held[7].source == make_held_out(spec, 1000, 0)[7].source);  // reproducible
  // Sources of 8+ digits are drawn from 10^8 or more: any overlap would mean shared draws.
  std::set<std::string> train_sources;
  for (const Pair& pair : make_examples(spec, 20000, 0))
    if (pair.source.size() >= 8) train_sources.insert(pair.source);
  std::size_t long_held = 0, shared = 0;
  for (const Pair& pair : held) {
    if (pair.source.size() < 8) continue;
    ++long_held;
    shared += train_sources.count(pair.source);
  }
  CHECK(long_held > 400);
  CHECK(shared == 0);
}

TEST_CASE("tasks: length generalisation trains on lengths <= L and evaluates on L+1..L+k") {
  const LengthSplit split = length_generalisation(Task::copy, 8, 4);
  CHECK(split.train.min_len == 1);
  CHECK(split.train.max_len == 8);
  CHECK(split.eval.min_len == 9);
  CHECK(split.eval.max_len == 12);
  std::set<std::size_t> train_lengths, eval_lengths;
  for (const Pair& pair : make_examples(split.train, 400, 1))
    train_lengths.insert(pair.source.size());
  for (const Pair& pair : make_examples(split.eval, 400, 2))
    eval_lengths.insert(pair.source.size());
  CHECK(train_lengths == std::set<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(eval_lengths == std::set<std::size_t>{9, 10, 11, 12});
  CHECK_THROWS_WITH_AS(length_generalisation(Task::copy, 8, 0),
                       doctest::Contains("extra must be at least 1"), Error);
  CHECK_THROWS_WITH_AS(length_generalisation(Task::copy, 3, 2, 5),
                       doctest::Contains("min_len 5 is greater than max_len 3"), Error);
}

TEST_CASE("tasks: accuracy by length counts (correct, total) for each length") {
  const std::vector<Pair> examples = {{"12", "21"}, {"345", "543"}, {"67", "76"}};
  const LengthAccuracy result =
      accuracy_by_length(Task::reverse, examples, {"21", "543", "67"});  // the last is wrong
  CHECK(result.by_length.size() == 2);
  CHECK(result.by_length.at(2) == std::make_pair<std::size_t, std::size_t>(1, 2));
  CHECK(result.by_length.at(3) == std::make_pair<std::size_t, std::size_t>(1, 1));
  CHECK(result.correct() == 2);
  CHECK(result.total() == 3);
  CHECK(result.accuracy() == doctest::Approx(2.0 / 3.0));
  CHECK(result.accuracy(2) == doctest::Approx(0.5));
  CHECK(result.accuracy(9) == 0.0);
  CHECK(result.report() == "length   2: 1/2 (50.0%)\nlength   3: 1/1 (100.0%)\n");
  CHECK(LengthAccuracy().accuracy() == 0.0);
  CHECK_THROWS_WITH_AS(accuracy_by_length(Task::reverse, examples, {"21"}),
                       doctest::Contains("3 examples but 1 predictions"), Error);
}

TEST_CASE("tasks: unknown task names and bad length ranges are errors") {
  CHECK(parse_task("sort") == Task::sort);
  CHECK(task_name(Task::add) == "add");
  CHECK_THROWS_WITH_AS(parse_task("revers"),
                       doctest::Contains("unknown task 'revers' (known tasks: reverse, copy, "
                                         "sort, add, mix)"),
                       Error);
  Generator gen(0);
  TaskSpec spec = default_spec(Task::reverse);
  spec.min_len = 0;
  CHECK_THROWS_WITH_AS(make_example(spec, gen),
                       doctest::Contains("task reverse: min_len must be at least 1"), Error);
  spec.min_len = 5;
  spec.max_len = 4;
  CHECK_THROWS_WITH_AS(make_example(spec, gen),
                       doctest::Contains("min_len 5 is greater than max_len 4"), Error);
  CHECK(default_spec(Task::add).max_len == 3);
  CHECK(default_spec(Task::sort).max_len == 16);
}
