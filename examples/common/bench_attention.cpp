// bench_attention.cpp — the `attention` section of build/bench (see bench_attention.h).
// Legend: B batch, L sequence length (self-attention), T target and S source lengths
// (cross-attention), D d_model, H heads.
#include "examples/common/bench_attention.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "autograd/thread_pool.h"
#include "examples/common/plot.h"
#include "examples/common/timing.h"
#include "nn/attention.h"
#include "nn/io/atomic_file.h"

namespace crossgrad::bench {

namespace {

constexpr std::size_t kBatch = 8, kDModel = 64, kHeads = 4;

void check_finite(const Tensor& out, const char* what) {
  for (const real x : out.values())
    if (!std::isfinite(double(x))) fail(std::string("bench attention: ") + what + " is not finite");
}

// ms of the fused op alone: q (B, T, D) against k, v (B, S, D).
double op_ms(std::size_t T, std::size_t S, bool causal, Generator& gen) {
  const Tensor q = Tensor::randn({kBatch, T, kDModel}, gen);
  const Tensor kv = Tensor::randn({kBatch, S, kDModel}, gen);
  AttentionOptions options;
  options.heads = kHeads;
  options.causal = causal;
  Tensor out;
  const double seconds =
      seconds_per_call([&] { out = scaled_dot_product_attention(q, kv, kv, options); }, 0.05, 3);
  check_finite(out, "the fused op's output");
  return 1e3 * seconds;
}

// ms of the whole module: projections, the op, out_proj.
double module_ms(nn::MultiHeadAttention& attention, std::size_t T, std::size_t S, bool causal,
                 Generator& gen) {
  const Tensor x = Tensor::randn({kBatch, T, kDModel}, gen);
  const Tensor memory = Tensor::randn({kBatch, S, kDModel}, gen);
  Tensor out;
  const double seconds = seconds_per_call([&] {
    out = causal ? attention.forward(x, x, Tensor(), true) : attention.forward(x, memory);
  }, 0.05, 3);
  check_finite(out, "MultiHeadAttention's output");
  return 1e3 * seconds;
}

// A dashed line c·f(x) through the last point of `measured`: the shape the claim predicts.
plot::Series predicted(const std::string& name, const plot::Series& measured,
                       const std::function<double(double)>& f) {
  plot::Series line(name);
  const double c = measured.y.back() / f(measured.x.back());
  for (std::size_t i = 0; i <= 40; ++i) {
    const double x = measured.x.back() * double(i) / 40;
    line.x.push_back(x);
    line.y.push_back(c * f(x));
  }
  line.dashed = true;
  line.line_width = 1;
  line.colour = "#888888";
  return line;
}

}  // namespace

void attention(const std::string& svg_path) {
  NoGradGuard no_grad;
  const std::size_t threads = num_threads();
  set_num_threads(1);
  Generator gen(1);
  nn::MultiHeadAttention module(kDModel, kHeads, gen);
  module.eval();

  std::printf("self-attention (causal), B %zu, D %zu, %zu heads, forward, 1 thread:\n", kBatch,
              kDModel, kHeads);
  std::printf("      L    op ms   ns per (query, key)   x previous   module ms\n");
  plot::Series self_op("fused op, measured"), self_module("whole MultiHeadAttention");
  self_op.markers = self_module.markers = true;
  double previous = 0;
  for (const std::size_t L : {32, 64, 128, 256, 512, 1024}) {
    const double ms = op_ms(L, L, true, gen), whole = module_ms(module, L, L, true, gen);
    // The op scores the whole L × L grid and zeroes the future: every pair costs.
    const double pairs = double(kBatch * kHeads) * double(L) * double(L);
    std::printf("  %5zu  %7.3f   %8.2f              %5s        %7.3f\n", L, ms,
                1e6 * ms / pairs,
                previous > 0 ? plot::number(ms / previous, 1).c_str() : "", whole);
    previous = ms;
    self_op.x.push_back(double(L));
    self_op.y.push_back(ms);
    self_module.x.push_back(double(L));
    self_module.y.push_back(whole);
  }

  std::printf("\ncross-attention, B %zu, D %zu, %zu heads, forward, 1 thread:\n", kBatch, kDModel,
              kHeads);
  std::printf("      T      S     T x S    op ms   ns per (query, key)   module ms\n");
  plot::Series cross_op("fused op, measured");
  cross_op.markers = true;
  std::vector<std::pair<double, double>> points;  // (T·S, ms)
  for (const std::size_t T : {16, 64, 256})
    for (const std::size_t S : {16, 64, 256, 1024}) {
      const double ms = op_ms(T, S, false, gen), whole = module_ms(module, T, S, false, gen);
      const double pairs = double(kBatch * kHeads) * double(T) * double(S);
      std::printf("  %5zu  %5zu  %8zu  %7.3f   %8.2f              %7.3f\n", T, S, T * S, ms,
                  1e6 * ms / pairs, whole);
      points.emplace_back(double(T * S), ms);
    }
  std::sort(points.begin(), points.end());
  for (const auto& [pairs, ms] : points) {
    cross_op.x.push_back(pairs);
    cross_op.y.push_back(ms);
  }
  set_num_threads(threads);

  plot::LinePlot self;
  self.title = "Self-attention: time grows as L squared";
  self.x_label = "sequence length L";
  self.y_label = "ms per forward (batch 8)";
  self.series = {self_op, self_module,
                 predicted("c L^2 through the last point", self_op,
                           [](double L) { return L * L; })};
  plot::LinePlot cross;
  cross.title = "Cross-attention: time grows as T x S";
  cross.x_label = "target length T x source length S";
  cross.y_label = "ms per forward (batch 8)";
  cross.series = {cross_op, predicted("c T S through the last point", cross_op,
                                      [](double pairs) { return pairs; })};
  nn::write_file_atomically(
      svg_path, plot::combine_svg("What attention costs, measured by build/bench attention",
                                  {plot::draw_line_plot(self), plot::draw_line_plot(cross)},
                                  true));
  std::printf("\nwrote %s\n", svg_path.c_str());
}

}  // namespace crossgrad::bench
