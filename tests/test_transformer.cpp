// Tests for nn/transformer.cpp: the reference's parameter names, shapes, order and count;
// PyTorch's initialisation; what the masks guarantee (padding and the future change
// nothing); the cross-attention maps; train/eval; errors; and float64 gradient checks of
// each layer and of the whole model's loss with respect to every parameter tensor.
#include <set>

#include "data/batch.h"
#include "data/tasks.h"
#include "nn/optim.h"
#include "nn/transformer.h"
#include "testing.h"

using namespace crossgrad;
// Named one by one: this suite's tiny_config (with dropout) is not testing::tiny_config.
using testing::check_gradients_logged;
using testing::Inputs;
using testing::max_abs_difference;
using testing::random_input;
using testing::tokens;

namespace {

// The tiny model of the whole-model gradient check: d_model 8, 2 heads, ff 16, 1 + 1 layers.
nn::TransformerConfig tiny_config(real dropout = 0) {
  nn::TransformerConfig config = testing::tiny_config(8);
  config.vocab_size = 7;
  config.dropout = dropout;
  config.max_len = 16;
  return config;
}

// Moves every parameter a little off its initial value, so no check runs at a special point
// (zero biases, LayerNorm's ones and zeros).
void jitter(const nn::Module& module, std::uint64_t seed) {
  Generator gen(seed);
  for (Tensor p : module.parameters()) {
    real* values = p.mutable_data();
    for (std::size_t i = 0; i < p.numel(); ++i) values[i] += gen.uniform(-0.2, 0.2);
  }
}

void expect_all(const nn::Module& module, bool training) {
  CHECK(module.is_training() == training);
  for (const auto& child : module.named_children()) expect_all(*child.second, training);
}

}  // namespace

TEST_CASE("Seq2SeqTransformer: named_parameters are the reference's state_dict, in order") {
  const nn::Seq2SeqTransformer model(tiny_config(), 0);
  // Seq2Seq(d=8, h=2, ff=16, ne=1, nd=1) with V=7: torch's state_dict() names and shapes.
  const std::string enc = "transformer.encoder.layers.0.", dec = "transformer.decoder.layers.0.";
  std::vector<std::pair<std::string, Shape>> expected = {
      {"src_embed.weight", {7, 8}}, {"tgt_embed.weight", {7, 8}}};
  const auto attention = [&](const std::string& prefix) {
    expected.push_back({prefix + "in_proj_weight", {24, 8}});
    expected.push_back({prefix + "in_proj_bias", {24}});
    expected.push_back({prefix + "out_proj.weight", {8, 8}});
    expected.push_back({prefix + "out_proj.bias", {8}});
  };
  const auto rest = [&](const std::string& prefix, int norms) {
    expected.insert(expected.end(), {{prefix + "linear1.weight", {16, 8}},
                                     {prefix + "linear1.bias", {16}},
                                     {prefix + "linear2.weight", {8, 16}},
                                     {prefix + "linear2.bias", {8}}});
    for (int n = 1; n <= norms; ++n)
      expected.insert(expected.end(), {{prefix + "norm" + std::to_string(n) + ".weight", {8}},
                                       {prefix + "norm" + std::to_string(n) + ".bias", {8}}});
  };
  attention(enc + "self_attn.");
  rest(enc, 2);
  expected.insert(expected.end(), {{"transformer.encoder.norm.weight", {8}},
                                   {"transformer.encoder.norm.bias", {8}}});
  attention(dec + "self_attn.");
  attention(dec + "multihead_attn.");
  rest(dec, 3);
  expected.insert(expected.end(), {{"transformer.decoder.norm.weight", {8}},
                                   {"transformer.decoder.norm.bias", {8}},
                                   {"generator.weight", {7, 8}},
                                   {"generator.bias", {7}}});
  const auto named = model.named_parameters();
  REQUIRE(named.size() == expected.size());
  for (std::size_t i = 0; i < named.size(); ++i) {
    CHECK(named[i].first == expected[i].first);
    CHECK(named[i].second.shape() == expected[i].second);
  }
}

