// compare_output.h — does a program still print what a page shows? Text must match exactly
// (trailing spaces aside); numbers may differ in their last digits, so a different CPU's
// rounding does not fail the docs: two numbers agree when both are integers and equal, or
// when they differ by at most a relative 1e-3 or one unit of the last digit printed.
// A line "..." in the expected text stands for any number of lines (an excerpt).
// A line that ends with "(measured)" on both sides holds a wall-clock time or a ratio of
// times, which changes from run to run: its words must match, its numbers need only be
// numbers, and runs of spaces count as one (a wider number shifts the columns).
// Used by tests/check_doc_examples.sh (through compare_output.cpp) and tested in
// tests/test_compare_output.cpp.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace doc_check {

// A piece of a line: a number, or the text between numbers.
struct Token {
  bool is_number = false;
  std::string text;
  double value = 0;
  double unit = 1;          // one unit of the last digit printed: 0.0001 for "1.2345"
  bool is_integer = false;  // no point and no exponent
};

// Splits a line into numbers and text. A number starts where the previous character is not
// part of a word ("x1" and "v1.2" are text), with an optional sign, digits, an optional
// fraction and an optional exponent.
inline std::vector<Token> tokenize(const std::string& line) {
  std::vector<Token> tokens;
  std::string text;
  std::size_t i = 0;
  const auto digit = [&](std::size_t k) {
    return k < line.size() && std::isdigit(static_cast<unsigned char>(line[k]));
  };
  while (i < line.size()) {
    const char before = i > 0 ? line[i - 1] : ' ';
    // After a letter, digit, '_' or '.' a digit is part of a word ("x1", "v1.2"); after '#'
    // it starts a colour ("#5e789f" is not the number 5e789).
    const bool word = std::isalnum(static_cast<unsigned char>(before)) || before == '_' ||
                      before == '.' || before == '#';
    std::size_t k = i;
    if (!word && (line[k] == '-' || line[k] == '+') && (digit(k + 1) || (line[k + 1] == '.' && digit(k + 2))))
      ++k;
    if (word || !(digit(k) || (line[k] == '.' && digit(k + 1)))) {
      text += line[i++];
      continue;
    }
    std::size_t end = k, decimals = 0;
    bool integer = true;
    while (digit(end)) ++end;
    if (end < line.size() && line[end] == '.' && digit(end + 1)) {
      integer = false;
      ++end;
      while (digit(end)) ++end, ++decimals;
    }
    int exponent = 0;
    if (end < line.size() && (line[end] == 'e' || line[end] == 'E')) {
      std::size_t e = end + 1;
      if (e < line.size() && (line[e] == '-' || line[e] == '+')) ++e;
      if (digit(e)) {
        integer = false;
        exponent = std::atoi(line.c_str() + end + 1);
        end = e;
        while (digit(end)) ++end;
      }
    }
    if (!text.empty()) tokens.push_back({false, text}), text.clear();
    Token number{true, line.substr(i, end - i)};
    number.value = std::strtod(number.text.c_str(), nullptr);
    number.unit = std::pow(10.0, double(exponent) - double(decimals));
    number.is_integer = integer;
    tokens.push_back(number);
    i = end;
  }
  if (!text.empty()) tokens.push_back({false, text});
  return tokens;
}

inline bool numbers_agree(const Token& a, const Token& b) {
  if (a.is_integer && b.is_integer) return a.text == b.text || a.value == b.value;
  // Out of range ("1e999"): only the same text agrees.
  if (!std::isfinite(a.value) || !std::isfinite(b.value)) return a.text == b.text;
  const double difference = std::abs(a.value - b.value);
  const double unit = std::max(a.unit, b.unit);
  return difference <= unit * (1 + 1e-9) ||
         difference <= 1e-3 * std::max(std::abs(a.value), std::abs(b.value));
}

inline std::string trim_right(std::string line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
    line.pop_back();
  return line;
}

// For a long line, where the two first disagree: "near character N: 'a' where the program
// has 'b'" (numbers or text, as tokenize splits them).
inline std::string first_difference(const std::string& expected, const std::string& actual) {
  const std::vector<Token> a = tokenize(trim_right(expected)), b = tokenize(trim_right(actual));
  std::size_t at = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const bool same = a[i].is_number == b[i].is_number &&
                      (a[i].is_number ? numbers_agree(a[i], b[i]) : a[i].text == b[i].text);
    if (!same)
      return "near character " + std::to_string(at) + ": '" + a[i].text +
             "' where the program has '" + b[i].text + "'";
    at += a[i].text.size();
  }
  return "one of the two lines stops at character " + std::to_string(at);
}

