// timing.h — how build/bench times a piece of work: seconds per call, best of a few trials;
// and how far apart the machine's cores are: a cache line's round trip between two threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <thread>

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

// Nanoseconds for a cache line to go to another thread's core and back: two threads pass a
// counter back and forth for about `budget` seconds. Every value that one core writes and
// the other reads (a posted job, half of an activation) pays part of this, so it bounds how
// much a second thread can save. On a virtual machine it depends on where the host runs the
// two virtual cores, and that can change from minute to minute.
inline double round_trip_ns(double budget = 0.1) {
  alignas(64) std::atomic<long> turn{0};  // odd: the other thread's move; even: this one's
  std::atomic<bool> done{false};
  std::thread other([&] {
    for (long seen = 1;; seen += 2) {
      while (turn.load(std::memory_order_acquire) != seen)
        if (done.load(std::memory_order_relaxed)) return;
      turn.store(seen + 1, std::memory_order_release);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  long trips = 0;
  double seconds = 0;
  while (seconds < budget) {
    turn.store(2 * trips + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != 2 * trips + 2) {
    }
    if (++trips % 64 == 0)
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  done = true;
  other.join();
  return seconds * 1e9 / double(trips);
}

}  // namespace crossgrad::bench
