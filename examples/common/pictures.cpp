// pictures.cpp — the --pictures flag (see pictures.h).
#include "examples/common/pictures.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "examples/common/flags.h"
#include "nn/io/atomic_file.h"

namespace crossgrad::cli {

Pictures::Pictures(int argc, const char* const* argv, const std::string& description) {
  const std::string program = argc > 0 ? argv[0] : "program";
  Flags flags(program, program + " [--pictures DIR]", description);
  flags.add("--pictures", directory_,
            "also write this program's pictures (SVG) into DIR; `make pictures` uses "
            "docs/pictures",
            "DIR");
  try {
    if (!flags.parse(argc, argv).empty()) throw FlagError("this program takes no arguments");
  } catch (const FlagError& error) {
    std::cerr << program << ": " << error.what() << "\n" << flags.help();
    std::exit(kUsageError);
  }
  if (flags.help_requested()) {
    std::cout << flags.help();
    std::exit(0);
  }
}

void Pictures::save(const std::string& name, const std::string& svg) const {
  if (!wanted()) return;
  std::filesystem::create_directories(directory_);
  nn::write_file_atomically((std::filesystem::path(directory_) / name).string(), svg);
}

}  // namespace crossgrad::cli
