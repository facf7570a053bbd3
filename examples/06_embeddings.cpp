// 06_embeddings.cpp — what the transformer's first step makes of token ids: a row of the
// embedding table, scaled by √d_model, plus a sinusoidal positional encoding. Prints the
// sizes of the two parts (in a fresh model and in the trained reversal model), the table's
// first values and wavelengths, and the property that makes positions easy to compare: the
// dot product of the encodings of p and p + k depends on k only.
// Walked through in docs/06-the-transformer.md.
// Run from the repository's top folder: build/06_embeddings   (make pictures draws the table)
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"
#include "examples/training/checkpoint.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

double rms(const Tensor& t) {  // root mean square of the entries
  double sum = 0;
  for (std::size_t i = 0; i < t.numel(); ++i) sum += double(t.data()[i]) * t.data()[i];
  return std::sqrt(sum / double(t.numel()));
}

Tensor parameter(const nn::Module& module, const std::string& name) {
  for (const auto& [parameter_name, tensor] : module.named_parameters())
    if (parameter_name == name) return tensor;
  fail("no parameter named " + name);
}

double dot(const Tensor& table, std::size_t p, std::size_t q) {
  double sum = 0;
  for (std::size_t d = 0; d < table.size(1); ++d) sum += double(table.at({p, d})) * table.at({q, d});
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 6: token embeddings and positional encodings.");
  const std::size_t D = 64;
  const double scale = std::sqrt(double(D));

  // Token embeddings: a (V, D) table, one row per token id. PyTorch's (and crossgrad's)
  // default initialisation draws it from N(0, 1).
  const nn::Seq2SeqTransformer fresh;  // the standard model, untrained
  const training::Checkpoint trained = training::load_checkpoint("docs/models/reverse.safetensors");
  const nn::PositionalEncoding positions(D, 512);
  const Tensor pe = positions.table();  // (max_len, D)
  std::printf("src_embed.weight %s: one row of %zu numbers per token id\n",
              to_string(parameter(fresh, "src_embed.weight").shape()).c_str(), D);
  std::printf("root mean square of the entries:\n");
  std::printf("                             fresh model   trained model\n");
  const Tensor fresh_table = parameter(fresh, "src_embed.weight");
  const Tensor trained_table = parameter(*trained.model, "src_embed.weight");
  std::printf("  E[id]                      %11.3f   %13.3f\n", rms(fresh_table), rms(trained_table));
  std::printf("  sqrt(d_model) * E[id]      %11.3f   %13.3f\n", scale * rms(fresh_table),
              scale * rms(trained_table));
  std::printf("  pe[pos], pos 0..16         %11.3f   %13.3f   (fixed, never trained)\n",
              rms(pe.slice(0, 0, 17)), rms(pe.slice(0, 0, 17)));

  // The table: pe[pos, 2i] = sin(pos·ω_i), pe[pos, 2i+1] = cos(pos·ω_i), ω_i = 10000^(-2i/D).
  std::printf("\npositional encoding pe (%zu, %zu), first columns:\n", pe.size(0), pe.size(1));
  std::printf("  pos    dim 0    dim 1    dim 2    dim 3   ...   dim 62   dim 63\n");
  for (std::size_t pos : {0, 1, 2, 16}) {
    std::printf("  %3zu  ", pos);
    for (std::size_t d : {0, 1, 2, 3}) std::printf(" %8.4f", double(pe.at({pos, d})));
    std::printf("   ...  %7.4f  %7.4f\n", double(pe.at({pos, 62})), double(pe.at({pos, 63})));
  }
  std::printf("wavelength of dims 0-1: %.2f positions; of dims 62-63: %.0f positions\n",
              2 * M_PI, 2 * M_PI * std::pow(10000.0, 62.0 / 64.0));

  // pe[p]·pe[p+k] = Σ_i cos(k·ω_i): the same for every p, so "k apart" looks the same
  // everywhere in the sequence.
  std::printf("\ndot products pe[p] . pe[p+k] (the same for every p):\n");
  std::printf("       p = 0    p = 5   p = 40\n");
  for (std::size_t k : {0, 1, 2, 4, 8}) {
    std::printf("  k = %zu", k);
    for (std::size_t p : {0, 5, 40}) std::printf(" %8.3f", dot(pe, p, p + k));
    std::printf("\n");
  }

  // Pictures: the table for the first 32 positions, and how alike two positions' codes are.
  const std::size_t shown = 32;
  plot::Heatmap table;
  table.title = "Sinusoidal positional encoding pe[pos, dim], d_model " + std::to_string(D);
  table.rows = shown, table.cols = D;
  table.values.assign(pe.data(), pe.data() + shown * D);
  table.colours = plot::Heatmap::Colours::diverging;
  table.low = -1, table.high = 1;
  table.y_label = "position";
  table.x_label = "dimension (even: sin, odd: cos; frequency falls to the right)";
  table.cell = 10;
  pictures.save("06-positional-encoding.svg", plot::heatmap_svg(table));

  const std::size_t compared = 24;
  plot::Heatmap similarity;
  similarity.title = "pe[p] . pe[q]: nearby positions have similar codes";
  similarity.rows = similarity.cols = compared;
  for (std::size_t p = 0; p < compared; ++p)
    for (std::size_t q = 0; q < compared; ++q) similarity.values.push_back(dot(pe, p, q));
  similarity.y_label = "position p";
  similarity.x_label = "position q";
  similarity.cell = 16;
  pictures.save("06-position-similarity.svg", plot::heatmap_svg(similarity));
  return 0;
}
