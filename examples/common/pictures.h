// pictures.h — the --pictures DIR flag of the numbered teaching programs. `make pictures`
// runs every numbered program that includes this header with --pictures docs/pictures, and
// each writes its SVG files there; without the flag a program writes nothing, so what it
// prints is all it does. Pictures come from seeded runs, so the same program makes the
// same SVG. Read next: examples/common/plot.h (what the pictures are made of).
#pragma once

#include <string>

namespace crossgrad::cli {

class Pictures {
 public:
  // Parses the program's arguments: --pictures DIR, or nothing. Anything else (or --help)
  // prints the usage and exits, with status 2 for a mistake.
  Pictures(int argc, const char* const* argv, const std::string& description);

  bool wanted() const { return !directory_.empty(); }
  // Writes `svg` to DIR/name (atomically) when pictures are wanted; does nothing otherwise.
  void save(const std::string& name, const std::string& svg) const;

 private:
  std::string directory_;
};

}  // namespace crossgrad::cli
