// Tests for autograd/token_matrix.h: a matrix filled and read by hand, a shape whose
// rows * cols overflows refused instead of wrapping to a small buffer, and every index
// outside the matrix (a row, a column, or ids shrunk behind the shape) an error naming it.
#include <cstdint>
#include <limits>

#include "testing.h"

using namespace crossgrad;

TEST_CASE("TokenMatrix: rows * cols ids, row-major, filled with the given id") {
  TokenMatrix m(2, 3, 7);
  CHECK(m.shape() == Shape{2, 3});
  CHECK(m.ids == std::vector<std::int64_t>(6, 7));
  m.at(1, 2) = 4;  // the last id: row 1 starts at 3, + col 2
  CHECK(m.ids[5] == 4);
  CHECK(m.at(1, 2) == 4);
  const TokenMatrix zeros(1, 2);
  CHECK(zeros.ids == std::vector<std::int64_t>{0, 0});
  CHECK(TokenMatrix(0, 5).ids.empty());
}

TEST_CASE("TokenMatrix: a shape whose rows * cols overflows is an error, not a small buffer") {
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  const std::size_t half = std::size_t(1) << (std::numeric_limits<std::size_t>::digits / 2);
  // 2^32 · 2^32 (on 64 bits) wraps to 0, and (max/2 + 1) · 2 wraps to 0: both would make an
  // empty vector behind a huge shape.
  CHECK_THROWS_WITH_AS(TokenMatrix(half, half),
                       doctest::Contains("TokenMatrix: rows * cols overflows for shape"), Error);
  CHECK_THROWS_WITH_AS(TokenMatrix(max / 2 + 1, 2), doctest::Contains("overflows"), Error);
  CHECK_THROWS_WITH_AS(TokenMatrix(3, max), doctest::Contains("overflows"), Error);
}

TEST_CASE("TokenMatrix: at() outside the matrix names the row, the column and the shape") {
  TokenMatrix m(2, 3);
  const TokenMatrix& read_only = m;
  CHECK_THROWS_WITH_AS(m.at(2, 0),
                       doctest::Contains("TokenMatrix::at: (row 2, col 0) is outside a matrix of "
                                         "shape (2,3) holding 6 ids"),
                       Error);
  // Column 3 of row 0 is inside the buffer (it is id (1, 0)), but not inside the row.
  CHECK_THROWS_WITH_AS(read_only.at(0, 3), doctest::Contains("(row 0, col 3)"), Error);
  // rows, cols and ids are public: ids shrunk behind the shape are caught too.
  m.ids.resize(4);
  CHECK_THROWS_WITH_AS(read_only.at(1, 1), doctest::Contains("holding 4 ids"), Error);
  CHECK(m.at(1, 0) == 0);  // index 3, still inside
}
