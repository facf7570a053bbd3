// Solution to exercise 6.1 (docs/06-the-transformer.md): learned positions instead of
// sinusoids. The model is the standard one assembled from nn/'s parts (two embeddings, an
// nn::Transformer, a generator) with one more parameter: a (max_len, D) table whose row p is
// added at position p, trained like any weight. The checks, in seconds:
//   1. shapes: logits (B, T, V) for a batch;
//   2. gradients: a fast gradient check of the loss with respect to the position table, and
//      the rows of the table beyond the longest sequence seen get no gradient at all;
//   3. it learns: 200 steps on short reversals bring the loss well down.
// Check 2 is the whole story of length generalisation: a row that training never reaches
// keeps its random start, so the model has never seen the vector it meets at that position.
// The experiment that measures it takes minutes, not seconds; run it with
//   make program SRC=examples/solutions/06_learned_positions.cpp
//   build/06_learned_positions --experiment
// which trains this model and the sinusoidal one on lengths 1..12 and decodes lengths 1..16.
// Measured here: both 100% on lengths 10..12; at 13, sinusoidal 54.8% and learned 0%; at
// 14, 2.5% and 0%; from 15 on, 0% for both.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "data/batch.h"
#include "data/tasks.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "nn/transformer.h"

using namespace crossgrad;

namespace {

// The standard model with a learned position table in place of the sinusoidal one.
class LearnedPositionSeq2Seq : public nn::Module {
 public:
  explicit LearnedPositionSeq2Seq(const nn::TransformerConfig& config, std::uint64_t seed = 0)
      : config_(config),
        gen_(seed),
        src_embed_(config.vocab_size, config.d_model, gen_),
        tgt_embed_(config.vocab_size, config.d_model, gen_),
        positions_(config.max_len, config.d_model, gen_),
        transformer_(config, gen_, gen_),
        generator_(config.d_model, config.vocab_size, gen_) {
    register_module("src_embed", src_embed_);
    register_module("tgt_embed", tgt_embed_);
    register_module("positions", positions_);
    register_module("transformer", transformer_);
    register_module("generator", generator_);
  }

  // src (B, S), tgt_in (B, T) -> logits (B, T, V)
  Tensor forward(const TokenMatrix& src, const TokenMatrix& tgt_in) {
    const Tensor memory =
        transformer_.encoder().forward(embed(src_embed_, src), nn::padding_mask(src, config_.pad_id));
    const Tensor h = transformer_.decoder().forward(embed(tgt_embed_, tgt_in), memory,
                                                    nn::padding_mask(tgt_in, config_.pad_id),
                                                    nn::padding_mask(src, config_.pad_id));
    return generator_.forward(h);
  }

  Tensor position_table() const { return positions_.weight(); }
  std::string type_name() const override { return "LearnedPositionSeq2Seq"; }

 private:
  // x = E[ids]·√D + P[0..L): (B, L, D); the positions are rows 0..L-1 of the learned table.
  Tensor embed(const nn::Embedding& table, const TokenMatrix& ids) const {
    std::vector<std::int64_t> position_ids;
    for (std::size_t p = 0; p < ids.cols; ++p) position_ids.push_back(std::int64_t(p));
    const Tensor positions = positions_.forward(position_ids, {ids.cols});  // (L, D)
    return table.forward(ids) * real(std::sqrt(double(config_.d_model))) + positions;
  }

  nn::TransformerConfig config_;
  Generator gen_;
  nn::Embedding src_embed_, tgt_embed_, positions_;
  nn::Transformer transformer_;
  nn::Linear generator_;
};

// Greedy decoding without a cache: feed BOS + the tokens so far, keep the last position's
// best token (never PAD or BOS), until EOS or max_len tokens. Model: either class above.
template <typename Model>
std::vector<std::string> greedy(Model& model, const std::vector<Pair>& pairs, const Vocab& vocab) {
  std::vector<std::string> outputs;
  NoGradGuard no_grad;
  for (std::size_t start = 0; start < pairs.size(); start += 100) {
    std::vector<std::vector<std::int64_t>> sources;
    for (std::size_t i = start; i < std::min(start + 100, pairs.size()); ++i)
      sources.push_back(vocab.encode(pairs[i].source));
    const TokenMatrix src = make_source_batch(sources);
    std::vector<std::vector<std::int64_t>> generated(src.rows, std::vector<std::int64_t>{BOS});
    std::vector<bool> done(src.rows, false);
    for (std::size_t step = 0; step < src.cols + 2; ++step) {
      TokenMatrix tgt_in(src.rows, step + 1);
      for (std::size_t r = 0; r < src.rows; ++r)
        for (std::size_t c = 0; c <= step; ++c) tgt_in.at(r, c) = generated[r][c];
      const Tensor logits = model.forward(src, tgt_in);  // (N, step + 1, V)
      for (std::size_t r = 0; r < src.rows; ++r) {
        std::int64_t best = EOS;
        for (std::int64_t v = EOS; v < std::int64_t(vocab.size()); ++v)
          if (logits.at({r, step, std::size_t(v)}) > logits.at({r, step, std::size_t(best)})) best = v;
        generated[r].push_back(done[r] ? PAD : best);
        done[r] = done[r] || best == EOS;
      }
    }
    for (const auto& tokens : generated) outputs.push_back(vocab.decode(tokens));
  }
  return outputs;
}

// Adam with the default recipe's warmup and cosine decay, gradient clipping at 1.
template <typename Model>
double train(Model& model, const TaskSpec& spec, const Vocab& vocab, std::int64_t steps,
             std::size_t batch_size, std::uint64_t seed, bool report) {
  optim::Adam adam(model.parameters(), {3e-3, 0.9, 0.98, 1e-9});
  const optim::CosineSchedule schedule(3e-3, std::min<std::int64_t>(200, steps / 5), steps);
  Generator data(seed);
  double loss_value = 0;
  for (std::int64_t step = 0; step < steps; ++step) {
    const Batch batch = make_batch(make_examples(spec, batch_size, data), vocab);
    const Tensor loss = nn::sequence_cross_entropy(model.forward(batch.src, batch.tgt_in), batch.labels);
    adam.zero_grad();
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.0);
    adam.set_lr(schedule.lr_at(step));
    adam.step();
    loss_value = loss.item();
    if (report && (step + 1) % 500 == 0)
      std::printf("  step %lld  loss %.4f\n", static_cast<long long>(step + 1), loss_value);
  }
  return loss_value;
}