TEST_CASE("Seq2SeqTransformer: the standard model has the reference's 236,237 parameters") {
  const nn::Seq2SeqTransformer model;  // the default config is the standard model
  CHECK(model.num_parameters() == 236237);
  const auto named = model.named_parameters();
  CHECK(named.size() == 68);  // 2 embeddings + 2·12 + 2 + 2·18 + 2 + 2
  CHECK(named[2].first == "transformer.encoder.layers.0.self_attn.in_proj_weight");
  CHECK(named[2].second.shape() == Shape{192, 64});
  CHECK(named[25].first == "transformer.encoder.layers.1.norm2.bias");
  CHECK(named[26].first == "transformer.encoder.norm.weight");
  CHECK(named[46].first == "transformer.decoder.layers.1.self_attn.in_proj_weight");
  CHECK(named[53].first == "transformer.decoder.layers.1.multihead_attn.out_proj.bias");
  CHECK(named[66].first == "generator.weight");
  CHECK(named[66].second.shape() == Shape{13, 64});
  std::set<std::string> unique;
  for (const auto& [name, tensor] : named) unique.insert(name);
  CHECK(unique.size() == named.size());
}

TEST_CASE("Seq2SeqTransformer: initialised like PyTorch, reproducibly from the seed") {
  const nn::Seq2SeqTransformer model(nn::TransformerConfig{}, 5);
  for (const auto& [name, p] : model.named_parameters()) {
    INFO(name);
    const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
    real largest = 0;
    for (real v : p.values()) largest = std::max(largest, std::abs(v));
    if (has("in_proj_bias") || has("out_proj.bias") || (has(".norm") && has(".bias"))) {
      CHECK(largest == 0);  // MultiheadAttention._reset_parameters; LayerNorm zeros
    } else if (has(".norm")) {
      CHECK(p.values() == std::vector<real>(p.numel(), 1));  // LayerNorm weight ones
    } else if (has("transformer.") && p.dim() == 2) {
      // nn.Transformer._reset_parameters: Xavier-uniform on every matrix, U(-b, b) with
      // b = √(6 / (fan_in + fan_out)), standard deviation b/√3
      const real bound = real(std::sqrt(6.0 / double(p.size(0) + p.size(1))));
      CHECK(largest <= bound);
      CHECK(largest > real(0.95) * bound);
      testing::check_spread(p, 0, double(bound) / std::sqrt(3.0));
    } else if (has("transformer.") || has("generator.")) {
      // linear biases and the generator keep Linear's U(±1/√in): in = 256 for linear2
      const real bound = real(has("linear2") ? 1.0 / 16 : 1.0 / 8);
      CHECK(largest <= bound);
      CHECK(largest > bound / 2);
      testing::check_spread(p, 0, double(bound) / std::sqrt(3.0));
    } else {
      CHECK(largest > 2);  // embeddings: 832 draws of N(0, 1) reach past 2
      testing::check_spread(p, 0, 1);
    }
  }
  const nn::TransformerConfig standard;
  const nn::Seq2SeqTransformer same(standard, 5), other(standard, 6);
  for (std::size_t i = 0; i < model.parameters().size(); ++i)
    CHECK(same.parameters()[i].values() == model.parameters()[i].values());
  CHECK(other.parameters()[0].values() != model.parameters()[0].values());
}

TEST_CASE("Seq2SeqTransformer: padding and future tokens do not change the logits") {
  nn::Seq2SeqTransformer model(tiny_config(), 1);
  const TokenMatrix src = tokens(2, 4, {3, 4, 5, 2, 6, 2, 0, 0});
  const TokenMatrix tgt_in = tokens(2, 3, {1, 5, 4, 1, 6, 0});
  const Tensor logits = model.forward(src, tgt_in);
  CHECK(logits.shape() == Shape{2, 3, 7});
  SUBCASE("encode then decode is forward") {
    CHECK(max_abs_difference(model.decode(model.encode(src), src, tgt_in), logits) == 0);
  }
  SUBCASE("two more PAD columns on the source change nothing") {
    const TokenMatrix wider = tokens(2, 6, {3, 4, 5, 2, 0, 0, 6, 2, 0, 0, 0, 0});
    CHECK(max_abs_difference(model.forward(wider, tgt_in), logits) < 1e-5);
  }
  SUBCASE("a different last target token leaves the earlier positions alone") {
    const Tensor changed = model.forward(src, tokens(2, 3, {1, 5, 3, 1, 6, 4}));
    CHECK(max_abs_difference(changed.slice(1, 0, 2), logits.slice(1, 0, 2)) < 1e-6);
    CHECK(max_abs_difference(changed.slice(1, 2, 3), logits.slice(1, 2, 3)) > 1e-4);
  }
}

