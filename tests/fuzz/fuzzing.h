// fuzzing.h — what the libFuzzer targets in tests/fuzz/ share. Each target feeds arbitrary
// bytes to one parser of user files or text and checks what it promises: it either returns a
// value that passes the checks below (often: written back out, it reads back the same) or
// throws crossgrad::Error (or cli::FlagError). Anything else — a crash, another exception, a
// sanitizer report, a leak, a hang — is a finding, which libFuzzer saves as an input file.
// `make fuzz` builds and runs them (tests/fuzz/README.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace fuzzing {

// A property the parser promised does not hold: report it and abort, so libFuzzer keeps the
// input. (assert() would vanish under NDEBUG.)
inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

// The input cut at each '\0' into pieces (an input without one is one piece).
inline std::vector<std::string> split_at_nul(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> pieces(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0)
      pieces.emplace_back();
    else
      pieces.back() += static_cast<char>(data[i]);
  }
  return pieces;
}

}  // namespace fuzzing
