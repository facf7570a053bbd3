// Tests for nn/io/json.cpp: values parsed by hand, escapes and UTF-8, the
// writer's output, round trips, and one test per kind of malformed input with the byte offset it
// reports.
#include "nn/io/json.h"
#include "testing.h"

using crossgrad::Error;
using crossgrad::json::parse;
using crossgrad::json::Value;

TEST_CASE("json: parses every kind of value") {
  const Value v = parse(R"( {"a": [1, -2, 3.5, -0.25e2, true, false, null], "b": {"c": "d"}} )");
  REQUIRE(v.is_object());
  const auto& a = v.find("a")->as_array();
  REQUIRE(a.size() == 7);
  CHECK(a[0].as_integer() == 1);
  CHECK(a[1].as_integer() == -2);
  CHECK(a[2].type() == Value::Type::number);
  CHECK(a[2].as_number() == 3.5);
  CHECK(a[3].as_number() == -25.0);  // -0.25 * 10^2
  CHECK(a[4].as_bool() == true);
  CHECK(a[5].as_bool() == false);
  CHECK(a[6].is_null());
  CHECK(v.find("b")->find("c")->as_string() == "d");
  CHECK(v.find("missing") == nullptr);
}

TEST_CASE("json: objects keep their keys in file order") {
  const Value v = parse(R"({"z": 1, "a": 2, "m": 3})");
  const auto& members = v.as_object();
  REQUIRE(members.size() == 3);
  CHECK(members[0].first == "z");
  CHECK(members[1].first == "a");
  CHECK(members[2].first == "m");
}

TEST_CASE("json: integers beyond int64 become doubles, int64 limits stay integers") {
  CHECK(parse("9223372036854775807").as_integer() == INT64_MAX);
  CHECK(parse("-9223372036854775808").as_integer() == INT64_MIN);
  const Value big = parse("18446744073709551616");  // 2^64
  CHECK(big.type() == Value::Type::number);
  CHECK(big.as_number() == 18446744073709551616.0);
  CHECK_THROWS_WITH_AS(big.as_integer(), doctest::Contains("expected an integer, got number"),
                       Error);
}

TEST_CASE("json: string escapes, including \\u and surrogate pairs, decode to UTF-8") {
  CHECK(parse(R"("a\"b\\c\/d\b\f\n\r\t")").as_string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(parse(R"("\u0041\u00e9")").as_string() == "A\xC3\xA9");  // A, é (C3 A9)
  CHECK(parse(R"("\u20AC")").as_string() == "\xE2\x82\xAC");     // € is E2 82 AC
  // U+1F600 = high D83D, low DE00 -> F0 9F 98 80
  CHECK(parse(R"("\uD83D\uDE00")").as_string() == "\xF0\x9F\x98\x80");
  CHECK(parse("\"caf\xC3\xA9\"").as_string() == "caf\xC3\xA9");  // raw UTF-8 passes through
}

TEST_CASE("json: the writer is compact and escapes what it must") {
  Value v = Value::object();
  v.set("name", "tab\there \"quoted\"");
  v.set("shape", Value::array({2, 3}));
  v.set("ok", true);
  v.set("none", nullptr);
  v.set("x", 0.5);
  v.set("ctrl", std::string("\x01", 1));
  CHECK(v.dump() == R"({"name":"tab\there \"quoted\"","shape":[2,3],"ok":true,"none":null,"x":0.5,)"
                    R"("ctrl":"\u0001"})");
  v.set("ok", false);  // set() replaces an existing key in place
  CHECK(v.as_object().size() == 6);
  CHECK(v.find("ok")->as_bool() == false);
}

TEST_CASE("json: dump then parse gives the same value") {
  const char* text =
      R"({"a":[1,-2,{"b":null}],"c":"\u00e9\n","d":1e+300,"e":-0.1,"f":9007199254740993})";
  const Value v = parse(text);
  CHECK(parse(v.dump()) == v);
  CHECK(parse(v.dump()).find("e")->as_number() == -0.1);  // doubles round-trip exactly
  CHECK(v.find("f")->as_integer() == 9007199254740993);   // 2^53 + 1 is not a double
}

TEST_CASE("json: a double with an integral value is written so it reads back as a number") {
  // Found by the fuzzer (tests/fuzz/corpus/fuzz_json/integral-double.json): 2.5e3 was
  // written "2500", which parses as the integer 2500, a different value.
  const Value v = parse("[2.5e3, -0.0, 1e21, 3, 0.5]");
  CHECK(v.dump() == "[2500.0,-0.0,1e+21,3,0.5]");
  CHECK(parse(v.dump()) == v);
  CHECK(parse(v.dump()).as_array()[0].type() == Value::Type::number);
  CHECK(parse(v.dump()).as_array()[3].type() == Value::Type::integer);
}

TEST_CASE("json: the writer refuses what it could not write faithfully") {
  CHECK_THROWS_WITH_AS(Value(std::nan("")).dump(), doctest::Contains("non-finite number"), Error);
  CHECK_THROWS_WITH_AS(Value("bad \xFF byte").dump(),
                       doctest::Contains("not valid UTF-8 (bad byte at offset 4)"), Error);
  CHECK_THROWS_WITH_AS(Value(std::uint64_t(1) << 63),
                       doctest::Contains("9223372036854775808 does not fit"), Error);
}

