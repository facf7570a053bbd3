// json.cpp — the JSON value (typed access, objects in key order), UTF-8 validation, the
// compact writer and a recursive-descent parser with a depth limit. The grammar of RFC 8259
// is checked strictly (no comments, no trailing commas, no leading zeros, no NaN) because the
// input is a file header that may be hostile. Read next: nn/io/safetensors.h (its user).
#include "nn/io/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "autograd/shape.h"

namespace crossgrad::json {

// --- Value ---

Value Value::array(Array items) {
  Value v;
  v.type_ = Type::array;
  v.array_ = std::move(items);
  return v;
}

Value Value::object(Object members) {
  Value v;
  v.type_ = Type::object;
  v.object_ = std::move(members);
  return v;
}

void Value::integer_overflow(const std::string& digits) {
  fail("json: integer " + digits + " does not fit in a signed 64-bit integer");
}

const char* Value::type_name() const {
  static const char* const names[] = {"null",   "boolean", "integer", "number",
                                      "string", "array",   "object"};
  return names[static_cast<int>(type_)];
}

namespace {
[[noreturn]] void wrong_type(const Value& v, const char* wanted) {
  fail(std::string("json: expected ") + wanted + ", got " + v.type_name());
}
}  // namespace

bool Value::as_bool() const {
  if (type_ != Type::boolean) wrong_type(*this, "a boolean");
  return bool_;
}
std::int64_t Value::as_integer() const {
  if (type_ != Type::integer) wrong_type(*this, "an integer");
  return integer_;
}
double Value::as_number() const {
  if (type_ == Type::integer) return static_cast<double>(integer_);
  if (type_ != Type::number) wrong_type(*this, "a number");
  return number_;
}
const std::string& Value::as_string() const {
  if (type_ != Type::string) wrong_type(*this, "a string");
  return string_;
}
const Value::Array& Value::as_array() const {
  if (type_ != Type::array) wrong_type(*this, "an array");
  return array_;
}
const Value::Object& Value::as_object() const {
  if (type_ != Type::object) wrong_type(*this, "an object");
  return object_;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [name, value] : as_object())
    if (name == key) return &value;
  return nullptr;
}

Value& Value::set(std::string key, Value value) {
  as_object();  // throws unless this is an object
  for (auto& member : object_)
    if (member.first == key) return member.second = std::move(value);
  object_.emplace_back(std::move(key), std::move(value));
  return object_.back().second;
}

Value& Value::push_back(Value value) {
  as_array();
  array_.push_back(std::move(value));
  return array_.back();
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Value::Type::null: return true;
    case Value::Type::boolean: return a.bool_ == b.bool_;
    case Value::Type::integer: return a.integer_ == b.integer_;
    case Value::Type::number: return a.number_ == b.number_;
    case Value::Type::string: return a.string_ == b.string_;
    case Value::Type::array: return a.array_ == b.array_;
    case Value::Type::object: return a.object_ == b.object_;
  }
  return false;
}

// --- UTF-8 ---

// Length of the UTF-8 sequence starting at text[i], or 0 if it is malformed. The second
// byte's range excludes overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and
// code points above U+10FFFF (F4 90..BF).
static std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  if (lead < 0xC2 || lead > 0xF4) return 0;  // a continuation byte, or C0/C1/F5+: never valid
  const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  unsigned char low = 0x80, high = 0xBF;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

bool is_valid_utf8(std::string_view text, std::size_t* bad_offset) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += length;
  }
  return true;
}

static void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// --- Writer ---

static void dump_string(const std::string& s, std::string& out) {
  std::size_t bad = 0;
  if (!is_valid_utf8(s, &bad))
    fail("json: cannot write a string that is not valid UTF-8 (bad byte at offset " +
         std::to_string(bad) + ")");
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
          out += escape;
        } else {
          out += c;  // UTF-8 passes through unescaped, as serde_json writes it
        }
    }
  }
  out += '"';
}

void Value::dump_to(std::string& out) const {
  switch (type_) {
    case Type::null: out += "null"; break;
    case Type::boolean: out += bool_ ? "true" : "false"; break;
    case Type::integer: out += std::to_string(integer_); break;
    case Type::number: {
      if (!std::isfinite(number_)) fail("json: cannot write a non-finite number (NaN or inf)");
      char buffer[32];  // shortest text that reads back as the same double, locale-free
      const auto end = std::to_chars(buffer, buffer + sizeof buffer, number_).ptr;
      out.append(buffer, end);
      // 2500.0 is written "2500", which reads back as an integer: keep it a number, as
      // serde_json and Python do ("2500.0"). (Found by tests/fuzz/fuzz_json.cpp.)
      if (std::find_if(buffer, end, [](char c) { return c == '.' || c == 'e'; }) == end)
        out += ".0";
      break;
    }
    case Type::string: dump_string(string_, out); break;
    case Type::array:
      out += '[';
      for (std::size_t i = 0; i < array_.size(); ++i) {
        if (i) out += ',';
        array_[i].dump_to(out);
      }
      out += ']';
      break;
    case Type::object:
      out += '{';
      for (std::size_t i = 0; i < object_.size(); ++i) {
        if (i) out += ',';
        dump_string(object_[i].first, out);
        out += ':';
        object_[i].second.dump_to(out);
      }
      out += '}';
      break;
  }
}

std::string Value::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

