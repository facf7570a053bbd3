// json.cpp — the JSON value (typed access, objects in key order) and the compact writer.
// The parser and the UTF-8 rules it shares with the writer's check live in json_parse.cpp.
// Read next: nn/json_parse.cpp.
#include "nn/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

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

}  // namespace crossgrad::json
