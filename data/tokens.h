// tokens.h — a batch of token-id sequences as a (rows, cols) matrix: the one type that
// data/ hands to nn/. Rows are sequences, padded with PAD to a common length.
// Read next: data/batch.h (how batches are made), nn/transformer.h (how they are read).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/shape.h"

namespace crossgrad {

// The special ids every vocabulary starts with (DESIGN.md: PAD=0, BOS=1, EOS=2).
inline constexpr std::int64_t PAD = 0;
inline constexpr std::int64_t BOS = 1;
inline constexpr std::int64_t EOS = 2;

struct TokenMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<std::int64_t> ids;  // rows * cols, row-major

  TokenMatrix() = default;
  TokenMatrix(std::size_t rows, std::size_t cols, std::int64_t fill = PAD)
      : rows(rows), cols(cols), ids(rows * cols, fill) {}
  std::int64_t at(std::size_t row, std::size_t col) const { return ids[row * cols + col]; }
  std::int64_t& at(std::size_t row, std::size_t col) { return ids[row * cols + col]; }
  Shape shape() const { return {rows, cols}; }
};

}  // namespace crossgrad