// --- Parser ---

namespace {

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : text_(text), options_(options) {}

  Value parse_document() {
    skip_whitespace();
    Value value = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) error("unexpected text after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void error(const std::string& message) const {
    fail("json: at byte " + std::to_string(pos_) + ": " + message);
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_whitespace() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') ++pos_;
  }
  // peek() is '\0' at the end, so consume() never reads past it.
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const char* context) {
    if (!consume(c)) error(std::string("expected '") + c + "' " + context);
  }
  void expect_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) error("invalid literal");
    pos_ += word.size();
  }

  Value parse_value(std::size_t depth) {
    if (at_end()) error("unexpected end of input, expected a value");
    switch (peek()) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Value(parse_string());
      case 't': expect_word("true"); return Value(true);
      case 'f': expect_word("false"); return Value(false);
      case 'n': expect_word("null"); return Value();
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
        error(std::string("unexpected character '") + peek() + "', expected a value");
    }
  }

  void check_depth(std::size_t depth) const {
    if (depth > options_.max_depth)
      error("nesting deeper than " + std::to_string(options_.max_depth) + " levels");
  }

  Value parse_object(std::size_t depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Value object = Value::object();
    std::unordered_set<std::string> keys;  // a hash set, so a million keys stay linear
    skip_whitespace();
    if (consume('}')) return object;
    while (true) {
      skip_whitespace();
      if (peek() != '"') error("expected a string key");
      const std::size_t key_at = pos_;
      std::string key = parse_string();
      if (!keys.insert(key).second) {
        pos_ = key_at;
        error("duplicate key \"" + key + "\"");
      }
      skip_whitespace();
      expect(':', "after an object key");
      skip_whitespace();
      object.set(std::move(key), parse_value(depth));
      skip_whitespace();
      if (consume(',')) continue;
      expect('}', "or ',' in an object");
      return object;
    }
  }

  Value parse_array(std::size_t depth) {
    check_depth(depth);
    ++pos_;  // '['
    Value array = Value::array();
    skip_whitespace();
    if (consume(']')) return array;
    while (true) {
      skip_whitespace();
      array.push_back(parse_value(depth));
      skip_whitespace();
      if (consume(',')) continue;
      expect(']', "or ',' in an array");
      return array;
    }
  }

  // Four hex digits after "\u".
  std::uint32_t parse_hex4() {
    std::uint32_t code = 0;
    const char* first = text_.data() + pos_;
    if (text_.size() - pos_ < 4 || std::from_chars(first, first + 4, code, 16).ptr != first + 4)
      error("\\u must be followed by four hex digits");
    pos_ += 4;
    return code;
  }

  // \uXXXX, where a high surrogate must be followed by \u and a low surrogate.
  std::uint32_t parse_unicode_escape() {
    const std::uint32_t high = parse_hex4();
    if (high >= 0xDC00 && high <= 0xDFFF) error("lone low surrogate in a \\u escape");
    if (high < 0xD800 || high > 0xDBFF) return high;
    if (text_.substr(pos_, 2) != "\\u") error("high surrogate not followed by a low one");
    pos_ += 2;
    const std::uint32_t low = parse_hex4();
    if (low < 0xDC00 || low > 0xDFFF) error("high surrogate not followed by a low one");
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) error("unterminated string");
      const char c = text_[pos_];
      if (c == '"') return ++pos_, out;
      if (static_cast<unsigned char>(c) < 0x20) error("unescaped control character in a string");
      if (c != '\\') {
        const std::size_t length = utf8_sequence_length(text_, pos_);
        if (length == 0) error("invalid UTF-8 in a string");
        out.append(text_.substr(pos_, length));
        pos_ += length;
        continue;
      }
      ++pos_;
      const char escape = peek();
      if (at_end()) error("unterminated escape");
      ++pos_;
      switch (escape) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, parse_unicode_escape()); break;
        default: --pos_; error(std::string("invalid escape '\\") + escape + "'");
      }
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  Value parse_number() {
    const std::size_t start = pos_;
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (peek() >= '0' && peek() <= '9') ++pos_;
      return pos_ - from;
    };
    consume('-');
    const std::size_t int_start = pos_;
    if (digits() == 0) error("expected a digit");
    if (text_[int_start] == '0' && pos_ - int_start > 1) {
      pos_ = int_start;
      error("leading zero in a number");
    }
    bool is_integer = true;
    if (consume('.')) {
      is_integer = false;
      if (digits() == 0) error("expected a digit after the decimal point");
    }
    if (consume('e') || consume('E')) {
      is_integer = false;
      if (!consume('+')) consume('-');
      if (digits() == 0) error("expected a digit in the exponent");
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (is_integer) {
      std::int64_t integer = 0;
      const auto result = std::from_chars(first, last, integer);
      if (result.ec == std::errc() && result.ptr == last) return Value(integer);
    }
    double number = 0;  // from_chars is locale-free; out-of-range reports an error
    const auto result = std::from_chars(first, last, number);
    if (result.ec != std::errc() || result.ptr != last) {
      pos_ = start;
      error("number out of range");
    }
    return Value(number);
  }

  std::string_view text_;
  const ParseOptions& options_;
  std::size_t pos_ = 0;
};

}  // namespace

Value parse(std::string_view text, const ParseOptions& options) {
  return Parser(text, options).parse_document();
}

}  // namespace crossgrad::json