TEST_CASE("Seq2SeqTransformer: the padding masks read the config's pad_id") {
  // pad_id 6: columns of 6 are padding, and 0 is a symbol like any other.
  nn::TransformerConfig config = tiny_config();
  config.pad_id = 6;
  config.bos_id = 5;
  config.eos_id = 4;
  nn::Seq2SeqTransformer model(config, 1);
  const TokenMatrix src = tokens(2, 3, {3, 0, 4, 2, 4, 6});
  const TokenMatrix tgt_in = tokens(2, 3, {5, 3, 0, 5, 2, 6});
  const Tensor logits = model.forward(src, tgt_in);
  const TokenMatrix wider = tokens(2, 5, {3, 0, 4, 6, 6, 2, 4, 6, 6, 6});
  CHECK(max_abs_difference(model.forward(wider, tgt_in), logits) < 1e-5);
  const TokenMatrix widened_with_zeros = tokens(2, 5, {3, 0, 4, 0, 0, 2, 4, 6, 0, 0});
  CHECK(max_abs_difference(model.forward(widened_with_zeros, tgt_in), logits) > 1e-4);
}

TEST_CASE("Seq2SeqTransformer: each decoder layer keeps its cross-attention map") {
  nn::TransformerConfig config = tiny_config();
  config.num_decoder_layers = 2;
  nn::Seq2SeqTransformer model(config, 2);
  const TokenMatrix src = tokens(2, 5, {3, 4, 5, 6, 2, 6, 2, 0, 0, 0});
  model.forward(src, tokens(2, 3, {1, 5, 4, 1, 6, 0}));
  const std::vector<Tensor> maps = model.cross_attention_weights();
  REQUIRE(maps.size() == 2);
  for (const Tensor& w : maps) {
    REQUIRE(w.shape() == Shape{2, 2, 3, 5});  // (B, H, T, S)
    for (std::size_t h = 0; h < 2; ++h)
      for (std::size_t t = 0; t < 3; ++t) {
        for (std::size_t s = 2; s < 5; ++s) CHECK(w.at({1, h, t, s}) == 0);  // row 1 has 2 real
        double row = 0;
        for (std::size_t s = 0; s < 5; ++s) row += double(w.at({0, h, t, s}));
        CHECK(row == doctest::Approx(1).epsilon(1e-6));
      }
  }
  CHECK(maps[0].values() != maps[1].values());
}

TEST_CASE("Seq2SeqTransformer: train() and eval() reach every dropout") {
  nn::Seq2SeqTransformer model(tiny_config(/*dropout=*/0.3), 3);
  nn::Seq2SeqTransformer no_dropout(tiny_config(0), 3);
  const TokenMatrix src = tokens(1, 3, {3, 4, 2}), tgt_in = tokens(1, 2, {1, 4});
  expect_all(model, true);
  CHECK(model.forward(src, tgt_in).values() != model.forward(src, tgt_in).values());
  model.eval();
  expect_all(model, false);
  const Tensor evaluated = model.forward(src, tgt_in);
  CHECK(evaluated.values() == model.forward(src, tgt_in).values());
  // Dropout draws nothing at initialisation, so in eval mode the two models agree.
  CHECK(evaluated.values() == no_dropout.forward(src, tgt_in).values());
  model.train();
  expect_all(model, true);
}

TEST_CASE("Seq2SeqTransformer: the summary prints the tree with shapes and counts") {
  const std::string text = nn::Seq2SeqTransformer().summary();
  CHECK(text.find("Seq2SeqTransformer(vocab_size=13, d_model=64, num_heads=4, d_ff=256, "
                  "num_encoder_layers=2, num_decoder_layers=2, dropout=0)  "
                  "[236,237 parameters]\n") == 0);
  for (const char* line :
       {"  (src_embed): Embedding(13, 64)  [832 parameters]\n    weight (13,64)\n",
        "  (pos): PositionalEncoding(d_model=64, max_len=512)\n",
        "    (encoder): Encoder(num_layers=2)  [100,096 parameters]\n",
        "      (layers.1): EncoderLayer()  [49,984 parameters]\n",
        "        (multihead_attn): MultiHeadAttention(d_model=64, num_heads=4, dropout=0)  "
        "[16,640 parameters]\n          in_proj_weight (192,64)\n",
        "          (out_proj): Linear(in_features=64, out_features=64, bias=True)",
        "        (norm3): LayerNorm((64,), eps=1e-05)  [128 parameters]\n",
        "        (dropout3): Dropout(p=0)\n",
        "  (generator): Linear(in_features=64, out_features=13, bias=True)  [845 parameters]\n"}) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
}

