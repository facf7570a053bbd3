// attention_view.h — pictures of cross-attention: where each output token looked in the
// source. A terminal heatmap (shade characters, or 256-colour backgrounds on a terminal) and
// an SVG grid with one heatmap per decoder layer and head plus the mean over heads. Pure
// functions from weights and token labels to text, so tests can read what they draw.
// Legend: T output tokens (rows, down), S source tokens (columns, across), H heads.
// Files are written with nn::write_file_atomically (nn/io/atomic_file.h).
// Read next: examples/predict.cpp (which decodes and calls these), nn/decode.h.
#pragma once

#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "examples/common/plot.h"

namespace crossgrad::view {

// The shades from weight 0 to weight 1, lightest to darkest: level round(9·w) of 0..9.
inline constexpr const char* kShades = " .:-=+*#%@";

// One decoded input's cross-attention, as nn/decode.h's Hypothesis::cross_attention holds it.
struct AttentionExample {
  std::vector<std::string> source;  // S labels: the source tokens, then EOS
  std::vector<std::string> output;  // T labels: the generated tokens (EOS included if made)
  std::vector<Tensor> layers;       // per decoder layer: (H, T, S) weights, rows sum to 1
  std::string caption;              // optional, before the SVG heading, e.g. "steered"
};

// A token as a short, visible label: "EOS"/"BOS"/"PAD" for the special ids' names, "␣" for a
// space, "?" for other control characters; anything else unchanged.
std::string token_label(const std::string& symbol);

// (H, T, S) -> (T, S): the mean over heads, or one head. Errors name the shapes.
Tensor head_mean(const Tensor& layer);
Tensor head_slice(const Tensor& layer, std::size_t head);

struct HeatmapOptions {
  bool color = false;  // 256-colour ANSI backgrounds instead of shade characters
  std::string title;   // first line, e.g. "decoder layer 1 of 2, mean of 4 heads"
};

// weights (T, S) as text: source labels across the top, output labels down the left, one
// cell per weight, then a legend line. Throws if the shape and the label counts disagree.
std::string render_heatmap(const Tensor& weights, const std::vector<std::string>& source,
                           const std::vector<std::string>& output,
                           const HeatmapOptions& options = {});

// map (T, S) of attention weights as a picture panel on the fixed 0..1 scale: `rows` (T labels)
// down the left, the source tokens `columns` (S labels) across, `cell` pixels a side. The
// axis titles say "output token" and "source token"; a caller may change them.
plot::Heatmap attention_heatmap(const std::string& title, const Tensor& map,
                                const std::vector<std::string>& rows,
                                const std::vector<std::string>& columns, double cell);

// Colour only on a terminal, and never when NO_COLOR is set to a non-empty value
// (https://no-color.org); no_color is getenv("NO_COLOR"), possibly nullptr.
bool use_color(bool stdout_is_terminal, const char* no_color);

// A complete SVG document: for each example a heading and a grid with one row per decoder
// layer, one heatmap per head and a last one for the mean of the heads, token labels on
// both axes, and a colour scale. Every cell is one <rect class="cell">.
std::string render_svg(const std::vector<AttentionExample>& examples);

}  // namespace crossgrad::view
