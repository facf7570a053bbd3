// Tests for examples/common/pictures.cpp: the --pictures flag of the numbered programs
// writes a picture only when it was given, into the folder it names.
#include "examples/common/pictures.h"
#include "testing.h"

using namespace testing;

TEST_CASE("Pictures: save writes DIR/name with --pictures DIR, and nothing without it") {
  TempDir dir;
  const std::string folder = dir.file("pictures");
  const char* with[] = {"build/01_chain_rule", "--pictures", folder.c_str()};
  const crossgrad::cli::Pictures wanted(3, with, "a test");
  CHECK(wanted.wanted());
  wanted.save("a.svg", "<svg/>\n");
  CHECK(read_file(fs::path(folder) / "a.svg") == "<svg/>\n");

  const char* without[] = {"build/01_chain_rule"};
  const crossgrad::cli::Pictures unwanted(1, without, "a test");
  CHECK_FALSE(unwanted.wanted());
  unwanted.save("b.svg", "<svg/>\n");
  CHECK_FALSE(fs::exists(fs::path(folder) / "b.svg"));
}
