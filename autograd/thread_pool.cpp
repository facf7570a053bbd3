// thread_pool.cpp — the pool behind parallel_for (see thread_pool.h).
// One job at a time: the caller publishes a task and a chunk count, wakes the workers, runs
// chunk 0 itself, then waits (polling briefly, then sleeping) until the workers' chunks are
// done. Worker w always runs chunk w, so which thread computes which range is fixed too.
#include "autograd/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "autograd/shape.h"

namespace crossgrad {

namespace {

// True while this thread runs a range of a parallel_for (and always on workers): a nested
// parallel_for then runs inline instead of waiting for the threads it is running on.
thread_local bool inside_task = false;

// A thread that has finished its part keeps checking for the next event, for this long,
// before it sleeps. Waking a sleeping thread costs 10-50 us on a VM, as much as a whole gemm
// of the standard model, and gemms come back to back. Bounded, so an idle pool sleeps.
constexpr std::chrono::microseconds kSpinBeforeSleep{100};
// For the first part of that, the check is a plain load in a loop: on a VM even a
// sched_yield is a system call of about a microsecond, and most hand-offs come sooner than
// this. After it, the thread yields between checks, so other processes still get the core.
constexpr std::chrono::microseconds kSpinWithoutYield{20};

template <class Ready>
bool spin_until(Ready ready) {  // true if ready() came true within kSpinBeforeSleep
  const auto start = std::chrono::steady_clock::now();
  while (!ready()) {
    const auto waited = std::chrono::steady_clock::now() - start;
    if (waited >= kSpinBeforeSleep) return false;
    if (waited >= kSpinWithoutYield) std::this_thread::yield();
  }
  return true;
}

// The hand-off takes no lock while both sides are awake: a job is published in atomics and
// seen by a spinning worker, and its end seen by the spinning caller. The mutex and the
// condition variables are only for a side that goes to sleep. (A lock taken on every job
// made the worker block on the mutex whenever it saw the job before the caller had let go
// of it: two system calls and a sleep per job.)
class Workers {
 public:
  ~Workers() { stop(); }
  std::size_t size() const { return threads_.size(); }

  // Starts `count` worker threads; the pool must be stopped.
  void start(std::size_t count) {
    for (std::size_t w = 1; w <= count; ++w)
      threads_.emplace_back([this, w, seen = number_of(job_)] { loop(w, seen); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    stopping_ = false;  // no worker is left to read it
  }

  // Runs task(c) for every c in [0, chunks): chunk 0 on the caller, chunk w on worker w.
  // chunks <= size() + 1; `task` must not throw.
  void run(std::size_t chunks, FunctionRef<void(std::size_t)> task) {
    task_ = &task;
    pending_ = chunks - 1;
    {
      std::lock_guard<std::mutex> lock(mutex_);  // a worker about to sleep sees it, or is woken
      job_ = (number_of(job_) + 1) << kChunkBits | chunks;
    }
    wake_.notify_all();
    task(0);
    if (spin_until([this] { return pending_ == 0; })) return;
    std::unique_lock<std::mutex> lock(mutex_);
    caller_asleep_ = true;
    done_.wait(lock, [this] { return pending_ == 0; });
    caller_asleep_ = false;
  }

 private:
  void loop(std::size_t chunk, std::uint64_t seen) {
    inside_task = true;
    const auto job_posted = [&] { return stopping_ || number_of(job_) != seen; };
    for (;;) {
      if (!spin_until(job_posted)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, job_posted);
      }
      if (stopping_) return;
      const std::uint64_t job = job_;  // its number and chunk count, read together
      seen = number_of(job);
      if (chunk >= (job & kChunkMask)) continue;  // this job has fewer chunks than threads
      // The caller cannot post another job (and overwrite task_) before this chunk is done.
      (*task_.load())(chunk);
      // The caller sets caller_asleep_ before its last look at pending_, and this thread
      // reads it after its decrement: one of the two sees the other's write.
      if (--pending_ == 0 && caller_asleep_) {
        std::lock_guard<std::mutex> lock(mutex_);  // the caller is waiting, or about to
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;  // for sleeping and waking only
  std::condition_variable wake_, done_;
  // The current job: its number (one more for every job, so each runs once) and its chunk
  // count in one word, so that a worker reads both at once. A worker without a chunk in
  // it reads nothing else; reading the count apart could pair one job's number with the
  // next one's count.
  static constexpr unsigned kChunkBits = 24;  // chunks <= threads: no process runs 2^24
  static constexpr std::uint64_t kChunkMask = (std::uint64_t(1) << kChunkBits) - 1;
  static std::uint64_t number_of(std::uint64_t job) { return job >> kChunkBits; }
  std::atomic<std::uint64_t> job_{0};
  // Written before job_ and read after it by the workers that have a chunk.
  std::atomic<const FunctionRef<void(std::size_t)>*> task_{nullptr};
  std::atomic<std::size_t> pending_{0};  // worker chunks of the current job not done
  std::atomic<bool> stopping_{false};
  std::atomic<bool> caller_asleep_{false};
};

std::size_t default_threads() {
  const std::size_t hardware = std::thread::hardware_concurrency();  // 0 when unknown
  return std::clamp<std::size_t>(hardware, 1, 8);
}

struct Pool {
  std::mutex run_mutex;  // one parallel_for (or set_num_threads) at a time
  std::atomic<std::size_t> threads{default_threads()};
  Workers workers;  // started lazily with threads - 1 workers, under run_mutex
};

Pool& pool() {
  static Pool instance;
  return instance;
}

// Marks the calling thread as running a task for as long as it lives.
struct InsideTask {
  InsideTask() { inside_task = true; }
  ~InsideTask() { inside_task = false; }
};

}  // namespace

std::size_t num_threads() { return pool().threads.load(); }

void set_num_threads(std::size_t n) {
  if (n == 0) fail("set_num_threads: the thread count must be at least 1, got 0");
  if (inside_task) fail("set_num_threads: cannot change the thread count inside parallel_for");
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.run_mutex);
  if (n == p.threads.load()) return;
  p.workers.stop();  // restarted with the new count by the next parallel_for
  p.threads.store(n);
}

void parallel_for(std::size_t n, FunctionRef<void(std::size_t, std::size_t)> fn,
                  std::size_t grain) {
  if (n == 0) return;
  const std::size_t most_chunks = std::max<std::size_t>(n / std::max<std::size_t>(grain, 1), 1);
  Pool& p = pool();
  if (inside_task || most_chunks == 1 || p.threads.load() == 1) return fn(0, n);
  std::unique_lock<std::mutex> lock(p.run_mutex, std::try_to_lock);
  if (!lock.owns_lock()) return fn(0, n);  // another thread's job is running: work inline

  const std::size_t threads = p.threads.load();
  if (p.workers.size() != threads - 1) {
    p.workers.stop();
    p.workers.start(threads - 1);
  }
  const std::size_t chunks = std::min(most_chunks, threads);
  std::mutex error_mutex;  // the exception of the lowest failing chunk, kept for the caller
  std::size_t error_chunk = chunks;
  std::exception_ptr error;
  const auto task = [&](std::size_t c) {
    try {
      fn(c * n / chunks, (c + 1) * n / chunks);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (c < error_chunk) {
        error_chunk = c;
        error = std::current_exception();
      }
    }
  };
  {
    InsideTask guard;
    p.workers.run(chunks, task);
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace crossgrad
