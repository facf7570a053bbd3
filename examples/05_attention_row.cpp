// 05_attention_row.cpp — one row of attention worked out with numbers small enough to
// follow by hand: a query, three keys and three values of head size 2; the scores, the
// scale 1/√Dh, the softmax and the weighted sum. Then the same with crossgrad's ops, and
// every query row at once as two matrix products.
// Walked through in docs/05-attention-from-primitives.md. Run: build/05_attention_row
#include <cmath>
#include <cstdio>
#include <iostream>

#include "autograd/ops.h"

using namespace crossgrad;

int main() {
  // One query, three keys, three values; each a vector of Dh = 2 numbers.
  const double q[2] = {2, 1};
  const double k[3][2] = {{1, 0}, {0, 1}, {-1, 1}};
  const double v[3][2] = {{10, 0}, {0, 10}, {5, 5}};
  const double scale = 1 / std::sqrt(2.0);  // 1/√Dh

  std::printf("query q = (%g, %g), head size Dh = 2, scale 1/sqrt(2) = %.4f\n\n", q[0], q[1],
              scale);
  std::printf("key  k            q.k   q.k/sqrt(2)   exp(...)   weight   value v\n");
  double scores[3], exps[3], total = 0;
  for (int s = 0; s < 3; ++s) {
    scores[s] = (q[0] * k[s][0] + q[1] * k[s][1]) * scale;
    exps[s] = std::exp(scores[s]);
    total += exps[s];
  }
  double context[2] = {0, 0};
  for (int s = 0; s < 3; ++s) {
    const double weight = exps[s] / total;
    std::printf("%3d  (%2g, %2g)  %5g   %11.4f   %8.4f   %6.4f   (%g, %g)\n", s, k[s][0],
                k[s][1], scores[s] / scale, scores[s], exps[s], weight, v[s][0], v[s][1]);
    for (int j = 0; j < 2; ++j) context[j] += weight * v[s][j];
  }
  std::printf("                                sum %8.4f   1.0000\n", total);
  std::printf("\noutput = sum of weight * value = (%.4f, %.4f)\n", context[0], context[1]);

  // The same row with tensors: q (1, Dh), K (S, Dh), V (S, Dh).
  const Tensor query = Tensor::from({2, 1}, {1, 2});
  const Tensor keys = Tensor::from({1, 0, 0, 1, -1, 1}, {3, 2});
  const Tensor values = Tensor::from({10, 0, 0, 10, 5, 5}, {3, 2});
  const Tensor weights = (query.matmul(keys.t()) * real(scale)).softmax(-1);  // (1, 3)
  const Tensor output = weights.matmul(values);                               // (1, 2)
  std::cout << "\nwith crossgrad's ops: softmax(q K^T / sqrt(Dh)) V\n"
            << "  weights " << to_string(weights.shape()) << " = " << weights << "\n"
            << "  output  " << to_string(output.shape()) << " = " << output << "\n";

  // Every query at once: Q (T, Dh) gives scores (T, S), one row per query.
  const Tensor queries = Tensor::from({2, 1, 0, 0, -3, 3}, {3, 2});
  const Tensor all_weights = (queries.matmul(keys.t()) * real(scale)).softmax(-1);
  std::cout << "\nthree queries: Q (3,2) @ K^T (2,3) -> weights (3,3), @ V (3,2) -> (3,2)\n"
            << "  weights = " << all_weights << "\n"
            << "  output  = " << all_weights.matmul(values) << "\n";
  return 0;
}
