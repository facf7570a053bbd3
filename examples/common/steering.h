// steering.h — edits of a trained model's cross-attention while it decodes, the toy versions
// of how text-to-image models are steered: force an alignment (the diagonal, the
// anti-diagonal, or a map read from a file), block a source position, or weight one by a
// factor (prompt weighting). Each becomes an nn::WeightEdit (nn/attention.h) installed on
// chosen decoder layers and heads; build/predict's --force-attention, --block-source,
// --weight-source, --edit-layer and --edit-head fill a Steering. Mistakes are cli::FlagError
// (the flag) or crossgrad::Error (an input the edit cannot apply to), each naming it.
// Legend: T output steps (rows), S source positions (columns: the tokens, then EOS).
// Read next: docs/steering-cross-attention.md (what the edits do to the reversal model).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/transformer.h"

namespace crossgrad::steer {

enum class Force { none, diagonal, anti_diagonal, map };

struct Steering {
  // Replaces output step t's row: diagonal reads source position t, anti-diagonal position
  // n-1-t of n tokens (then the source's EOS at step n), map row t of `map`. Steps past the
  // source (or past the map's rows) are left as the model computed them.
  Force force = Force::none;
  std::vector<std::vector<double>> map;  // Force::map: one row of S weights per output step
  std::string map_name;                  // the file it came from, for messages
  // Then each listed source position's weight is multiplied by its factor (0 blocks it) and
  // every row renormalised to sum to 1.
  std::vector<std::pair<std::size_t, double>> factors;
  std::vector<std::size_t> layers;  // decoder layers to edit; empty: every one
  std::optional<std::size_t> head;  // the one head to edit; none: every head

  bool any() const { return force != Force::none || !factors.empty(); }
  // One line for headings: "force diagonal, block 2, weight 0 x3 (layers 0,1, every head)".
  std::string describe() const;
};

// --- Reading the flags ---
// "diagonal", "anti-diagonal", or a file of weights: one row per output step, numbers
// separated by spaces, every row as long as the source (its tokens and EOS); '#' starts a
// comment. Each row is renormalised; a negative weight or a row of zeros is an error naming
// the file and line.
void parse_force(const std::string& text, Steering& steering);
std::vector<std::vector<double>> parse_map(const std::string& text, const std::string& name);
// "2" or "0,3": positions whose weight becomes 0; each may be given once.
void parse_block(const std::string& text, Steering& steering);
// "0:3" or "0:3,2:0.5": position:factor pairs, 0 <= factor <= kLargestFactor. A position
// already blocked or weighted is refused.
inline constexpr double kLargestFactor = 1e6;
void parse_weights(const std::string& text, Steering& steering);
// "1" or "0,1": indices for --edit-layer; `flag` names it in errors.
std::vector<std::size_t> parse_indices(const std::string& text, const std::string& flag);

// --- Checks ---
// Every listed layer and head exists in this model (FlagError naming the flag).
void check_model(const Steering& steering, const nn::TransformerConfig& config);
// The edit applies to a source of `positions` positions (its tokens and EOS): every listed
// position lies inside it, a map's rows are that long, something is left to attend to.
// Errors start with `where` (e.g. "argument 2").
void check_source(const Steering& steering, std::size_t positions, const std::string& where);

// --- Editing ---
// The edit of one (row, head) block of weights (nn::WeightBlock), ignoring the head choice:
// force, factors, renormalise, over the block's non-padding keys.
void edit_block(const Steering& steering, const nn::WeightBlock& block);
// Installs the edit on the chosen decoder layers (and heads) of `model`, clearing any other;
// an empty steering clears them all.
void install(const Steering& steering, nn::Seq2SeqTransformer& model);

}  // namespace crossgrad::steer
