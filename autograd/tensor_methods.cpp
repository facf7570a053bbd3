// tensor_methods.cpp — Tensor's op methods, each one line forwarding to ops.h, so that
// model code can read like PyTorch (x.matmul(w.t()) + b) without a second implementation.
#include "autograd/ops.h"

namespace crossgrad {

Tensor Tensor::matmul(const Tensor& other) const { return crossgrad::matmul(*this, other); }
Tensor Tensor::clone() const { return crossgrad::clone(*this); }

Tensor Tensor::t() const {
  if (dim() != 2) fail("t: expects a 2-d tensor, got shape " + crossgrad::to_string(shape()));
  return crossgrad::transpose(*this, 0, 1);
}
Tensor Tensor::transpose(int dim0, int dim1) const {
  return crossgrad::transpose(*this, dim0, dim1);
}
Tensor Tensor::permute(const std::vector<int>& dims) const {
  return crossgrad::permute(*this, dims);
}
Tensor Tensor::reshape(const std::vector<long>& shape) const {
  return crossgrad::reshape(*this, shape);
}
Tensor Tensor::unsqueeze(int dim) const { return crossgrad::unsqueeze(*this, dim); }
Tensor Tensor::squeeze(int dim) const { return crossgrad::squeeze(*this, dim); }
Tensor Tensor::expand(const Shape& shape) const { return crossgrad::expand(*this, shape); }
Tensor Tensor::slice(int dim, std::size_t start, std::size_t end) const {
  return crossgrad::slice(*this, dim, start, end);
}
Tensor Tensor::sum() const { return crossgrad::sum(*this); }
Tensor Tensor::sum(int dim, bool keepdim) const { return crossgrad::sum(*this, dim, keepdim); }
Tensor Tensor::mean() const { return crossgrad::mean(*this); }
Tensor Tensor::mean(int dim, bool keepdim) const { return crossgrad::mean(*this, dim, keepdim); }
Tensor Tensor::max() const { return crossgrad::max(*this); }
Tensor Tensor::max(int dim, bool keepdim) const { return crossgrad::max(*this, dim, keepdim); }
Tensor Tensor::pow(real exponent) const { return crossgrad::pow(*this, exponent); }
Tensor Tensor::exp() const { return crossgrad::exp(*this); }
Tensor Tensor::log() const { return crossgrad::log(*this); }
Tensor Tensor::sqrt() const { return crossgrad::sqrt(*this); }
Tensor Tensor::abs() const { return crossgrad::abs(*this); }
Tensor Tensor::relu() const { return crossgrad::relu(*this); }
Tensor Tensor::tanh() const { return crossgrad::tanh(*this); }
Tensor Tensor::sigmoid() const { return crossgrad::sigmoid(*this); }
Tensor Tensor::softmax(int dim) const { return crossgrad::softmax(*this, dim); }
Tensor Tensor::log_softmax(int dim) const { return crossgrad::log_softmax(*this, dim); }
Tensor Tensor::masked_fill(const Tensor& mask, real value) const {
  return crossgrad::masked_fill(*this, mask, value);
}

}  // namespace crossgrad
