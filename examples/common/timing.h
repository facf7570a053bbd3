// timing.h — how build/bench times a piece of work: seconds per call, best of a few trials.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>

namespace crossgrad::bench {

// Seconds per call of fn: after one warm-up call (page in buffers, start the pool's threads),
// calls it for at least `budget` seconds per trial and keeps the best trial, since other
// processes only ever slow a trial down.
inline double seconds_per_call(const std::function<void()>& fn, double budget = 0.1,
                               int trials = 5) {
  using clock = std::chrono::steady_clock;
  fn();
  double best = 1e30;
  for (int trial = 0; trial < trials; ++trial) {
    std::size_t calls = 0;
    const auto start = clock::now();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < budget);
    best = std::min(best, elapsed / double(calls));
  }
  return best;
}

}  // namespace crossgrad::bench
