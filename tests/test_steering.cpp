// Tests for examples/common/steering.cpp: each edit on hand-made (T, S) blocks of weights
// (blocking gives exactly 0 and rows still sum to 1, a factor reweights, the diagonal and
// anti-diagonal and a file's map are what the rows then hold, padding stays 0), the flags'
// parsing and the checks against a model and a source, each error naming its problem.
#include "examples/common/flags.h"
#include "examples/common/steering.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// A (T, S) block of softmax-like rows: row t is proportional to 1 + t + s, over the first
// `keys` columns; the rest are padding (0).
struct Block {
  std::size_t T, S, keys;
  std::vector<real> weights, padding;
  Block(std::size_t T, std::size_t S, std::size_t keys) : T(T), S(S), keys(keys),
        weights(T * S, 0), padding(S, 0) {
    for (std::size_t s = keys; s < S; ++s) padding[s] = 1;
    for (std::size_t t = 0; t < T; ++t) {
      double total = 0;
      for (std::size_t s = 0; s < keys; ++s) total += double(1 + t + s);
      for (std::size_t s = 0; s < keys; ++s) weights[t * S + s] = real(double(1 + t + s) / total);
    }
  }
  real at(std::size_t t, std::size_t s) const { return weights[t * S + s]; }
  void edit(const steer::Steering& steering, std::size_t first_query = 0) {
    steer::edit_block(steering, {0, 0, first_query, weights.data(), T, S, padding.data()});
  }
  double row_sum(std::size_t t) const {
    double total = 0;
    for (std::size_t s = 0; s < S; ++s) total += double(at(t, s));
    return total;
  }
};

}  // namespace

TEST_CASE("steering: blocking a position gives it exactly 0 and every row still sums to 1") {
  Block block(4, 6, 5);  // 5 real positions, 1 of padding
  const Block before = block;
  steer::Steering steering;
  steer::parse_block("2", steering);
  block.edit(steering);
  for (std::size_t t = 0; t < 4; ++t) {
    CHECK(block.at(t, 2) == 0);
    CHECK(block.at(t, 5) == 0);  // padding stays 0
    CHECK(block.row_sum(t) == doctest::Approx(1).epsilon(1e-6));
    // The others keep their ratios.
    CHECK(double(block.at(t, 0) / block.at(t, 1)) ==
          doctest::Approx(double(before.at(t, 0) / before.at(t, 1))).epsilon(1e-6));
  }
}

TEST_CASE("steering: a factor multiplies a position's weight before renormalising") {
  Block block(2, 3, 3);
  const Block before = block;
  steer::Steering steering;
  steer::parse_weights("0:3", steering);
  block.edit(steering);
  for (std::size_t t = 0; t < 2; ++t) {
    const double w0 = 3 * double(before.at(t, 0)), w1 = double(before.at(t, 1)),
                 w2 = double(before.at(t, 2));
    CHECK(double(block.at(t, 0)) == doctest::Approx(w0 / (w0 + w1 + w2)).epsilon(1e-6));
    CHECK(block.row_sum(t) == doctest::Approx(1).epsilon(1e-6));
  }
  // A factor of 1 changes nothing at all.
  Block same(2, 3, 3);
  steer::Steering unit;
  steer::parse_weights("1:1", unit);
  same.edit(unit);
  for (std::size_t i = 0; i < same.weights.size(); ++i)
    CHECK(double(same.weights[i]) == doctest::Approx(double(before.weights[i])).epsilon(1e-6));
}

TEST_CASE("steering: the diagonal and anti-diagonal are what the rows then hold") {
  // 3 tokens and EOS; 6 output steps, the last 2 past the source (left alone).
  steer::Steering diagonal, anti;
  steer::parse_force("diagonal", diagonal);
  steer::parse_force("anti-diagonal", anti);
  Block d(6, 5, 4), a(6, 5, 4);
  const Block before = d;
  d.edit(diagonal);
  a.edit(anti);
  const std::size_t anti_column[] = {2, 1, 0, 3};  // tokens reversed, then EOS
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t s = 0; s < 5; ++s) {
      CHECK(d.at(t, s) == (s == t ? 1 : 0));
      CHECK(a.at(t, s) == (s == anti_column[t] ? 1 : 0));
    }
  for (std::size_t t = 4; t < 6; ++t)
    for (std::size_t s = 0; s < 5; ++s) CHECK(d.at(t, s) == before.at(t, s));
  // Decoding with the cache feeds one step at a time: first_query says which.
  Block step(1, 5, 4);
  step.edit(anti, 1);
  CHECK(step.at(0, 1) == 1);
}