TEST_CASE("json: malformed input is refused with the byte offset") {
  const auto refuses = [](const std::string& text, const char* message) {
    INFO("input: " << text);
    CHECK_THROWS_WITH_AS(parse(text), doctest::Contains(message), Error);
  };
  refuses("", "at byte 0: unexpected end of input");
  refuses("   ", "at byte 3: unexpected end of input");
  refuses("{", "at byte 1: expected a string key");
  refuses(R"({"a" 1})", "at byte 5: expected ':' after an object key");
  refuses(R"({"a":1,})", "at byte 7: expected a string key");
  refuses(R"({"a":1 "b":2})", "at byte 7: expected '}' or ',' in an object");
  refuses("[1,]", "at byte 3: unexpected character ']'");
  refuses("[1 2]", "at byte 3: expected ']' or ','");
  refuses(R"({"a":1,"a":2})", "at byte 7: duplicate key \"a\"");
  refuses("{} x", "at byte 3: unexpected text after the JSON value");
  refuses("tru", "at byte 0: invalid literal");
  refuses("nul", "at byte 0: invalid literal");
  refuses("'a'", "unexpected character '''");
  refuses("NaN", "at byte 0: unexpected character 'N'");
}

TEST_CASE("json: malformed numbers are refused") {
  CHECK_THROWS_WITH_AS(parse("01"), doctest::Contains("at byte 0: leading zero"), Error);
  CHECK_THROWS_WITH_AS(parse("-"), doctest::Contains("at byte 1: expected a digit"), Error);
  CHECK_THROWS_WITH_AS(parse("1."), doctest::Contains("after the decimal point"), Error);
  CHECK_THROWS_WITH_AS(parse("1e"), doctest::Contains("in the exponent"), Error);
  CHECK_THROWS_WITH_AS(parse("+1"), doctest::Contains("unexpected character '+'"), Error);
  CHECK_THROWS_WITH_AS(parse("1e999"), doctest::Contains("at byte 0: number out of range"), Error);
}

TEST_CASE("json: malformed strings are refused") {
  CHECK_THROWS_WITH_AS(parse("\"abc"), doctest::Contains("at byte 4: unterminated string"), Error);
  CHECK_THROWS_WITH_AS(parse("\"a\nb\""), doctest::Contains("at byte 2: unescaped control"), Error);
  CHECK_THROWS_WITH_AS(parse(R"("\x")"), doctest::Contains("at byte 2: invalid escape '\\x'"),
                       Error);
  CHECK_THROWS_WITH_AS(parse(R"("\u12G4")"), doctest::Contains("four hex digits"), Error);
  CHECK_THROWS_WITH_AS(parse(R"("\uDE00")"), doctest::Contains("lone low surrogate"), Error);
  CHECK_THROWS_WITH_AS(parse(R"("\uD83D")"), doctest::Contains("not followed by a low one"), Error);
  CHECK_THROWS_WITH_AS(parse(R"("\uD83D\u0041")"), doctest::Contains("not followed by a low"),
                       Error);
  CHECK_THROWS_WITH_AS(parse("\"\xFF\""), doctest::Contains("at byte 1: invalid UTF-8"), Error);
  CHECK_THROWS_WITH_AS(parse("\"\xC0\xAF\""), doctest::Contains("invalid UTF-8"),
                       Error);  // overlong '/'
  CHECK_THROWS_WITH_AS(parse("\"\xED\xA0\x80\""), doctest::Contains("invalid UTF-8"),
                       Error);  // surrogate
  CHECK_THROWS_WITH_AS(parse("\"\xE2\x82\""), doctest::Contains("invalid UTF-8"),
                       Error);  // cut short
}

TEST_CASE("json: nesting deeper than the limit is refused, not recursed into") {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  CHECK(parse(ok).is_array());
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  CHECK_THROWS_WITH_AS(parse(deep), doctest::Contains("at byte 64: nesting deeper than 64"), Error);
  // A million brackets would overflow the stack of a parser without a limit.
  CHECK_THROWS_AS(parse(std::string(1000000, '[')), Error);
  crossgrad::json::ParseOptions shallow;
  shallow.max_depth = 2;
  CHECK_THROWS_WITH_AS(parse(R"({"a":{"b":[]}})", shallow), doctest::Contains("deeper than 2"),
                       Error);
}

TEST_CASE("json: typed access names both types on a mismatch") {
  const Value v = parse(R"({"a": "text"})");
  CHECK_THROWS_WITH_AS(v.find("a")->as_array(), doctest::Contains("expected an array, got string"),
                       Error);
  CHECK_THROWS_WITH_AS(v.as_string(), doctest::Contains("expected a string, got object"), Error);
  CHECK_THROWS_WITH_AS(Value(1).find("a"), doctest::Contains("expected an object, got integer"),
                       Error);
}

TEST_CASE("json: is_valid_utf8 reports the first bad byte") {
  std::size_t bad = 0;
  CHECK(crossgrad::json::is_valid_utf8("plain \xE2\x82\xAC ok"));
  CHECK_FALSE(crossgrad::json::is_valid_utf8("ab\xF5\x80\x80\x80", &bad));  // beyond U+10FFFF
  CHECK(bad == 2);
  CHECK_FALSE(crossgrad::json::is_valid_utf8("\xF4\x90\x80\x80", &bad));  // U+110000
  CHECK(bad == 0);
}
