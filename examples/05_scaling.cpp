// 05_scaling.cpp — why attention divides its scores by √Dh, the head size. For random
// queries and keys whose entries have variance 1, the variance of q·k grows like Dh; the
// softmax of such scores saturates (one weight near 1, the rest near 0) and passes almost
// no gradient. Divided by √Dh the scores keep variance 1 at every head size. Also what
// dividing by √d_model instead would do in the standard model (Dh = 16, d_model = 64).
// Walked through in docs/05-attention-from-primitives.md.
// Run: build/05_scaling   (make pictures also draws the curves)
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"

using namespace crossgrad;

namespace {

struct RowStatistics {
  double score_variance = 0;  // of the scores as given to softmax
  double largest_weight = 0;  // mean over rows of the largest softmax weight
  double slope = 0;           // mean over rows of Σ_s w_s (1 - w_s)
};

// scores (N, 1, S) -> statistics of their N softmax rows.
RowStatistics row_statistics(const Tensor& scores) {
  const std::size_t rows = scores.size(0), keys = scores.size(2);
  const Tensor weights = scores.softmax(-1);
  RowStatistics result;
  double sum = 0, sum_squares = 0;
  for (std::size_t i = 0; i < scores.numel(); ++i) {
    sum += scores.data()[i];
    sum_squares += double(scores.data()[i]) * scores.data()[i];
  }
  const double n = double(scores.numel());
  result.score_variance = sum_squares / n - (sum / n) * (sum / n);
  for (std::size_t r = 0; r < rows; ++r) {
    double largest = 0;
    for (std::size_t s = 0; s < keys; ++s) {
      const double w = weights.data()[r * keys + s];
      largest = std::max(largest, w);
      result.slope += w * (1 - w) / double(rows);
    }
    result.largest_weight += largest / double(rows);
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 5: why attention scales by 1/sqrt(Dh).");
  const std::size_t rows = 1000, keys = 16;  // 1,000 query rows, each against 16 keys
  Generator gen(0);

  std::printf("%zu rows of %zu keys; entries of q and k drawn from N(0, 1)\n", rows, keys);
  std::printf("    Dh   var(q.k)   var(q.k/sqrt(Dh))   largest weight        sum w(1-w)\n");
  std::printf("                                        raw    scaled      raw    scaled\n");
  plot::Series raw_largest("q.k"), scaled_largest("q.k / sqrt(Dh)");
  plot::Series raw_slope("q.k"), scaled_slope("q.k / sqrt(Dh)");
  for (std::size_t dh = 1; dh <= 256; dh *= 2) {
    const Tensor q = Tensor::randn({rows, 1, dh}, gen);
    const Tensor k = Tensor::randn({rows, keys, dh}, gen);
    const Tensor scores = q.matmul(k.transpose(1, 2));  // (N, 1, S)
    const RowStatistics raw = row_statistics(scores);
    const RowStatistics scaled = row_statistics(scores / real(std::sqrt(double(dh))));
    std::printf("%6zu   %8.2f   %17.3f   %6.3f   %6.3f   %6.3f   %6.3f\n", dh,
                raw.score_variance, scaled.score_variance, raw.largest_weight,
                scaled.largest_weight, raw.slope, scaled.slope);
    const double x = std::log2(double(dh));
    raw_largest.x.push_back(x), raw_largest.y.push_back(raw.largest_weight);
    scaled_largest.x.push_back(x), scaled_largest.y.push_back(scaled.largest_weight);
    raw_slope.x.push_back(x), raw_slope.y.push_back(raw.slope);
    scaled_slope.x.push_back(x), scaled_slope.y.push_back(scaled.slope);
  }

  // The standard model: d_model 64 in 4 heads of Dh = 16. Its scale is 1/√16, not 1/√64.
  const Tensor q = Tensor::randn({rows, 1, 16}, gen);
  const Tensor k = Tensor::randn({rows, keys, 16}, gen);
  const Tensor scores = q.matmul(k.transpose(1, 2));
  const RowStatistics right = row_statistics(scores / real(4));
  const RowStatistics wrong = row_statistics(scores / real(8));
  std::printf("\nThe standard model, Dh = 16 (d_model 64, 4 heads); uniform weights would be %.4f:\n",
              1.0 / double(keys));
  std::printf("  divided by sqrt(Dh) = 4:       var %.3f, largest weight %.3f\n",
              right.score_variance, right.largest_weight);
  std::printf("  divided by sqrt(d_model) = 8:  var %.3f, largest weight %.3f\n",
              wrong.score_variance, wrong.largest_weight);

  plot::LinePlot largest;
  largest.title = "Mean largest softmax weight of a row of 16 scores";
  largest.x_label = "head size Dh = 2^x";
  largest.y_label = "largest weight";
  largest.y_min = 0, largest.y_max = 1;
  largest.series = {raw_largest, scaled_largest};
  largest.height = 300;
  largest.frame_left = 70;
  plot::LinePlot slope = largest;
  slope.title = "How far the weights move when the scores move: mean sum of w(1-w)";
  slope.y_label = "sum w(1-w)";
  slope.series = {raw_slope, scaled_slope};
  pictures.save("05-scaling.svg",
                plot::combine_svg("Unscaled scores saturate the softmax as Dh grows",
                                  {plot::draw_line_plot(largest), plot::draw_line_plot(slope)},
                                  /*side_by_side=*/false));
  return 0;
}