TEST_CASE("Seq2SeqTransformer: bad batches are errors naming the shapes") {
  nn::Seq2SeqTransformer model(tiny_config(), 4);
  const TokenMatrix src = tokens(2, 2, {3, 2, 4, 2}), tgt_in = tokens(2, 1, {1, 1});
  CHECK_THROWS_WITH_AS(model.forward(tokens(2, 2, {3, 7, 4, 2}), tgt_in),
                       doctest::Contains("embedding: id 7 is out of range for a weight of "
                                         "shape (7,8)"),
                       Error);
  CHECK_THROWS_WITH_AS(model.forward(src, tokens(1, 1, {1})),
                       doctest::Contains("src (2,2) and tgt_in (1,1) must have the same number "
                                         "of rows"),
                       Error);
  CHECK_THROWS_WITH_AS(model.forward(TokenMatrix(2, 0), tgt_in),
                       doctest::Contains("a token batch must be non-empty"), Error);
  CHECK_THROWS_WITH_AS(model.forward(src, TokenMatrix(2, 17, 1)),
                       doctest::Contains("sequence length 17 exceeds max_len 16"), Error);
  CHECK_THROWS_WITH_AS(model.decode(Tensor::zeros({2, 3, 8}), src, tgt_in),
                       doctest::Contains("decode: memory (2,3,8), src (2,2) and tgt_in (2,1)"),
                       Error);
  const TokenMatrix short_labels = tokens(2, 2, {3, 3, 3, 3});
  CHECK_THROWS_WITH_AS(nn::sequence_cross_entropy(Tensor::zeros({2, 3, 7}), short_labels),
                       doctest::Contains("logits (2,3,7) must be (B, T, V) for labels (2,2)"),
                       Error);
}

// The sanitizer build runs every op ~40x slower: there a few steps of a smaller batch.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kThreadRunSteps = 3, kThreadRunBatch = 16;
#else
constexpr std::size_t kThreadRunSteps = 50, kThreadRunBatch = 64;
#endif

TEST_CASE("Seq2SeqTransformer: a training run's losses are bit-identical at 1 and 2 threads") {
  // The standard model on reversal batches: big enough that every row op, the attention op
  // and the gemms split their work between the threads. Each element is computed by the
  // same arithmetic in either split, so every loss (and so every update) is the same bits.
  const Vocab vocab = task_vocab(Task::reverse);
  std::vector<std::vector<real>> losses;
  for (std::size_t threads : {1, 2}) {
    const testing::ThreadCount scope(threads);
    nn::Seq2SeqTransformer model(nn::TransformerConfig{}, /*seed=*/0);
    optim::AdamOptions options;
    options.lr = 3e-3;
    options.beta2 = 0.98;
    optim::Adam adam(model.parameters(), options);
    Generator data(1);
    losses.emplace_back();
    for (std::size_t step = 0; step < kThreadRunSteps; ++step) {
      const Batch batch =
          make_batch(make_examples(default_spec(Task::reverse), kThreadRunBatch, data), vocab);
      adam.zero_grad();
      Tensor loss =
          nn::packed_cross_entropy(model.forward_packed(batch.src, batch.tgt_in, batch.labels),
                                   batch.labels);
      loss.backward();
      optim::clip_grad_norm(adam.parameters(), 1.0);
      adam.step();
      losses.back().push_back(loss.item());
    }
  }
  CHECK(losses[0].back() < losses[0].front());  // it trains
  CHECK(losses[0] == losses[1]);
}

// --- The packed training path ---

