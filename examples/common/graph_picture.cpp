// graph_picture.cpp — a Tensor's graph as SVG and as a text tree (see graph_picture.h).
// Layout: a node's column is the length of the longest path from a leaf to it, so every
// arrow points right; within a column, nodes sit in the order of the nodes they feed, which
// keeps most arrows from crossing.
#include "examples/common/graph_picture.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <numeric>

#include "examples/common/plot.h"

namespace crossgrad::view {

namespace {

std::string fixed4(real value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4f", double(value));
  return buffer;
}

// The lines of a node's box: label (when set), "op shape", value, grad.
std::vector<std::string> box_lines(const GraphNode& node) {
  std::vector<std::string> lines;
  if (!node.label.empty()) lines.push_back(node.label);
  lines.push_back(node.op + " " + to_string(node.shape));
  if (node.has_value) lines.push_back("value " + fixed4(node.value));
  if (node.has_grad) lines.push_back("grad  " + fixed4(node.grad));
  return lines;
}

std::vector<GraphNode> drawable_nodes(const Tensor& root) {
  std::vector<GraphNode> nodes = graph_nodes(root);
  if (nodes.size() > kMaxGraphPictureNodes)
    throw Error("graph picture: the graph has " + std::to_string(nodes.size()) +
                " tensors, more than the " + std::to_string(kMaxGraphPictureNodes) +
                " a readable picture can show; draw a smaller expression, or use to_dot");
  return nodes;
}

// Column of every node: 0 for leaves, else one more than its furthest parent.
std::vector<std::size_t> columns_of(const std::vector<GraphNode>& nodes) {
  std::vector<std::size_t> column(nodes.size());
  std::vector<bool> done(nodes.size(), false);
  std::function<std::size_t(std::size_t)> place = [&](std::size_t i) {
    if (done[i]) return column[i];
    std::size_t c = 0;
    for (const std::size_t p : nodes[i].parents) c = std::max(c, place(p) + 1);
    done[i] = true;
    return column[i] = c;
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) place(i);
  return column;
}

}  // namespace

std::string graph_svg(const Tensor& root, const std::string& title) {
  const std::vector<GraphNode> nodes = drawable_nodes(root);
  const std::vector<std::size_t> column = columns_of(nodes);
  const std::size_t columns = column[0] + 1;  // the root has the longest path

  // Box sizes, and each column's width.
  const double font = 12, line_height = 16, pad = 8, gap = 56;
  std::vector<std::vector<std::string>> lines(nodes.size());
  std::vector<double> box_width(nodes.size()), box_height(nodes.size());
  std::vector<double> column_width(columns, 0);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    lines[i] = box_lines(nodes[i]);
    double widest = 0;
    for (const std::string& line : lines[i]) widest = std::max(widest, plot::text_width(line, font));
    box_width[i] = widest + 2 * pad;
    box_height[i] = line_height * double(lines[i].size()) + pad;
    column_width[column[i]] = std::max(column_width[column[i]], box_width[i]);
  }

