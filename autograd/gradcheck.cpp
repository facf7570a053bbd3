// gradcheck.cpp — numerical versus analytical Jacobians (see gradcheck.h).
#include "autograd/gradcheck.h"

#include <cmath>
#include <cstdio>

namespace crossgrad {

namespace {

std::string format_index(const Shape& shape, std::size_t flat) {
  std::vector<std::size_t> coord(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    coord[d] = flat % shape[d];
    flat /= shape[d];
  }
  return to_string(coord);
}

// Compares one analytical entry with its numerical estimate and updates the result.
void compare(GradcheckResult& result, const GradcheckOptions& options, double numerical,
             double analytical, const std::string& where) {
  const double abs_error = std::abs(analytical - numerical);
  const bool finite = std::isfinite(numerical) && std::isfinite(analytical);
  result.entries_compared++;
  if (finite) {
    result.max_abs_error = std::max(result.max_abs_error, abs_error);
    if (std::abs(numerical) > options.atol)
      result.max_rel_error = std::max(result.max_rel_error, abs_error / std::abs(numerical));
  }
  if (finite && abs_error <= options.atol + options.rtol * std::abs(numerical)) return;
  if (!result.ok) return;  // report the first mismatch only
  result.ok = false;
  char text[512];
  std::snprintf(text, sizeof text,
                "gradcheck: mismatch at %s: numerical %.9g, analytical %.9g, absolute error "
                "%.3g, relative error %.3g (allowed: atol %.3g + rtol %.3g * |numerical|)",
                where.c_str(), numerical, analytical, abs_error,
                numerical != 0 ? abs_error / std::abs(numerical) : INFINITY, options.atol,
                options.rtol);
  result.report = text;
}

std::vector<double> evaluate(const GradcheckFunction& fn, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  const Tensor y = fn(inputs);
  const std::vector<real> values = y.values();
  return std::vector<double>(values.begin(), values.end());
}

// (f(x + eps·direction) - f(x - eps·direction)) / 2eps for every output element, where the
// direction is spread over the inputs by `perturb` (which adds `scale` times the direction).
template <class Perturb>
std::vector<double> central_difference(const GradcheckFunction& fn,
                                       const std::vector<Tensor>& inputs, double eps,
                                       Perturb perturb) {
  perturb(eps);
  const std::vector<double> plus = evaluate(fn, inputs);
  perturb(-2 * eps);
  const std::vector<double> minus = evaluate(fn, inputs);
  perturb(eps);
  std::vector<double> slope(plus.size());
  for (std::size_t j = 0; j < plus.size(); ++j) slope[j] = (plus[j] - minus[j]) / (2 * eps);
  return slope;
}

GradcheckResult full_check(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                           const GradcheckOptions& options) {
  GradcheckResult result;
  // Analytical Jacobian, one row per output element: backward with a one-hot gradient.
  Tensor y = fn(inputs);
  const std::size_t outputs = y.numel();
  std::vector<std::vector<std::vector<double>>> analytical(inputs.size());  // [input][j][e]
  for (std::size_t j = 0; j < outputs; ++j) {
    for (Tensor x : inputs) x.zero_grad();
    if (y.requires_grad()) {
      Tensor one_hot = Tensor::zeros(y.shape());
      one_hot.mutable_data()[j] = 1;
      y.backward(one_hot, /*retain_graph=*/true);
    }
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const Tensor g = inputs[k].grad();
      analytical[k].push_back(g.defined() ? std::vector<double>(g.data(), g.data() + g.numel())
                                          : std::vector<double>(inputs[k].numel(), 0.0));
    }
  }
  for (Tensor x : inputs) x.zero_grad();
  y = Tensor();

  // Numerical Jacobian, one column per input element.
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.requires_grad()) continue;
    for (std::size_t e = 0; e < x.numel(); ++e) {
      const real original = x.data()[e];
      const std::vector<double> column =
          central_difference(fn, inputs, options.eps, [&](double step) {
            real* values = x.mutable_data();
            values[e] = real(values[e] + step);
          });
      x.mutable_data()[e] = original;
      for (std::size_t j = 0; j < outputs; ++j)
        compare(result, options, column[j], analytical[k][j][e],
                "input " + std::to_string(k) + " " + to_string(x.shape()) + ", element " +
                    format_index(x.shape(), e) + ", output element " + std::to_string(j));
    }
  }
  return result;
}

GradcheckResult fast_check(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                           const GradcheckOptions& options) {
  GradcheckResult result;
  Generator gen(options.seed);
  std::vector<Tensor> directions;  // u, one random tensor per input
  for (const Tensor& x : inputs) directions.push_back(Tensor::randn(x.shape(), gen));

  // Analytical vᵀJu: backward with v, then the dot product of the gradients with u.
  for (Tensor x : inputs) x.zero_grad();
  Tensor y = fn(inputs);
  const Tensor v = Tensor::randn(y.shape(), gen);
  double analytical = 0;
  if (y.requires_grad()) {
    y.backward(v);
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const Tensor g = inputs[k].grad();
      if (!inputs[k].requires_grad() || !g.defined()) continue;
      for (std::size_t e = 0; e < g.numel(); ++e)
        analytical += double(g.data()[e]) * double(directions[k].data()[e]);
    }
  }
  for (Tensor x : inputs) x.zero_grad();

  // Numerical vᵀJu: the directional derivative of f along u, projected on v.
  const std::vector<real> saved_values = [&] {
    std::vector<real> all;
    for (const Tensor& x : inputs) all.insert(all.end(), x.data(), x.data() + x.numel());
    return all;
  }();
  const std::vector<double> slope = central_difference(fn, inputs, options.eps, [&](double step) {
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      Tensor x = inputs[k];
      if (!x.requires_grad()) continue;
      real* values = x.mutable_data();
      for (std::size_t e = 0; e < x.numel(); ++e)
        values[e] = real(values[e] + step * directions[k].data()[e]);
    }
  });
  std::size_t offset = 0;  // restore exactly: adding and subtracting steps can round
  for (Tensor x : inputs) {
    real* values = x.mutable_data();
    for (std::size_t e = 0; e < x.numel(); ++e) values[e] = saved_values[offset++];
  }
  double numerical = 0;
  for (std::size_t j = 0; j < slope.size(); ++j) numerical += slope[j] * double(v.data()[j]);
  compare(result, options, numerical, analytical, "fast mode, random projection v^T J u");
  return result;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  bool any = false;
  for (const Tensor& x : inputs) {
    if (x.requires_grad() && !x.is_leaf())
      fail("gradcheck: every input must be a leaf (make it with a factory or detach())");
    any = any || x.requires_grad();
  }
  if (!any) fail("gradcheck: no input requires grad, so there is nothing to check");
  if (!(options.eps > 0)) fail("gradcheck: eps must be positive");
  return options.fast ? fast_check(fn, inputs, options) : full_check(fn, inputs, options);
}

}  // namespace crossgrad
