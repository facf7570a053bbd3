// Tests for autograd/gemm.cpp: the fast kernel agrees with the reference triple loop on odd
// shapes, every transpose combination, padded leading dimensions and accumulate; results
// are bit-identical for any thread count; the batched entry equals one gemm per item.
#include <cmath>
#include <cstring>
#include <limits>

#include "autograd/gemm.h"
#include "autograd/thread_pool.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

std::vector<real> random_values(std::size_t n, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<real> values(n);
  for (real& v : values) v = gen.uniform(-1, 1);
  return values;
}

// One gemm problem with operands stored as the transpose flags say, rows padded by 3
// elements so leading dimensions differ from the logical widths.
struct Case {
  bool trans_a, trans_b;
  std::size_t M, N, K;
  std::size_t lda() const { return (trans_a ? M : K) + 3; }
  std::size_t ldb() const { return (trans_b ? K : N) + 3; }
  std::size_t ldc() const { return N + 3; }
  std::vector<real> A = random_values((trans_a ? K : M) * lda(), 1);
  std::vector<real> B = random_values((trans_b ? N : K) * ldb(), 2);
  std::vector<real> C0 = random_values(M * ldc(), 3);  // what accumulate adds to

  std::vector<real> run(bool fast, bool accumulate) const {
    std::vector<real> C = C0;
    (fast ? gemm : gemm_reference)(trans_a, trans_b, M, N, K, A.data(), lda(), B.data(),
                                   ldb(), C.data(), ldc(), accumulate, nullptr);
    return C;
  }
  real a(std::size_t i, std::size_t p) const {  // op(A)[i][p]
    return trans_a ? A[p * lda() + i] : A[i * lda() + p];
  }
  real b(std::size_t p, std::size_t j) const {  // op(B)[p][j]
    return trans_b ? B[j * ldb() + p] : B[p * ldb() + j];
  }
};

// Why this tolerance: any order of summing K products (blocked, with or without fused
// multiply-adds), plus one final add of C's old value, lands within γ(K+1)·(Σ_p |a_ip b_pj|
// + |c_ij|) of the exact sum, where γ(n) = n·u / (1 - n·u) and u is the unit roundoff
// (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). The reference and the
// fast kernel each obey that bound, so they differ by at most twice it. Padding elements
// (the +3 past each row) must be left untouched exactly.
void check_agreement(const Case& c, bool accumulate) {
  const std::vector<real> fast = c.run(true, accumulate), slow = c.run(false, accumulate);
  const double u = std::numeric_limits<real>::epsilon() / 2;
  const double n = double(c.K) + 1;
  const double gamma = n * u / (1 - n * u);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < c.M; ++i) {
    for (std::size_t j = 0; j < c.ldc(); ++j) {
      const std::size_t at = i * c.ldc() + j;
      if (j >= c.N) {
        bad += fast[at] != c.C0[at];
        continue;
      }
      double magnitude = accumulate ? std::abs(double(c.C0[at])) : 0;
      for (std::size_t p = 0; p < c.K; ++p)
        magnitude += std::abs(double(c.a(i, p)) * double(c.b(p, j)));
      bad += std::abs(double(fast[at]) - double(slow[at])) > 2 * gamma * magnitude;
    }
  }
  INFO("trans_a " << c.trans_a << ", trans_b " << c.trans_b << ", M " << c.M << ", N " << c.N
                  << ", K " << c.K << ", accumulate " << accumulate);
  CHECK(bad == 0);
}

bool bit_identical(const std::vector<real>& x, const std::vector<real>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(real)) == 0;
}

}  // namespace

TEST_CASE("gemm: 2x2 by hand, in each transpose combination") {
  // [1 2; 3 4] · [5 6; 7 8] = [1·5 + 2·7, 1·6 + 2·8; 3·5 + 4·7, 3·6 + 4·8] = [19 22; 43 50]
  const std::vector<real> A{1, 2, 3, 4}, At{1, 3, 2, 4}, B{5, 6, 7, 8}, Bt{5, 7, 6, 8};
  for (bool trans_a : {false, true}) {
    for (bool trans_b : {false, true}) {
      std::vector<real> C(4, 100);
      gemm(trans_a, trans_b, 2, 2, 2, (trans_a ? At : A).data(), 2, (trans_b ? Bt : B).data(),
           2, C.data(), 2, false);
      CHECK(C == std::vector<real>{19, 22, 43, 50});
      gemm(trans_a, trans_b, 2, 2, 2, (trans_a ? At : A).data(), 2, (trans_b ? Bt : B).data(),
           2, C.data(), 2, true);
      CHECK(C == std::vector<real>{38, 44, 86, 100});
    }
  }
}

TEST_CASE("gemm: matches gemm_reference on odd shapes, all transposes, with accumulate") {
  const std::size_t sizes[] = {1, 7, 17, 65, 130};
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true})
      for (std::size_t M : sizes)
        for (std::size_t N : sizes)
          for (std::size_t K : sizes) {
            const Case c{trans_a, trans_b, M, N, K};
            check_agreement(c, false);
            check_agreement(c, true);
          }
}

TEST_CASE("gemm: matches gemm_reference across depth and column blocks") {
  // K = 300 spans two depth blocks of 256; N = 1100 spans two column blocks in float32
  // (1024 columns) and three in float64 (512).
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true}) {
      check_agreement(Case{trans_a, trans_b, 13, 9, 300}, true);
      check_agreement(Case{trans_a, trans_b, 7, 1100, 5}, false);
      check_agreement(Case{trans_a, trans_b, 200, 20, 600}, false);
    }
}

