// ops_matmul.cpp — matmul: (..., M, K) @ (..., K, N) -> (..., M, N), batch dims broadcast
// like NumPy. Both operands need at least 2 dims (no 1-d vector promotion: reshape first).
// And linear(x, w, b) = x wᵀ + b, the layer's product without a transposed copy of w.
// The arithmetic is in gemm.h; backward calls it with transpose flags (dA = dC·Bᵀ,
// dB = Aᵀ·dC), never copying a transposed operand. Read next: gemm.h.
#include <algorithm>

#include "autograd/broadcast.h"
#include "autograd/gemm.h"
#include "autograd/ops.h"
#include "autograd/profiler.h"
#include "autograd/thread_pool.h"

namespace crossgrad {

namespace {

// How one matmul maps onto gemm calls. Item i of the output batch multiplies matrix
// a_item[i] of a by matrix b_item[i] of b (both repeat where their batch dims broadcast).
struct MatmulPlan {
  std::size_t M = 0, K = 0, N = 0;
  Shape out_shape;
  std::size_t batch = 1;
  std::vector<std::size_t> a_item, b_item;
  // b is a single matrix and a is not broadcast: a's batch rows stack into one tall
  // (batch*M, K) matrix and the whole product is one gemm (Linear's x @ w.t()).
  bool one_tall_gemm = false;
};

MatmulPlan make_plan(const Shape& a, const Shape& b) {
  const std::string shapes = "matmul: shapes " + to_string(a) + " and " + to_string(b);
  if (a.size() < 2 || b.size() < 2)
    fail(shapes + ": matmul needs at least 2-d operands, got a " +
         std::to_string(std::min(a.size(), b.size())) +
         "-d tensor (reshape a vector into a (1,n) or (n,1) matrix)");
  MatmulPlan plan;
  plan.M = a[a.size() - 2];
  plan.K = a.back();
  plan.N = b.back();
  if (b[b.size() - 2] != plan.K)
    fail(shapes + ": inner dimensions " + std::to_string(plan.K) + " and " +
         std::to_string(b[b.size() - 2]) + " differ");
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape out_batch;
  try {
    out_batch = broadcast_shapes(a_batch, b_batch, "matmul");
  } catch (const Error&) {
    fail(shapes + ": batch dimensions " + to_string(a_batch) + " and " + to_string(b_batch) +
         " cannot be broadcast");
  }
  plan.batch = numel(out_batch);
  plan.out_shape = out_batch;
  plan.out_shape.insert(plan.out_shape.end(), {plan.M, plan.N});
  plan.one_tall_gemm = numel(b_batch) == 1 && numel(a_batch) == plan.batch;
  for_each_broadcast(out_batch, a_batch, b_batch, [&](std::size_t, std::size_t ia, std::size_t ib) {
    plan.a_item.push_back(ia);
    plan.b_item.push_back(ib);
  });
  return plan;
}

// One operand of a batched product: a stack of matrices `size` elements apart, each with
// leading dimension ld, read transposed or not, item i reading matrix item[i].
struct Operand {
  const real* data;
  std::size_t size, ld;
  bool trans;
  const std::vector<std::size_t>* item;  // nullptr: item i reads matrix i
};

// One gemm per item: out[i] (+)= op(left[left_item[i]]) op(right[right_item[i]]). Items
// writing the same output matrix (a gradient summed over broadcast batch dims) go to
// successive rounds, so each round's outputs are distinct and every sum runs in item order,
// whatever the thread count.
void batched_products(std::size_t M, std::size_t N, std::size_t K, Operand left, Operand right,
                      real* out, const std::vector<std::size_t>* out_item, std::size_t batch,
                      bool accumulate) {
  const auto index = [](const std::vector<std::size_t>* item, std::size_t i) {
    return item ? (*item)[i] : i;
  };
  std::vector<std::size_t> uses;  // items seen so far per output matrix
  std::vector<std::vector<std::size_t>> rounds;
  for (std::size_t i = 0; i < batch; ++i) {
    const std::size_t target = index(out_item, i);
    if (target >= uses.size()) uses.resize(target + 1, 0);
    const std::size_t round = uses[target]++;
    if (round == rounds.size()) rounds.emplace_back();
    rounds[round].push_back(i);
  }
  for (const std::vector<std::size_t>& round : rounds) {
    std::vector<const real*> lefts, rights;
    std::vector<real*> outs;
    for (std::size_t i : round) {
      lefts.push_back(left.data + index(left.item, i) * left.size);
      rights.push_back(right.data + index(right.item, i) * right.size);
      outs.push_back(out + index(out_item, i) * M * N);
    }
    gemm_batched(left.trans, right.trans, M, N, K, round.size(), lefts.data(), left.ld,
                 rights.data(), right.ld, outs.data(), N, accumulate);
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const ProfileScope profile("matmul");
  const MatmulPlan plan = make_plan(a.shape(), b.shape());
  const std::size_t M = plan.M, K = plan.K, N = plan.N, rows = plan.batch * M;
  Tensor c = Tensor::empty(plan.out_shape);  // every element written by the gemms
  real* out = c.mutable_data();
  if (plan.one_tall_gemm) {  // (batch*M, K) @ (K, N)
    gemm(false, false, rows, N, K, a.data(), K, b.data(), N, out, N, false);
  } else {          // per item (M, K) @ (K, N)
    batched_products(M, N, K, {a.data(), M * K, K, false, &plan.a_item},
                     {b.data(), K * N, N, false, &plan.b_item}, out, nullptr,
                     plan.batch, false);
  }
  // C = A B; dA = dC Bᵀ, dB = Aᵀ dC (each summed over the batch items that read it)
  return record(c, "matmul", {a, b},
                [a, b, plan](const Node& self) {
    const std::size_t M = plan.M, K = plan.K, N = plan.N, rows = plan.batch * M;
    const real* dc = self.grad.data();
    real* da = grad_buffer(a);
    real* db = grad_buffer(b);
    if (plan.one_tall_gemm) {  // rows = batch*M
      if (da) gemm(false, true, rows, K, N, dc, N, b.data(), N, da, K, true);  // (rows,N)·(N,K)
      if (db) gemm(true, false, K, N, rows, a.data(), K, dc, N, db, N, true);  // (K,rows)·(rows,N)
      return;
    }
    const Operand grad_out{dc, M * N, N, false, nullptr};
    if (da)  // dA (M, K) += dC (M, N) · Bᵀ (N, K)
      batched_products(M, K, N, grad_out, {b.data(), K * N, N, true, &plan.b_item}, da,
                       &plan.a_item, plan.batch, true);
    if (db)  // dB (K, N) += Aᵀ (K, M) · dC (M, N)
      batched_products(K, N, M, {a.data(), M * K, K, true, &plan.a_item}, grad_out, db,
                       &plan.b_item, plan.batch, true);
  });
}

// --- linear: x Wᵀ + b in one gemm ---
// matmul(x, w.t()) + b would copy w transposed, write x wᵀ, then read it again to add b.
// Here the gemm reads w as it is stored (its transpose flag) and adds b to each sum as it
// stores it.

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const ProfileScope profile("linear");
  if (weight.dim() != 2 || x.dim() == 0 || x.shape().back() != weight.shape()[1] ||
      (bias.defined() && bias.shape() != Shape{weight.shape()[0]}))
    fail("linear: x " + to_string(x.shape()) + ", weight " + to_string(weight.shape()) +
         " and bias " + (bias.defined() ? to_string(bias.shape()) : std::string("none")) +
         " must be (..., in), (out, in) and (out)");
  const std::size_t in = weight.shape()[1], out = weight.shape()[0];
  Shape shape = x.shape();
  shape.back() = out;
  const std::size_t rows = numel(Shape(shape.begin(), shape.end() - 1));
  Tensor y = Tensor::empty(shape);
  // y (rows, out) = x (rows, in) · wᵀ (in, out) + b
  gemm(false, true, rows, out, in, x.data(), in, weight.data(), in, y.mutable_data(), out, false,
       bias.defined() ? bias.data() : nullptr);
  // y = x Wᵀ + b; dx = dy W, dW = dyᵀ x, db = Σ_rows dy
  return record(y, "linear", {x, weight, bias}, [x, weight, bias, rows, in, out](const Node& self) {
    const real* dy = self.grad.data();
    bool assign = false;  // a first gradient: the gemm writes it instead of adding to zeros
    if (real* dx = grad_buffer(x, assign))  // (rows, out) · (out, in)
      gemm(false, false, rows, in, out, dy, out, weight.data(), in, dx, in, !assign);
    if (real* dw = grad_buffer(weight, assign))  // (out, rows) · (rows, in)
      gemm(true, false, out, in, rows, dy, out, x.data(), in, dw, in, !assign);
    if (real* db = grad_buffer(bias)) {  // a column sum, split by columns, each summing its
      parallel_rows(out, rows, [&](std::size_t first, std::size_t last) {  // rows in order
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t j = first; j < last; ++j) db[j] += dy[r * out + j];
      });
    }
  });
}

}  // namespace crossgrad