TEST_CASE("forward_packed: forward's logits at real positions, its loss and its gradients") {
  // A standard-shaped model on a padded batch of different lengths per row, in source and
  // target: the packed path computes nothing for PAD and must agree with the padded one.
  nn::TransformerConfig config = tiny_config();
  config.num_encoder_layers = config.num_decoder_layers = 2;
  nn::Seq2SeqTransformer model(config, 60);
  jitter(model, 61);
  const TokenMatrix src = tokens(3, 5, {3, 4, 5, 6, 2, 6, 5, 2, 0, 0, 4, 2, 0, 0, 0});
  const TokenMatrix tgt_in = tokens(3, 5, {1, 6, 5, 4, 3, 1, 5, 6, 0, 0, 1, 4, 0, 0, 0});
  const TokenMatrix labels = tokens(3, 5, {6, 5, 4, 3, 2, 5, 6, 2, 0, 0, 4, 2, 0, 0, 0});
  const Tensor padded = model.forward(src, tgt_in);  // (3, 5, V)
  Tensor padded_loss = nn::sequence_cross_entropy(padded, labels);
  padded_loss.backward();
  std::vector<Tensor> padded_grads;
  for (const Tensor& p : model.parameters()) padded_grads.push_back(p.grad());
  model.zero_grad();

  const Tensor packed = model.forward_packed(src, tgt_in, labels);  // (N, V), N = 5 + 3 + 2
  REQUIRE(packed.shape() == Shape{10, config.vocab_size});
  Tensor packed_loss = nn::packed_cross_entropy(packed, labels);
  packed_loss.backward();
  const double tolerance = kDoublePrecision ? 1e-12 : 2e-5;
  std::size_t row = 0;
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t t = 0; t < 5; ++t) {
      if (labels.at(b, t) == PAD) continue;
      for (std::size_t c = 0; c < config.vocab_size; ++c)
        CHECK(std::abs(double(packed.at({row, c}) - padded.at({b, t, c}))) <= tolerance);
      ++row;
    }
  CHECK(std::abs(double(packed_loss.item() - padded_loss.item())) <= tolerance);
  const std::vector<Tensor> parameters = model.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i)
    CHECK(max_abs_difference(parameters[i].grad(), padded_grads[i]) <= tolerance);
}

GRADCHECK_CASE("forward_packed: the packed loss's gradient matches finite differences") {
  nn::Seq2SeqTransformer model(tiny_config(), 62);
  jitter(model, 63);
  const TokenMatrix src = tokens(2, 4, {3, 4, 5, 2, 6, 2, 0, 0});
  const TokenMatrix tgt_in = tokens(2, 4, {1, 5, 4, 3, 1, 6, 0, 0});
  const TokenMatrix labels = tokens(2, 4, {5, 4, 3, 2, 6, 2, 0, 0});
  check_gradients_logged(
      "Seq2SeqTransformer packed loss",
      [&](const Inputs&) {
        return nn::packed_cross_entropy(model.forward_packed(src, tgt_in, labels), labels);
      },
      model.parameters());
}

TEST_CASE("forward_packed: PAD inside a row, or labels that do not fit, are errors") {
  nn::Seq2SeqTransformer model(tiny_config(), 64);
  CHECK_THROWS_WITH_AS(nn::pack_tokens(tokens(1, 4, {3, 0, 4, 2}), 0),
                       "pack_tokens: row 0 has PAD at position 1 before a token at 2; packing "
                       "needs PAD only at the end of a row",
                       Error);
  const TokenMatrix src = tokens(1, 2, {3, 2}), tgt_in = tokens(1, 2, {1, 3});
  const Tensor logits = model.forward_packed(src, tgt_in, tokens(1, 2, {3, 2}));
  CHECK_THROWS_WITH_AS(nn::packed_cross_entropy(logits, tokens(1, 3, {3, 2, 2})),
                       doctest::Contains("packed_cross_entropy: logits (2,7) must be (N, V) for "
                                         "the 3 non-PAD labels of (1,3)"),
                       Error);
  CHECK_THROWS_WITH_AS(model.forward_packed(src, tgt_in, tokens(1, 3, {3, 2, 2})),
                       doctest::Contains("must be (B, S), (B, T) and (B, T)"), Error);
  CHECK_THROWS_WITH_AS(model.forward_packed(src, tokens(1, 2, {1, 0}), tokens(1, 2, {3, 2})),
                       doctest::Contains("row 0 has 1 ids, fewer than the 2 asked for"), Error);
}

