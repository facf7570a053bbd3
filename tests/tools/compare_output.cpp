// compare_output.cpp — `compare_output EXPECTED ACTUAL`: exit 0 when the two files agree as
// compare_output.h defines it, else 1 with the first difference explained.
#include "tests/tools/compare_output.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace {
std::string read(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "compare_output: cannot read '" << path << "'\n";
    std::exit(2);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: compare_output EXPECTED ACTUAL\n";
    return 2;
  }
  const doc_check::Verdict verdict = doc_check::compare_output(read(argv[1]), read(argv[2]));
  if (!verdict.same) std::cout << verdict.explanation << "\n";
  return verdict.same ? 0 : 1;
}
