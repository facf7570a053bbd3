// graph_picture.h — the computation graph of a Tensor drawn without Graphviz: as SVG (leaves
// on the left, the output on the right, one box a tensor and one arrow an input) and as text
// for the terminal (a tree from the output down to the leaves). Both read
// crossgrad::graph_nodes, the same data to_dot writes as Graphviz DOT.
// A box shows the tensor's label (set_label), its op ("leaf" for an input that requires
// grad), its shape, and for a one-element tensor its value and, once backward has reached
// it, its gradient. backward() frees the graph it walked and the gradients of non-leaves:
// draw after backward(/*retain_graph=*/true), with retain_grad() on the tensors whose
// gradient the picture should show.
// Read next: examples/01_chain_rule.cpp (both drawings in use).
#pragma once

#include <string>

#include "autograd/tensor.h"

namespace crossgrad::view {

// Refuses graphs of more than this many tensors: a picture that large is unreadable.
inline constexpr std::size_t kMaxGraphPictureNodes = 200;

std::string graph_svg(const Tensor& root, const std::string& title = "");

// The graph as a tree, the output first:
//   out  tanh ()  value 0.7616  grad 1.0000
//   └── d  add ()  value 1.0000  grad 0.4200
//       ├── ...
// A tensor used twice appears in full once; its second appearance says "(again)".
std::string graph_text(const Tensor& root);

}  // namespace crossgrad::view