TEST_CASE("sequence_cross_entropy: the mean over non-PAD labels, by hand") {
  // Uniform logits over V = 4: every counted position costs ln 4; PAD labels are skipped.
  const Tensor logits = Tensor::zeros({1, 3, 4});
  CHECK(double(nn::sequence_cross_entropy(logits, tokens(1, 3, {3, 2, 0})).item()) ==
        doctest::Approx(std::log(4.0)));
  // Row 0 puts logit 2 on class 3: -log(e²/(e² + 3)) = ln(10.389056) - 2 = 0.3407529 on the
  // one counted label.
  Tensor peaked = Tensor::zeros({1, 2, 4});
  peaked.set({0, 0, 3}, 2);
  CHECK(double(nn::sequence_cross_entropy(peaked, tokens(1, 2, {3, 0})).item()) ==
        doctest::Approx(0.3407529));
  // With pad_id 3 the peaked position is the ignored one; label 0 counts: ln 4.
  CHECK(double(nn::sequence_cross_entropy(peaked, tokens(1, 2, {3, 0}), 0, /*pad_id=*/3).item()) ==
        doctest::Approx(std::log(4.0)));
}

GRADCHECK_CASE("EncoderLayer: backward matches finite differences, with a padded batch") {
  Generator gen(30), dropout_gen(31);
  nn::EncoderLayer layer(tiny_config(), gen, dropout_gen);
  jitter(layer, 32);
  const Tensor x = random_input({2, 4, 8}, 33);
  const Tensor mask = Tensor::from({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4});  // lengths 4 and 2
  Inputs inputs = {x};
  for (const Tensor& p : layer.parameters()) inputs.push_back(p);
  check_gradients_logged(
      "EncoderLayer", [&](const Inputs& in) { return layer.forward(in[0], mask); }, inputs);
}

GRADCHECK_CASE("DecoderLayer: backward matches finite differences, self- and cross-attention") {
  const Tensor x = random_input({2, 3, 8}, 40), memory = random_input({2, 5, 8}, 41);
  const Tensor tgt_mask = Tensor::from({0, 0, 0, 0, 0, 1}, {2, 3});              // lengths 3, 2
  const Tensor memory_mask = Tensor::from({0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, {2, 5});  // 5, 2
  for (const real dropout : {real(0), real(0.2)}) {
    Generator gen(42), dropout_gen(43);
    nn::DecoderLayer layer(tiny_config(dropout), gen, dropout_gen);
    jitter(layer, 44);
    Inputs inputs = {x, memory};
    for (const Tensor& p : layer.parameters()) inputs.push_back(p);
    check_gradients_logged(dropout == 0 ? "DecoderLayer" : "DecoderLayer, dropout 0.2 reseeded",
                           [&](const Inputs& in) {
                             dropout_gen.manual_seed(45);  // the same masks every evaluation
                             return layer.forward(in[0], in[1], tgt_mask, memory_mask);
                           },
                           inputs);
  }
}

GRADCHECK_CASE("Seq2SeqTransformer: the loss's gradient matches finite differences for every "
               "parameter") {
  nn::Seq2SeqTransformer model(tiny_config(), 50);
  jitter(model, 51);
  // Sources of 5 and 3 real tokens, targets of 5 and 3: both padded, of different lengths.
  const TokenMatrix src = tokens(2, 5, {3, 4, 5, 6, 2, 6, 5, 2, 0, 0});
  const TokenMatrix tgt_in = tokens(2, 5, {1, 6, 5, 4, 3, 1, 5, 6, 0, 0});
  const TokenMatrix labels = tokens(2, 5, {6, 5, 4, 3, 2, 5, 6, 2, 0, 0});
  const Inputs parameters = model.parameters();
  check_gradients_logged(
      "Seq2SeqTransformer loss (all " + std::to_string(parameters.size()) + " parameter tensors)",
      [&](const Inputs&) { return nn::sequence_cross_entropy(model.forward(src, tgt_in), labels); },
      parameters);
  // Every parameter tensor was among the checked inputs, and each one gets some gradient
  // (none is disconnected from the loss).
  std::set<const Node*> checked;
  for (const Tensor& p : parameters) checked.insert(p.node().get());
  model.zero_grad();
  nn::sequence_cross_entropy(model.forward(src, tgt_in), labels).backward();
  for (const auto& [name, p] : model.named_parameters()) {
    INFO(name);
    CHECK(checked.count(p.node().get()) == 1);
    REQUIRE(p.grad().defined());
    real largest = 0;
    for (real g : p.grad().values()) largest = std::max(largest, std::abs(g));
    CHECK(largest > 0);
  }
}
