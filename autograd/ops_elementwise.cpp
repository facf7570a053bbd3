// ops_elementwise.cpp — elementwise ops and activations, each forward with its backward.
// The pattern every op follows: check inputs, compute the output, then
// `record(output, name, inputs, closure)` where the closure reads the output's gradient
// (self.grad) and adds into each input's gradient buffer, skipping an input whose buffer is
// nullptr (it takes no gradient). sub, div and gelu are composed. Elementwise loops run on
// the thread pool in ranges of elements (each element computed alike in any range, so the
// thread count never changes a result). Read next: broadcast.h.
#include <cmath>

#include "autograd/broadcast.h"
#include "autograd/ops.h"
#include "autograd/profiler.h"
#include "autograd/thread_pool.h"

namespace crossgrad {

namespace {

// out[i] = f(a[i], b[i], c[i]) for i in [first, last), or out[i] += ... when `add`. `out` is
// a fresh output or a gradient, never an input; saying so (restrict) lets the loop become
// vector instructions. Unused inputs are passed as another input and ignored by f.
template <class F>
void elementwise_range(std::size_t first, std::size_t last, real* __restrict out, bool add,
                       const real* __restrict a, const real* __restrict b,
                       const real* __restrict c, F f) {
  if (add) {
    for (std::size_t i = first; i < last; ++i) out[i] += f(a[i], b[i], c[i]);
  } else {
    for (std::size_t i = first; i < last; ++i) out[i] = f(a[i], b[i], c[i]);
  }
}

// The same over [0, n), in ranges on the thread pool.
template <class F>
void elementwise(std::size_t n, real* out, bool add, const real* a, const real* b,
                 const real* c, F f) {
  parallel_rows(n, 1, [&](std::size_t first, std::size_t last) {
    elementwise_range(first, last, out, add, a, b, c, f);
  });
}

// y[i] = f(x[i]) as a new tensor of x's shape.
template <class F>
Tensor map(const Tensor& x, F f) {
  Tensor y = Tensor::empty(x.shape());
  const real* in = x.data();
  elementwise(x.numel(), y.mutable_data(), false, in, in, in,
              [f](real v, real, real) { return f(v); });
  return y;
}

// dx[i] += dy[i] * derivative(x[i], y[i]) — the backward of every unary op. (dx[i] = ...
// when this is x's first gradient: see grad_buffer in tensor.h.)
template <class F>
std::function<void(const Node&)> unary_backward(const Tensor& x, F derivative) {
  return [x, derivative](const Node& self) {
    bool assign = false;
    real* dx = grad_buffer(x, assign);
    if (!dx) return;
    elementwise(self.data.size(), dx, !assign, self.grad.data(), x.data(), self.data.data(),
                [derivative](real dy, real v, real y) { return dy * derivative(v, y); });
  };
}

// out[i] = f(a[ia], b[ib]) over the broadcast shape of a and b. The two common cases run on
// the thread pool: equal shapes, and b repeated along a's leading dims (a bias, a scalar).
template <class F>
Tensor zip(const Tensor& a, const Tensor& b, const char* op, F f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = Tensor::empty(shape);
  real* out = y.mutable_data();
  const real* pa = a.data();
  const real* pb = b.data();
  const std::size_t period = trailing_period(b.shape(), shape);
  if (a.shape() == shape && b.shape() == shape) {
    elementwise(y.numel(), out, false, pa, pb, pa, [f](real u, real v, real) { return f(u, v); });
  } else if (a.shape() == shape && period > 0) {  // rows of `period` elements, b each time
    parallel_rows(y.numel() / period, period, [&](std::size_t first, std::size_t last) {
      for (std::size_t r = first; r < last; ++r)
        for (std::size_t j = 0; j < period; ++j)
          out[r * period + j] = f(pa[r * period + j], pb[j]);
    });
  } else {
    for_each_broadcast(shape, a.shape(), b.shape(), [&](std::size_t i, std::size_t ia,
                                                        std::size_t ib) {
      out[i] = f(pa[ia], pb[ib]);
    });
  }
  return y;
}

}  // namespace

// --- Arithmetic ---

Tensor add(const Tensor& a, const Tensor& b) {
  const ProfileScope profile("add");
  Tensor y = zip(a, b, "add", [](real u, real v) { return u + v; });
  // y = a + b; dy/da = 1, dy/db = 1 (summed over broadcast dimensions)
  return record(y, "add", {a, b}, [a, b](const Node& self) {
    const real* dy = self.grad.data();
    if (a.shape() == self.shape && b.shape() == self.shape) {  // the residual connections
      bool assign = false;
      const auto pass_on = [](real g, real, real) { return g; };
      if (real* da = grad_buffer(a, assign))
        elementwise(self.grad.size(), da, !assign, dy, dy, dy, pass_on);
      if (real* db = grad_buffer(b, assign))
        elementwise(self.grad.size(), db, !assign, dy, dy, dy, pass_on);
      return;
    }
    real* da = grad_buffer(a);
    real* db = grad_buffer(b);
    // A broadcast operand's gradient is a sum over rows: one thread, rows in order.
    for_each_broadcast(self.shape, a.shape(), b.shape(),
                       [&](std::size_t i, std::size_t ia, std::size_t ib) {
                         if (da) da[ia] += self.grad[i];
                         if (db) db[ib] += self.grad[i];
                       });
  }, Saves::nothing);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  const ProfileScope profile("mul");
  Tensor y = zip(a, b, "mul", [](real u, real v) { return u * v; });
  // y = a * b; dy/da = b, dy/db = a
  return record(y, "mul", {a, b}, [a, b](const Node& self) {
    real* da = grad_buffer(a);
    real* db = grad_buffer(b);
    const real* pa = a.data();
    const real* pb = b.data();
    const real* dy = self.grad.data();
    if (a.shape() == self.shape && b.shape() == self.shape) {  // (one buffer for a * a)
      const auto product = [](real g, real other, real) { return g * other; };
      if (da) elementwise(self.grad.size(), da, true, dy, pb, dy, product);
      if (db) elementwise(self.grad.size(), db, true, dy, pa, dy, product);
      return;
    }
    const std::size_t period = trailing_period(b.shape(), self.shape);
    if (a.shape() == self.shape && period > 0 && !db) {  // x · scale: rows of `period`
      parallel_rows(self.grad.size() / period, period, [&](std::size_t first, std::size_t last) {
        for (std::size_t r = first; r < last; ++r)
          for (std::size_t j = 0; j < period; ++j)
            da[r * period + j] += dy[r * period + j] * pb[j];
      });
      return;
    }
    // A broadcast operand's gradient is a sum over rows: one thread, rows in order.
    for_each_broadcast(self.shape, a.shape(), b.shape(),
                       [&](std::size_t i, std::size_t ia, std::size_t ib) {
                         if (da) da[ia] += self.grad[i] * pb[ib];
                         if (db) db[ib] += self.grad[i] * pa[ia];
                       });
  });
}

Tensor neg(const Tensor& x) {
  const ProfileScope profile("neg");
  // y = -x; dy/dx = -1
  return record(map(x, [](real v) { return -v; }), "neg", {x},
                unary_backward(x, [](real, real) { return real(-1); }), Saves::nothing);
}

Tensor clone(const Tensor& x) {
  const ProfileScope profile("clone");
  // y = x, in a buffer of its own; dy/dx = 1
  return record(map(x, [](real v) { return v; }), "clone", {x},
                unary_backward(x, [](real, real) { return real(1); }), Saves::nothing);
}

Tensor pow(const Tensor& x, real exponent) {
  const ProfileScope profile("pow");
  if (!std::isfinite(exponent))
    fail("pow: exponent must be finite, got " + std::to_string(exponent));
  // y = x^p; dy/dx = p x^(p-1)
  return record(map(x, [exponent](real v) { return std::pow(v, exponent); }), "pow", {x},
                unary_backward(x, [exponent](real v, real) {
                  return exponent == 0 ? real(0) : exponent * std::pow(v, exponent - 1);
                }));
}

Tensor sub(const Tensor& a, const Tensor& b) { return add(a, neg(b)); }
Tensor div(const Tensor& a, const Tensor& b) { return mul(a, pow(b, -1)); }

// --- Unary math ---

Tensor exp(const Tensor& x) {
  const ProfileScope profile("exp");
  // y = e^x; dy/dx = e^x = y
  return record(map(x, [](real v) { return std::exp(v); }), "exp", {x},
                unary_backward(x, [](real, real y) { return y; }));
}

Tensor log(const Tensor& x) {
  const ProfileScope profile("log");
  // y = ln x; dy/dx = 1/x  (log of a negative number is NaN, of 0 is -inf, as in PyTorch)
  return record(map(x, [](real v) { return std::log(v); }), "log", {x},
                unary_backward(x, [](real v, real) { return 1 / v; }));
}

Tensor sqrt(const Tensor& x) {
  const ProfileScope profile("sqrt");
  // y = √x; dy/dx = 1 / (2√x) = 1 / (2y)
  return record(map(x, [](real v) { return std::sqrt(v); }), "sqrt", {x},
                unary_backward(x, [](real, real y) { return 1 / (2 * y); }));
}

Tensor abs(const Tensor& x) {
  const ProfileScope profile("abs");
  // y = |x|; dy/dx = sign(x), and 0 at the kink x = 0 (PyTorch's choice)
  return record(map(x, [](real v) { return std::abs(v); }), "abs", {x},
                unary_backward(x, [](real v, real) { return real((v > 0) - (v < 0)); }));
}

// --- Activations ---

Tensor relu(const Tensor& x) {
  const ProfileScope profile("relu");
  // y = max(x, 0); dy/dx = 1 if x > 0 else 0 (at the kink x = 0 we pick 0, like PyTorch)
  // The backward picks dy or 0 (PyTorch's threshold_backward) rather than multiplying dy by
  // 1 or 0: a choice between two values becomes vector code, a multiply by a comparison's
  // result did not (GCC kept a branch).
  return record(map(x, [](real v) { return v > 0 ? v : real(0); }), "relu", {x},
                [x](const Node& self) {
                  bool assign = false;
                  real* dx = grad_buffer(x, assign);
                  if (!dx) return;
                  elementwise(self.data.size(), dx, !assign, self.grad.data(), x.data(),
                              x.data(), [](real dy, real v, real) { return v > 0 ? dy : real(0); });
                });
}

Tensor tanh(const Tensor& x) {
  const ProfileScope profile("tanh");
  // y = tanh x; dy/dx = 1 - y²
  return record(map(x, [](real v) { return std::tanh(v); }), "tanh", {x},
                unary_backward(x, [](real, real y) { return 1 - y * y; }));
}

Tensor sigmoid(const Tensor& x) {
  const ProfileScope profile("sigmoid");
  // A primitive, not 1/(1+e^-x): for very negative x, e^-x overflows and the composed
  // backward would multiply 0 by infinity. Written this way both directions stay finite.
  // y = 1 / (1 + e^-x); dy/dx = y (1 - y)
  return record(map(x, [](real v) {
                  return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v));
                }),
                "sigmoid", {x}, unary_backward(x, [](real, real y) { return y * (1 - y); }));
}

Tensor gelu(const Tensor& x) {
  // gelu(x) = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))), composed, so no backward needed.
  const real k = static_cast<real>(std::sqrt(2.0 / M_PI));
  return real(0.5) * x * (1 + tanh(k * (x + real(0.044715) * pow(x, 3))));
}

// --- Operators; a scalar operand becomes a shape-() tensor that broadcasts ---

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, real b) { return add(a, Tensor::scalar(b)); }
Tensor operator+(real a, const Tensor& b) { return add(Tensor::scalar(a), b); }
Tensor operator-(const Tensor& a, real b) { return add(a, Tensor::scalar(-b)); }
Tensor operator-(real a, const Tensor& b) { return sub(Tensor::scalar(a), b); }
Tensor operator*(const Tensor& a, real b) { return mul(a, Tensor::scalar(b)); }
Tensor operator*(real a, const Tensor& b) { return mul(Tensor::scalar(a), b); }
Tensor operator/(const Tensor& a, real b) { return mul(a, Tensor::scalar(1 / b)); }
Tensor operator/(real a, const Tensor& b) { return mul(Tensor::scalar(a), pow(b, -1)); }

}  // namespace crossgrad
