// testing.h — what every suite includes: doctest, crossgrad, and the small helpers more than
// one suite needs (a suite says `using namespace testing;`, or names the ones it uses when it
// has a helper of its own by the same name). Gradient checks are meaningful in float64 only,
// so GRADCHECK_CASE runs them in the float64 build and marks them skipped in the float32 one.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/thread_pool.h"
#include "autograd/token_matrix.h"
#include "data/vocab.h"  // PAD, BOS, EOS

namespace crossgrad::nn {
struct TransformerConfig;  // nn/transformer.h, included by the suites that use tiny_config
}

#define GRADCHECK_CASE(name) TEST_CASE(name * doctest::skip(!crossgrad::kDoublePrecision))

namespace testing {

using crossgrad::real;
using crossgrad::Tensor;
namespace fs = std::filesystem;

// --- Tensors and gradient checks ---

// The tensors a gradient check varies.
using Inputs = std::vector<Tensor>;

// Asserts that gradcheck passes, printing its report when it does not.
inline void check_gradients(const crossgrad::GradcheckFunction& fn, const Inputs& inputs,
                            const crossgrad::GradcheckOptions& options = {}) {
  const crossgrad::GradcheckResult result = crossgrad::gradcheck(fn, inputs, options);
  CHECK_MESSAGE(result.ok, result.report);
  CHECK(result.entries_compared > 0);
}

// check_gradients, and logs the largest relative error under `what` (quoted in reports).
inline void check_gradients_logged(const std::string& what, const crossgrad::GradcheckFunction& fn,
                                   const Inputs& inputs) {
  const crossgrad::GradcheckResult result = crossgrad::gradcheck(fn, inputs);
  CHECK_MESSAGE(result.ok, result.report);
  CHECK(result.entries_compared > 0);
  MESSAGE("gradcheck " << what << ": max relative error " << result.max_rel_error << " over "
                       << result.entries_compared << " entries");
}

// A leaf of the given shape with distinct, seeded values in about [-2, 2].
inline Tensor random_input(const crossgrad::Shape& shape, std::uint64_t seed = 1) {
  crossgrad::Generator gen(seed);
  return Tensor::uniform(shape, -2, 2, gen, /*requires_grad=*/true);
}

// Overwrites t's values (a parameter, in place) with seeded U(-bound, bound) ones, so a check
// does not run at a special point (zero biases, LayerNorm's ones).
inline void randomize(Tensor t, std::uint64_t seed, real bound) {
  crossgrad::Generator gen(seed);
  real* values = t.mutable_data();
  for (std::size_t i = 0; i < t.numel(); ++i) values[i] = gen.uniform(-bound, bound);
}

// Asserts t's values equal `expected` within a float32-friendly tolerance.
inline void check_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-5) {
  REQUIRE(t.numel() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(double(t.data()[i]) == doctest::Approx(expected[i]).epsilon(tol));
  }
}

// Same shape and the same bits in every element (so -0 differs from 0, and NaN equals NaN).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         (a.numel() == 0 || std::memcmp(a.data(), b.data(), a.numel() * sizeof(real)) == 0);
}

// max |a - b| over the elements of two tensors of one shape.
inline double max_abs_difference(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double largest = 0;
  for (std::size_t i = 0; i < a.numel(); ++i)
    largest = std::max(largest, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return largest;
}

// Asserts that t's values look like draws from a distribution with the given mean and
// standard deviation: the sample mean within 4 standard errors (4σ/√n) and the sample standard
// deviation within 4 of its standard errors (about σ/√(2n)) of σ. Bounding the largest value
// alone would pass a constant fill; this fails one, and fails a bound off by a factor.
inline void check_spread(const Tensor& t, double mean, double stddev) {
  const double n = double(t.numel());
  REQUIRE(n > 1);
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < t.numel(); ++i) sum += double(t.data()[i]);
  const double sample_mean = sum / n;
  for (std::size_t i = 0; i < t.numel(); ++i)
    squares += (double(t.data()[i]) - sample_mean) * (double(t.data()[i]) - sample_mean);
  const double sample_stddev = std::sqrt(squares / n);
  INFO("n " << n << ": mean " << sample_mean << " (want " << mean << "), standard deviation "
            << sample_stddev << " (want " << stddev << ")");
  CHECK(std::abs(sample_mean - mean) <= 4 * stddev / std::sqrt(n));
  CHECK(std::abs(sample_stddev - stddev) <= 4 * stddev / std::sqrt(2 * n));
}

// Sets the thread count for one scope and restores the previous one when it ends.
struct ThreadCount {
  explicit ThreadCount(std::size_t n) : previous(crossgrad::num_threads()) {
    crossgrad::set_num_threads(n);
  }
  ~ThreadCount() { crossgrad::set_num_threads(previous); }
  std::size_t previous;
};

// --- Pictures ---

