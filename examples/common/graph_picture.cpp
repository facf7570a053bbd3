// graph_picture.cpp — a Tensor's graph as SVG and as a text tree (see graph_picture.h).
// Layout (a small Sugiyama layout): a node's column is the length of the longest path from a
// leaf to it, so every arrow points right; an arrow that spans columns gets a waypoint in
// each column it crosses; within a column, boxes and waypoints are ordered by the mean
// position of their neighbours, which keeps most arrows from crossing.
#include "examples/common/graph_picture.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
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

// Column of every node: one more than its furthest parent's, so every arrow points right;
// then each leaf moves right to the column just before its first use, so an input sits
// next to the op that reads it.
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
  std::vector<std::size_t> first_use(nodes.size(), column[0]);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (const std::size_t p : nodes[i].parents) first_use[p] = std::min(first_use[p], column[i]);
  for (std::size_t i = 1; i < nodes.size(); ++i)
    if (nodes[i].parents.empty()) column[i] = first_use[i] - 1;
  return column;
}

// What the layout places: the graph's nodes, and a waypoint in every column an arrow
// crosses, so long arrows are ordered and spaced like boxes and never run through one.
struct Item {
  std::size_t column = 0;
  double width = 0, height = 8;  // a waypoint's size
  std::vector<std::size_t> inputs, outputs;  // neighbouring items, one entry an arrow
  double row = 0, x = 0, y = 0;              // order in its column; pixel position
};

}  // namespace

