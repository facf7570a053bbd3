// optim.h — optimizers (SGD, Adam, AdamW) and gradient-norm clipping, with PyTorch's
// update rules (torch.optim, single-tensor path) so a learner's knowledge transfers.
// Optimizers see parameters as plain tensors, not modules: pass model.parameters().
// Their state (moments and per-parameter step counts) exports to named tensors and back,
// so a run saved to safetensors resumes bit-identically. Read next: schedule.h.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace crossgrad {
// What Module::named_parameters() returns and what checkpoints hold: names in order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
}  // namespace crossgrad

namespace crossgrad::optim {

// The common base: owns the parameter list and each parameter's state. Hyperparameters
// are doubles, as in PyTorch, and are rounded to `real` only where they meet tensor data.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  // Updates, in place and under NoGradGuard, every parameter that has a gradient; a
  // parameter without one is skipped and its state is not touched, as in PyTorch.
  void step();

  double lr() const { return lr_; }
  void set_lr(double lr);                                  // what a schedule calls before each step
  std::int64_t step_count() const { return step_count_; }  // calls of step() so far
  const std::vector<Tensor>& parameters() const { return parameters_; }

  // The state as named tensors: "step_count" (shape ()), and for each parameter i that has
  // been updated, "step.<i>" (shape ()) and one tensor per buffer ("exp_avg.<i>",
  // "exp_avg_sq.<i>" for Adam; "momentum_buffer.<i>" for SGD with momentum).
  // Step counts are stored as `real`, exact up to 2^24 steps in float32.
  NamedTensors state_dict() const;
  // Restores a state_dict of an optimizer of the same kind over parameters of the same
  // shapes. Validates every name and shape first; on error the optimizer is unchanged.
  void load_state_dict(const NamedTensors& state);

 protected:
  // What a parameter remembers between steps. buffers follow buffer_names().
  struct ParamState {
    std::int64_t step = 0;  // updates of this parameter so far (PyTorch's state["step"])
    std::vector<std::vector<real>> buffers;
  };

  Optimizer(std::vector<Tensor> parameters, double lr, const char* name);
  // The names of the per-parameter buffers, allocated as zeros before the first update.
  virtual std::vector<std::string> buffer_names() const = 0;
  // The update of values [begin, end) of one parameter; state.step has already been
  // incremented for this step. step() calls it on slices of a few thousand values, from
  // several threads at once: it must touch only those values of param and the buffers.
  virtual void update(real* param, const real* grad, std::size_t begin, std::size_t end,
                      ParamState& state) = 0;

  const char* name_;  // "SGD", "Adam", "AdamW": used in error messages

 private:
  std::vector<Tensor> parameters_;
  std::vector<ParamState> states_;  // states_[i].buffers is empty until parameter i is updated
  double lr_;
  std::int64_t step_count_ = 0;
};

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;  // L2: added to the gradient as weight_decay * p
  bool nesterov = false;    // needs momentum > 0 and dampening 0, as in PyTorch
};

// g = grad + wd·p;  buf = g on the first step, else momentum·buf + (1 - dampening)·g;
// g = nesterov ? g + momentum·buf : buf;  p -= lr·g.  Without momentum, p -= lr·g.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, const SGDOptions& options);

 protected:
  std::vector<std::string> buffer_names() const override;
  void update(real* param, const real* grad, std::size_t begin, std::size_t end,
              ParamState& state) override;

 private:
  SGDOptions options_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // Adam: L2 added to the gradient; AdamW: decoupled decay
};

// t += 1;  g = grad + wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
// p -= (lr / (1-β1^t)) · m / (sqrt(v) / sqrt(1-β2^t) + eps)
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> parameters, const AdamOptions& options);

 protected:
  Adam(std::vector<Tensor> parameters, const AdamOptions& options, const char* name,
       bool decoupled_weight_decay);
  std::vector<std::string> buffer_names() const override;
  void update(real* param, const real* grad, std::size_t begin, std::size_t end,
              ParamState& state) override;

 private:
  AdamOptions options_;
  bool decoupled_weight_decay_;
};

// AdamW decouples weight decay from the gradient: p *= 1 - lr·wd, then Adam without L2.
// Note: AdamOptions defaults weight_decay to 0; PyTorch's AdamW defaults it to 1e-2.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> parameters, const AdamOptions& options);
};

// Scales all gradients together so their joint L2 norm is at most max_norm, like
// torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), applied only when
// it is < 1. Returns the total norm before clipping (accumulated in double). Parameters
// without a gradient are skipped. A non-finite norm is returned and nothing is scaled,
// so the caller can see it and skip the step.
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace crossgrad::optim
