// random.cpp — Generator (see random.h).
#include "autograd/random.h"

#include <sstream>

namespace crossgrad {

real Generator::normal(real mean, real stddev) {
  // A fresh distribution per draw keeps no hidden cached value outside the engine, so the
  // engine's state alone is the generator's state.
  std::normal_distribution<double> dist(mean, stddev);
  return static_cast<real>(dist(engine_));
}

real Generator::uniform(real low, real high) {
  std::uniform_real_distribution<double> dist(low, high);
  return static_cast<real>(dist(engine_));
}

std::size_t Generator::below(std::size_t n) {
  if (n == 0) fail("Generator::below: n must be positive");
  std::uniform_int_distribution<std::size_t> dist(0, n - 1);
  return dist(engine_);
}

std::string Generator::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  in >> engine;
  if (in.fail()) fail("Generator::set_state: the state text is not a valid mt19937_64 state");
  engine_ = engine;
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace crossgrad
