// thread_pool.h — a small std::thread pool with one primitive: parallel_for.
// Work is split statically: [0, n) becomes `chunks` contiguous ranges whose bounds depend
// only on n and the chunk count, never on timing. A caller whose every index does the same
// arithmetic however the range is cut (gemm computes each output element the same way in
// any chunk) gets bit-identical results for any number of threads.
// A thread done with its range checks for the next job for 100 us (the first 20 us without
// a system call, then yielding the CPU between checks), then sleeps on a condition
// variable: back-to-back jobs skip the slow wake-up and an idle pool uses no CPU. Read next: ops_nn.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace crossgrad {

// A callable passed by reference, never copied (what C++26 calls std::function_ref): what
// parallel_for takes, so that handing it a lambda allocates nothing, where a std::function
// holding the lambda's captures would allocate on every call.
template <class Signature>
class FunctionRef;
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT: converting from any callable is the point
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

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
void parallel_for(std::size_t n, FunctionRef<void(std::size_t, std::size_t)> fn,
                  std::size_t grain = 1);

// parallel_for over `rows` rows that each cost about `row_cost` element operations, with
// enough rows per range (kMinElementsPerTask elements' worth) that waking a worker pays:
// a (1088, 64) activation splits in two, a (2, 64) one runs inline. The row ops (softmax,
// layer_norm, cross_entropy, relu, add, dropout) use it; each row is computed by the same
// arithmetic in any range, so results do not depend on the thread count.
inline constexpr std::size_t kMinElementsPerTask = 16384;
inline void parallel_rows(std::size_t rows, std::size_t row_cost,
                          FunctionRef<void(std::size_t, std::size_t)> fn) {
  parallel_for(rows, fn, kMinElementsPerTask / (row_cost > 0 ? row_cost : 1) + 1);
}

}  // namespace crossgrad
