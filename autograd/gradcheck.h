// gradcheck.h — checks an op's backward against finite differences, like
// torch.autograd.gradcheck. Build with -DCROSSGRAD_DOUBLE (the Makefile's float64 build)
// for meaningful results: in float32, central differences lose half the digits.
// Read next: docs/derivations.md for what each op's backward should compute; then the first
// room above autograd, nn/module.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace crossgrad {

struct GradcheckOptions {
  // PyTorch's defaults in float64; wide enough for float32 to mean something, no more.
  double eps = kDoublePrecision ? 1e-6 : 1e-3;
  double atol = kDoublePrecision ? 1e-5 : 1e-2;
  double rtol = kDoublePrecision ? 1e-3 : 1e-2;
  // Full mode compares every entry of the Jacobian (one backward per output element, two
  // forwards per input element). Fast mode compares one random projection vᵀJu: one
  // backward and two forwards in all, for whole models.
  bool fast = false;
  std::uint64_t seed = 0;  // for the random u and v of fast mode
};

struct GradcheckResult {
  bool ok = true;
  std::string report;           // on failure: input, element, numerical, analytical, errors
  double max_abs_error = 0;     // over all compared entries
  double max_rel_error = 0;     // |analytical - numerical| / |numerical|, where |numerical| > atol
  std::size_t entries_compared = 0;
  explicit operator bool() const { return ok; }
};

using GradcheckFunction = std::function<Tensor(const std::vector<Tensor>& inputs)>;

// Checks d fn(inputs) / d input for every input that requires grad. `fn` must be a pure
// function of the inputs' values (reseed any randomness inside it). Input values are
// perturbed in place during the check and restored before it returns.
GradcheckResult gradcheck(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace crossgrad
