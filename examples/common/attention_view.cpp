// attention_view.cpp — the terminal heatmap and the SVG grid behind predict --show-attention
// and --svg. Widths count UTF-8 code points, which is what a terminal shows for the scripts
// toy data uses (wide CJK characters would misalign).
#include "examples/common/attention_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"

namespace crossgrad::view {

namespace {

// --- Labels ---

std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;  // count lead bytes only
  return width;
}

// The first `width` code points of text, with the last one replaced by '~' if cut.
std::string fit(const std::string& text, std::size_t width) {
  if (display_width(text) <= width) return text;
  std::string out;
  std::size_t points = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80 && ++points == width) break;
    out += static_cast<char>(c);
  }
  return out + "~";
}

std::size_t longest(const std::vector<std::string>& labels) {
  std::size_t width = 0;
  for (const std::string& label : labels) width = std::max(width, display_width(label));
  return width;
}

// text in a field of `width` columns: centred (extra space on the right) or right-aligned.
std::string pad(const std::string& text, std::size_t width, bool centre) {
  const std::size_t used = display_width(text), room = width > used ? width - used : 0;
  const std::size_t left = centre ? room / 2 : room;
  return std::string(left, ' ') + text + std::string(room - left, ' ');
}

void check_map(const Tensor& weights, std::size_t sources, std::size_t outputs, const char* where) {
  if (weights.dim() != 2 || weights.size(0) != outputs || weights.size(1) != sources)
    fail(std::string(where) + ": weights " + to_string(weights.shape()) + " do not match " +
         std::to_string(outputs) + " output and " + std::to_string(sources) +
         " source labels; expected (T, S) = (" + std::to_string(outputs) + "," +
         std::to_string(sources) + ")");
}

// --- Terminal heatmap ---

// weight clamped to [0, 1]; NaN shows as 0 (nothing) rather than as certainty.
double clamped(double weight) { return weight > 0 ? std::min(weight, 1.0) : 0.0; }

std::size_t shade_level(double weight) {
  return static_cast<std::size_t>(std::lround(clamped(weight) * 9));
}

// 256-colour palette: 232..255 is a grey ramp from near black to near white.
std::string colour_cell(double weight, std::size_t width) {
  const int grey = 232 + static_cast<int>(std::lround(clamped(weight) * 23));
  return "\x1b[48;5;" + std::to_string(grey) + "m" + std::string(width, ' ') + "\x1b[0m";
}

std::string cell(double weight, std::size_t width, bool color) {
  if (color) return colour_cell(weight, width);
  return std::string(width, kShades[shade_level(weight)]);
}

std::string legend(bool color) {
  std::string out = "weight 0 ";
  for (std::size_t level = 0; level <= 9; ++level) out += cell(level / 9.0, 1, color);
  return out + " 1" + (color ? "  (darker: less attention)\n" : "  (each step is 1/9)\n");
}

// --- SVG ---

// Sizes in pixels. Labels use an 11 px monospace font, about 7 px a character.
constexpr std::size_t kCell = 16, kCharWidth = 7, kGap = 24, kMargin = 16, kTitle = 18;

// Text safe inside an XML element or attribute; characters XML 1.0 forbids become '?'.
std::string xml_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    const char* entity = c == '&'    ? "&amp;"
                         : c == '<'  ? "&lt;"
                         : c == '>'  ? "&gt;"
                         : c == '"'  ? "&quot;"
                         : c == '\'' ? "&apos;"
                                     : nullptr;
    if (entity != nullptr)
      out += entity;
    else
      out += (c < 0x20 && c != '\t' && c != '\n') ? '?' : static_cast<char>(c);
  }
  return out;
}

