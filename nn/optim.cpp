// optim.cpp — the optimizer base (parameter list, per-parameter state, state export),
// SGD, Adam, AdamW and clip_grad_norm. Each update loop is PyTorch's single-tensor rule
// written elementwise: scalar coefficients are computed in double (as Python does) and
// rounded to `real` once, where they meet the tensor data.
#include "nn/optim.h"

#include <cmath>
#include <map>
#include <set>

#include "autograd/thread_pool.h"

namespace crossgrad::optim {

namespace {

void check_hyperparameter(bool ok, const char* optimizer, const char* what, double value) {
  if (!ok) fail(std::string(optimizer) + ": invalid " + what + " " + std::to_string(value));
}

// A scalar tensor's value as a step count: finite, integral, non-negative.
std::int64_t read_count(const Tensor& t, const std::string& name, const char* optimizer) {
  if (t.numel() != 1)
    fail(std::string(optimizer) + ".load_state_dict: '" + name +
         "' must hold one value, got shape " + to_string(t.shape()));
  const double value = t.values()[0];
  if (!(value >= 0) || value != std::floor(value) || value > 9.0e15)
    fail(std::string(optimizer) + ".load_state_dict: '" + name +
         "' must be a non-negative integer, got " + std::to_string(value));
  return static_cast<std::int64_t>(value);
}

Tensor count_tensor(std::int64_t count, const char* optimizer) {
  if (static_cast<std::int64_t>(static_cast<real>(count)) != count)
    fail(std::string(optimizer) + ".state_dict: step count " + std::to_string(count) +
         " cannot be stored exactly as a " + (kDoublePrecision ? "double" : "float"));
  return Tensor::scalar(static_cast<real>(count));
}

// step() and clip_grad_norm share the parameters out to the threads in slices of at most
// this many values: 64 x 64 weights make one slice each, the larger ones several.
constexpr std::size_t kSlice = 4096;

// Σ x² in double, in eight running sums (one per position mod 8) added at the end: the
// order is fixed, so the result is too, and the eight sums vectorise where one would not.
double sum_of_squares(const real* x, std::size_t n) {
  double lanes[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t l = 0; l < 8; ++l) lanes[l] += double(x[i + l]) * double(x[i + l]);
  for (; i < n; ++i) lanes[i % 8] += double(x[i]) * double(x[i]);
  double sum = 0;
  for (double lane : lanes) sum += lane;
  return sum;
}

}  // namespace

// --- Optimizer ---

Optimizer::Optimizer(std::vector<Tensor> parameters, double lr, const char* name)
    : name_(name), parameters_(std::move(parameters)), states_(parameters_.size()), lr_(0) {
  if (parameters_.empty()) fail(std::string(name_) + ": got an empty parameter list");
  std::set<const Node*> seen;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& p = parameters_[i];
    const std::string which = std::string(name_) + ": parameter " + std::to_string(i);
    if (!p.defined()) fail(which + " is an undefined tensor");
    if (!p.is_leaf()) fail(which + " is not a leaf (made by an op); optimize leaves only");
    if (!seen.insert(p.node().get()).second) fail(which + " appears twice in the list");
  }
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  check_hyperparameter(std::isfinite(lr) && lr >= 0, name_, "learning rate", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_) p.zero_grad();
}

