// profiler.h — where the time of a training step goes, op by op, forward and backward.
// Between start_profiling() and stop_profiling(), every op adds its forward time (measured by
// the ProfileScope at the top of its function, not counting ops it calls) and every backward
// closure its time, with the bytes of tensor memory each asked the allocator for. The rows
// come back as a table (profile_table) that `build/bench profile` prints, at 1 thread and
// beside a run at 2 threads. Off, it costs one test of a flag per op.
// Read next: docs/performance.md (how to read the table).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace crossgrad {

struct OpProfile {
  std::string op;  // the name the op records ("linear", "layer_norm")
  std::uint64_t forward_calls = 0, backward_calls = 0;
  double forward_ms = 0, backward_ms = 0;           // summed over the profiled steps
  std::uint64_t forward_bytes = 0, backward_bytes = 0;  // tensor memory asked for
};

struct Profile {
  std::vector<OpProfile> ops;  // sorted by forward + backward time, largest first
  // Inside backward() but outside every closure: sorting the graph, checking versions,
  // zero-filling and freeing gradients.
  double engine_ms = 0;
  double total_ms = 0;  // wall time from start_profiling() to stop_profiling()
};

void start_profiling();  // clears the counts and starts counting
Profile stop_profiling();
bool profiling_enabled();

// The table: one row per op with forward and backward ms per step, their share of the step,
// MB asked for and calls per step; then the engine, and what the ops do not explain
// (the model's own code, the loss's reading, the optimizer). `steps` divides the totals.
std::string profile_table(const Profile& profile, std::size_t steps);

// At the top of an op's function: `const ProfileScope profile("linear");`. Nested scopes
// (an op calling another) count exclusively: the inner op's time is not the outer one's.
class ProfileScope {
 public:
  explicit ProfileScope(const char* op) {
    if (profiling_enabled()) open(op);
  }
  ~ProfileScope() {
    if (op_) close();
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  void open(const char* op);
  void close();
  const char* op_ = nullptr;
  ProfileScope* outer_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  std::uint64_t bytes_start_ = 0;
  double inner_ms_ = 0;  // time of nested scopes, subtracted from this one's
  std::uint64_t inner_bytes_ = 0;
};

// For graph.cpp: one backward closure of `op` took `ms` and asked for `bytes`.
void profile_backward(const char* op, double ms, std::uint64_t bytes);
void profile_engine(double ms);

}  // namespace crossgrad
