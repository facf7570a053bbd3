// profiler.cpp — the counts behind profiler.h, and the table.
#include "autograd/profiler.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "autograd/allocator.h"

namespace crossgrad {

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> enabled{false};

struct Counts {
  std::mutex mutex;
  std::map<std::string, OpProfile> ops;
  double engine_ms = 0;
  Clock::time_point start;
};

Counts& counts() {
  static Counts* instance = new Counts;  // never destroyed: scopes may close at exit
  return *instance;
}

thread_local ProfileScope* innermost = nullptr;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

OpProfile& row(Counts& c, const char* op) {
  OpProfile& r = c.ops[op];
  if (r.op.empty()) r.op = op;
  return r;
}

}  // namespace

bool profiling_enabled() { return enabled.load(std::memory_order_relaxed); }

void start_profiling() {
  Counts& c = counts();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.ops.clear();
  c.engine_ms = 0;
  c.start = Clock::now();
  enabled = true;
}

Profile stop_profiling() {
  enabled = false;
  Counts& c = counts();
  std::lock_guard<std::mutex> lock(c.mutex);
  Profile profile;
  profile.total_ms = ms_between(c.start, Clock::now());
  profile.engine_ms = c.engine_ms;
  for (const auto& entry : c.ops) profile.ops.push_back(entry.second);
  std::sort(profile.ops.begin(), profile.ops.end(), [](const OpProfile& a, const OpProfile& b) {
    return a.forward_ms + a.backward_ms > b.forward_ms + b.backward_ms;
  });
  return profile;
}

void ProfileScope::open(const char* op) {
  op_ = op;
  outer_ = innermost;
  innermost = this;
  bytes_start_ = allocator_stats().requested_bytes;
  start_ = Clock::now();
}

void ProfileScope::close() {
  const double ms = ms_between(start_, Clock::now());
  const std::uint64_t bytes = allocator_stats().requested_bytes - bytes_start_;
  innermost = outer_;
  if (outer_) {  // the enclosing op does not count this one's time or memory
    outer_->inner_ms_ += ms;
    outer_->inner_bytes_ += bytes;
  }
  Counts& c = counts();
  std::lock_guard<std::mutex> lock(c.mutex);
  OpProfile& r = row(c, op_);
  ++r.forward_calls;
  r.forward_ms += ms - inner_ms_;
  r.forward_bytes += bytes - inner_bytes_;
}

void profile_backward(const char* op, double ms, std::uint64_t bytes) {
  Counts& c = counts();
  std::lock_guard<std::mutex> lock(c.mutex);
  OpProfile& r = row(c, op);
  ++r.backward_calls;
  r.backward_ms += ms;
  r.backward_bytes += bytes;
}

void profile_engine(double ms) {
  Counts& c = counts();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.engine_ms += ms;
}

std::string profile_table(const Profile& profile, std::size_t steps) {
  const double per = 1.0 / double(std::max<std::size_t>(steps, 1));
  const double step_ms = profile.total_ms * per;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-30s %9s %9s %9s %7s %9s %9s %7s\n", "op (per step)", "fwd ms",
                "bwd ms", "total ms", "share", "fwd MB", "bwd MB", "calls");
  out += line;
  double ops_ms = 0;
  for (const OpProfile& r : profile.ops) {
    const double total = (r.forward_ms + r.backward_ms) * per;
    ops_ms += total;
    std::snprintf(line, sizeof line, "%-30s %9.2f %9.2f %9.2f %6.1f%% %9.2f %9.2f %7.0f\n",
                  r.op.c_str(), r.forward_ms * per, r.backward_ms * per, total,
                  step_ms > 0 ? 100 * total / step_ms : 0, double(r.forward_bytes) * per / 1e6,
                  double(r.backward_bytes) * per / 1e6, double(r.forward_calls) * per);
    out += line;
  }
  const double engine = profile.engine_ms * per;
  const double rest = step_ms - ops_ms - engine;
  std::snprintf(line, sizeof line, "%-30s %9s %9.2f %9.2f %6.1f%%\n", "(backward engine)", "",
                engine, engine, step_ms > 0 ? 100 * engine / step_ms : 0);
  out += line;
  std::snprintf(line, sizeof line, "%-30s %9s %9s %9.2f %6.1f%%\n", "(outside ops)", "", "", rest,
                step_ms > 0 ? 100 * rest / step_ms : 0);
  out += line;
  std::snprintf(line, sizeof line, "%-30s %9s %9s %9.2f %6.1f%%\n", "step", "", "", step_ms, 100.0);
  out += line;
  return out;
}

}  // namespace crossgrad