TEST_CASE("steering: a map from a file, renormalised row by row; its mistakes named") {
  const auto rows = steer::parse_map("# a comment\n1 1 0\n\n0 0 2  # the end\n", "map.txt");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::vector<double>{0.5, 0.5, 0});
  CHECK(rows[1] == std::vector<double>{0, 0, 1});
  steer::Steering steering;
  steering.force = steer::Force::map;
  steering.map = rows;
  Block block(3, 3, 3);
  const Block before = block;
  block.edit(steering);
  CHECK(block.at(0, 0) == real(0.5));
  CHECK(block.at(1, 2) == 1);
  for (std::size_t s = 0; s < 3; ++s) CHECK(block.at(2, s) == before.at(2, s));  // past the map
  CHECK_THROWS_WITH_AS(steer::parse_map("1 2\n1 x\n", "m"), "m:2: 'x' is not a number",
                       cli::FlagError);
  CHECK_THROWS_WITH_AS(steer::parse_map("1 2\n1\n", "m"), "m:2: 1 weights, but the first row has 2",
                       cli::FlagError);
  CHECK_THROWS_WITH_AS(steer::parse_map("1 -2\n", "m"), "m:1: weight -2 is negative",
                       cli::FlagError);
  CHECK_THROWS_WITH_AS(steer::parse_map("0 0\n", "m"), "m:1: a row of zeros attends to nothing",
                       cli::FlagError);
  CHECK_THROWS_WITH_AS(steer::parse_map("# nothing\n", "m"), "m: no rows of weights",
                       cli::FlagError);
  // Weights near the largest double renormalise without overflowing to a row of zeros.
  CHECK(steer::parse_map("1e308 1e308\n", "m")[0] == std::vector<double>{0.5, 0.5});
}

TEST_CASE("steering: blocking where all the weight was spreads it over the open positions") {
  steer::Steering steering;
  steer::parse_force("diagonal", steering);
  steer::parse_block("0", steering);
  Block block(1, 3, 3);
  block.edit(steering);  // forced onto position 0, which is blocked
  CHECK(block.at(0, 0) == 0);
  CHECK(block.at(0, 1) == real(0.5));
  CHECK(block.at(0, 2) == real(0.5));
}

TEST_CASE("steering: flags and checks refuse what cannot mean anything, naming it") {
  steer::Steering steering;
  CHECK_THROWS_WITH_AS(steer::parse_weights("0:-1", steering),
                       "--weight-source: factor -1 of position 0 is negative; weights must stay "
                       ">= 0",
                       cli::FlagError);
  CHECK_THROWS_WITH_AS(steer::parse_weights("0:1e7", steering),
                       "--weight-source: factor 1e7 of position 0 is above 1e+06", cli::FlagError);
  steer::parse_block("1", steering);
  CHECK_THROWS_WITH_AS(steer::parse_weights("1:2", steering),
                       "--weight-source: source position 1 is already blocked or weighted",
                       cli::FlagError);
  CHECK_THROWS_WITH_AS(steer::parse_weights("3", steering),
                       "--weight-source: '3' is not POSITION:FACTOR (e.g. 0:3)", cli::FlagError);
  CHECK_THROWS_AS(steer::parse_block("-1", steering), cli::FlagError);
  CHECK_THROWS_WITH_AS(steer::parse_force("no-such-file", steering),
                       doctest::Contains("'no-such-file' is not diagonal, anti-diagonal or a file"),
                       cli::FlagError);
  nn::TransformerConfig config;  // 2 decoder layers, 4 heads
  steer::Steering layers;
  layers.layers = steer::parse_indices("0,2", "--edit-layer");
  CHECK_THROWS_WITH_AS(steer::check_model(layers, config),
                       "--edit-layer 2: this model has 2 decoder layers, 0..1", cli::FlagError);
  steer::Steering heads;
  heads.head = 4;
  CHECK_THROWS_WITH_AS(steer::check_model(heads, config),
                       "--edit-head 4: this model has 4 heads, 0..3", cli::FlagError);
  steer::Steering block;
  steer::parse_block("5", block);
  CHECK_THROWS_WITH_AS(steer::check_source(block, 4, "argument 1"),
                       "argument 1: source position 5 is beyond this input's 4 source positions "
                       "(0..3, EOS last)",
                       Error);
  steer::check_source(block, 6, "argument 1");  // fits a longer input
  steer::Steering all;
  steer::parse_block("0,1", all);
  CHECK_THROWS_WITH_AS(steer::check_source(all, 2, "line 3"),
                       doctest::Contains("line 3: every one of its 2 source positions"), Error);
  CHECK(all.describe() == "block 0, block 1 (every layer, every head)");
}
