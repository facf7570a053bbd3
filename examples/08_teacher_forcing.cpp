// 08_teacher_forcing.cpp — what the decoder reads and what it is asked to predict. In
// training (teacher forcing) the decoder input is BOS + the answer and the labels are the
// answer + EOS, so one forward pass trains every position at once; at inference there is no
// answer, and the trained model's own predictions are fed back one step at a time. Also why
// the start token must not be PAD, and what label smoothing does to the loss.
// Walked through in docs/08-training-a-seq2seq-model.md.
// Run from the repository's top folder: build/08_teacher_forcing   (make pictures draws it)
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "data/batch.h"
#include "data/tasks.h"
#include "examples/common/attention_view.h"
#include "examples/common/pictures.h"
#include "examples/common/plot.h"
#include "examples/training/checkpoint.h"
#include "nn/decode.h"

using namespace crossgrad;

namespace {

std::string label(const Vocab& vocab, std::int64_t id) { return view::token_label(vocab.symbol(id)); }

void print_row(const char* name, const std::vector<std::string>& tokens) {
  std::printf("  %-15s", name);
  for (const std::string& token : tokens) std::printf("%5s", token.c_str());
  std::printf("\n");
}

// --- The picture: rows of boxes joined by arrows ---

constexpr double kBox = 46, kGap = 14, kLeft = 190;

double box_x(std::size_t i) { return kLeft + double(i) * (kBox + kGap); }

std::string boxes(double y, const std::string& name, const std::vector<std::string>& tokens,
                  const std::string& fill) {
  std::string svg = plot::svg_text(kLeft - 12, y + kBox / 2 + 5, name, 13, "end");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    svg += plot::svg_rect(box_x(i), y, kBox, kBox, "fill=\"" + fill + "\" stroke=\"#444\" rx=\"4\"");
    svg += plot::svg_text(box_x(i) + kBox / 2, y + kBox / 2 + 5, tokens[i], 14);
  }
  return svg;
}

std::string arrow(double x1, double y1, double x2, double y2, const std::string& colour, bool dashed) {
  return plot::svg_line(x1, y1, x2, y2,
                        "stroke=\"" + colour + "\" stroke-width=\"1.6\" marker-end=\"url(#head-" +
                            colour.substr(1) + ")\"" + (dashed ? " stroke-dasharray=\"5,3\"" : ""));
}

std::string arrow_heads() {
  std::string defs = "<defs>\n";
  for (const char* colour : {"444444", "d62728", "1f77b4"})
    defs += std::string("<marker id=\"head-") + colour +
            "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
            "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#" + colour + "\"/></marker>\n";
  return defs + "</defs>\n";
}