template <typename Model>
void report_by_length(Model& model, const Vocab& vocab) {
  const std::vector<Pair> held_out = make_held_out(TaskSpec{Task::reverse, 1, 16}, 800, 0);
  const LengthAccuracy accuracy = accuracy_by_length(Task::reverse, held_out, greedy(model, held_out, vocab));
  for (std::size_t length = 10; length <= 16; ++length)
    std::printf("  length %2zu: %5.1f%%\n", length, 100 * accuracy.accuracy(length));
}

// Minutes: both position schemes trained on lengths 1..12, decoded on 10..16.
int experiment() {
  const Vocab vocab = task_vocab(Task::reverse);
  const TaskSpec train_spec{Task::reverse, 1, 12};
  nn::TransformerConfig config;  // the standard model
  std::printf("sinusoidal positions (nn::Seq2SeqTransformer), 4000 steps on lengths 1..12:\n");
  nn::Seq2SeqTransformer sinusoidal(config, 0);
  train(sinusoidal, train_spec, vocab, 4000, 64, 0, true);
  sinusoidal.eval();
  report_by_length(sinusoidal, vocab);
  std::printf("learned positions, the same recipe:\n");
  LearnedPositionSeq2Seq learned(config, 0);
  train(learned, train_spec, vocab, 4000, 64, 0, true);
  learned.eval();
  report_by_length(learned, vocab);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--experiment") == 0) return experiment();
  nn::TransformerConfig config;  // small enough to train in seconds in float64
  config.d_model = 32, config.num_heads = 2, config.d_ff = 64;
  config.num_encoder_layers = config.num_decoder_layers = 1;
  config.max_len = 12;
  LearnedPositionSeq2Seq model(config, 0);
  const Vocab vocab = task_vocab(Task::reverse);
  const TaskSpec spec{Task::reverse, 1, 4};  // sources of 1..4 digits: at most 5 positions

  // 1. Shapes.
  Generator data(1);
  const Batch batch = make_batch(make_examples(spec, 8, data), vocab);
  const Tensor logits = model.forward(batch.src, batch.tgt_in);
  const bool shapes_ok = logits.shape() == Shape{8, batch.tgt_in.cols, vocab.size()};
  std::printf("logits %s for src %s and tgt_in %s: %s\n", to_string(logits.shape()).c_str(),
              to_string(batch.src.shape()).c_str(), to_string(batch.tgt_in.shape()).c_str(),
              shapes_ok ? "ok" : "WRONG");

  // 2. Gradients: the loss against the position table, numerically (one random projection),
  // and which rows of the table a batch reaches.
  Tensor table = model.position_table();
  GradcheckOptions fast;
  fast.fast = true;
  const GradcheckResult check = gradcheck(
      [&](const std::vector<Tensor>&) {
        return nn::sequence_cross_entropy(model.forward(batch.src, batch.tgt_in), batch.labels);
      },
      {table}, fast);
  std::printf("gradcheck of the loss with respect to the position table: %s\n",
              check.ok ? "passed" : check.report.c_str());
  model.zero_grad();
  nn::sequence_cross_entropy(model.forward(batch.src, batch.tgt_in), batch.labels).backward();
  const std::size_t longest = std::max(batch.src.cols, batch.tgt_in.cols);
  bool rows_ok = true;
  for (std::size_t p = 0; p < config.max_len; ++p) {
    double size = 0;
    for (std::size_t d = 0; d < config.d_model; ++d) size += std::abs(table.grad().at({p, d}));
    rows_ok = rows_ok && ((p < longest) == (size > 0));
  }
  std::printf("rows 0..%zu of the table get a gradient, rows %zu..%zu none: %s\n", longest - 1,
              longest, config.max_len - 1, rows_ok ? "yes" : "NO");

  // 3. It learns.
  LearnedPositionSeq2Seq fresh(config, 0);
  const Tensor first = nn::sequence_cross_entropy(fresh.forward(batch.src, batch.tgt_in), batch.labels);
  const double last = train(fresh, spec, vocab, 200, 32, 2, false);
  std::printf("loss %.3f at the start, %.3f after 200 steps\n", double(first.item()), last);
  return shapes_ok && check.ok && rows_ok && last < 0.5 * double(first.item()) ? 0 : 1;
}
