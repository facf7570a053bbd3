// Tests that Seq2SeqTransformer computes what the PyTorch reference computes: the weights of
// a small Seq2Seq (the PyTorch reference model), a fixed padded batch, and PyTorch's
// logits, loss and every parameter gradient were exported by tests/export_reference.py into
// tests/fixtures/; here our loader reads them, our model runs forward + loss + backward, and
// every number must agree within 1e-5 absolute (in the float32 and the float64 build).
// Python is needed only to regenerate the fixtures (see the script's header), never here.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include "nn/io/safetensors.h"
#include "nn/transformer.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

constexpr double kTolerance = 1e-5;

// The test binaries run from the repository root (make test, .ci/run); from elsewhere the
// fixtures are found in a parent directory, or next to __FILE__ when it is absolute.
std::string fixture(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path relative = fs::path("tests") / "fixtures" / name;
  for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / relative)) return (dir / relative).string();
    if (dir == dir.parent_path()) break;
  }
  return (fs::path(__FILE__).parent_path() / "fixtures" / name).string();
}

const std::string& metadata_value(const SafetensorsFile& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  if (it == file.metadata.end()) fail("reference fixture: __metadata__ lacks '" + key + "'");
  return it->second;
}

// The configuration the exporter wrote into __metadata__ (TransformerConfig's field names).
nn::TransformerConfig config_from(const SafetensorsFile& weights) {
  const auto size = [&](const std::string& key) {
    return std::size_t(std::stoul(metadata_value(weights, key)));
  };
  nn::TransformerConfig config;
  config.vocab_size = size("vocab_size");
  config.d_model = size("d_model");
  config.num_heads = size("num_heads");
  config.d_ff = size("d_ff");
  config.num_encoder_layers = size("num_encoder_layers");
  config.num_decoder_layers = size("num_decoder_layers");
  config.max_len = size("max_len");
  config.dropout = real(std::stod(metadata_value(weights, "dropout")));
  config.layer_norm_eps = real(std::stod(metadata_value(weights, "layer_norm_eps")));
  return config;
}

const Tensor& entry(const SafetensorsFile& file, const std::string& name) {
  const Tensor* found = file.find(name);
  if (!found) fail("reference fixture: no tensor '" + name + "'");
  return *found;
}

// Columns [begin, end) of a (B, L) matrix of ids stored as floats: the exporter's src, and
// tgt[:, :-1] (decoder input) or tgt[:, 1:] (labels) exactly as the reference slices them.
TokenMatrix ids(const Tensor& values, std::size_t begin, std::size_t end) {
  REQUIRE(values.dim() == 2);
  TokenMatrix m(values.size(0), end - begin);
  for (std::size_t r = 0; r < m.rows; ++r)
    for (std::size_t c = begin; c < end; ++c)
      m.at(r, c - begin) = std::int64_t(std::lround(values.at({r, c})));
  return m;
}

double max_abs(const Tensor& t) {
  double largest = 0;
  for (const real v : t.values()) largest = std::max(largest, std::abs(double(v)));
  return largest;
}

// Our model with the reference weights, after forward + loss + backward on the batch.
struct OurRun {
  SafetensorsFile weights = load_safetensors(fixture("reference_weights.safetensors"));
  SafetensorsFile reference = load_safetensors(fixture("reference_outputs.safetensors"));
  nn::Seq2SeqTransformer model{config_from(weights), /*seed=*/0};
  Tensor logits, loss;

  // `edit` changes the loaded model before it runs (to show the comparison notices).
  explicit OurRun(const std::function<void(nn::Seq2SeqTransformer&)>& edit = {}) {
    load_into(model.named_parameters(), weights.tensors, /*strict=*/true);
    if (edit) edit(model);
    model.train();  // as the export (dropout is 0, so it changes nothing)
    const Tensor& src = entry(reference, "src");
    const Tensor& tgt = entry(reference, "tgt");
    const std::size_t T = tgt.size(1);
    logits = model.forward(ids(src, 0, src.size(1)), ids(tgt, 0, T - 1));
    loss = nn::sequence_cross_entropy(logits, ids(tgt, 1, T));
    loss.backward();
  }
};

}  // namespace