// One panel: `fed` above (what becomes the next input: the answer, or the predictions), the
// decoder input in the middle, what each position produces below.
std::string panel(double top, const std::string& title, const std::string& fed_name,
                  const std::vector<std::string>& fed, const std::vector<std::string>& input,
                  const std::string& output_name, const std::vector<std::string>& output,
                  bool feed_back_from_output, const std::string& note) {
  std::string svg = plot::svg_text(20, top + 18, title, 15, "start", " font-weight=\"bold\"");
  const double fed_y = top + 36, input_y = fed_y + (feed_back_from_output ? 0 : 90);
  const double output_y = input_y + 90;
  if (!feed_back_from_output) svg += boxes(fed_y, fed_name, fed, "#fff3d6");
  svg += boxes(input_y, "decoder input", input, "#e8f0fb");
  svg += boxes(output_y, output_name, output, feed_back_from_output ? "#fde2e2" : "#e4f4e4");
  for (std::size_t i = 0; i < input.size(); ++i) {
    const double x = box_x(i) + kBox / 2;
    svg += arrow(x, input_y + kBox + 2, x, output_y - 3, "#444444", false);  // position i predicts
    if (i + 1 < input.size()) {
      if (feed_back_from_output)  // prediction i becomes input i + 1, one step later
        svg += arrow(x + 10, output_y - 2, box_x(i + 1) + kBox / 2 - 6, input_y + kBox + 3,
                     "#d62728", true);
      else  // answer token i is input i + 1: the shift
        svg += arrow(x, fed_y + kBox + 2, box_x(i + 1) + kBox / 2 - 4, input_y - 3, "#1f77b4", false);
    }
  }
  svg += plot::svg_text(20, output_y + kBox + 26, note, 12, "start");
  return svg;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Pictures pictures(argc, argv, "Chapter 8: teacher forcing, pictured.");
  const training::Checkpoint checkpoint = training::load_checkpoint("docs/models/reverse.safetensors");
  nn::Seq2SeqTransformer& model = *checkpoint.model;
  const Vocab& vocab = checkpoint.vocab;

  // Training: the batch holds the answer.
  const std::string source = "3714", answer = "4173";
  const Batch batch = make_batch({{source, answer}}, vocab);
  std::vector<std::string> src, tgt_in, labels, answer_tokens;
  for (std::size_t s = 0; s < batch.src.cols; ++s) src.push_back(label(vocab, batch.src.at(0, s)));
  for (std::size_t t = 0; t < batch.tgt_in.cols; ++t) {
    tgt_in.push_back(label(vocab, batch.tgt_in.at(0, t)));
    labels.push_back(label(vocab, batch.labels.at(0, t)));
  }
  answer_tokens = labels;
  std::printf("training on %s -> %s (teacher forcing):\n", source.c_str(), answer.c_str());
  print_row("src", src);
  print_row("decoder input", tgt_in);
  print_row("labels", labels);

  NoGradGuard no_grad;
  const Tensor logits = model.forward(batch.src, batch.tgt_in);  // every position in one pass
  const std::vector<std::int64_t> best = argmax(logits, -1);
  std::vector<std::string> guesses;
  for (std::int64_t id : best) guesses.push_back(label(vocab, id));
  print_row("model's guesses", guesses);
  std::printf("  loss %.4f, one forward pass for all %zu positions\n",
              double(nn::sequence_cross_entropy(logits, batch.labels).item()), batch.tgt_in.cols);

  // Inference: no answer; each prediction becomes the next input.
  nn::DecodeOptions options;
  const std::vector<nn::Hypothesis> decoded =
      nn::greedy_decode(model, make_source_batch({vocab.encode(source)}), options);
  std::vector<std::string> fed{label(vocab, BOS)}, predictions;
  for (std::int64_t id : decoded[0].tokens) predictions.push_back(label(vocab, id));
  for (std::size_t i = 0; i + 1 < predictions.size(); ++i) fed.push_back(predictions[i]);
  std::printf("\ninference on %s (greedy decoding, %zu forward steps):\n", source.c_str(),
              predictions.size());
  print_row("decoder input", fed);
  print_row("predictions", predictions);

  // BOS is not PAD: a decoder input that starts with PAD hides position 0 from itself.
  TokenMatrix pad_start(1, 1, PAD);
  try {
    model.forward(batch.src, pad_start);
    std::printf("\nstarting the decoder with PAD: accepted (PAD is not masked?)\n");
  } catch (const Error&) {
    std::printf("\nstarting the decoder with PAD instead of BOS: refused, since position 0 would\n"
                "have every key masked (PAD keys are hidden from attention)\n");
  }

  // Label smoothing: the target puts 1 - eps + eps/V on the label and eps/V on every token.
  const std::size_t V = vocab.size();
  const double eps = 0.1;
  CrossEntropyOptions smooth;
  smooth.label_smoothing = real(eps);
  std::printf("\nlabel smoothing, eps = %.1f, V = %zu: the loss of one position whose label is 4\n", eps, V);
  std::printf("  logits                               plain    smoothed\n");
  const auto row = [&](const char* name, const std::vector<real>& values) {
    const Tensor one = Tensor::from(values, {1, V});
    std::printf("  %-34s %7.4f   %7.4f\n", name, double(cross_entropy(one, {vocab.id_of("4")}).item()),
                double(cross_entropy(one, {vocab.id_of("4")}, smooth).item()));
  };
  row("all equal (knows nothing)", std::vector<real>(V, 0));
  std::vector<real> confident(V, 0), very(V, 0), best_smoothed(V);
  confident[std::size_t(vocab.id_of("4"))] = 5;
  very[std::size_t(vocab.id_of("4"))] = 20;
  // The smoothed target's own log-probabilities: the logits that minimise the smoothed loss.
  for (std::size_t v = 0; v < V; ++v)
    best_smoothed[v] = real(std::log(eps / double(V) + (std::int64_t(v) == vocab.id_of("4") ? 1 - eps : 0)));
  row("label +5", confident);
  row("label +20 (very sure)", very);
  row("log of the smoothed target (best)", best_smoothed);

  // The picture.
  std::string body = arrow_heads();
  body += plot::svg_text(20, 28, "Training feeds the answer; inference feeds back its own predictions", 17,
                         "start", " font-weight=\"bold\"");
  body += panel(48, "Training (teacher forcing): all positions in one forward pass", "the answer",
                answer_tokens, tgt_in, "labels", labels, false,
                "decoder input = BOS + answer; labels = answer + EOS; position t learns to predict token t+1");
  body += panel(370, "Inference (greedy decoding): one position per step", "", {}, fed, "predictions",
                predictions, true,
                "there is no answer: each prediction is fed back as the next input, " +
                    std::to_string(predictions.size()) + " steps for " +
                    std::to_string(predictions.size()) + " tokens");
  pictures.save("08-teacher-forcing.svg", plot::svg_document(820, 580, body));
  return 0;
}
