// token_matrix.h — a (rows, cols) matrix of int64 token ids, row-major: what the embedding op
// and the loss read their ids from, and what data/ hands to nn/. It knows no vocabulary:
// which id pads a row is the model's config (nn/transformer.h) and the data's (data/vocab.h).
// Read next: ops.h (embedding and cross_entropy take ids as integer vectors).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "autograd/shape.h"

namespace crossgrad {

struct TokenMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<std::int64_t> ids;  // rows * cols, row-major

  TokenMatrix() = default;
  // rows * cols entries, each `fill`. A product that overflows size_t is an error, not a
  // silently small buffer behind a huge shape.
  TokenMatrix(std::size_t rows, std::size_t cols, std::int64_t fill = 0)
      : rows(rows), cols(cols), ids(checked_size(rows, cols), fill) {}

  // Entry (row, col); outside the matrix is an error naming row, col and the shape.
  std::int64_t at(std::size_t row, std::size_t col) const { return ids[index(row, col)]; }
  std::int64_t& at(std::size_t row, std::size_t col) { return ids[index(row, col)]; }
  Shape shape() const { return {rows, cols}; }

 private:
  static std::size_t checked_size(std::size_t rows, std::size_t cols) {
    if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / cols)
      fail("TokenMatrix: rows * cols overflows for shape " + to_string(Shape{rows, cols}));
    return rows * cols;
  }
  // rows, cols and ids are public and may disagree after a caller's edit: checked too.
  std::size_t index(std::size_t row, std::size_t col) const {
    if (row >= rows || col >= cols || row * cols + col >= ids.size())
      fail("TokenMatrix::at: (row " + std::to_string(row) + ", col " + std::to_string(col) +
           ") is outside a matrix of shape " + to_string(shape()) + " holding " +
           std::to_string(ids.size()) + " ids");
    return row * cols + col;
  }
};

}  // namespace crossgrad
