// Tests for autograd/thread_pool.cpp: every index covered exactly once for any thread
// count and grain, a static split, inline tiny work, exceptions reaching the caller, nested
// calls, and the thread-count setting.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "autograd/thread_pool.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;

// The ranges parallel_for hands out, sorted.
Ranges ranges_of(std::size_t n, std::size_t grain) {
  Ranges ranges;
  std::mutex mutex;
  parallel_for(n, [&](std::size_t begin, std::size_t end) {
    std::lock_guard<std::mutex> lock(mutex);
    ranges.emplace_back(begin, end);
  }, grain);
  std::sort(ranges.begin(), ranges.end());
  return ranges;
}

}  // namespace

TEST_CASE("parallel_for: covers every index exactly once, for any thread count and grain") {
  for (std::size_t threads : {1, 2, 3, 5}) {
    ThreadCount count(threads);
    for (std::size_t n : {0, 1, 2, 3, 7, 100, 1001}) {
      for (std::size_t grain : {1, 4, 1000}) {
        INFO("threads " << threads << ", n " << n << ", grain " << grain);
        std::vector<std::atomic<int>> visits(n);
        parallel_for(n, [&](std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) visits[i]++;
        }, grain);
        CHECK(std::all_of(visits.begin(), visits.end(), [](const auto& v) { return v == 1; }));
      }
    }
  }
}

TEST_CASE("parallel_for: the split is static, contiguous and respects the grain") {
  ThreadCount count(3);
  // 10 indices over 3 threads: [0,3), [3,6), [6,10), every time.
  const Ranges expected{{0, 3}, {3, 6}, {6, 10}};
  for (int repeat = 0; repeat < 20; ++repeat) CHECK(ranges_of(10, 1) == expected);
  // grain 4 allows only 10 / 4 = 2 ranges of at least 4 indices.
  CHECK(ranges_of(10, 4) == Ranges{{0, 5}, {5, 10}});
  CHECK(ranges_of(10, 11) == Ranges{{0, 10}});
  CHECK(ranges_of(2, 1) == Ranges{{0, 1}, {1, 2}});
}

TEST_CASE("parallel_for: thousands of back-to-back jobs each run every range once") {
  // Workers catch these while still polling for work, the path a sleeping pool skips.
  ThreadCount count(3);
  std::vector<int> hits(3 * 5000, 0);  // each range writes only its own slots
  for (std::size_t job = 0; job < 5000; ++job)
    parallel_for(3, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) hits[job * 3 + i]++;
    });
  CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
}

TEST_CASE("parallel_for: back-to-back jobs of 2 and 3 ranges on 3 threads, and after sleeps") {
  // A job of 2 ranges leaves worker 2 idle: it must skip that job and take its range of the
  // next, never run a range twice or miss one. And after a pause longer than the workers'
  // spin (100 us) they are asleep and must be woken.
  ThreadCount count(3);
  for (int round = 0; round < 3; ++round) {
    const std::size_t jobs = 3000;
    std::vector<int> hits(jobs * 3, 0);
    for (std::size_t job = 0; job < jobs; ++job) {
      const std::size_t ranges = job % 2 == 0 ? 2 : 3;
      parallel_for(ranges, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) hits[job * 3 + i]++;
      });
    }
    std::size_t wrong = 0;
    for (std::size_t job = 0; job < jobs; ++job)
      for (std::size_t i = 0; i < 3; ++i) wrong += hits[job * 3 + i] != (i < 2 || job % 2 ? 1 : 0);
    CHECK(wrong == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // every thread goes to sleep
  }
  // A task slower than the spin: the caller finishes its range first and sleeps until the
  // workers are done.
  std::vector<int> hits(3, 0);
  parallel_for(3, [&](std::size_t begin, std::size_t end) {
    if (begin > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (std::size_t i = begin; i < end; ++i) hits[i]++;
  });
  CHECK(hits == std::vector<int>{1, 1, 1});
}

TEST_CASE("parallel_for: ranges run on as many threads as there are ranges") {
  ThreadCount count(3);
  std::set<std::thread::id> threads;
  std::mutex mutex;
  parallel_for(3, [&](std::size_t, std::size_t) {
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
  });
  CHECK(threads.size() == 3);
}

TEST_CASE("parallel_for: tiny work runs inline on the calling thread") {
  ThreadCount count(2);
  std::thread::id ran_on;
  parallel_for(5, [&](std::size_t, std::size_t) { ran_on = std::this_thread::get_id(); }, 100);
  const bool on_caller = ran_on == std::this_thread::get_id();
  CHECK(on_caller);
}

TEST_CASE("parallel_for: an exception in a task reaches the caller, and the pool still works") {
  ThreadCount count(2);
  const auto throw_in_second_half = [](std::size_t begin, std::size_t end) {
    if (begin <= 70 && 70 < end) throw std::runtime_error("task failed at 70");
  };
  CHECK_THROWS_WITH_AS(parallel_for(100, throw_in_second_half), "task failed at 70",
                       std::runtime_error);
  // When several ranges throw, the lowest range's exception is the one rethrown.
  CHECK_THROWS_WITH_AS(parallel_for(100, [](std::size_t begin, std::size_t) {
                         throw std::runtime_error("range at " + std::to_string(begin));
                       }),
                       "range at 0", std::runtime_error);
  std::atomic<std::size_t> total{0};
  parallel_for(100, [&](std::size_t begin, std::size_t end) { total += end - begin; });
  CHECK(total == 100);
}

TEST_CASE("parallel_for: a nested call runs inline and still covers its range") {
  ThreadCount count(2);
  std::vector<std::atomic<int>> visits(40 * 30);
  parallel_for(40, [&](std::size_t begin, std::size_t end) {
    for (std::size_t row = begin; row < end; ++row)
      parallel_for(30, [&](std::size_t first, std::size_t last) {
        for (std::size_t col = first; col < last; ++col) visits[row * 30 + col]++;
      });
  });
  CHECK(std::all_of(visits.begin(), visits.end(), [](const auto& v) { return v == 1; }));
}

TEST_CASE("parallel_for: calls from two threads at once both complete") {
  ThreadCount count(2);
  std::atomic<std::size_t> total{0};
  const auto job = [&] {
    for (int repeat = 0; repeat < 50; ++repeat)
      parallel_for(64, [&](std::size_t begin, std::size_t end) { total += end - begin; });
  };
  std::thread other(job);
  job();
  other.join();
  CHECK(total == 2 * 50 * 64);
}

TEST_CASE("set_num_threads: changes num_threads, and rejects 0 or a call inside a task") {
  ThreadCount count(3);
  CHECK(num_threads() == 3);
  set_num_threads(1);
  CHECK(num_threads() == 1);
  CHECK_THROWS_WITH_AS(set_num_threads(0), doctest::Contains("set_num_threads: the thread count"),
                       Error);
  set_num_threads(2);
  CHECK_THROWS_WITH_AS(parallel_for(2, [](std::size_t, std::size_t) { set_num_threads(1); }),
                       doctest::Contains("inside parallel_for"), Error);
  CHECK(num_threads() == 2);
}
