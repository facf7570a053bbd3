// fuzz_steering.cpp — build/predict's steering flags (examples/common/steering.h) on arbitrary
// text: a --force-attention map file, a --weight-source list and a --block-source list, one
// at each NUL byte. What they accept must edit a block of attention weights into rows that
// are finite, non-negative, 0 at padding and at blocked positions, and sum to 1.
#include <cmath>

#include "examples/common/flags.h"
#include "examples/common/steering.h"
#include "fuzzing.h"

using namespace crossgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string> pieces = fuzzing::split_at_nul(data, size);
  steer::Steering steering;
  try {
    steering.map = steer::parse_map(pieces[0], "map.txt");
    steering.force = steer::Force::map;
    steering.map_name = "map.txt";
    for (const std::vector<double>& row : steering.map) {
      double total = 0;
      for (const double w : row) {
        fuzzing::require(std::isfinite(w) && w >= 0, "map: a weight negative or not finite");
        total += w;
      }
      fuzzing::require(std::abs(total - 1) < 1e-9, "map: a row that does not sum to 1");
    }
  } catch (const cli::FlagError&) {
    steering.force = steer::Force::diagonal;
  }
  try {
    if (pieces.size() > 1) steer::parse_weights(pieces[1], steering);
    if (pieces.size() > 2) steer::parse_block(pieces[2], steering);
  } catch (const cli::FlagError&) {
  }
  // A block of 5 output steps over the map's width (or 4) real positions and one of padding.
  const std::size_t positions =
      steering.force == steer::Force::map ? steering.map[0].size() : 4, S = positions + 1, T = 5;
  if (positions > 1000) return 0;
  try {
    steer::check_source(steering, positions, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  std::vector<real> weights(T * S, 0), padding(S, 0);
  padding[positions] = 1;
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t s = 0; s < positions; ++s) weights[t * S + s] = real(1.0 / double(positions));
  steer::edit_block(steering, {0, 0, 0, weights.data(), T, S, padding.data()});
  for (std::size_t t = 0; t < T; ++t) {
    double total = 0;
    for (std::size_t s = 0; s < S; ++s) {
      const real w = weights[t * S + s];
      fuzzing::require(std::isfinite(double(w)) && w >= 0, "edit: a weight negative or not finite");
      total += double(w);
    }
    fuzzing::require(weights[t * S + positions] == 0, "edit: weight on padding");
    fuzzing::require(std::abs(total - 1) < 1e-4, "edit: a row that does not sum to 1");
  }
  for (const auto& [position, factor] : steering.factors)
    if (factor == 0)
      for (std::size_t t = 0; t < T; ++t)
        fuzzing::require(weights[t * S + position] == 0, "edit: weight on a blocked position");
  return 0;
}