// A sequential white-to-dark-blue scale (the "Blues" of ColorBrewer): more attention reads
// as more ink, as the terminal shades do, and stays legible printed in grey.
constexpr double kStops[][3] = {
    {247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};

std::string scale_colour(double weight) {
  const double x = clamped(weight) * 4;
  const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(x), 3);
  char hex[8];
  int rgb[3];
  for (int k = 0; k < 3; ++k)
    rgb[k] =
        static_cast<int>(std::lround(kStops[i][k] + (x - i) * (kStops[i + 1][k] - kStops[i][k])));
  std::snprintf(hex, sizeof hex, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return hex;
}

std::string text_at(std::size_t x, std::size_t y, const std::string& text,
                    const std::string& attributes = "") {
  return "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\"" + attributes +
         ">" + xml_escape(text) + "</text>\n";
}

// Where one example's panels go: each is a title, a band of source labels, then the cells.
struct PanelLayout {
  std::size_t left, top, width, height;  // label column, label band, whole panel
  bool rotate;                           // source labels vertical (some are long)
};

PanelLayout panel_layout(const AttentionExample& example) {
  PanelLayout p;
  p.rotate = longest(example.source) > 2;
  p.left = std::max<std::size_t>(longest(example.output), 1) * kCharWidth + 8;
  p.top = kTitle + (p.rotate ? longest(example.source) * kCharWidth + 6 : 14);
  // Wide enough for its cells and for the longest title, "layer N, mean of heads".
  const std::size_t title = std::to_string(example.layers.size() - 1).size() + 21;
  p.width = std::max(p.left + example.source.size() * kCell, title * kCharWidth);
  p.height = p.top + example.output.size() * kCell;
  return p;
}

// One heatmap with its top-left corner at (x, y).
std::string svg_panel(const Tensor& weights, const AttentionExample& example, const PanelLayout& p,
                      std::size_t x, std::size_t y, const std::string& title) {
  std::string out = text_at(x, y + 12, title, " class=\"title\"");
  const std::size_t grid_x = x + p.left, grid_y = y + p.top;
  for (std::size_t s = 0; s < example.source.size(); ++s) {
    const std::size_t cx = grid_x + s * kCell + kCell / 2;
    out += p.rotate ? text_at(0, 0, example.source[s],
                              " transform=\"translate(" + std::to_string(cx + 4) + "," +
                                  std::to_string(grid_y - 4) + ") rotate(-90)\"")
                    : text_at(cx, grid_y - 4, example.source[s], " text-anchor=\"middle\"");
  }
  const std::vector<real>& w = weights.values();
  for (std::size_t t = 0; t < example.output.size(); ++t) {
    const std::size_t cy = grid_y + t * kCell;
    out += text_at(grid_x - 4, cy + 12, example.output[t], " text-anchor=\"end\"");
    for (std::size_t s = 0; s < example.source.size(); ++s) {
      const double weight = double(w[t * example.source.size() + s]);
      char value[32];
      std::snprintf(value, sizeof value, ": %.3f", weight);
      out += "<rect class=\"cell\" x=\"" + std::to_string(grid_x + s * kCell) + "\" y=\"" +
             std::to_string(cy) + "\" width=\"" + std::to_string(kCell) + "\" height=\"" +
             std::to_string(kCell) + "\" fill=\"" + scale_colour(weight) + "\"><title>" +
             xml_escape(example.output[t] + " <- " + example.source[s] + value) +
             "</title></rect>\n";
    }
  }
  return out;
}

void check_example(const AttentionExample& example, std::size_t index) {
  const std::string where = "render_svg: example " + std::to_string(index);
  if (example.layers.empty()) fail(where + ": no decoder layers");
  for (std::size_t l = 0; l < example.layers.size(); ++l) {
    const Tensor& layer = example.layers[l];
    if (layer.dim() != 3 || layer.size(0) == 0 || layer.size(0) != example.layers[0].size(0))
      fail(where + ", layer " + std::to_string(l) + ": weights " + to_string(layer.shape()) +
           " are not (H, T, S) with the same H >= 1 in every layer");
    check_map(head_mean(layer), example.source.size(), example.output.size(), where.c_str());
  }
}

// The colour scale: a gradient bar with the same stops as the cells, labelled 0 and 1.
std::string svg_scale(std::size_t x, std::size_t y) {
  std::string out = "<defs><linearGradient id=\"scale\">";
  for (std::size_t i = 0; i < 5; ++i)
    out += "<stop offset=\"" + std::to_string(i * 25) + "%\" stop-color=\"" +
           scale_colour(i / 4.0) + "\"/>";
  out += "</linearGradient></defs>\n";
  out += text_at(x, y + 11, "attention weight  0");
  out += "<rect class=\"scale\" x=\"" + std::to_string(x + 140) + "\" y=\"" + std::to_string(y) +
         "\" width=\"160\" height=\"14\" fill=\"url(#scale)\" stroke=\"#888\"/>\n";
  return out + text_at(x + 306, y + 11, "1");
}

// One example's heading and grid at height y; returns the grid and advances y past it.
std::string svg_example(const AttentionExample& example, std::size_t& y, std::size_t& width) {
  const PanelLayout p = panel_layout(example);
  const std::size_t heads = example.layers[0].size(0);
  std::string source_text, output_text;
  for (const std::string& label : example.source) source_text += label + " ";
  for (const std::string& label : example.output) output_text += label + " ";
  const std::string caption = example.caption.empty() ? "" : example.caption + ": ";
  std::string out =
      text_at(kMargin, y + 14, caption + source_text + "-> " + output_text, " class=\"head\"");
  y += 28;
  for (std::size_t l = 0; l < example.layers.size(); ++l, y += p.height + kGap) {
    const std::string layer = "layer " + std::to_string(l);
    for (std::size_t h = 0; h <= heads; ++h) {
      const bool mean = h == heads;
      const Tensor weights = mean ? head_mean(example.layers[l]) : head_slice(example.layers[l], h);
      out += svg_panel(weights, example, p, kMargin + h * (p.width + kGap), y,
                       layer + (mean ? ", mean of heads" : ", head " + std::to_string(h)));
    }
  }
  width = std::max(width, 2 * kMargin + (heads + 1) * (p.width + kGap));
  return out;
}

}  // namespace

