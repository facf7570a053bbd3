// random.h — a seeded random number generator for initialisation, dropout and data.
// A thin wrapper over std::mt19937_64 whose whole state can be saved and restored, so a
// resumed training run draws exactly the numbers an uninterrupted one would.
// Read next: tensor.h (Tensor::randn and Tensor::uniform take a Generator).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "autograd/shape.h"

namespace crossgrad {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}

  void manual_seed(std::uint64_t seed) { engine_.seed(seed); }
  real normal(real mean = 0, real stddev = 1);  // a draw from N(mean, stddev²)
  real uniform(real low = 0, real high = 1);    // a draw from U[low, high)
  std::uint64_t next_u64() { return engine_(); }
  std::size_t below(std::size_t n);             // uniform integer in [0, n)

  // The engine's full state as text (the standard library's own format), and back.
  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

// The generator used when a caller passes none, like torch.manual_seed's global one.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace crossgrad
