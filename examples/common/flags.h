// flags.h — command-line flags for the example programs: each flag is declared once with its
// variable, its help text and its range, so parsing, checking and --help never disagree.
// Accepted forms: `--name value`, `--name=value`, and `--name` alone for a switch.
// A mistake is a FlagError with one line naming the flag ("--steps: 'ten' is not an
// integer"); programs print it and exit with status 2 (kUsageError).
// Read next: examples/train.cpp (the flags in use).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace crossgrad::cli {

inline constexpr int kUsageError = 2;  // exit status for bad flags and bad input, like getopt tools

class FlagError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Flags {
 public:
  // `usage` is the first line of --help, e.g. "build/train [flags]".
  Flags(std::string program, std::string usage, std::string description = "");

  // Each flag writes into `target` when given; the value it holds at declaration is the
  // default --help shows. Numbers must lie in [min, max].
  void add(const std::string& name, std::string& target, const std::string& help,
           const std::string& value_name = "TEXT");
  void add(const std::string& name, std::int64_t& target, const std::string& help, std::int64_t min,
           std::int64_t max = std::numeric_limits<std::int64_t>::max());
  void add(const std::string& name, std::size_t& target, const std::string& help,
           std::size_t min = 0, std::size_t max = std::numeric_limits<std::size_t>::max());
  void add(const std::string& name, double& target, const std::string& help, double min,
           double max);
  void add_switch(const std::string& name, bool& target, const std::string& help);
  // A heading in --help before the flags declared after it.
  void section(const std::string& title);

  // Parses argv[1..]; --help anywhere sets help_requested() and stops. Positional arguments
  // are returned in order (a program that takes none should refuse them).
  std::vector<std::string> parse(int argc, const char* const* argv);
  bool help_requested() const { return help_requested_; }
  bool given(const std::string& name) const;  // set on this command line
  std::string help() const;                   // usage, description and every flag

 private:
  struct Flag {
    std::string name, help, value_name, default_text;
    bool is_switch = false;
    std::function<void(const std::string&)> set;  // parses and range-checks, or throws
    bool given = false;
  };
  Flag& declare(const std::string& name, const std::string& help, std::string value_name,
                std::string default_text);
  Flag* find(const std::string& name);
  [[noreturn]] void unknown(const std::string& name) const;

  std::string program_, usage_, description_;
  std::vector<Flag> flags_;
  std::vector<std::pair<std::size_t, std::string>> sections_;  // (index of first flag, title)
  bool help_requested_ = false;
};

// Strict number parsing shared with programs that read numbers elsewhere: the whole text
// must be the number ("12abc", "", " 3" and out-of-range values are FlagErrors naming `what`).
std::int64_t parse_integer(const std::string& text, const std::string& what);
std::uint64_t parse_unsigned(const std::string& text, const std::string& what);
double parse_real(const std::string& text, const std::string& what);  // finite only

}  // namespace crossgrad::cli