std::string token_label(const std::string& symbol) {
  if (symbol == "<eos>") return "EOS";
  if (symbol == "<bos>") return "BOS";
  if (symbol == "<pad>") return "PAD";
  if (symbol == " ") return "\u2423";  // ␣, OPEN BOX: a space you can see
  std::string out;
  for (unsigned char c : symbol) out += (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
  return out;
}

Tensor head_mean(const Tensor& layer) {
  if (layer.dim() != 3 || layer.size(0) == 0)
    fail("head_mean: expected (H, T, S) attention weights with H >= 1, got " +
         to_string(layer.shape()));
  return layer.mean(0);
}

Tensor head_slice(const Tensor& layer, std::size_t head) {
  if (layer.dim() != 3 || head >= layer.size(0))
    fail("head_slice: head " + std::to_string(head) + " of attention weights " +
         to_string(layer.shape()) + " (H, T, S): heads are 0.." +
         std::to_string(layer.dim() == 3 ? long(layer.size(0)) - 1 : -1));
  return layer.slice(0, head, head + 1).squeeze(0);
}

// Layout: a row-label column as wide as the longest output label, then one column per
// source token, 2 to 4 characters wide (longer labels are cut and end in '~').
std::string render_heatmap(const Tensor& weights, const std::vector<std::string>& source,
                           const std::vector<std::string>& output, const HeatmapOptions& options) {
  check_map(weights, source.size(), output.size(), "render_heatmap");
  const std::size_t column = std::clamp<std::size_t>(longest(source), 2, 4);
  const std::size_t margin = std::clamp<std::size_t>(longest(output), 1, 12);
  std::string out = options.title.empty() ? "" : options.title + "\n";
  out += std::string(margin + 1, ' ');
  for (const std::string& label : source) out += pad(fit(label, column), column, true);
  out += "\n";
  const std::vector<real>& w = weights.values();
  for (std::size_t t = 0; t < output.size(); ++t) {
    out += pad(fit(output[t], margin), margin, false) + " ";
    for (std::size_t s = 0; s < source.size(); ++s)
      out += cell(double(w[t * source.size() + s]), column, options.color);
    out += "\n";
  }
  return out + std::string(margin + 1, ' ') + legend(options.color);
}

bool use_color(bool stdout_is_terminal, const char* no_color) {
  return stdout_is_terminal && (no_color == nullptr || no_color[0] == '\0');
}

std::string render_svg(const std::vector<AttentionExample>& examples) {
  for (std::size_t i = 0; i < examples.size(); ++i) check_example(examples[i], i);
  std::size_t y = kMargin + 30, width = 360;
  std::string body = svg_scale(kMargin, kMargin);
  for (const AttentionExample& example : examples) body += svg_example(example, y, width);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(y + kMargin) +
         "\" font-family=\"monospace\" "
         "font-size=\"11\">\n<style>.title { font-weight: bold } .head { font-size: 13px }"
         "</style>\n<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n" +
         body + "</svg>\n";
}

plot::Heatmap attention_heatmap(const std::string& title, const Tensor& map,
                                const std::vector<std::string>& rows,
                                const std::vector<std::string>& columns, double cell) {
  if (map.dim() != 2 || map.size(0) != rows.size() || map.size(1) != columns.size())
    fail("attention_heatmap: weights " + to_string(map.shape()) + " for " +
         std::to_string(rows.size()) + " row and " + std::to_string(columns.size()) +
         " column labels");
  plot::Heatmap heatmap;
  heatmap.title = title;
  heatmap.rows = map.size(0), heatmap.cols = map.size(1);
  heatmap.values.assign(map.data(), map.data() + map.numel());
  heatmap.row_names = rows;
  heatmap.col_names = columns;
  heatmap.y_label = "output token";
  heatmap.x_label = "source token";
  heatmap.low = 0, heatmap.high = 1;
  heatmap.cell = cell;
  return heatmap;
}

}  // namespace crossgrad::view
