// bench_model.h — build/bench's sections on the whole standard model (docs/architecture.md):
// the speed and memory of a training step, and of greedy decoding with and without the cache.
// The kernel-level sections (gemm, pool) live in examples/bench.cpp itself.
// Each section prints one small table and throws crossgrad::Error if a computation fails
// (a non-finite loss, gradient norm or log-probability); times are never asserted on.
#pragma once

#include <cstdint>

namespace crossgrad::bench {

// Every heap allocation of the program so far (operator new calls and bytes), when the
// program counts them (build/bench replaces operator new to do so); nullptr otherwise.
struct HeapCount {
  std::uint64_t allocations = 0, bytes = 0;
};
using HeapCounter = HeapCount (*)();

// Batches of 64 reversal examples (lengths 1..16, seeded) through the full step — forward,
// sequence_cross_entropy, zero_grad, backward, clip_grad_norm 1.0, Adam — at 1 and 2
// threads: median and p90 ms per step after warm-up, each phase's median, peak memory, and
// the heap allocations of a step after the first (all of them when `heap` is given, and
// those of the tensor allocator's cache).
void train_step(HeapCounter heap = nullptr);

// The standard step side by side with its PyTorch twin (examples/pytorch/seq2seq_twin.py),
// when a python3 that imports torch is found ($CROSSGRAD_PYTHON, python3, /usr/bin/python3):
// at 1 and 2 threads, alternating the two programs for a few rounds on the same machine,
// the median step of each and their ratio. Without torch, or with a PyTorch that did not
// load OpenBLAS (its times would measure the reference BLAS), it says so and prints no ratio.
void compare();

// The standard step under the profiler (autograd/profiler.h), 1 thread: after 5 warm-up
// steps, 20 profiled ones, then the table of time and memory per op, forward and backward.
void profile();

// greedy_decode of 1,000 held-out reversal sources in batches of 250 with the untrained
// standard model, with and without the decoder cache: ms and generated tokens per second.
void decode();

}  // namespace crossgrad::bench
