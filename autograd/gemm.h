// gemm.h — matrix multiply kernels: C (+)= op(A) · op(B), op(X) = X or Xᵀ.
// gemm_reference is the plain triple loop, the definition of what the fast kernels compute;
// gemm packs panels of A and B and runs a register-tiled micro-kernel (plain C++ loops
// that GCC turns into packed FMAs at -O3 -march=native). matmul's backward passes the
// transpose flags instead of copying transposed operands.
// Read next: gemm.cpp (the blocking and the micro-kernel), then thread_pool.h.
#pragma once

#include <cstddef>

#include "autograd/shape.h"

namespace crossgrad {

// Row-major, with leading dimensions (the distance between rows in memory):
//   op(A) is M x K: A is M x K (lda >= K), or K x M when trans_a (lda >= M);
//   op(B) is K x N: B is K x N (ldb >= N), or N x K when trans_b (ldb >= K);
//   C is M x N (ldc >= N) and must not overlap A or B.
// accumulate: C += op(A) op(B); otherwise C = op(A) op(B) (C's old values are ignored).
// bias (N values, only without accumulate): C = op(A) op(B) + bias on every row, the bias
// added to each sum as it is stored (linear's x Wᵀ + b without a second pass over C).
void gemm_reference(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
                    const real* A, std::size_t lda, const real* B, std::size_t ldb, real* C,
                    std::size_t ldc, bool accumulate, const real* bias = nullptr);

// The same contract, fast and multi-threaded (over row blocks of C). Each element of C is
// computed by the same sequence of operations for any thread count, so results are
// bit-identical for any num_threads(); they differ from gemm_reference only by rounding
// (a different summation order, and fused multiply-adds where the CPU has them).
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
          const real* A, std::size_t lda, const real* B, std::size_t ldb, real* C,
          std::size_t ldc, bool accumulate, const real* bias = nullptr);

// `batch` independent gemms of one size, C[i] (+)= op(A[i]) op(B[i]), as in attention's
// (B*H) x (T, Dh) @ (Dh, S). Pointers may repeat among A and among B (broadcasting), but
// the C[i] must not overlap one another. Parallel over the batch when it is large, over
// row blocks of each C[i] when it is not; bit-identical to calling gemm on each item.
void gemm_batched(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K,
                  std::size_t batch, const real* const* A, std::size_t lda,
                  const real* const* B, std::size_t ldb, real* const* C, std::size_t ldc,
                  bool accumulate);

}  // namespace crossgrad