void Optimizer::step() {
  NoGradGuard no_grad;  // updates are not part of any graph
  const std::vector<std::string> names = buffer_names();
  // Every value updates on its own, so the slices can go to any thread: any split gives
  // the same numbers.
  struct Slice {
    real* param;
    const real* grad;
    std::size_t begin, end;
    ParamState* state;
  };
  std::vector<Slice> slices;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    const real* grad = p.grad_data();
    if (!grad) continue;  // no gradient this step: no update, state untouched
    ParamState& state = states_[i];
    if (state.step == 0) state.buffers.assign(names.size(), std::vector<real>(p.numel(), 0));
    ++state.step;
    real* param = p.mutable_data();
    for (std::size_t begin = 0; begin < p.numel(); begin += kSlice)
      slices.push_back({param, grad, begin, std::min(begin + kSlice, p.numel()), &state});
  }
  parallel_for(slices.size(), [&](std::size_t first, std::size_t last) {
    for (std::size_t s = first; s < last; ++s)
      update(slices[s].param, slices[s].grad, slices[s].begin, slices[s].end, *slices[s].state);
  }, 4);
  ++step_count_;
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors state{{"step_count", count_tensor(step_count_, name_)}};
  const std::vector<std::string> names = buffer_names();
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const ParamState& s = states_[i];
    if (s.step == 0) continue;  // never updated: no state, as in PyTorch
    const std::string index = "." + std::to_string(i);
    state.emplace_back("step" + index, count_tensor(s.step, name_));
    for (std::size_t b = 0; b < names.size(); ++b)
      state.emplace_back(names[b] + index, Tensor::from(s.buffers[b], parameters_[i].shape()));
  }
  return state;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  const std::string where = std::string(name_) + ".load_state_dict: ";
  std::map<std::string, const Tensor*> remaining;
  for (const auto& [name, tensor] : state) {
    if (!tensor.defined()) fail(where + "'" + name + "' is an undefined tensor");
    if (!remaining.emplace(name, &tensor).second) fail(where + "duplicate entry '" + name + "'");
  }
  // take(name): the tensor under that name, removed from `remaining`, or nullptr.
  const auto take = [&](const std::string& name) -> const Tensor* {
    const auto it = remaining.find(name);
    if (it == remaining.end()) return nullptr;
    const Tensor* t = it->second;
    remaining.erase(it);
    return t;
  };
  const Tensor* count = take("step_count");
  if (!count) fail(where + "missing 'step_count'");
  const std::int64_t step_count = read_count(*count, "step_count", name_);

  const std::vector<std::string> names = buffer_names();
  std::vector<ParamState> states(parameters_.size());
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const std::string index = "." + std::to_string(i);
    const Tensor* step = take("step" + index);
    for (const std::string& buffer : names) {
      const Tensor* t = take(buffer + index);
      if (!step && !t) continue;
      if (!step) fail(where + "'" + buffer + index + "' without 'step" + index + "'");
      if (!t) fail(where + "missing '" + buffer + index + "'");
      if (t->shape() != parameters_[i].shape())
        fail(where + "'" + buffer + index + "' has shape " + to_string(t->shape()) +
             ", parameter " + std::to_string(i) + " has shape " +
             to_string(parameters_[i].shape()));
      states[i].buffers.push_back(t->values());
    }
    if (step) states[i].step = read_count(*step, "step" + index, name_);
    if (step && states[i].step == 0) fail(where + "'step" + index + "' must be at least 1");
  }
  if (!remaining.empty()) {
    std::string unexpected;
    for (const auto& entry : remaining)
      unexpected += (unexpected.empty() ? "" : ", ") + entry.first;
    fail(where + "unexpected entries: " + unexpected + " (this " + name_ + " has " +
         std::to_string(parameters_.size()) + " parameters)");
  }
  states_ = std::move(states);
  step_count_ = step_count;
}

// --- SGD ---

SGD::SGD(std::vector<Tensor> parameters, const SGDOptions& options)
    : Optimizer(std::move(parameters), options.lr, "SGD"), options_(options) {
  const SGDOptions& o = options;
  check_hyperparameter(o.momentum >= 0 && std::isfinite(o.momentum), name_, "momentum", o.momentum);
  check_hyperparameter(o.dampening >= 0 && o.dampening <= 1, name_, "dampening", o.dampening);
  check_hyperparameter(o.weight_decay >= 0 && std::isfinite(o.weight_decay), name_, "weight_decay",
                       o.weight_decay);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    fail("SGD: nesterov momentum requires a momentum > 0 and zero dampening");
}

std::vector<std::string> SGD::buffer_names() const {
  if (options_.momentum == 0) return {};
  return {"momentum_buffer"};
}

void SGD::update(real* param, const real* grad, std::size_t begin, std::size_t end,
                 ParamState& state) {
  const SGDOptions& o = options_;
  const real lr = static_cast<real>(this->lr()), weight_decay = static_cast<real>(o.weight_decay);
  const real momentum = static_cast<real>(o.momentum);
  const real keep = static_cast<real>(1 - o.dampening);
  for (std::size_t j = begin; j < end; ++j) {
    real g = grad[j];
    if (o.weight_decay != 0) g += weight_decay * param[j];
    if (o.momentum != 0) {
      real& buffer = state.buffers[0][j];
      // PyTorch starts the buffer at the first gradient itself, undampened.
      buffer = state.step == 1 ? g : momentum * buffer + keep * g;
      g = o.nesterov ? g + momentum * buffer : buffer;
    }
    param[j] -= lr * g;
  }
}

// --- Adam and AdamW ---

Adam::Adam(std::vector<Tensor> parameters, const AdamOptions& options)
    : Adam(std::move(parameters), options, "Adam", false) {}