TEST_CASE("reference fixtures: every parameter has a weight and a PyTorch gradient") {
  OurRun run;
  const auto named = run.model.named_parameters();
  // 2 embeddings + 2 × 12 encoder-layer + 2 encoder norm + 2 × 22 decoder-layer + 2 decoder
  // norm + 2 generator tensors (the state_dict of Seq2Seq(16, 2, 32, 2, 2)).
  CHECK(named.size() == 68);
  CHECK(run.weights.tensors.size() == named.size());
  CHECK(run.model.num_parameters() == 11837);
  std::set<std::string> expected = {"src", "tgt", "logits", "loss"};
  for (const auto& [name, parameter] : named) {
    INFO(name);
    CHECK(entry(run.weights, name).shape() == parameter.shape());
    CHECK(entry(run.reference, "grad." + name).shape() == parameter.shape());
    expected.insert("grad." + name);
  }
  std::set<std::string> present;
  for (const auto& named_tensor : run.reference.tensors) present.insert(named_tensor.first);
  CHECK(present == expected);  // a gradient for each parameter, and nothing unexplained
  MESSAGE(named.size() << " parameter tensors, " << run.model.num_parameters()
                       << " values, each with a PyTorch gradient");
}

TEST_CASE("reference: logits and loss equal PyTorch's within 1e-5") {
  OurRun run;
  const Tensor& logits = entry(run.reference, "logits");
  CHECK(logits.shape() == Shape{3, 5, 13});  // B 3, T 5, V 13: S 8 differs from T
  const double logits_diff = max_abs_difference(run.logits, logits);
  const double loss_diff =
      std::abs(double(run.loss.item()) - double(entry(run.reference, "loss").item()));
  CHECK(logits_diff <= kTolerance);
  CHECK(loss_diff <= kTolerance);
  MESSAGE("max |logits - PyTorch| " << logits_diff << ", |loss - PyTorch| " << loss_diff
                                    << " (loss " << run.loss.item() << ")");
}

TEST_CASE("reference: every parameter gradient equals PyTorch's within 1e-5") {
  OurRun run;
  double worst = 0, worst_relative = 0;
  std::string worst_name;
  std::size_t compared = 0;
  for (const auto& [name, parameter] : run.model.named_parameters()) {
    INFO(name);
    const Tensor grad = parameter.grad();
    REQUIRE(grad.defined());
    const Tensor& theirs = entry(run.reference, "grad." + name);
    const double diff = max_abs_difference(grad, theirs);
    CHECK(diff <= kTolerance);
    if (diff >= worst) worst = diff, worst_name = name;
    // relative to the tensor's largest gradient, to see how far below the bound we are
    worst_relative = std::max(worst_relative, diff / std::max(max_abs(theirs), 1e-30));
    ++compared;
  }
  CHECK(compared == 68);
  MESSAGE("max |gradient - PyTorch| " << worst << " (" << worst_name << ") over " << compared
                                      << " parameter tensors; largest relative to a tensor's"
                                      << " max |gradient|: " << worst_relative);
}

TEST_CASE("reference: the comparison notices a weight moved by 1e-3") {
  // Without this, a comparison that looked at the wrong tensors could pass vacuously.
  OurRun run([](nn::Seq2SeqTransformer& model) {
    for (auto& [name, parameter] : model.named_parameters())
      if (name == "transformer.encoder.layers.1.norm1.bias") parameter.mutable_data()[0] += real(1e-3);
  });
  const double logits_diff = max_abs_difference(run.logits, entry(run.reference, "logits"));
  CHECK(logits_diff > 10 * kTolerance);
  MESSAGE("one encoder LayerNorm bias moved by 1e-3 moves the logits by " << logits_diff);
}
