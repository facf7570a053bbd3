// module.cpp — the module tree (names, train/eval, summary) and the initialisers.
#include "nn/module.h"

#include <algorithm>
#include <cmath>
#include <ostream>

namespace crossgrad::nn {

namespace {

// 236237 -> "236,237", so parameter counts read at a glance.
std::string with_commas(std::size_t n) {
  std::string digits = std::to_string(n);
  for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(std::size_t(i), ",");
  return digits;
}

}  // namespace

// --- Registration ---

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  if (!value.defined()) fail("register_parameter: '" + name + "' is an undefined tensor");
  if (!value.is_leaf())
    fail("register_parameter: '" + name + "' must be a leaf tensor, not the output of " +
         value.op_name());
  for (const auto& [existing, tensor] : parameters_)
    if (existing == name) fail("register_parameter: '" + name + "' is already registered");
  value.requires_grad_(true);
  parameters_.emplace_back(name, value);
  return value;
}

void Module::register_module(const std::string& name, Module& child) {
  if (&child == this) fail("register_module: '" + name + "' cannot be the module itself");
  for (const auto& [existing, module] : children_)
    if (existing == name) fail("register_module: '" + name + "' is already registered");
  children_.emplace_back(name, &child);
}

// --- Walking the tree ---

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> all = parameters_;
  for (const auto& [child_name, child] : children_)
    for (auto& [name, tensor] : child->named_parameters())
      all.emplace_back(child_name + "." + name, tensor);
  return all;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> all;
  for (auto& named : named_parameters()) all.push_back(named.second);
  return all;
}

std::size_t Module::num_parameters() const {
  std::size_t total = 0;
  for (const Tensor& p : parameters()) total += p.numel();
  return total;
}

std::vector<std::pair<std::string, const Module*>> Module::named_children() const {
  return {children_.begin(), children_.end()};
}

void Module::train(bool training) {
  training_ = training;
  for (auto& named : children_) named.second->train(training);
}

void Module::zero_grad() {
  for (Tensor p : parameters()) p.zero_grad();
}

// --- Summary ---

// One line per module, "(name): Type(args)  [N parameters]", then its own parameters with
// their shapes, then its children one level deeper.
void Module::append_summary(std::string& out, const std::string& name, int depth) const {
  const std::string indent(2 * std::size_t(depth), ' ');
  out += indent;
  if (!name.empty()) out += "(" + name + "): ";
  out += type_name() + "(" + extra_repr() + ")";
  const std::size_t count = num_parameters();
  if (count > 0) out += "  [" + with_commas(count) + (count == 1 ? " parameter]" : " parameters]");
  out += "\n";
  for (const auto& [param_name, tensor] : parameters_)
    out += indent + "  " + param_name + " " + to_string(tensor.shape()) + "\n";
  for (const auto& [child_name, child] : children_)
    child->append_summary(out, child_name, depth + 1);
}

std::string Module::summary() const {
  std::string out;
  append_summary(out, "", 0);
  return out;
}

std::ostream& operator<<(std::ostream& out, const Module& module) {
  return out << module.summary();
}

// --- Initialisation: written straight into the leaf's data, recording no graph ---

void uniform_(Tensor& t, real low, real high, Generator& gen) {
  real* values = t.mutable_data();
  for (std::size_t i = 0; i < t.numel(); ++i) values[i] = gen.uniform(low, high);
}

void constant_(Tensor& t, real value) {
  std::fill_n(t.mutable_data(), t.numel(), value);
}

void xavier_uniform_(Tensor& t, Generator& gen) {
  if (t.dim() != 2) fail("xavier_uniform_: expects a matrix, got shape " + to_string(t.shape()));
  // A (fan_out, fan_in) weight; the bound keeps activation variance across the layer.
  const double bound = std::sqrt(6.0 / double(t.size(0) + t.size(1)));
  uniform_(t, real(-bound), real(bound), gen);
}

}  // namespace crossgrad::nn