// Why `svg` is not a well-formed SVG document, or "" when it is: one <svg> root; every tag
// closed in order; attribute values quoted; '&' only in entities (&lt; &gt; &amp; &quot;
// &apos; &#...;); no stray '<' or '>' in text.
inline std::string svg_problem(const std::string& svg) {
  std::vector<std::string> open;
  std::size_t at = 0, roots = 0;
  while (at < svg.size()) {
    if (svg[at] == '&') {
      const std::size_t end = svg.find(';', at);
      const std::string entity = end == std::string::npos ? "" : svg.substr(at, end - at + 1);
      if (entity != "&lt;" && entity != "&gt;" && entity != "&amp;" && entity != "&quot;" &&
          entity != "&apos;" && entity.rfind("&#", 0) != 0)
        return "a bare '&' at " + std::to_string(at);
      at = end + 1;
      continue;
    }
    if (svg[at] == '>') return "a stray '>' at " + std::to_string(at);
    if (svg[at] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(svg[at])))
        return "text outside the root element at " + std::to_string(at);
      ++at;
      continue;
    }
    // A tag: scan to its '>' outside quoted attribute values.
    std::size_t end = at + 1;
    char quote = 0;
    for (; end < svg.size() && (quote || svg[end] != '>'); ++end) {
      if (quote && svg[end] == quote) quote = 0;
      else if (!quote && (svg[end] == '"' || svg[end] == '\'')) quote = svg[end];
      else if (!quote && svg[end] == '<') return "'<' inside a tag at " + std::to_string(end);
      else if (!quote && svg[end] == '=' && end + 1 < svg.size() && svg[end + 1] != '"' &&
               svg[end + 1] != '\'')
        return "an unquoted attribute value at " + std::to_string(end);
    }
    if (end >= svg.size()) return "an unterminated tag at " + std::to_string(at);
    const std::string tag = svg.substr(at + 1, end - at - 1);
    at = end + 1;
    if (tag.empty()) return "an empty tag";
    if (tag[0] == '?' || tag[0] == '!') continue;
    const bool closing = tag[0] == '/', self_closing = tag.back() == '/';
    const std::string name = tag.substr(closing, tag.find_first_of(" \n/", 1) - closing);
    if (closing) {
      if (open.empty() || open.back() != name) return "an unexpected </" + name + ">";
      open.pop_back();
    } else {
      if (open.empty() && ++roots > 1) return "a second root element <" + name + ">";
      if (open.empty() && name != "svg") return "the root element is <" + name + ">, not <svg>";
      if (!self_closing) open.push_back(name);
    }
  }
  if (!open.empty()) return "an unclosed <" + open.back() + ">";
  return roots == 1 ? "" : "no <svg> element";
}

// How many times `needle` occurs in `text`.
inline std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// --- Models ---

// A (rows, cols) matrix of token ids, given row by row.
inline crossgrad::TokenMatrix tokens(std::size_t rows, std::size_t cols,
                                     std::vector<std::int64_t> ids) {
  crossgrad::TokenMatrix m(rows, cols);
  m.ids = std::move(ids);
  return m;
}

// The tiny transformer the model suites start from: d_model as given, 2 heads,
// d_ff = 2·d_model, one encoder and one decoder layer; a suite sets what its test is about.
// (A template only so that this header, which every suite includes, needs no nn/ header.)
template <typename Config = crossgrad::nn::TransformerConfig>
Config tiny_config(std::size_t d_model) {
  Config config;
  config.d_model = d_model;
  config.num_heads = 2;
  config.d_ff = 2 * d_model;
  config.num_encoder_layers = 1;
  config.num_decoder_layers = 1;
  return config;
}

// --- Files and programs ---

// A file's whole contents, byte for byte ("" if it cannot be read).
inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Writes text byte for byte to path, replacing what was there.
inline void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The lines of a text, without their '\n'.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every file and folder below dir, as paths relative to it ("runs", "runs/a.csv"), sorted.
inline std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    names.push_back(fs::relative(entry.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

// A fresh directory for one test under the system's temporary directory, removed with
// everything in it at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;  // one per test binary: inline functions share their statics
    path = fs::temp_directory_path() /
           ("crossgrad_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;  // a destructor must not throw
    fs::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
  // Writes text to the file `name` and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    write_file(path / name, text);
    return file(name);
  }
  std::vector<std::string> listing() const { return testing::listing(path); }
};

// text in single quotes, for a shell command line (no quote inside: test paths have none).
inline std::string quote(const std::string& text) { return "'" + text + "'"; }

// What a program run did: exit status (-1 if it did not exit), stdout and stderr.
struct Run {
  int status = -1;
  std::string out, err;
};

// Runs `program args` (args already quoted where needed) with `input` on stdin; its stdin,
// stdout and stderr are files in the folder `io`, kept apart from what the program writes.
inline Run run_program(const std::string& program, const std::string& args, const fs::path& io,
                       const std::string& input = "") {
  const std::string missing = program + " is missing: run `make " + program + "`";
  REQUIRE_MESSAGE(fs::exists(program), missing);
  write_file(io / "stdin", input);
  const std::string command = program + " " + args + " < " + quote((io / "stdin").string()) +
                              " > " + quote((io / "stdout").string()) + " 2> " +
                              quote((io / "stderr").string());
  const int raw = std::system(command.c_str());
  Run result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = read_file(io / "stdout");
  result.err = read_file(io / "stderr");
  return result;
}

}  // namespace testing
