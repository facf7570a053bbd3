// flags.cpp — declaring, parsing and documenting flags (see flags.h).
#include "examples/common/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <utility>

namespace crossgrad::cli {

namespace {

std::string shortest(double x) {  // 0.003, not 0.0030000000000000001
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, x).ptr);
}

template <class T>
T parse_whole(const std::string& text, const std::string& what, const char* kind) {
  T value{};
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  if (result.ec == std::errc::result_out_of_range)
    throw FlagError(what + ": '" + text + "' is out of range");
  if (text.empty() || result.ec != std::errc() || result.ptr != end)
    throw FlagError(what + ": '" + text + "' is not " + kind);
  return value;
}

// Edit distance, for "did you mean" on a misspelt flag.
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = diagonal + (a[i - 1] != b[j - 1]);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
    }
  }
  return row[b.size()];
}

constexpr std::size_t kHelpColumn = 26, kHelpWidth = 100;  // where help text starts and ends

// Breaks text at spaces into lines of at most `first` characters, then kHelpWidth - indent,
// continuation lines indented to the help column.
std::string wrap(const std::string& text, std::size_t indent, std::size_t first) {
  std::string out, line;
  std::size_t width = first;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
      width = kHelpWidth - indent;
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

template <class T>
void check_range(const std::string& flag, T value, T min, T max, const std::string& text) {
  if (value >= min && value <= max) return;
  if (max == std::numeric_limits<T>::max())
    throw FlagError(flag + " must be at least " + std::to_string(min) + ", got " + text);
  throw FlagError(flag + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                  ", got " + text);
}

}  // namespace

std::int64_t parse_integer(const std::string& text, const std::string& what) {
  return parse_whole<std::int64_t>(text, what, "an integer");
}

std::uint64_t parse_unsigned(const std::string& text, const std::string& what) {
  if (!text.empty() && text[0] == '-') throw FlagError(what + ": '" + text + "' is negative");
  return parse_whole<std::uint64_t>(text, what, "a non-negative integer");
}

double parse_real(const std::string& text, const std::string& what) {
  const double value = parse_whole<double>(text, what, "a number");
  if (!std::isfinite(value)) throw FlagError(what + ": '" + text + "' is not a finite number");
  return value;
}

Flags::Flags(std::string program, std::string usage, std::string description)
    : program_(std::move(program)),
      usage_(std::move(usage)),
      description_(std::move(description)) {}

Flags::Flag& Flags::declare(const std::string& name, const std::string& help,
                            std::string value_name, std::string default_text) {
  if (name.size() < 3 || name.compare(0, 2, "--") != 0 || find(name))
    throw std::logic_error("Flags: bad or duplicate flag name '" + name + "'");
  Flag flag;
  flag.name = name;
  flag.help = help;
  flag.value_name = std::move(value_name);
  flag.default_text = std::move(default_text);
  flags_.push_back(std::move(flag));
  return flags_.back();
}

void Flags::add(const std::string& name, std::string& target, const std::string& help,
                const std::string& value_name) {
  declare(name, help, value_name, target.empty() ? "" : target).set =
      [&target](const std::string& text) { target = text; };
}

void Flags::add(const std::string& name, std::int64_t& target, const std::string& help,
                std::int64_t min, std::int64_t max) {
  declare(name, help, "N", std::to_string(target)).set = [&target, name, min,
                                                          max](const std::string& text) {
    const std::int64_t value = parse_integer(text, name);
    check_range(name, value, min, max, text);
    target = value;
  };
}

void Flags::add(const std::string& name, std::size_t& target, const std::string& help,
                std::size_t min, std::size_t max) {
  declare(name, help, "N", std::to_string(target)).set = [&target, name, min,
                                                          max](const std::string& text) {
    const std::uint64_t value = parse_unsigned(text, name);
    check_range<std::uint64_t>(name, value, min, max, text);
    target = std::size_t(value);
  };
}

void Flags::add(const std::string& name, double& target, const std::string& help, double min,
                double max) {
  declare(name, help, "X", shortest(target)).set = [&target, name, min,
                                                    max](const std::string& text) {
    const double value = parse_real(text, name);
    if (!(value >= min && value <= max))
      throw FlagError(name + " must be between " + shortest(min) + " and " + shortest(max) +
                      ", got " + text);
    target = value;
  };
}

void Flags::add_switch(const std::string& name, bool& target, const std::string& help) {
  Flag& flag = declare(name, help, "", "");
  flag.is_switch = true;
  flag.set = [&target](const std::string&) { target = true; };
}

void Flags::section(const std::string& title) { sections_.emplace_back(flags_.size(), title); }

Flags::Flag* Flags::find(const std::string& name) {
  for (Flag& flag : flags_)
    if (flag.name == name) return &flag;
  return nullptr;
}

bool Flags::given(const std::string& name) const {
  for (const Flag& flag : flags_)
    if (flag.name == name) return flag.given;
  throw std::logic_error("Flags::given: no flag '" + name + "'");
}

void Flags::unknown(const std::string& name) const {
  const Flag* nearest = nullptr;
  std::size_t best = 3;  // suggest only close misspellings
  for (const Flag& flag : flags_)
    if (const std::size_t d = distance(name, flag.name); d < best) best = d, nearest = &flag;
  throw FlagError("unknown flag '" + name + "'" +
                  (nearest ? " (did you mean " + nearest->name + "?)" : " (see --help)"));
}

std::vector<std::string> Flags::parse(int argc, const char* const* argv) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return positional;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    Flag* flag = find(name);
    if (!flag) unknown(name);
    if (flag->given) throw FlagError(name + " is given twice");
    flag->given = true;
    if (flag->is_switch) {
      if (equals != std::string::npos) throw FlagError(name + " takes no value");
      flag->set("");
    } else if (equals != std::string::npos) {
      flag->set(arg.substr(equals + 1));
    } else {
      // "--steps --lr 1" forgot the value: a flag is never a value ("-1" is).
      if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0)
        throw FlagError(name + " needs a value (" + flag->value_name + ")");
      flag->set(argv[++i]);
    }
  }
  return positional;
}

std::string Flags::help() const {
  std::string out = "usage: " + usage_ + "\n";
  if (!description_.empty()) out += "\n" + description_ + "\n";
  std::size_t next_section = 0;
  for (std::size_t i = 0; i < flags_.size(); ++i) {
    while (next_section < sections_.size() && sections_[next_section].first == i)
      out += "\n" + sections_[next_section++].second + ":\n";
    const Flag& flag = flags_[i];
    std::string left = "  " + flag.name + (flag.is_switch ? "" : " " + flag.value_name);
    left.resize(std::max<std::size_t>(left.size() + 2, kHelpColumn), ' ');
    std::string text = flag.help;
    if (!flag.default_text.empty()) text += " (default: " + flag.default_text + ")";
    out += left + wrap(text, kHelpColumn, kHelpWidth - left.size()) + "\n";
  }
  out += "\n  --help                  this text\n";
  return out;
}

}  // namespace crossgrad::cli