TEST_CASE("gemm: K = 0 writes zeros, or leaves C unchanged when accumulating") {
  std::vector<real> C{1, 2, 3, 4};
  gemm(false, false, 2, 2, 0, nullptr, 1, nullptr, 2, C.data(), 2, true);
  CHECK(C == std::vector<real>{1, 2, 3, 4});
  gemm(false, false, 2, 2, 0, nullptr, 1, nullptr, 2, C.data(), 2, false);
  CHECK(C == std::vector<real>{0, 0, 0, 0});
}

TEST_CASE("gemm: a bias is added to every row as the sums are stored") {
  // [1 2; 3 4] · [5 6; 7 8] + [0.5, -1] = [19.5 21; 43.5 49]
  const std::vector<real> A{1, 2, 3, 4}, B{5, 6, 7, 8}, bias{0.5, -1};
  std::vector<real> C(4, 100);
  gemm(false, false, 2, 2, 2, A.data(), 2, B.data(), 2, C.data(), 2, false, bias.data());
  CHECK(C == std::vector<real>{19.5, 21, 43.5, 49});
  gemm_reference(false, false, 2, 2, 2, A.data(), 2, B.data(), 2, C.data(), 2, false,
                 bias.data());
  CHECK(C == std::vector<real>{19.5, 21, 43.5, 49});
  gemm(false, false, 2, 2, 0, nullptr, 1, nullptr, 2, C.data(), 2, false, bias.data());
  CHECK(C == std::vector<real>{0.5, -1, 0.5, -1});  // K = 0: the bias alone
  // Odd shapes, one and two depth blocks, every transpose: within rounding of the reference.
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true})
      for (const Shape& mnk : {Shape{17, 13, 64}, Shape{65, 130, 300}}) {
        const Case c{trans_a, trans_b, mnk[0], mnk[1], mnk[2]};
        const std::vector<real> row_bias = random_values(c.N, 4);
        std::vector<real> fast = c.C0, slow = c.C0;
        gemm(trans_a, trans_b, c.M, c.N, c.K, c.A.data(), c.lda(), c.B.data(), c.ldb(),
             fast.data(), c.ldc(), false, row_bias.data());
        gemm_reference(trans_a, trans_b, c.M, c.N, c.K, c.A.data(), c.lda(), c.B.data(),
                       c.ldb(), slow.data(), c.ldc(), false, row_bias.data());
        double largest = 0;
        for (std::size_t i = 0; i < fast.size(); ++i)
          largest = std::max(largest, std::abs(double(fast[i]) - double(slow[i])));
        CHECK(largest < (kDoublePrecision ? 1e-12 : 1e-4) * double(c.K));
      }
  CHECK_THROWS_WITH_AS(gemm(false, false, 2, 2, 2, A.data(), 2, B.data(), 2, C.data(), 2, true,
                            bias.data()),
                       "gemm: a bias is only added without accumulate", Error);
}

TEST_CASE("gemm: results are bit-identical with 1, 2 and 3 threads") {
  // The Linear shapes of the standard model (64 x 17 tokens, d_model 64, feed-forward 256),
  // forward and both backward products, plus a case with several depth blocks. The weight
  // gradients of 64-wide outputs (64 x 256 and 64 x 64 over 600 tokens) and the last two
  // cases are wider than tall: their work is split by columns, with ragged edges.
  const Case cases[] = {{false, true, 1088, 256, 64},  {false, false, 1088, 64, 256},
                        {true, false, 256, 64, 1088},  {true, false, 64, 256, 600},
                        {true, false, 64, 64, 600},    {false, false, 130, 65, 600},
                        {true, true, 31, 1100, 300},   {false, true, 7, 1037, 700}};
  for (const Case& c : cases) {
    std::vector<std::vector<real>> results;
    for (std::size_t threads : {1, 2, 3}) {
      ThreadCount count(threads);
      results.push_back(c.run(true, true));
    }
    INFO("M " << c.M << ", N " << c.N << ", K " << c.K);
    CHECK(bit_identical(results[0], results[1]));
    CHECK(bit_identical(results[0], results[2]));
  }
}

TEST_CASE("gemm_batched: equals gemm on each item bit for bit, for any thread count") {
  // Attention's shapes: (B*H) = 256 items of (17, 16) @ (16, 17), B shared by pairs of
  // items (broadcast), and a small batch of large items (split over rows instead).
  struct Batch { std::size_t items, M, N, K; };
  for (const Batch& shape : {Batch{256, 17, 17, 16}, Batch{3, 300, 70, 40}}) {
    const std::size_t a_size = shape.M * shape.K, b_size = shape.K * shape.N;
    const std::size_t c_size = shape.M * shape.N;
    const std::vector<real> A = random_values(shape.items * a_size, 4);
    const std::vector<real> B = random_values(shape.items * b_size, 5);
    std::vector<real> expected = random_values(shape.items * c_size, 6);
    std::vector<std::vector<real>> got(3, expected);
    for (std::size_t i = 0; i < shape.items; ++i)
      gemm(false, true, shape.M, shape.N, shape.K, &A[i * a_size], shape.K,
           &B[i / 2 * b_size], shape.K, &expected[i * c_size], shape.N, true);
    for (std::size_t threads : {1, 2, 3}) {
      ThreadCount count(threads);
      std::vector<const real*> as, bs;
      std::vector<real*> cs;
      for (std::size_t i = 0; i < shape.items; ++i) {
        as.push_back(&A[i * a_size]);
        bs.push_back(&B[i / 2 * b_size]);
        cs.push_back(&got[threads - 1][i * c_size]);
      }
      gemm_batched(false, true, shape.M, shape.N, shape.K, shape.items, as.data(), shape.K,
                   bs.data(), shape.K, cs.data(), shape.N, true);
      INFO("items " << shape.items << ", threads " << threads);
      CHECK(bit_identical(got[threads - 1], expected));
    }
  }
}
