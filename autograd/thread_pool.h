// thread_pool.h — a small std::thread pool with one primitive: parallel_for.
// Work is split statically: [0, n) becomes `chunks` contiguous ranges whose bounds depend
// only on n and the chunk count, never on timing. A caller whose every index does the same
// arithmetic however the range is cut (gemm computes each output element the same way in
// any chunk) gets bit-identical results for any number of threads.
// A thread done with its range checks for the next job for 100 us, yielding the CPU in
// between, then sleeps on a condition variable: back-to-back jobs skip the slow wake-up
// and an idle pool uses no CPU. Read next: ops_nn.cpp.
#pragma once

#include <cstddef>
#include <functional>

namespace crossgrad {

// Threads used by parallel_for, the caller included. The default is the hardware's count,
// capped at 8 (the kernels here are small; more threads mostly add wake-up latency).
std::size_t num_threads();
// n >= 1. Not allowed from inside a parallel_for task.
void set_num_threads(std::size_t n);

// Calls fn(begin, end) on contiguous ranges that together cover [0, n) exactly once,
// using at most num_threads() threads, each range holding at least `grain` indices (so
// tiny work runs inline on the caller, with no thread overhead). Returns when every range
// is done. If tasks throw, the exception of the lowest range is rethrown to the caller
// after all ranges have finished. A parallel_for called from inside a task (or while
// another thread's parallel_for is running) runs inline on its caller.
void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn,
                  std::size_t grain = 1);

}  // namespace crossgrad
