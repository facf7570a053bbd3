// 01_chain_rule.cpp — one small expression, out = tanh(a·b + c): the graph the forward pass
// records, drawn as text; backward() filling in every gradient; and the chain rule worked
// by hand beside it. Walked through in docs/01-derivatives-and-the-chain-rule.md.
// Run: build/01_chain_rule   (make pictures also draws the graph as docs/pictures/*.svg)
#include <cmath>
#include <cstdio>
#include <iostream>

#include "autograd/ops.h"
#include "examples/common/graph_picture.h"
#include "examples/common/pictures.h"

using namespace crossgrad;

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 1: the graph of out = tanh(a*b + c).");

  // Three inputs ("leaves") that require grad: we want d out / d a, d out / d b, d out / d c.
  Tensor a = Tensor::scalar(2, /*requires_grad=*/true).set_label("a");
  Tensor b = Tensor::scalar(-3, true).set_label("b");
  Tensor c = Tensor::scalar(7, true).set_label("c");

  // The forward pass computes values and records the graph: each result remembers its op
  // and the tensors it was made from.
  Tensor e = (a * b).set_label("e");      // 2 · -3 = -6
  Tensor d = (e + c).set_label("d");      // -6 + 7 = 1
  Tensor out = tanh(d).set_label("out");  // tanh(1) = 0.7616
  std::cout << "The graph after the forward pass, the output at the top:\n"
            << view::graph_text(out) << "\n";
  pictures.save("01-graph-forward.svg", view::graph_svg(out, "out = tanh(a*b + c): forward"));

  // Reverse mode: one backward pass from out fills in the gradient of every leaf.
  // backward() frees what it no longer needs; we ask it to keep the intermediate gradients
  // and the graph itself, only to draw them.
  for (Tensor t : {e, d, out}) t.retain_grad();
  out.backward(/*retain_graph=*/true);
  std::cout << "After out.backward(), every box also has its gradient d out / d box:\n"
            << view::graph_text(out) << "\n";
  pictures.save("01-graph-backward.svg",
                view::graph_svg(out, "out = tanh(a*b + c) after backward: grad is d out/d box"));

  // The chain rule by hand: the gradient of a box is the gradient of the box it feeds times
  // the local derivative between the two. Walk from out back to the leaves.
  const double d_out = 1;                                  // d out / d out
  const double d_d = d_out * (1 - std::pow(std::tanh(1.0), 2));  // out = tanh(d)
  const double d_e = d_d * 1;                              // d = e + c: dd/de = 1
  const double d_c = d_d * 1;                              //            dd/dc = 1
  const double d_a = d_e * -3.0;                           // e = a · b: de/da = b
  const double d_b = d_e * 2.0;                            //            de/db = a
  std::printf("By hand, the chain rule from out back to the leaves:\n");
  std::printf("  d out/d d = 1 - tanh(d)^2          = %.4f\n", d_d);
  std::printf("  d out/d e = d out/d d * 1          = %.4f\n", d_e);
  std::printf("  d out/d c = d out/d d * 1          = %.4f\n", d_c);
  std::printf("  d out/d a = d out/d e * b          = %.4f\n", d_a);
  std::printf("  d out/d b = d out/d e * a          = %.4f\n", d_b);

  bool agree = true;
  for (const auto& [tensor, by_hand] : {std::pair{a, d_a}, {b, d_b}, {c, d_c}, {d, d_d}, {e, d_e}})
    agree = agree && std::abs(tensor.grad().item() - by_hand) < 1e-5;
  std::printf("backward() computed the same five numbers: %s\n", agree ? "yes" : "NO");
  return agree ? 0 : 1;
}
