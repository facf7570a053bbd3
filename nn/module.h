// module.h — Module: a named tree of parameters and child modules, like torch.nn.Module.
// A module registers its parameters (leaf tensors that require grad) and its children by
// name; named_parameters() walks the tree and yields dotted names in registration order
// (own parameters first, then each child's), which is exactly PyTorch's state_dict order.
// Also the initialisers (PyTorch's nn.init) that the layers use.
// Read next: nn/layers.h (Linear, Embedding, LayerNorm, Dropout, PositionalEncoding).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace crossgrad::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Children are held by address and parameters are shared handles, so a copied or moved
  // module would silently share or lose them: modules are neither copyable nor movable.
  // Hold them by value as members, or in a std::unique_ptr.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;

  // Every parameter of the tree as ("transformer.encoder.norm.weight", tensor), own ones
  // first, then each child's in registration order. The tensors are the live parameters:
  // writing into their data() changes the model (that is how checkpoints load).
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::size_t num_parameters() const;  // total number of elements
  // The direct children as (name, module), in registration order.
  std::vector<std::pair<std::string, const Module*>> named_children() const;

  // Training mode (dropout active) or evaluation mode, for this module and all below it.
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();  // drops the gradient of every parameter

  // The class name ("Linear") and its arguments ("in_features=64, out_features=13") for
  // the printed summary, like PyTorch's repr and extra_repr.
  virtual std::string type_name() const = 0;
  virtual std::string extra_repr() const { return ""; }
  // The module tree, one line per module with its parameter count, and one line per
  // parameter with its shape. operator<< prints the same.
  std::string summary() const;

 protected:
  // Marks `value` as a parameter (a leaf that requires grad) named `name` and returns the
  // same handle, so a layer writes `weight_ = register_parameter("weight", init)`.
  Tensor register_parameter(const std::string& name, Tensor value);
  // `child` must be a member of this module (or owned by it): it must outlive the registry.
  void register_module(const std::string& name, Module& child);

 private:
  void append_summary(std::string& out, const std::string& name, int depth) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

std::ostream& operator<<(std::ostream& out, const Module& module);

// --- Initialisation (torch.nn.init), in place on a leaf, seeded from a Generator ---
void uniform_(Tensor& t, real low, real high, Generator& gen);
void constant_(Tensor& t, real value);
// U(-b, b) with b = sqrt(6 / (fan_in + fan_out)) for a (fan_out, fan_in) matrix.
void xavier_uniform_(Tensor& t, Generator& gen);

}  // namespace crossgrad::nn