  // Order within columns, right to left: by the mean row of the nodes each one feeds.
  std::vector<std::vector<std::size_t>> children(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (const std::size_t p : nodes[i].parents) children[p].push_back(i);
  std::vector<double> row(nodes.size(), 0);  // position within the column, 0 = top
  std::vector<std::vector<std::size_t>> members(columns);
  for (std::size_t i = 0; i < nodes.size(); ++i) members[column[i]].push_back(i);
  for (std::size_t c = columns; c-- > 0;) {
    std::vector<double> key(nodes.size(), 0);
    for (const std::size_t i : members[c]) {
      for (const std::size_t child : children[i]) key[i] += row[child];
      if (!children[i].empty()) key[i] /= double(children[i].size());
    }
    std::stable_sort(members[c].begin(), members[c].end(),
                     [&](std::size_t a, std::size_t b) { return key[a] < key[b]; });
    // Rows spread the column's nodes over [0, 1] so columns of different sizes interleave.
    for (std::size_t k = 0; k < members[c].size(); ++k)
      row[members[c][k]] = (double(k) + 0.5) / double(members[c].size());
  }

  // Pixel positions: each column stacks its boxes, centred vertically.
  double tallest = 0;
  std::vector<double> column_height(columns, 0);
  for (std::size_t c = 0; c < columns; ++c) {
    for (const std::size_t i : members[c]) column_height[c] += box_height[i] + 18;
    tallest = std::max(tallest, column_height[c]);
  }
  const double width_needed =
      std::accumulate(column_width.begin(), column_width.end(), 0.0) + gap * double(columns - 1) + 40;
  const double width = std::max(width_needed, 240.0);
  std::string svg;
  const double top = plot::fitted_title(svg, title, width, 14) + 4;
  std::vector<double> x(nodes.size()), y(nodes.size());
  double column_x = 20;
  for (std::size_t c = 0; c < columns; ++c) {
    double next_y = top + (tallest - column_height[c]) / 2 + 9;
    for (const std::size_t i : members[c]) {
      x[i] = column_x + (column_width[c] - box_width[i]) / 2;
      y[i] = next_y;
      next_y += box_height[i] + 18;
    }
    column_x += column_width[c] + gap;
  }

  // Arrows first, so boxes sit on top of their ends. Two arrows between the same pair
  // (x * x) are drawn apart.
  svg += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
         "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M 0 0 L 10 5 L 0 10 z\" "
         "fill=\"#555\"/></marker></defs>\n";
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::vector<std::size_t>& parents = nodes[i].parents;
    for (std::size_t k = 0; k < parents.size(); ++k) {
      const std::size_t p = parents[k];
      const auto uses = std::count(parents.begin(), parents.end(), p);
      const auto nth = std::count(parents.begin(), parents.begin() + long(k), p);
      const double spread = uses > 1 ? (double(nth) - double(uses - 1) / 2) * 10 : 0;
      const double x0 = x[p] + box_width[p], y0 = y[p] + box_height[p] / 2 + spread;
      const double x1 = x[i], y1 = y[i] + box_height[i] / 2 + spread;
      const double bend = (x1 - x0) / 2;
      svg += "<path d=\"M " + plot::number(x0) + " " + plot::number(y0) + " C " +
             plot::number(x0 + bend) + " " + plot::number(y0) + ", " + plot::number(x1 - bend) +
             " " + plot::number(y1) + ", " + plot::number(x1) + " " + plot::number(y1) +
             "\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.3\" marker-end=\"url(#arrow)\" "
             "class=\"edge\"/>\n";
    }
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const bool leaf = nodes[i].op == "leaf";
    const std::string fill = i == 0 ? "#fde8c8" : leaf ? "#dbeafe" : "#f3f4f6";
    svg += plot::svg_rect(x[i], y[i], box_width[i], box_height[i],
                          "rx=\"5\" fill=\"" + fill + "\" stroke=\"#333\" class=\"node\"");
    for (std::size_t k = 0; k < lines[i].size(); ++k) {
      const bool name = k == 0 && !nodes[i].label.empty();
      svg += plot::svg_text(x[i] + pad, y[i] + pad / 2 + line_height * double(k + 1) - 4,
                            lines[i][k], font, "start", name ? " font-weight=\"bold\"" : "");
    }
  }
  return plot::svg_document(width, top + tallest + 10, svg);
}

std::string graph_text(const Tensor& root) {
  const std::vector<GraphNode> nodes = drawable_nodes(root);
  std::vector<bool> shown(nodes.size(), false);
  std::string text;
  // Depth first from the root; `prefix` is the indentation drawn so far.
  std::function<void(std::size_t, const std::string&, const std::string&)> draw =
      [&](std::size_t i, const std::string& branch, const std::string& prefix) {
        const GraphNode& node = nodes[i];
        text += branch + (node.label.empty() ? "" : node.label + "  ") + node.op + " " +
                to_string(node.shape);
        if (shown[i]) {
          text += "  (again: the same tensor as above)\n";
          return;
        }
        shown[i] = true;
        if (node.has_value) text += "  value " + fixed4(node.value);
        if (node.has_grad) text += "  grad " + fixed4(node.grad);
        text += "\n";
        for (std::size_t k = 0; k < node.parents.size(); ++k) {
          const bool last = k + 1 == node.parents.size();
          draw(node.parents[k], prefix + (last ? "└── " : "├── "),
               prefix + (last ? "    " : "│   "));
        }
      };
  draw(0, "", "");
  return text;
}

}  // namespace crossgrad::view
