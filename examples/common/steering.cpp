// steering.cpp — the edits of steering.h: parsing the flags, checking them against the model
// and each source, and rewriting one (row, head) block of cross-attention weights.
// Legend: T output steps (rows), S source positions (columns: the tokens, then EOS).
#include "examples/common/steering.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "examples/common/flags.h"

namespace crossgrad::steer {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.push_back("");
  return parts;
}

std::string join(const std::vector<std::size_t>& values) {
  std::string out;
  for (const std::size_t v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// Output step `step`'s forced column over `positions` source positions (n tokens, then EOS),
// or `positions` when the step lies past the source and is left alone.
std::size_t forced_column(Force force, std::size_t step, std::size_t positions) {
  if (step >= positions) return positions;
  if (force == Force::diagonal) return step;
  const std::size_t tokens = positions - 1;  // anti-diagonal: the last token first, EOS last
  return step < tokens ? tokens - 1 - step : tokens;
}

}  // namespace

std::string Steering::describe() const {
  std::string out;
  const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (force == Force::diagonal) add("force diagonal");
  if (force == Force::anti_diagonal) add("force anti-diagonal");
  if (force == Force::map) add("force " + map_name);
  for (const auto& [position, factor] : factors)
    add(factor == 0 ? "block " + std::to_string(position)
                    : "weight " + std::to_string(position) + " x" + number_text(factor));
  out += " (" + (layers.empty() ? std::string("every layer")
                                : (layers.size() == 1 ? "layer " : "layers ") + join(layers));
  return out + ", " + (head ? "head " + std::to_string(*head) : std::string("every head")) + ")";
}

// --- Reading the flags ---

std::vector<std::vector<double>> parse_map(const std::string& text, const std::string& name) {
  std::vector<std::vector<double>> rows;
  std::istringstream lines(text);
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::vector<double> row;
    std::string word;
    const std::string where = name + ":" + std::to_string(number);
    while (words >> word) {
      double w = 0;
      try {
        w = cli::parse_real(word, where);
      } catch (const cli::FlagError&) {
        throw cli::FlagError(where + ": '" + word + "' is not a number");
      }
      if (w < 0) throw cli::FlagError(where + ": weight " + word + " is negative");
      row.push_back(w);
    }
    if (row.empty()) continue;  // blank or comment
    if (!rows.empty() && row.size() != rows[0].size())
      throw cli::FlagError(where + ": " + std::to_string(row.size()) +
                           " weights, but the first row has " + std::to_string(rows[0].size()));
    // Renormalised by the largest weight first, so that no sum of large weights overflows.
    const double largest = *std::max_element(row.begin(), row.end());
    if (largest == 0) throw cli::FlagError(where + ": a row of zeros attends to nothing");
    double total = 0;
    for (double& w : row) total += (w /= largest);
    for (double& w : row) w /= total;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw cli::FlagError(name + ": no rows of weights");
  return rows;
}

void parse_force(const std::string& text, Steering& steering) {
  if (text == "diagonal") {
    steering.force = Force::diagonal;
  } else if (text == "anti-diagonal") {
    steering.force = Force::anti_diagonal;
  } else {
    std::ifstream file(text);
    if (!file)
      throw cli::FlagError("--force-attention: '" + text +
                           "' is not diagonal, anti-diagonal or a file that can be read");
    std::ostringstream contents;
    contents << file.rdbuf();
    steering.force = Force::map;
    steering.map_name = text;
    steering.map = parse_map(contents.str(), text);
  }
}

std::vector<std::size_t> parse_indices(const std::string& text, const std::string& flag) {
  std::vector<std::size_t> out;
  for (const std::string& part : split(text, ','))
    out.push_back(std::size_t(cli::parse_unsigned(part, flag)));
  if (out.empty()) throw cli::FlagError(flag + ": no index given");
  return out;
}

// Adds a factor, refusing a position given twice (which factor would it mean?).
void add_factor(Steering& steering, std::size_t position, double factor, const std::string& flag) {
  for (const auto& given : steering.factors)
    if (given.first == position)
      throw cli::FlagError(flag + ": source position " + std::to_string(position) +
                           " is already blocked or weighted");
  steering.factors.emplace_back(position, factor);
}

void parse_block(const std::string& text, Steering& steering) {
  for (const std::size_t position : parse_indices(text, "--block-source"))
    add_factor(steering, position, 0.0, "--block-source");
}

void parse_weights(const std::string& text, Steering& steering) {
  for (const std::string& pair : split(text, ',')) {
    const std::size_t colon = pair.find(':');
    if (colon == std::string::npos)
      throw cli::FlagError("--weight-source: '" + pair + "' is not POSITION:FACTOR (e.g. 0:3)");
    const std::size_t position =
        std::size_t(cli::parse_unsigned(pair.substr(0, colon), "--weight-source position"));
    const double factor = cli::parse_real(pair.substr(colon + 1), "--weight-source factor");
    if (factor < 0)
      throw cli::FlagError("--weight-source: factor " + pair.substr(colon + 1) + " of position " +
                           std::to_string(position) + " is negative; weights must stay >= 0");
    if (factor > kLargestFactor)  // a weight of at most 1 times it stays far from overflow
      throw cli::FlagError("--weight-source: factor " + pair.substr(colon + 1) + " of position " +
                           std::to_string(position) + " is above " + number_text(kLargestFactor));
    add_factor(steering, position, factor, "--weight-source");
  }
}

// --- Checks ---

void check_model(const Steering& steering, const nn::TransformerConfig& config) {
  for (const std::size_t layer : steering.layers)
    if (layer >= config.num_decoder_layers)
      throw cli::FlagError("--edit-layer " + std::to_string(layer) + ": this model has " +
                           std::to_string(config.num_decoder_layers) + " decoder layer" +
                           (config.num_decoder_layers == 1 ? "" : "s") + ", 0.." +
                           std::to_string(config.num_decoder_layers - 1));
  if (steering.head && *steering.head >= config.num_heads)
    throw cli::FlagError("--edit-head " + std::to_string(*steering.head) + ": this model has " +
                         std::to_string(config.num_heads) + " heads, 0.." +
                         std::to_string(config.num_heads - 1));
}

void check_source(const Steering& steering, std::size_t positions, const std::string& where) {
  const std::string size = std::to_string(positions) + " source positions (0.." +
                           std::to_string(positions - 1) + ", EOS last)";
  for (const auto& factor : steering.factors)
    if (factor.first >= positions)
      fail(where + ": source position " + std::to_string(factor.first) +
           " is beyond this input's " + size);
  if (steering.force == Force::map && steering.map[0].size() != positions)
    fail(where + ": " + steering.map_name + " has rows of " +
         std::to_string(steering.map[0].size()) + " weights, but this input has " + size);
  std::size_t blocked = 0;
  for (std::size_t s = 0; s < positions; ++s)
    blocked += std::any_of(steering.factors.begin(), steering.factors.end(),
                           [s](const auto& f) { return f.first == s && f.second == 0; });
  if (blocked == positions)
    fail(where + ": every one of its " + size + " is blocked; nothing is left to attend to");
}

// --- Editing ---

void edit_block(const Steering& steering, const nn::WeightBlock& block) {
  std::vector<std::size_t> keys;  // the real source positions: columns that are not padding
  for (std::size_t s = 0; s < block.S; ++s)
    if (!block.key_padding || block.key_padding[s] == 0) keys.push_back(s);
  std::vector<double> factor(keys.size(), 1.0);
  for (const auto& [position, x] : steering.factors)
    if (position < keys.size()) factor[position] *= x;
  for (std::size_t t = 0; t < block.T; ++t) {
    real* row = block.weights + t * block.S;
    const std::size_t step = block.first_query + t;
    if (steering.force == Force::map && step < steering.map.size() &&
        steering.map[step].size() == keys.size()) {
      for (std::size_t i = 0; i < keys.size(); ++i) row[keys[i]] = real(steering.map[step][i]);
    } else if (steering.force == Force::diagonal || steering.force == Force::anti_diagonal) {
      const std::size_t column = forced_column(steering.force, step, keys.size());
      if (column < keys.size())
        for (std::size_t i = 0; i < keys.size(); ++i) row[keys[i]] = i == column ? 1 : 0;
    }
    if (steering.factors.empty()) continue;  // forced rows already sum to 1
    double total = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      row[keys[i]] = real(double(row[keys[i]]) * factor[i]);
      total += double(row[keys[i]]);
    }
    // All the weight was on blocked positions: spread it evenly over the others.
    std::size_t open = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) open += factor[i] > 0;
    for (std::size_t i = 0; i < keys.size(); ++i)
      row[keys[i]] = total > 0     ? real(double(row[keys[i]]) / total)
                     : factor[i] > 0 ? real(1.0 / double(open))
                                     : real(0);
  }
}

void install(const Steering& steering, nn::Seq2SeqTransformer& model) {
  model.clear_cross_attention_edits();
  if (!steering.any()) return;
  check_model(steering, model.config());
  std::vector<std::size_t> layers = steering.layers;
  if (layers.empty())
    for (std::size_t l = 0; l < model.config().num_decoder_layers; ++l) layers.push_back(l);
  for (const std::size_t layer : layers)
    model.set_cross_attention_edit(layer, [steering](const nn::WeightBlock& block) {
      if (!steering.head || *steering.head == block.head) edit_block(steering, block);
    });
}

}  // namespace crossgrad::steer
