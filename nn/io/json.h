// json.h — a minimal JSON value, a parser that trusts nothing, and a compact writer.
// Enough for safetensors headers and their string metadata: null, true/false, integers
// (int64), other numbers (double), strings (UTF-8, with every escape incl. \uXXXX
// surrogate pairs), arrays and objects that keep their keys in file order.
// The parser refuses duplicate keys, invalid UTF-8, nesting deeper than a limit and
// trailing bytes; every error names the byte offset. Read next: nn/io/json.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace crossgrad::json {

class Value {
 public:
  enum class Type { null, boolean, integer, number, string, array, object };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;  // keys in insertion order

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::boolean), bool_(b) {}
  Value(double x) : type_(Type::number), number_(x) {}
  Value(std::string s) : type_(Type::string), string_(std::move(s)) {}
  Value(const char* s) : Value(std::string(s)) {}
  // Any integer type (but bool); values beyond int64 are an error, not a silent wrap.
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Value(I i) : type_(Type::integer), integer_(checked_int64(i)) {}
  static Value array(Array items = {});
  static Value object(Object members = {});

  Type type() const { return type_; }
  const char* type_name() const;  // "null", "boolean", "integer", ... for error messages
  bool is_null() const { return type_ == Type::null; }
  bool is_integer() const { return type_ == Type::integer; }
  bool is_string() const { return type_ == Type::string; }
  bool is_array() const { return type_ == Type::array; }
  bool is_object() const { return type_ == Type::object; }

  // Typed access; each throws crossgrad::Error naming both types on a mismatch.
  bool as_bool() const;
  std::int64_t as_integer() const;
  double as_number() const;  // an integer or a number
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // Objects: the member named key, or nullptr; set() replaces an existing key or appends.
  const Value* find(std::string_view key) const;
  Value& set(std::string key, Value value);
  // Arrays: appends.
  Value& push_back(Value value);

  // Compact JSON text (no spaces), like serde_json::to_string. Throws on a non-finite
  // number or a string that is not valid UTF-8, so we never write what others can't read.
  std::string dump() const;

  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  template <class I>
  static std::int64_t checked_int64(I i) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t))
      if (i > static_cast<std::uint64_t>(INT64_MAX)) integer_overflow(std::to_string(i));
    return static_cast<std::int64_t>(i);
  }
  [[noreturn]] static void integer_overflow(const std::string& digits);
  void dump_to(std::string& out) const;

  Type type_ = Type::null;
  bool bool_ = false;
  std::int64_t integer_ = 0;
  double number_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

struct ParseOptions {
  std::size_t max_depth = 64;  // nested arrays/objects; deeper input is refused, not recursed
};

// Parses exactly one JSON value surrounded by optional whitespace. Throws crossgrad::Error
// "json: at byte 17: expected ':' after an object key". Integers that fit int64 become
// integers; larger ones and any number with a fraction or exponent become doubles.
Value parse(std::string_view text, const ParseOptions& options = {});

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points
// beyond U+10FFFF); on failure *bad_offset is the first bad byte.
bool is_valid_utf8(std::string_view text, std::size_t* bad_offset = nullptr);

}  // namespace crossgrad::json
