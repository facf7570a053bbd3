// Tests for data/vocab.cpp: the standard model's digit vocabulary, encode/decode by hand,
// UTF-8 code points (and malformed bytes), words mode, and the serialised form's round trip
// and rejection of strings it could not have written.
#include "testing.h"

#include "data/tasks.h"
#include "data/vocab.h"

using namespace crossgrad;

using Ids = std::vector<std::int64_t>;
using Strings = std::vector<std::string>;

TEST_CASE("vocab: the digit tasks put '0'..'9' at ids 3..12 after PAD, BOS, EOS (V = 13)") {
  const Vocab vocab = task_vocab(Task::reverse);
  CHECK(vocab.size() == 13);
  CHECK(vocab.id_of("0") == 3);
  CHECK(vocab.id_of("9") == 12);
  CHECK(vocab.symbol(PAD) == "<pad>");
  CHECK(vocab.symbol(BOS) == "<bos>");
  CHECK(vocab.symbol(EOS) == "<eos>");
  const Vocab add = task_vocab(Task::add);  // the digits keep their ids; '+' comes after them
  CHECK(add.size() == 14);
  CHECK(add.id_of("0") == 3);
  CHECK(add.id_of("+") == 13);
}

TEST_CASE("vocab: encode and decode by hand; decode stops at EOS and skips PAD and BOS") {
  const Vocab vocab = task_vocab(Task::add);
  // '5' -> 3+5 = 8, '7' -> 10, '+' -> 13, '0' -> 3
  CHECK(vocab.encode("57+0") == Ids{8, 10, 13, 3});
  CHECK(vocab.encode("").empty());
  CHECK(vocab.decode({8, 10, 13, 3}) == "57+0");
  CHECK(vocab.decode({BOS, 8, PAD, 10, EOS, 13, 3}) == "57");  // everything after EOS is dropped
  CHECK(vocab.decode({EOS, 8}) == "");
  CHECK(vocab.decode(vocab.encode("1234567890+")) == "1234567890+");
}

TEST_CASE("vocab: an unknown symbol is an error naming it, the known symbols and the fix") {
  const Vocab vocab = task_vocab(Task::reverse);
  CHECK_THROWS_WITH_AS(vocab.encode("12x4"),
                       doctest::Contains("unknown symbol 'x' (token 3 of the input)"), Error);
  CHECK_THROWS_WITH_AS(vocab.encode("12x4"), doctest::Contains("knows 10 symbols: '0' '1' '2'"),
                       Error);
  CHECK_THROWS_WITH_AS(vocab.encode("1 2"), doctest::Contains("To fix: use only these symbols"),
                       Error);
  CHECK_THROWS_WITH_AS(vocab.encode("1 2"), doctest::Contains("unknown symbol U+0020"), Error);
  CHECK_THROWS_WITH_AS(vocab.id_of("é"), doctest::Contains("unknown symbol 'é' (U+00E9)"), Error);
  CHECK_FALSE(vocab.contains("x"));
  CHECK(vocab.contains("7"));
}

TEST_CASE("vocab: ids out of range are errors when decoding") {
  const Vocab vocab = task_vocab(Task::reverse);
  CHECK_THROWS_WITH_AS(vocab.decode({3, 13}),
                       doctest::Contains("id 13 is out of range: this vocabulary has ids 0..12"),
                       Error);
  CHECK_THROWS_WITH_AS(vocab.symbol(-1), doctest::Contains("id -1 is out of range"), Error);
}

TEST_CASE("vocab: characters mode makes one token per UTF-8 code point, in code point order") {
  // é is 2 bytes (C3 A9), 日 and 本 are 3 (E6 97 A5, E6 9C AC), 😀 is 4 (F0 9F 98 80).
  const Vocab vocab = Vocab::from_texts({"héllo", "日本", "😀h"}, TokenMode::characters);
  CHECK(vocab.symbols() == Strings{"h", "l", "o", "é", "日", "本", "😀"});
  CHECK(vocab.tokenize("héllo") == Strings{"h", "é", "l", "l", "o"});
  CHECK(vocab.encode("日😀é") == Ids{7, 9, 6});
  CHECK(vocab.decode({7, 9, 6, EOS}) == "日😀é");
  CHECK(split_code_points("\xF4\x8F\xBF\xBF").size() == 1);  // U+10FFFF, the last code point
  CHECK(split_code_points("\xED\x9F\xBF").size() == 1);      // U+D7FF, just below surrogates
}

TEST_CASE("vocab: malformed UTF-8 is an error naming the byte offset") {
  struct Case {
    const char* name;
    std::string text;
    std::size_t offset;
  };
  const Case cases[] = {
      {"a continuation byte with no lead", "ab\x80", 2},
      {"a sequence cut short by the end", "a\xC3", 1},
      {"a sequence cut short by an ASCII byte", "\xE6\x97z", 0},
      {"an overlong form of '/'", "x\xC0\xAF", 1},
      {"an overlong 3-byte form", "\xE0\x80\xAF", 0},
      {"a UTF-16 surrogate", "ok\xED\xA0\x80", 2},
      {"a code point above U+10FFFF", "\xF4\x90\x80\x80", 0},
      {"a byte that never occurs in UTF-8", "12\xFF", 2},
  };
  const Vocab vocab = task_vocab(Task::reverse);
  for (const Case& c : cases) {
    SUBCASE(c.name) {
      CHECK(find_malformed_utf8(c.text) == c.offset);
      const std::string expected = "malformed UTF-8 at byte offset " + std::to_string(c.offset);
      CHECK_THROWS_WITH_AS(vocab.encode(c.text), doctest::Contains(expected.c_str()), Error);
    }
  }
  CHECK_THROWS_WITH_AS(vocab.encode("ab\x80"), doctest::Contains("(byte 0x80)"), Error);
  CHECK(find_malformed_utf8("plain ASCII, é, 日本, 😀") == std::string::npos);
}

