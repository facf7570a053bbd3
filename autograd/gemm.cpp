// gemm.cpp — the reference triple loop and the fast blocked kernel (see gemm.h).
// The fast kernel is the classic GotoBLAS/BLIS layering, in plain C++:
//   for each block of columns of C:
//     pack that block of op(B), every depth block, into column panels (zero-padded);
//     split the row tiles of C across threads; each thread, per row block and depth block:
//       packs those rows of op(A) into row panels,
//       runs the micro-kernel on every 6 x 16 tile: a register-resident product.
// Packing turns every transpose case into the same contiguous micro-kernel, so backward
// never copies a transposed operand. Why it is fast: the 6 x 16 accumulators stay in
// registers, and each step loads one row of 16 values of B and six values of A for 96
// multiply-adds. Why it is deterministic: each element of C is the sum of its depth
// blocks (fixed at 256), in order, each a chain of multiply-adds from zero in the same
// order, whichever thread computes it; tile edges depend only on M and N.
#include "autograd/gemm.h"

#include <algorithm>
#include <vector>

#include "autograd/thread_pool.h"

namespace crossgrad {

namespace {

// Tile and block sizes (BLIS calls them MR, NR, KC, MC, NC). A tile of C is 6 rows by
// 64 bytes of columns (16 floats or 8 doubles): 6 accumulators of 512 bits with AVX-512,
// 12 of 256 bits with AVX2, out of 32 or 16 vector registers.
constexpr std::size_t kTileRows = 6;
constexpr std::size_t kTileCols = 64 / sizeof(real);
constexpr std::size_t kDepthBlock = 256;  // a B tile (depth x 16 floats, 16 KB) fits in L1
constexpr std::size_t kRowBlock = 16 * kTileRows;  // packed A rows (96 x 256, 96 KB) in L2
constexpr std::size_t kColBlock = 64 * kTileCols;  // a depth block of packed B (1 MB) in L2
// op(B) is packed a column block at a time, all K deep, in at most this many elements
// (16 MB of floats): a very deep K narrows the column block instead.
constexpr std::size_t kPackedBLimit = std::size_t(1) << 22;
// Fewer floating-point operations than this per task and a worker's wake-up (about 16 us
// on a 2-core VM, `build/bench pool`) costs more than the split saves.
constexpr double kMinFlopsPerTask = 1 << 20;

std::size_t round_up(std::size_t n, std::size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

// op(A) and op(B) seen alike, as `lanes` x depth K: the lanes of op(A) are its rows, those
// of op(B) its columns. The transpose flags only swap the two strides.
struct Operand {
  const real* data;
  std::size_t lane_stride, depth_stride;
  const real* at(std::size_t lane, std::size_t k) const {
    return data + lane * lane_stride + k * depth_stride;
  }
};

struct Problem {
  Operand a, b;  // op(A): M x K, op(B): K x N
  std::size_t M, N, K;
  real* c;
  std::size_t ldc;
  bool accumulate;
  const real* bias;  // N values added to every row, or nullptr
};

// Packing copies kLanes lanes of an operand over `depth` into a panel that the micro-kernel
// reads front to back: panel[p * kLanes + lane]. In a full panel the lane count is a
// constant, so the copies vectorise; loops follow whichever stride is contiguous.
template <std::size_t kLanes>
void pack_full_panel(Operand src, std::size_t lane0, std::size_t k0, std::size_t depth,
                     real* panel) {
  const real* from = src.at(lane0, k0);
  if (src.lane_stride == 1) {  // each depth step reads kLanes contiguous values
    for (std::size_t p = 0; p < depth; ++p)
      for (std::size_t l = 0; l < kLanes; ++l)
        panel[p * kLanes + l] = from[p * src.depth_stride + l];
  } else {  // each lane is contiguous along the depth
    for (std::size_t l = 0; l < kLanes; ++l)
      for (std::size_t p = 0; p < depth; ++p)
        panel[p * kLanes + l] = from[l * src.lane_stride + p * src.depth_stride];
  }
}

// The last panel of a ragged edge: lanes past `lanes` are zero, so edge tiles run the same
// full-size micro-kernel as every other tile.
template <std::size_t kLanes>
void pack_edge_panel(Operand src, std::size_t lane0, std::size_t lanes, std::size_t k0,
                     std::size_t depth, real* panel) {
  std::fill_n(panel, depth * kLanes, real(0));
  for (std::size_t l = 0; l < lanes; ++l)
    for (std::size_t p = 0; p < depth; ++p) panel[p * kLanes + l] = *src.at(lane0 + l, k0 + p);
}

// Lanes [lane0, lane0 + lanes) of an operand over one depth block, as consecutive panels.
template <std::size_t kLanes>
void pack(Operand src, std::size_t lane0, std::size_t lanes, std::size_t k0, std::size_t depth,
          real* packed) {
  std::size_t t = 0;
  for (; t + kLanes <= lanes; t += kLanes)
    pack_full_panel<kLanes>(src, lane0 + t, k0, depth, packed + t * depth);
  if (t < lanes) pack_edge_panel<kLanes>(src, lane0 + t, lanes - t, k0, depth, packed + t * depth);
}

// The micro-kernel: one 6 x 16 tile of C (rows x cols of it valid) gets the product of a
// packed A panel and a packed B panel over `depth`: C = acc, or C += acc when `add`, or
// C = acc + bias (the tile's columns of it) when `bias` is given.
// GCC must vectorise the j loop (64 bytes) and unroll i into 6 rows of register
// accumulators. Left alone it fully unrolls i and j first and then vectorises the p loop
// as a reduction with shuffles, 10x slower; `unroll 1` keeps j a loop until the
// vectoriser has seen it. (Check with objdump -d: vfmadd231ps on ymm or zmm registers.)
void multiply_tile(std::size_t depth, const real* __restrict a, const real* __restrict b,
                   real* c, std::size_t ldc, std::size_t rows, std::size_t cols, bool add,
                   const real* bias) {
  real acc[kTileRows][kTileCols] = {};
  std::size_t p = 0;
  do {  // depth >= 1; saying so saves a memset of acc's stack copy on every tile
    for (std::size_t i = 0; i < kTileRows; ++i) {
      const real a_ip = a[p * kTileRows + i];
#pragma GCC unroll 1
      for (std::size_t j = 0; j < kTileCols; ++j) acc[i][j] += a_ip * b[p * kTileCols + j];
    }
  } while (++p < depth);
  for (std::size_t i = 0; i < rows; ++i) {
    real* c_row = c + i * ldc;
    if (bias && cols == kTileCols) {  // a fixed bound: whole-vector loads and stores
      for (std::size_t j = 0; j < kTileCols; ++j) c_row[j] = acc[i][j] + bias[j];
    } else if (bias) {
      for (std::size_t j = 0; j < cols; ++j) c_row[j] = acc[i][j] + bias[j];
    } else if (cols == kTileCols) {
      for (std::size_t j = 0; j < kTileCols; ++j)
        c_row[j] = add ? c_row[j] + acc[i][j] : acc[i][j];
    } else {
      for (std::size_t j = 0; j < cols; ++j) c_row[j] = add ? c_row[j] + acc[i][j] : acc[i][j];
    }
  }
}

// Row tiles [first, last) of C times columns [col0, col0 + cols) of op(B), already packed
// (every depth block, one after another). A is packed a row block and depth block at a
// time into this thread's buffer.
void multiply_rows(const Problem& g, std::size_t first, std::size_t last, std::size_t col0,
                   std::size_t cols, const real* packed_b) {
  thread_local std::vector<real> packed_a;
  packed_a.resize(std::max(packed_a.size(), kRowBlock * kDepthBlock));
  const std::size_t end = std::min(last * kTileRows, g.M);
  for (std::size_t row0 = first * kTileRows; row0 < end; row0 += kRowBlock) {
    const std::size_t rows = std::min(kRowBlock, end - row0);
    for (std::size_t k0 = 0; k0 < g.K; k0 += kDepthBlock) {
      const std::size_t depth = std::min(kDepthBlock, g.K - k0);
      pack<kTileRows>(g.a, row0, rows, k0, depth, packed_a.data());
      const real* b_block = packed_b + k0 * round_up(cols, kTileCols);
      const bool add = g.accumulate || k0 > 0;
      const real* bias = g.bias && k0 == 0 ? g.bias + col0 : nullptr;  // with the first sums
      for (std::size_t j = 0; j < cols; j += kTileCols) {   // a B panel stays in L1 ...
        for (std::size_t i = 0; i < rows; i += kTileRows) {  // ... while A panels stream by
          multiply_tile(depth, packed_a.data() + i * depth, b_block + j * depth,
                        g.c + (row0 + i) * g.ldc + col0 + j, g.ldc,
                        std::min(kTileRows, rows - i), std::min(kTileCols, cols - j), add,
                        bias ? bias + j : nullptr);
        }
      }
    }
  }
}

// Columns [col0, col0 + cols) of op(B), every depth block one after another, into this
// thread's buffer: what multiply_rows reads.
const real* pack_columns(const Problem& g, std::size_t col0, std::size_t cols) {
  thread_local std::vector<real> packed_b;
  const std::size_t width = round_up(cols, kTileCols);
  packed_b.resize(std::max(packed_b.size(), width * g.K));
  for (std::size_t k0 = 0; k0 < g.K; k0 += kDepthBlock)
    pack<kTileCols>(g.b, col0, cols, k0, std::min(kDepthBlock, g.K - k0),
                    packed_b.data() + k0 * width);
  return packed_b.data();
}

// One gemm, parallel over row tiles of C, or over column tiles when C is wider than tall
// (a weight gradient, out x in, summed over ~600 token rows). Each task packs the part of
// op(B) it reads itself: packing it once on the calling thread made the other core read
// every packed value out of this core's cache, which cost more than packing it twice (a
// 64 x 256 x 600 product ran slower on 2 threads than on 1). Which tiles a task gets
// never changes what an element's sum is, so results do not depend on the split.
void run(const Problem& g) {
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0) {  // an empty sum: C = 0 (or the bias), or C unchanged when accumulating
    if (g.accumulate) return;
    for (std::size_t i = 0; i < g.M; ++i) {
      if (g.bias) std::copy(g.bias, g.bias + g.N, g.c + i * g.ldc);
      else std::fill_n(g.c + i * g.ldc, g.N, real(0));
    }
    return;
  }
  const std::size_t block_cols =
      std::clamp(kPackedBLimit / g.K / kTileCols * kTileCols, kTileCols, kColBlock);
  const std::size_t row_tiles = (g.M + kTileRows - 1) / kTileRows;
  for (std::size_t col0 = 0; col0 < g.N; col0 += block_cols) {
    const std::size_t cols = std::min(block_cols, g.N - col0);
    const std::size_t col_tiles = (cols + kTileCols - 1) / kTileCols;
    const double tile_flops = 2.0 * kTileRows * kTileCols * double(g.K);
    if (g.M < cols && col_tiles > 1) {  // split the columns: each task packs all of op(A)
      const auto grain = static_cast<std::size_t>(kMinFlopsPerTask / (tile_flops * row_tiles)) + 1;
      parallel_for(col_tiles, [&](std::size_t first, std::size_t last) {
        const std::size_t c0 = col0 + first * kTileCols;
        const std::size_t n = std::min(last * kTileCols, cols) - first * kTileCols;
        multiply_rows(g, 0, row_tiles, c0, n, pack_columns(g, c0, n));
      }, grain);
    } else {  // split the rows: each task packs all of this block of op(B)
      const auto grain = static_cast<std::size_t>(kMinFlopsPerTask / (tile_flops * col_tiles)) + 1;
      parallel_for(row_tiles, [&](std::size_t first, std::size_t last) {
        multiply_rows(g, first, last, col0, cols, pack_columns(g, col0, cols));
      }, grain);
    }
  }
}

Operand operand_a(const real* A, std::size_t lda, bool trans_a) {
  return trans_a ? Operand{A, 1, lda} : Operand{A, lda, 1};  // A is K x M, or M x K
}
Operand operand_b(const real* B, std::size_t ldb, bool trans_b) {
  return trans_b ? Operand{B, ldb, 1} : Operand{B, 1, ldb};  // B is N x K, or K x N
}

}  // namespace

void gemm_reference(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
                    const real* A, std::size_t lda, const real* B, std::size_t ldb, real* C,
                    std::size_t ldc, bool accumulate, const real* bias) {
  if (bias && accumulate) fail("gemm_reference: a bias is only added without accumulate");
  const auto a = [&](std::size_t i, std::size_t p) {  // op(A)[i][p]
    return trans_a ? A[p * lda + i] : A[i * lda + p];
  };
  const auto b = [&](std::size_t p, std::size_t j) {  // op(B)[p][j]
    return trans_b ? B[j * ldb + p] : B[p * ldb + j];
  };
  for (std::size_t i = 0; i < M; ++i) {
    for (std::size_t j = 0; j < N; ++j) {
      real sum = 0;  // C[i][j] = Σ_p op(A)[i][p] · op(B)[p][j]
      for (std::size_t p = 0; p < K; ++p) sum += a(i, p) * b(p, j);
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + sum : bias ? sum + bias[j] : sum;
    }
  }
}

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
          const real* A, std::size_t lda, const real* B, std::size_t ldb, real* C,
          std::size_t ldc, bool accumulate, const real* bias) {
  if (bias && accumulate) fail("gemm: a bias is only added without accumulate");
  run(Problem{operand_a(A, lda, trans_a), operand_b(B, ldb, trans_b), M, N, K, C, ldc,
              accumulate, bias});
}

void gemm_batched(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
                  std::size_t batch, const real* const* A, std::size_t lda,
                  const real* const* B, std::size_t ldb, real* const* C, std::size_t ldc,
                  bool accumulate) {
  const auto item = [&](std::size_t i) {
    run(Problem{operand_a(A[i], lda, trans_a), operand_b(B[i], ldb, trans_b), M, N, K, C[i],
                ldc, accumulate, nullptr});
  };
  // Either way each item is computed by run(), so the split changes speed, not results.
  const double flops_per_item = 2.0 * M * N * K;
  const std::size_t threads = num_threads();
  const bool over_batch = batch >= 4 * threads || flops_per_item < threads * kMinFlopsPerTask;
  if (!over_batch) {
    for (std::size_t i = 0; i < batch; ++i) item(i);  // each item split over row tiles
    return;
  }
  const auto grain = static_cast<std::size_t>(kMinFlopsPerTask / (flops_per_item + 1)) + 1;
  parallel_for(batch, [&](std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) item(i);
  }, grain);
}

}  // namespace crossgrad
