// bench_attention.h — build/bench's `attention` section: what attention costs as sequences
// grow. Self-attention compares every position with every other, so its time grows as L²;
// cross-attention compares each of T target positions with each of S source positions, so
// its time grows as T × S. The section times the fused op (and the whole MultiHeadAttention,
// whose projections grow only as L), prints both tables and writes them as an SVG plot.
// Times are never asserted on; a non-finite output is an error.
#pragma once

#include <string>

namespace crossgrad::bench {

// The standard model's attention (D 64, 4 heads, batch 8), forward only, 1 thread: the
// best of a few trials per shape. Writes the plot to `svg_path` (atomically).
void attention(const std::string& svg_path = "build/bench-attention.svg");

}  // namespace crossgrad::bench
