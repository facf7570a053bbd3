// bench.cpp — how fast crossgrad's kernels are, at the shapes of the standard model.
// Run `build/bench` for every section or `build/bench gemm` for one; `build/bench --list`
// names them. A section is a function printing one small table; add yours to `sections`.
// Kernel timings are the best of a few trials (other processes only ever slow a trial down);
// the model sections (examples/common/bench_model.h) report medians, as the PyTorch
// reference does. Nothing about time is asserted, but a failed computation (a NaN loss)
// ends the run with a message and exit status 1.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "autograd/gemm.h"
#include "autograd/thread_pool.h"
#include "examples/common/bench_attention.h"
#include "examples/common/bench_model.h"
#include "examples/common/timing.h"

using namespace crossgrad;

// --- Counting every heap allocation of this program ---
// Replacing the global operator new (allowed in a program, and only in this one) counts
// every allocation, the standard library's included: what "allocations per step" means.

namespace {
std::atomic<std::uint64_t> heap_allocations{0}, heap_bytes{0};

void* counted_allocation(std::size_t size, std::size_t alignment) {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  heap_bytes.fetch_add(size, std::memory_order_relaxed);
  const std::size_t rounded =
      (std::max<std::size_t>(size, 1) + alignment - 1) / alignment * alignment;
  void* p = alignment <= alignof(std::max_align_t) ? std::malloc(rounded)
                                                   : std::aligned_alloc(alignment, rounded);
  if (!p) throw std::bad_alloc();
  return p;
}

bench::HeapCount count_heap() { return {heap_allocations.load(), heap_bytes.load()}; }
}  // namespace