TEST_CASE("vocab: words mode splits on whitespace and decodes with single spaces") {
  const Vocab vocab = Vocab::from_texts({"the cat", " a  dog\tsat\n"}, TokenMode::words);
  CHECK(vocab.symbols() == Strings{"a", "cat", "dog", "sat", "the"});  // ids 3..7
  CHECK(vocab.encode("the   dog ") == Ids{7, 5});
  CHECK(vocab.decode({BOS, 7, 5, EOS}) == "the dog");
  CHECK(vocab.tokenize("  ").empty());
  CHECK_THROWS_WITH_AS(vocab.encode("the bird"), doctest::Contains("unknown symbol 'bird'"), Error);
}

TEST_CASE("vocab: the serialised form of the digit vocabulary, spelled out") {
  CHECK(task_vocab(Task::reverse).serialize() ==
        "crossgrad-vocab 1 characters\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9");
}

TEST_CASE("vocab: serialise then deserialise gives back every symbol") {
  SUBCASE("characters, including newline, backslash, tab, space and multi-byte ones") {
    const Vocab vocab(TokenMode::characters, {"\n", "\\", "\r", " ", "\t", "n", "é", "😀"});
    const Vocab back = Vocab::deserialize(vocab.serialize());
    CHECK(back == vocab);
    CHECK(back.encode("\\\n😀") == Ids{4, 3, 10});
  }
  SUBCASE("words, including ones that look like escapes or specials") {
    const Vocab vocab(TokenMode::words, {"\\n", "a\\", "\\\\", "<pad>", "x"});
    CHECK(Vocab::deserialize(vocab.serialize()) == vocab);
  }
  SUBCASE("a vocabulary built from text") {
    const Vocab vocab = Vocab::from_texts({"héllo wörld", "a\\b"}, TokenMode::characters);
    CHECK(Vocab::deserialize(vocab.serialize()) == vocab);
  }
}

TEST_CASE("vocab: deserialise rejects strings serialise could not have written") {
  const std::string header = "crossgrad-vocab 1 characters";
  struct Case {
    const char* name;
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {"empty", "", "line 1 is not 'crossgrad-vocab 1 characters'"},
      {"not a vocabulary", "0\n1\n2", "this is not a serialised vocabulary"},
      {"an unknown mode", "crossgrad-vocab 1 bytes\na", "unknown token mode 'bytes'"},
      {"no symbols", header, "no symbols"},
      {"an empty line", header + "\na\n\nb", "line 3 is empty"},
      {"a trailing newline", header + "\na\n", "line 3 is empty"},
      {"an unknown escape", header + "\n\\t", "line 2: unknown escape '\\t'"},
      {"a lone backslash", header + "\na\nb\\", "line 3: a lone '\\' at the end of the line"},
      {"a duplicate", header + "\na\nb\na", "symbol at id 5 ('a') is a duplicate"},
      {"two characters on a line", header + "\nab", "('ab') is 2 code points"},
      {"malformed UTF-8", header + "\n\xFF", "malformed UTF-8 at byte offset 0"},
      {"whitespace in a word", "crossgrad-vocab 1 words\na b", "contains whitespace"},
  };
  for (const Case& c : cases) {
    SUBCASE(c.name) {
      CHECK_THROWS_WITH_AS(Vocab::deserialize(c.text), doctest::Contains(c.message), Error);
      CHECK_THROWS_WITH_AS(Vocab::deserialize(c.text), doctest::Contains("Vocab::deserialize"),
                           Error);
    }
  }
}

TEST_CASE("vocab: bad symbols and bad mode names are errors") {
  CHECK_THROWS_WITH_AS(Vocab(TokenMode::characters, {}), doctest::Contains("Vocab: no symbols"),
                       Error);
  CHECK_THROWS_WITH_AS(Vocab(TokenMode::words, {"a", ""}),
                       doctest::Contains("symbol at id 4 is empty"), Error);
  CHECK_THROWS_WITH_AS(Vocab::from_texts({"", " "}, TokenMode::words),
                       doctest::Contains("no symbols"), Error);
  CHECK(parse_token_mode("words") == TokenMode::words);
  CHECK_THROWS_WITH_AS(parse_token_mode("chars"),
                       doctest::Contains("unknown mode 'chars' (known: characters, words)"), Error);
  CHECK(describe_symbol(" ") == "U+0020");
  CHECK(describe_symbol("\n") == "U+000A");
  CHECK(describe_symbol("é") == "'é' (U+00E9)");
  CHECK(describe_symbol("word") == "'word'");
}