Adam::Adam(std::vector<Tensor> parameters, const AdamOptions& options, const char* name,
           bool decoupled_weight_decay)
    : Optimizer(std::move(parameters), options.lr, name),
      options_(options),
      decoupled_weight_decay_(decoupled_weight_decay) {
  const AdamOptions& o = options;
  check_hyperparameter(o.beta1 >= 0 && o.beta1 < 1, name_, "beta1 (must be in [0, 1))", o.beta1);
  check_hyperparameter(o.beta2 >= 0 && o.beta2 < 1, name_, "beta2 (must be in [0, 1))", o.beta2);
  check_hyperparameter(o.eps >= 0 && std::isfinite(o.eps), name_, "eps", o.eps);
  check_hyperparameter(o.weight_decay >= 0 && std::isfinite(o.weight_decay), name_, "weight_decay",
                       o.weight_decay);
}

AdamW::AdamW(std::vector<Tensor> parameters, const AdamOptions& options)
    : Adam(std::move(parameters), options, "AdamW", true) {}

std::vector<std::string> Adam::buffer_names() const { return {"exp_avg", "exp_avg_sq"}; }

void Adam::update(real* param, const real* grad, std::size_t begin, std::size_t end,
                  ParamState& state) {
  const AdamOptions& o = options_;
  const double lr = this->lr(), t = static_cast<double>(state.step);
  const real step_size = static_cast<real>(lr / (1 - std::pow(o.beta1, t)));
  const real bias2_sqrt = static_cast<real>(std::sqrt(1 - std::pow(o.beta2, t)));
  const real beta1 = static_cast<real>(o.beta1), beta2 = static_cast<real>(o.beta2);
  const real one_minus_beta1 = static_cast<real>(1 - o.beta1);
  const real one_minus_beta2 = static_cast<real>(1 - o.beta2);
  const real eps = static_cast<real>(o.eps);
  const bool l2 = o.weight_decay != 0 && !decoupled_weight_decay_;
  const bool decay = o.weight_decay != 0 && decoupled_weight_decay_;
  const real l2_factor = static_cast<real>(o.weight_decay);
  const real decay_factor = static_cast<real>(1 - lr * o.weight_decay);
  real* m = state.buffers[0].data();  // exp_avg
  real* v = state.buffers[1].data();  // exp_avg_sq
  // Branch-free inside the loop, so that it vectorises: the decay gets its own loop, and
  // the test of l2 is a select between two values of g.
  if (decay)
    for (std::size_t j = begin; j < end; ++j) param[j] *= decay_factor;  // AdamW: p *= 1 - lr·wd
  for (std::size_t j = begin; j < end; ++j) {
    const real g = l2 ? grad[j] + l2_factor * param[j] : grad[j];  // Adam: g += wd·p
    m[j] = beta1 * m[j] + one_minus_beta1 * g;
    v[j] = beta2 * v[j] + one_minus_beta2 * g * g;
    const real denom = std::sqrt(v[j]) / bias2_sqrt + eps;
    param[j] -= step_size * (m[j] / denom);
  }
}

// --- Gradient clipping ---

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
  if (!(max_norm > 0) || !std::isfinite(max_norm))
    fail("clip_grad_norm: max_norm must be positive and finite, got " + std::to_string(max_norm));
  // The gradients, in slices that the threads share out; each slice's Σ g² is kept apart
  // and the slice sums are added in order, so the norm is the same for any thread count.
  struct Slice {
    real* grad;
    std::size_t count;
    double sum_of_squares;
  };
  std::vector<Slice> slices;
  for (Tensor p : parameters)  // a handle: the slices point at the parameter's own gradient
    if (real* grad = p.mutable_grad_data())
      for (std::size_t begin = 0; begin < p.numel(); begin += kSlice)
        slices.push_back({grad + begin, std::min(kSlice, p.numel() - begin), 0});
  parallel_for(slices.size(), [&](std::size_t first, std::size_t last) {
    for (std::size_t s = first; s < last; ++s)
      slices[s].sum_of_squares = sum_of_squares(slices[s].grad, slices[s].count);
  }, 4);
  double total = 0;
  for (const Slice& slice : slices) total += slice.sum_of_squares;
  const double norm = std::sqrt(total);
  if (!std::isfinite(norm)) return norm;  // the caller decides; scaling would spread NaN
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1) {
    const real scale = static_cast<real>(coefficient);
    parallel_for(slices.size(), [&](std::size_t first, std::size_t last) {
      for (std::size_t s = first; s < last; ++s)
        for (std::size_t i = 0; i < slices[s].count; ++i) slices[s].grad[i] *= scale;
    }, 4);
  }
  return norm;
}

}  // namespace crossgrad::optim