void* operator new(std::size_t size) { return counted_allocation(size, alignof(std::max_align_t)); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  return counted_allocation(size, std::size_t(alignment));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using bench::round_trip_ns;
using bench::seconds_per_call;

std::vector<real> filled(std::size_t n, real value) { return std::vector<real>(n, value); }

// --- Section: gemm ---
// Legend: B batch 64, T tokens 17 (16 digits + EOS), D d_model 64, F feed-forward 256,
// H heads 4, Dh = D/H 16. A Linear on (B*T, D) tokens is one gemm: x @ wᵀ forward, then
// dx = dy @ w and dw = dyᵀ @ x backward. Attention's scores are B*H small q @ kᵀ products.

struct GemmShape {
  const char* name;
  bool trans_a, trans_b;
  std::size_t M, N, K, batch;
};

// GFLOP/s of one shape with the given kernel; batch > 1 uses gemm_batched (the reference
// loops over the items).
double gemm_gflops(const GemmShape& s, bool fast) {
  const std::size_t a_size = s.M * s.K, b_size = s.K * s.N, c_size = s.M * s.N;
  std::vector<real> A = filled(s.batch * a_size, real(0.5)), B = filled(s.batch * b_size, 1);
  std::vector<real> C = filled(s.batch * c_size, 0);
  std::vector<const real*> as, bs;
  std::vector<real*> cs;
  for (std::size_t i = 0; i < s.batch; ++i) {
    as.push_back(&A[i * a_size]);
    bs.push_back(&B[i * b_size]);
    cs.push_back(&C[i * c_size]);
  }
  const std::size_t lda = s.trans_a ? s.M : s.K, ldb = s.trans_b ? s.K : s.N;
  const double seconds = seconds_per_call([&] {
    if (fast && s.batch > 1) {
      gemm_batched(s.trans_a, s.trans_b, s.M, s.N, s.K, s.batch, as.data(), lda, bs.data(),
                   ldb, cs.data(), s.N, false);
      return;
    }
    for (std::size_t i = 0; i < s.batch; ++i)
      (fast ? gemm : gemm_reference)(s.trans_a, s.trans_b, s.M, s.N, s.K, as[i], lda, bs[i],
                                     ldb, cs[i], s.N, false, nullptr);
  });
  return 2.0 * s.M * s.N * s.K * s.batch / seconds * 1e-9;
}

void bench_gemm() {
  const std::size_t tokens = 64 * 17;
  const GemmShape shapes[] = {
      {"linear D->F   x @ w.t()  (1088x256x64)", false, true, tokens, 256, 64, 1},
      {"linear D->3D  x @ w.t()  (1088x192x64)", false, true, tokens, 192, 64, 1},
      {"backward dx = dy @ w     (1088x64x256)", false, false, tokens, 64, 256, 1},
      {"backward dw = dy.t() @ x (256x64x1088)", true, false, 256, 64, tokens, 1},
      {"attention q @ k.t()  256 x (17x17x16)", false, true, 17, 17, 16, 256},
      {"attention p @ v      256 x (17x16x17)", false, false, 17, 16, 17, 256},
  };
  const std::size_t previous = num_threads();
  std::printf("%-40s %10s %10s %10s\n", "GFLOP/s (M x N x K)", "reference", "1 thread",
              "2 threads");
  for (const GemmShape& s : shapes) {
    set_num_threads(1);
    const double reference = gemm_gflops(s, false), one = gemm_gflops(s, true);
    set_num_threads(2);
    const double two = gemm_gflops(s, true);
    std::printf("%-40s %10.1f %10.1f %10.1f\n", s.name, reference, one, two);
  }
  set_num_threads(previous);
}

// --- Section: pool ---
// What one parallel_for costs when the work is nothing: waking the workers and waiting
// for them. Work much smaller than this runs inline (see kMinFlopsPerTask in gemm.cpp).
// Under it lies the time a cache line takes to reach the other core and come back.

void bench_pool() {
  const std::size_t previous = num_threads();
  for (std::size_t threads : {1, 2}) {
    set_num_threads(threads);
    const double seconds = seconds_per_call([] {
      parallel_for(2, [](std::size_t, std::size_t) {});
    });
    std::printf("empty parallel_for over %zu thread%s: %8.2f us\n", threads,
                threads == 1 ? " " : "s", seconds * 1e6);
  }
  set_num_threads(previous);
  std::printf("a cache line to the other core and back: %.0f ns\n", round_trip_ns());
}

// --- Sections ---

struct Section {
  const char* name;
  const char* about;
  void (*run)();
};

const Section sections[] = {
    {"gemm", "matrix multiply: reference triple loop vs packed kernel, 1 and 2 threads",
     bench_gemm},
    {"pool", "the fixed cost of one parallel_for, and of a core-to-core round trip", bench_pool},
    {"train_step", "the standard model's full training step, batch 64, 1 and 2 threads",
     [] { bench::train_step(count_heap); }},
    {"decode", "greedy decoding of 1000 held-out sources, cached vs uncached", bench::decode},
    {"profile", "where a standard step's time goes: ms and MB per op, forward and backward",
     bench::profile},
    {"compare", "the standard step against its PyTorch twin, same machine, 1 and 2 threads",
     bench::compare},
    {"attention", "self-attention as L grows, cross-attention as T x S grows; writes an SVG",
     [] { bench::attention(); }},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--list") == 0) {
    for (const Section& section : sections) std::printf("%-12s %s\n", section.name, section.about);
    return 0;
  }
  bool ran_any = false;
  for (const Section& section : sections) {
    bool wanted = argc == 1;
    for (int i = 1; i < argc; ++i) wanted = wanted || section.name == std::string(argv[i]);
    if (!wanted) continue;
    std::printf("== %s: %s ==\n", section.name, section.about);
    std::fflush(stdout);
    try {
      section.run();
    } catch (const std::exception& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "bench: section %s failed: %s\n", section.name, e.what());
      return 1;
    }
    std::printf("\n");
    ran_any = true;
  }
  if (!ran_any) {
    std::fprintf(stderr, "bench: no section named like that; `bench --list` shows them\n");
    return 1;
  }
  return 0;
}
