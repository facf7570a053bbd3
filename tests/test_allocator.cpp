// Tests for autograd/allocator.cpp: size classes, blocks kept and handed back, zeroed and
// uninitialised buffers, the counters, allocation from several threads at once, and the
// point of it all: after its first step, a training step asks the system for no new memory.
#include <thread>

#include "nn/optim.h"
#include "nn/transformer.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

TEST_CASE("Buffer: zeros are zero, sizes are kept, moves hand the block over") {
  Buffer zeros = Buffer::zeros(1000);
  REQUIRE(zeros.size() == 1000);
  for (real v : zeros) CHECK(v == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(zeros.data()) % 64 == 0);  // a cache line
  real* block = zeros.data();
  Buffer moved = std::move(zeros);
  CHECK(moved.data() == block);
  CHECK(zeros.empty());  // NOLINT: a moved-from buffer is empty by contract
  CHECK(Buffer(0).data() == nullptr);
}

TEST_CASE("allocator: a freed block is handed to the next request of its size class") {
  if (!allocator_keeps_freed_blocks()) return;  // AddressSanitizer: every block is new
  const real* first = nullptr;
  {
    Buffer a(1000);  // 4,000 or 8,000 bytes: a class of 1/4 power-of-two steps
    first = a.data();
  }
  {
    Buffer same_class(999);  // rounds to the same class: the same block comes back
    CHECK(same_class.data() == first);
  }
  const AllocatorStats before = allocator_stats();
  { Buffer again(1000); }
  { Buffer again(1000); }
  const AllocatorStats after = allocator_stats();
  CHECK(after.requests == before.requests + 2);
  CHECK(after.heap_allocations == before.heap_allocations);  // both served from the cache
  CHECK(after.requested_bytes == before.requested_bytes + 2 * 1000 * sizeof(real));
}

TEST_CASE("allocator: live and cached bytes follow buffers in and out of use") {
  const AllocatorStats start = allocator_stats();
  Buffer big(1 << 16);
  CHECK(allocator_stats().live_bytes >= start.live_bytes + (std::uint64_t(1) << 16) * sizeof(real));
  big.reset();
  CHECK(allocator_stats().live_bytes == start.live_bytes);
  if (allocator_keeps_freed_blocks())
    CHECK(allocator_stats().cached_bytes >= (std::uint64_t(1) << 16) * sizeof(real));
  release_cached_blocks();
  CHECK(allocator_stats().cached_bytes == 0);
}

TEST_CASE("allocator: threads allocate and free at once without losing a block") {
  const std::uint64_t live_before = allocator_stats().live_bytes;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 2000; ++i) {
        Buffer b = Buffer::zeros(std::size_t(1 + (i * 7 + t) % 300));
        b[0] = real(i);
      }
    });
  for (std::thread& thread : threads) thread.join();
  CHECK(allocator_stats().live_bytes == live_before);
}

TEST_CASE("allocator: after two steps, a training step asks the system for nothing") {
  // Buffers, graph nodes and storages all come back from the cache; parameter gradients
  // are set to none by zero_grad and their blocks taken back by the next backward. (The
  // second step may still need a block more than the first: each attention keeps its last
  // weights for pictures, so the first step's are alive while the second's are made.)
  if (!allocator_keeps_freed_blocks()) return;
  nn::Seq2SeqTransformer model(tiny_config(8), 3);
  optim::Adam adam(model.parameters(), optim::AdamOptions{});
  const TokenMatrix src = tokens(2, 4, {3, 4, 5, EOS, 6, EOS, PAD, PAD});
  const TokenMatrix tgt_in = tokens(2, 3, {BOS, 5, 4, BOS, 6, PAD});
  const TokenMatrix labels = tokens(2, 3, {5, 4, EOS, 6, EOS, PAD});
  std::vector<std::uint64_t> heap_allocations;
  for (int step = 0; step < 4; ++step) {
    const std::uint64_t before = allocator_stats().heap_allocations;
    adam.zero_grad();
    nn::sequence_cross_entropy(model.forward(src, tgt_in), labels).backward();
    adam.step();
    heap_allocations.push_back(allocator_stats().heap_allocations - before);
  }
  CHECK(heap_allocations[0] > 0);
  CHECK(heap_allocations[2] == 0);
  CHECK(heap_allocations[3] == 0);
}