std::string graph_svg(const Tensor& root, const std::string& title) {
  const std::vector<GraphNode> nodes = drawable_nodes(root);
  const std::vector<std::size_t> column = columns_of(nodes);
  const std::size_t columns = column[0] + 1;  // the root has the longest path

  // Boxes, then the waypoints of every arrow; an arrow is the chain of items it passes.
  const double font = 12, line_height = 16, pad = 8, gap = 56, spacing = 18;
  std::vector<Item> items(nodes.size());
  std::vector<std::vector<std::string>> lines(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    lines[i] = box_lines(nodes[i]);
    double widest = 0;
    for (const std::string& line : lines[i]) widest = std::max(widest, plot::text_width(line, font));
    items[i].column = column[i];
    items[i].width = widest + 2 * pad;
    items[i].height = line_height * double(lines[i].size()) + pad;
  }
  std::vector<std::vector<std::size_t>> arrows;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (const std::size_t p : nodes[i].parents) {
      std::vector<std::size_t> chain{p};
      for (std::size_t c = column[p] + 1; c < column[i]; ++c) {
        items.emplace_back();
        items.back().column = c;
        chain.push_back(items.size() - 1);
      }
      chain.push_back(i);
      for (std::size_t k = 0; k + 1 < chain.size(); ++k) {
        items[chain[k]].outputs.push_back(chain[k + 1]);
        items[chain[k + 1]].inputs.push_back(chain[k]);
      }
      arrows.push_back(chain);
    }

  // Order within columns by the mean row of the neighbours on one side, sweeping right to
  // left (by outputs), left to right (by inputs), and right to left again.
  std::vector<std::vector<std::size_t>> members(columns);
  for (std::size_t i = 0; i < items.size(); ++i) members[items[i].column].push_back(i);
  const auto sweep = [&](std::size_t c, bool by_outputs) {
    std::vector<double> key(items.size(), 0);
    for (const std::size_t i : members[c]) {
      const std::vector<std::size_t>& side = by_outputs ? items[i].outputs : items[i].inputs;
      for (const std::size_t n : side) key[i] += items[n].row;
      key[i] = side.empty() ? items[i].row : key[i] / double(side.size());
    }
    std::stable_sort(members[c].begin(), members[c].end(),
                     [&](std::size_t a, std::size_t b) { return key[a] < key[b]; });
    for (std::size_t k = 0; k < members[c].size(); ++k)
      items[members[c][k]].row = (double(k) + 0.5) / double(members[c].size());
  };
  for (std::size_t c = columns; c-- > 0;) sweep(c, true);
  for (std::size_t c = 0; c < columns; ++c) sweep(c, false);
  for (std::size_t c = columns; c-- > 0;) sweep(c, true);

  // Pixels: columns side by side, each stacking its items, centred vertically.
  std::vector<double> column_width(columns, 0), column_height(columns, 0);
  double tallest = 0;
  for (std::size_t c = 0; c < columns; ++c) {
    for (const std::size_t i : members[c]) {
      column_width[c] = std::max(column_width[c], items[i].width);
      column_height[c] += items[i].height + spacing;
    }
    tallest = std::max(tallest, column_height[c]);
  }
  const double width = std::max(
      std::accumulate(column_width.begin(), column_width.end(), 0.0) + gap * double(columns - 1) + 40,
      240.0);
  std::string svg;
  const double top = plot::fitted_title(svg, title, width, 14) + 4;
  double column_x = 20;
  for (std::size_t c = 0; c < columns; ++c) {
    double next_y = top + (tallest - column_height[c]) / 2 + spacing / 2;
    for (const std::size_t i : members[c]) {
      items[i].x = column_x + (column_width[c] - items[i].width) / 2;
      items[i].y = next_y;
      next_y += items[i].height + spacing;
    }
    column_x += column_width[c] + gap;
  }

  // Arrows first, so boxes sit on top of their ends. Where several arrows leave or enter a
  // box they are spread along its side, in the order of where they go, so x * x shows two.
  const auto centre = [&](std::size_t i) { return items[i].y + items[i].height / 2; };
  const auto port = [&](std::size_t box, std::size_t neighbour, std::size_t nth, bool out) {
    std::vector<std::size_t> ends = out ? items[box].outputs : items[box].inputs;
    std::stable_sort(ends.begin(), ends.end(),
                     [&](std::size_t a, std::size_t b) { return centre(a) < centre(b); });
    std::size_t index = 0, seen = 0;
    for (std::size_t k = 0; k < ends.size(); ++k)
      if (ends[k] == neighbour && seen++ == nth) index = k;
    const double spread = std::min(items[box].height * 0.6, 12.0 * double(ends.size() - 1));
    return centre(box) + (ends.size() > 1 ? spread * (double(index) / double(ends.size() - 1) - 0.5) : 0);
  };
  svg += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
         "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M 0 0 L 10 5 L 0 10 z\" "
         "fill=\"#555\"/></marker></defs>\n";
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> drawn;  // arrows so far, by (from, to)
  for (const std::vector<std::size_t>& chain : arrows) {
    const std::size_t first = chain[0], second = chain[1], last = chain.back();
    const std::size_t before_last = chain[chain.size() - 2];
    const std::size_t nth_out = drawn[{first, second}]++;
    const std::size_t nth_in = chain.size() == 2 ? nth_out : drawn[{before_last, last}]++;
    std::vector<std::pair<double, double>> points{
        {items[first].x + items[first].width, port(first, second, nth_out, true)}};
    for (std::size_t k = 1; k + 1 < chain.size(); ++k)
      points.emplace_back(items[chain[k]].x, centre(chain[k]));
    points.emplace_back(items[last].x, port(last, before_last, nth_in, false));
    std::string path = "M " + plot::number(points[0].first) + " " + plot::number(points[0].second);
    for (std::size_t k = 1; k < points.size(); ++k) {
      const auto [x0, y0] = points[k - 1];
      const auto [x1, y1] = points[k];
      const double bend = (x1 - x0) / 2;
      path += " C " + plot::number(x0 + bend) + " " + plot::number(y0) + ", " +
              plot::number(x1 - bend) + " " + plot::number(y1) + ", " + plot::number(x1) + " " +
              plot::number(y1);
    }
    svg += "<path d=\"" + path +
           "\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.3\" marker-end=\"url(#arrow)\" "
           "class=\"edge\"/>\n";
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const bool leaf = nodes[i].op == "leaf";
    const std::string fill = i == 0 ? "#fde8c8" : leaf ? "#dbeafe" : "#f3f4f6";
    svg += plot::svg_rect(items[i].x, items[i].y, items[i].width, items[i].height,
                          "rx=\"5\" fill=\"" + fill + "\" stroke=\"#333\" class=\"node\"");
    for (std::size_t k = 0; k < lines[i].size(); ++k) {
      const bool name = k == 0 && !nodes[i].label.empty();
      svg += plot::svg_text(items[i].x + pad, items[i].y + pad / 2 + line_height * double(k + 1) - 4,
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