inline bool is_measured(const std::string& line) {
  const std::string marker = "(measured)", trimmed = trim_right(line);
  return trimmed.size() >= marker.size() &&
         trimmed.compare(trimmed.size() - marker.size(), marker.size(), marker) == 0;
}

// Text with every run of spaces made one space, for the columns of a measured line.
inline std::string squeeze_spaces(const std::string& text) {
  std::string out;
  for (const char c : text)
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  return out;
}

inline bool lines_agree(const std::string& expected, const std::string& actual) {
  const std::vector<Token> a = tokenize(trim_right(expected)), b = tokenize(trim_right(actual));
  if (a.size() != b.size()) return false;
  const bool measured = is_measured(expected) && is_measured(actual);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].is_number != b[i].is_number) return false;
    if (measured && a[i].is_number) continue;
    if (measured ? squeeze_spaces(a[i].text) != squeeze_spaces(b[i].text)
                 : a[i].is_number ? !numbers_agree(a[i], b[i]) : a[i].text != b[i].text)
      return false;
  }
  return true;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  for (const char c : text) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) lines.push_back(line);
  while (!lines.empty() && trim_right(lines.back()).empty()) lines.pop_back();
  return lines;
}

struct Verdict {
  bool same = true;
  std::string explanation;  // when not the same: the first line that does not match
};

// The first line that differs, walking both in step (a "..." stops the walk).
inline Verdict explain(const std::vector<std::string>& expected,
                       const std::vector<std::string>& actual) {
  std::size_t i = 0, j = 0;
  while (i < expected.size() && j < actual.size()) {
    if (trim_right(expected[i]) == "...") break;
    if (!lines_agree(expected[i], actual[j])) break;
    ++i, ++j;
  }
  Verdict verdict{false, ""};
  if (i < expected.size() && trim_right(expected[i]) == "...")
    verdict.explanation = "the lines after the \"...\" at line " + std::to_string(i + 1) +
                          " of the page are not in the program's output";
  else if (i < expected.size() && j < actual.size() && expected[i].size() + actual[j].size() > 400)
    verdict.explanation = "line " + std::to_string(i + 1) + " differs " +
                          first_difference(expected[i], actual[j]);
  else if (i < expected.size() && j < actual.size())
    verdict.explanation = "line " + std::to_string(i + 1) + " differs:\n  page:    " + expected[i] +
                          "\n  program: " + actual[j];
  else if (i < expected.size())
    verdict.explanation = "the program stopped before line " + std::to_string(i + 1) +
                          " of the page: " + expected[i];
  else
    verdict.explanation = "the program printed more than the page shows, from: " + actual[j];
  return verdict;
}

inline Verdict compare_output(const std::string& expected_text, const std::string& actual_text) {
  const std::vector<std::string> expected = split_lines(expected_text);
  const std::vector<std::string> actual = split_lines(actual_text);
  const bool excerpt = std::any_of(expected.begin(), expected.end(),
                                   [](const std::string& line) { return trim_right(line) == "..."; });
  bool same = !excerpt && expected.size() == actual.size();
  for (std::size_t i = 0; same && i < expected.size(); ++i) same = lines_agree(expected[i], actual[i]);
  if (same) return {};
  if (!excerpt) return explain(expected, actual);
  // matches[i][j]: expected lines from i on match actual lines from j on.
  std::vector<std::vector<char>> matches(expected.size() + 1, std::vector<char>(actual.size() + 1, 0));
  matches[expected.size()][actual.size()] = 1;
  for (std::size_t i = expected.size(); i-- > 0;)
    for (std::size_t j = actual.size() + 1; j-- > 0;) {
      if (trim_right(expected[i]) == "...")
        matches[i][j] = matches[i + 1][j] || (j < actual.size() && matches[i][j + 1]);
      else
        matches[i][j] = j < actual.size() && matches[i + 1][j + 1] && lines_agree(expected[i], actual[j]);
    }
  if (matches[0][0]) return {};
  return explain(expected, actual);
}

}  // namespace doc_check
