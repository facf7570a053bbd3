// Tests for data/tsv.cpp: reading real files (written to a temporary directory that is removed
// afterwards), every malformed-file error with its FILE:LINE, UTF-8 and word tokens, and the
// seeded train/validation split.
#include "testing.h"

#include <cmath>
#include <set>

#include "data/tsv.h"

using namespace crossgrad;
using namespace testing;

namespace {

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("tsv: reads pairs, skipping empty lines; '#' is data; Windows line ends are dropped") {
  const TempDir dir;
  const std::string path =
      dir.write("pairs.tsv", "abc\tcba\n\n12\t21\r\n#x\tx#\n\r\nlast\tline");  // no final newline
  const TsvDataset data = TsvDataset::load(path);
  REQUIRE(data.size() == 4);
  CHECK(data.pairs()[0].source == "abc");
  CHECK(data.pairs()[0].target == "cba");
  CHECK(data.pairs()[1].target == "21");  // the '\r' is gone
  CHECK(data.pairs()[2].source == "#x");
  CHECK(data.pairs()[3].target == "line");
  CHECK(data.lines() == std::vector<std::size_t>{1, 3, 4, 6});
  CHECK(data.name() == path);
  CHECK(data.mode() == TokenMode::characters);
}

TEST_CASE("tsv: a UTF-8 byte-order mark at the start of the file is not data") {
  const TempDir dir;
  const TsvDataset data = TsvDataset::load(dir.write("bom.tsv", "\xEF\xBB\xBF" "abc\tcba\r\n"));
  REQUIRE(data.size() == 1);
  CHECK(data.pairs()[0].source == "abc");
  CHECK_THROWS_WITH_AS(TsvDataset::load(dir.write("only_bom.tsv", "\xEF\xBB\xBF")),
                       doctest::Contains(":1: empty file"), Error);
}

TEST_CASE("tsv: every malformed file is an error naming FILE:LINE and the problem") {
  const TempDir dir;
  struct Case {
    const char* name;
    std::string text;
    const char* message;  // what follows "PATH:"
    TokenMode mode;
  };
  const Case cases[] = {
      {"a line without a tab", "a\tb\nab\n", "2: expected exactly one tab, found 0",
       TokenMode::characters},
      {"a line with two tabs", "a\tb\n\nc\td\te\n", "3: expected exactly one tab, found 2",
       TokenMode::characters},
      {"an empty source", "a\tb\n\tb\n", "2: empty source (nothing before the tab)",
       TokenMode::characters},
      {"an empty target", "a\t\n", "1: empty target (nothing after the tab)",
       TokenMode::characters},
      {"a source of spaces in words mode", "a\tb\n  \tb\n", "2: empty source: no words",
       TokenMode::words},
      {"a target of spaces in words mode", "a\t \n", "1: empty target: no words", TokenMode::words},
      {"malformed UTF-8", "a\tb\nc\td\nef\t\xFFg\n",
       "3: malformed UTF-8 at byte offset 3 of the line (byte 0xFF)", TokenMode::characters},
      {"an empty file", "", "1: empty file: expected one source<TAB>target pair a line",
       TokenMode::characters},
      {"only empty lines", "\n\r\n\n", "3: no source<TAB>target pairs: all 3 lines are empty",
       TokenMode::words},
  };
  for (const Case& c : cases) {
    SUBCASE(c.name) {
      const std::string path = dir.write("bad.tsv", c.text);
      const std::string expected = path + ":" + c.message;
      CHECK_THROWS_WITH_AS(TsvDataset::load(path, c.mode), doctest::Contains(expected.c_str()),
                           Error);
    }
  }
}

TEST_CASE("tsv: a missing file or a directory is an error naming it") {
  const TempDir dir;
  const std::string missing = (dir.path / "missing.tsv").string();
  CHECK_THROWS_WITH_AS(TsvDataset::load(missing),
                       doctest::Contains((missing + ": cannot read: no such file").c_str()), Error);
  const std::string folder = dir.path.string();
  CHECK_THROWS_WITH_AS(TsvDataset::load(folder),
                       doctest::Contains((folder + ": cannot read: it is a directory").c_str()),
                       Error);
}

TEST_CASE("tsv: character tokens by default, whitespace-separated words on request") {
  const TempDir dir;
  const std::string path = dir.write("words.tsv", "hello world\tbonjour le monde\n");
  const Vocab characters = TsvDataset::load(path).build_vocab();
  CHECK(characters.symbols() ==
        Strings{" ", "b", "d", "e", "h", "j", "l", "m", "n", "o", "r", "u", "w"});
  const Vocab words = TsvDataset::load(path, TokenMode::words).build_vocab();
  CHECK(words.symbols() == Strings{"bonjour", "hello", "le", "monde", "world"});
  CHECK(words.mode() == TokenMode::words);
}

TEST_CASE("tsv: UTF-8 text gives one token per code point") {
  const TempDir dir;
  const std::string path = dir.write("utf8.tsv", "日本\t本日\ncafé\tÉ😀\n");
  const TsvDataset data = TsvDataset::load(path);
  const Vocab vocab = data.build_vocab();
  CHECK(vocab.symbols() == Strings{"a", "c", "f", "É", "é", "日", "本", "😀"});
  CHECK(vocab.encode(data.pairs()[1].target) == std::vector<std::int64_t>{6, 10});
}

TEST_CASE("tsv: check_vocab names the file and line of a symbol the vocabulary lacks") {
  const TsvDataset data = TsvDataset::parse("12\t21\n\n3x\tx3\n", "score.tsv");
  const Vocab digits(TokenMode::characters, {"0", "1", "2", "3"});
  CHECK_THROWS_WITH_AS(data.check_vocab(digits),
                       doctest::Contains("score.tsv:3: source: vocab: unknown symbol 'x'"), Error);
  CHECK_NOTHROW(data.check_vocab(data.build_vocab()));
}

TEST_CASE("tsv: the train/validation split is seeded, complete, disjoint and in file order") {
  std::vector<Pair> pairs;
  for (int i = 0; i < 10; ++i) pairs.push_back({std::to_string(i), std::to_string(9 - i)});
  const TrainValidationSplit split = split_train_validation(pairs, 0.3, 7);
  CHECK(split.train.size() == 7);
  CHECK(split.validation.size() == 3);
  std::set<std::string> seen;
  for (const auto* part : {&split.train, &split.validation})
    for (std::size_t i = 0; i < part->size(); ++i) {
      seen.insert((*part)[i].source);
      if (i > 0) CHECK(std::stoi((*part)[i - 1].source) < std::stoi((*part)[i].source));
    }
  CHECK(seen.size() == 10);
  const TrainValidationSplit again = split_train_validation(pairs, 0.3, 7);
  const TrainValidationSplit other = split_train_validation(pairs, 0.3, 8);
  const auto sources = [](const std::vector<Pair>& part) {
    Strings out;
    for (const Pair& pair : part) out.push_back(pair.source);
    return out;
  };
  CHECK(sources(again.validation) == sources(split.validation));
  CHECK(sources(other.validation) != sources(split.validation));
}

TEST_CASE("tsv: a split that would leave a part empty, or a bad fraction, is an error") {
  const std::vector<Pair> three = {{"a", "b"}, {"c", "d"}, {"e", "f"}};
  CHECK_THROWS_WITH_AS(split_train_validation(three, 0.1, 0),
                       doctest::Contains("a validation fraction of 0.1 of 3 pairs leaves 3 for "
                                         "training and 0 for validation"),
                       Error);
  CHECK_THROWS_WITH_AS(split_train_validation(three, 0.9, 0),
                       doctest::Contains("leaves 0 for training and 3 for validation"), Error);
  CHECK_THROWS_WITH_AS(split_train_validation({}, 0.5, 0),
                       doctest::Contains("of 0 pairs leaves 0 for training"), Error);
  for (const double bad : {0.0, 1.0, -0.5, std::nan("")}) {
    CHECK_THROWS_WITH_AS(split_train_validation(three, bad, 0),
                         doctest::Contains("must lie strictly between 0 and 1"), Error);
  }
}
