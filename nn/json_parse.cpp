// json_parse.cpp — a recursive-descent parser with a depth limit, and UTF-8 validation (also
// what the writer in json.cpp checks strings with). The grammar of RFC 8259 is checked
// strictly (no comments, no trailing commas, no leading zeros, no NaN) because the input is
// a file header that may be hostile. Read next: nn/safetensors_read.cpp (the caller).
#include "nn/json.h"

#include <charconv>
#include <unordered_set>

#include "autograd/shape.h"

namespace crossgrad::json {

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
