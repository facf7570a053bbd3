// Tests for nn/decode.cpp (greedy, beam search, scoring) and the incremental decoding it rests on
// (decode_step, MultiHeadAttention::forward_cached): cached = uncached, beam 1 = greedy, what beam
// search does and does not guarantee, score() against decoding, attention maps, batching, errors.
// Two kinds of model: random weights, whose near-uniform outputs have tiny argmax margins (so any
// numerical drift between the cached and uncached paths flips tokens), and a tiny reverser trained
// for a hundred-odd steps, whose rows end at EOS at different lengths.
#include <algorithm>
#include <cmath>
#include <set>

#include "data/batch.h"
#include "data/tasks.h"
#include "nn/decode.h"
#include "nn/optim.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// Agreement expected between two paths that compute the same thing in a different order.
const double kTolerance = kDoublePrecision ? 1e-10 : 1e-5;

// d_model 16, 2 heads, ff 32, 1 encoder and 2 decoder layers: every model in this suite.
nn::TransformerConfig small_config(std::size_t vocab_size = 13) {
  nn::TransformerConfig config = tiny_config(16);
  config.vocab_size = vocab_size;
  config.num_decoder_layers = 2;
  config.max_len = 64;
  return config;
}

// Reversal of 1..5 digits (ids 3..12), trained 120 steps: half-learnt, so rows end at EOS
// at different lengths, outputs are peaked and beams have real choices. Built once for every test.
nn::Seq2SeqTransformer& tiny_reverser() {
  static nn::Seq2SeqTransformer model(small_config(), 7);
  static const bool trained = [] {
    optim::AdamOptions adam;
    adam.lr = 3e-3;
    optim::Adam optimizer(model.parameters(), adam);
    const Vocab vocab = task_vocab(Task::reverse);
    Generator gen(11);
    for (int step = 0; step < 120; ++step) {
      const Batch batch = make_batch(make_examples({Task::reverse, 1, 5}, 32, gen), vocab);
      const Tensor logits = model.forward(batch.src, batch.tgt_in);  // (32, T, V)
      Tensor loss = nn::sequence_cross_entropy(logits, batch.labels);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
    }
    return true;
  }();
  REQUIRE(trained);
  return model;
}

// Sources for the reverser: `rows` random digit strings of length 1..5, then EOS, padded.
TokenMatrix digit_sources(std::size_t rows, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<std::vector<std::int64_t>> sources(rows);
  for (auto& source : sources) {
    const std::size_t length = 1 + gen.next_u64() % 5;
    for (std::size_t i = 0; i < length; ++i)
      source.push_back(3 + std::int64_t(gen.next_u64() % 10));
  }
  return make_source_batch(sources);
}

// Hypotheses as a teacher-forcing batch: tgt_in = BOS + tokens[:-1], labels = tokens, both
// padded with PAD (or the given special ids).
void as_targets(const std::vector<nn::Hypothesis>& hypotheses, TokenMatrix& tgt_in,
                TokenMatrix& labels, std::int64_t bos = BOS, std::int64_t pad = PAD) {
  std::size_t longest = 0;
  for (const auto& h : hypotheses) longest = std::max(longest, h.tokens.size());
  tgt_in = TokenMatrix(hypotheses.size(), longest, pad);
  labels = TokenMatrix(hypotheses.size(), longest, pad);
  for (std::size_t r = 0; r < hypotheses.size(); ++r)
    for (std::size_t t = 0; t < hypotheses[r].tokens.size(); ++t) {
      tgt_in.at(r, t) = t == 0 ? bos : hypotheses[r].tokens[t - 1];
      labels.at(r, t) = hypotheses[r].tokens[t];
    }
}

}  // namespace

TEST_CASE("greedy_decode: one hypothesis per row, ending at EOS or at max_len") {
  nn::Seq2SeqTransformer model(small_config(), 3);
  const TokenMatrix src = tokens(2, 4, {3, 4, 5, EOS, 6, EOS, PAD, PAD});
  const std::vector<nn::Hypothesis> out = nn::greedy_decode(model, src);
  REQUIRE(out.size() == 2);
  for (const nn::Hypothesis& h : out) {
    CHECK(!h.tokens.empty());
    CHECK(h.tokens.size() <= 2 * 4 + 10);
    CHECK(h.log_prob <= 0);
  }
  CHECK(model.is_training());
}

TEST_CASE("greedy_decode: cached and uncached decoding give the same tokens and log p") {
  nn::DecodeOptions cached, uncached;
  uncached.use_cache = false;
  cached.keep_attention = uncached.keep_attention = true;
  double worst_log_prob = 0, worst_attention = 0;
  auto compare = [&](nn::Seq2SeqTransformer& model, const TokenMatrix& src) {
    const auto fast = nn::greedy_decode(model, src, cached);
    const auto slow = nn::greedy_decode(model, src, uncached);
    REQUIRE(fast.size() == slow.size());
    for (std::size_t r = 0; r < fast.size(); ++r) {
      CHECK(fast[r].tokens == slow[r].tokens);
      CHECK(std::abs(fast[r].log_prob - slow[r].log_prob) <= kTolerance);
      worst_log_prob = std::max(worst_log_prob, std::abs(fast[r].log_prob - slow[r].log_prob));
      REQUIRE(fast[r].cross_attention.size() == slow[r].cross_attention.size());
      for (std::size_t l = 0; l < fast[r].cross_attention.size(); ++l)
        worst_attention = std::max(worst_attention, max_abs_difference(fast[r].cross_attention[l],
                                                                       slow[r].cross_attention[l]));
    }
  };
  SUBCASE("random weights: long outputs with tiny argmax margins") {
    for (std::uint64_t seed : {1, 2, 3}) {
      nn::Seq2SeqTransformer model(small_config(), seed);
      compare(model, digit_sources(6, seed));
    }
  }
  SUBCASE("a trained reverser: rows end at EOS at different lengths") {
    compare(tiny_reverser(), digit_sources(16, 5));
  }
  CHECK(worst_attention <= kTolerance);
  MESSAGE("cached vs uncached: max |Δ log_prob| " << worst_log_prob << ", max |Δ attention| "
                                                  << worst_attention);
}

TEST_CASE("greedy_decode: default max_len is 2·S + 10, and options.max_len caps the output") {
  // Random weights rarely say EOS; rows that never do stop at exactly the limit.
  nn::Seq2SeqTransformer model(small_config(), 4);
  const TokenMatrix src = digit_sources(8, 4);
  for (const nn::Hypothesis& h : nn::greedy_decode(model, src)) {
    CHECK(h.tokens.size() <= 2 * src.cols + 10);
    if (h.tokens.back() != EOS) CHECK(h.tokens.size() == 2 * src.cols + 10);
  }
  nn::DecodeOptions options;
  options.max_len = 3;
  for (const nn::Hypothesis& h : nn::greedy_decode(model, src, options)) {
    CHECK(h.tokens.size() <= 3);
    if (h.tokens.back() != EOS) CHECK(h.tokens.size() == 3);
  }
}

TEST_CASE("greedy_decode: never emits PAD or BOS, stops at the first EOS") {
  nn::Seq2SeqTransformer& model = tiny_reverser();
  const TokenMatrix src = digit_sources(16, 6);
  std::size_t ended = 0;
  std::set<std::size_t> lengths;
  for (const nn::Hypothesis& h : nn::greedy_decode(model, src)) {
    lengths.insert(h.tokens.size());
    for (std::size_t t = 0; t < h.tokens.size(); ++t) {
      CHECK(h.tokens[t] != PAD);
      CHECK(h.tokens[t] != BOS);
      if (h.tokens[t] == EOS) CHECK(t + 1 == h.tokens.size());
    }
    ended += h.tokens.back() == EOS;
    CHECK(h.log_prob <= 0);
  }
  CHECK(ended == src.rows);     // the reverser has learnt to stop,
  CHECK(lengths.size() >= 3);  // at different lengths, as the other tests need
}

TEST_CASE("score: the log-probability of greedy's output is greedy's log_prob") {
  for (const bool use_cache : {true, false}) {
    nn::DecodeOptions options;
    options.use_cache = use_cache;
    nn::Seq2SeqTransformer random_model(small_config(), 8);
    for (nn::Seq2SeqTransformer* model : {&tiny_reverser(), &random_model}) {
      const TokenMatrix src = digit_sources(12, 8);
      const std::vector<nn::Hypothesis> out = nn::greedy_decode(*model, src, options);
      TokenMatrix tgt_in, labels;
      as_targets(out, tgt_in, labels);
      const std::vector<double> scores = nn::score(*model, src, tgt_in, labels);
      REQUIRE(scores.size() == out.size());
      for (std::size_t r = 0; r < out.size(); ++r)
        CHECK(std::abs(scores[r] - out[r].log_prob) <= kTolerance);
    }
  }
}

TEST_CASE("score: by hand on one position, and PAD labels add nothing") {
  nn::Seq2SeqTransformer& model = tiny_reverser();
  const TokenMatrix src = tokens(1, 3, {5, 6, EOS});
  // One label: score = log_softmax(logits[0, 0])[label], read off a plain forward.
  const TokenMatrix tgt_in = tokens(1, 1, {BOS});
  const TokenMatrix labels = tokens(1, 1, {6});
  model.eval();
  const Tensor log_probs = model.forward(src, tgt_in).log_softmax(-1);  // (1, 1, V)
  model.train();
  CHECK(nn::score(model, src, tgt_in, labels)[0] == doctest::Approx(double(log_probs.data()[6])));
  // Row 1 is row 0 padded: the same score.
  const TokenMatrix src2 = tokens(2, 3, {5, 6, EOS, 5, 6, EOS});
  const TokenMatrix tgt2 = tokens(2, 3, {BOS, 6, 5, BOS, 6, PAD});
  const TokenMatrix labels2 = tokens(2, 3, {6, 5, EOS, 6, 5, PAD});
  const std::vector<double> scores = nn::score(model, src2, tgt2, labels2);
  const TokenMatrix one_src = tokens(1, 3, {5, 6, EOS});
  const double alone = nn::score(model, one_src, tokens(1, 2, {BOS, 6}), tokens(1, 2, {6, 5}))[0];
  CHECK(std::abs(scores[1] - alone) <= kTolerance);
  CHECK(scores[0] < scores[1]);  // one more factor, log p(EOS | ...) < 0
}

TEST_CASE("decoding reads the special ids from the model's config, not 0, 1 and 2") {
  // A vocabulary that puts PAD, BOS and EOS last: 12, 11 and 10; ids 0..2 are symbols.
  nn::TransformerConfig config = small_config();
  config.pad_id = 12;
  config.bos_id = 11;
  config.eos_id = 10;
  const TokenMatrix src = tokens(2, 4, {3, 0, 5, 10, 6, 10, 12, 12});
  SUBCASE("outputs start from bos_id: greedy's log p is score() teacher-forced from it") {
    nn::Seq2SeqTransformer model(config, 21);
    for (const std::size_t beam : {0, 1}) {
      nn::DecodeOptions options;
      options.max_len = 6;
      options.beam = std::max<std::size_t>(beam, 1);
      const std::vector<nn::Hypothesis> out = beam == 0 ? nn::greedy_decode(model, src, options)
                                                        : nn::beam_search(model, src, options);
      TokenMatrix tgt_in, labels;
      as_targets(out, tgt_in, labels, config.bos_id, config.pad_id);
      const std::vector<double> scores = nn::score(model, src, tgt_in, labels);
      for (std::size_t r = 0; r < out.size(); ++r)
        CHECK(std::abs(scores[r] - out[r].log_prob) <= kTolerance);
    }
  }
  SUBCASE("pad_id and bos_id are never generated, eos_id ends a row") {
    nn::Seq2SeqTransformer model(config, 22);
    // The generator's bias makes pad_id and bos_id by far the likeliest, then eos_id.
    for (auto& [name, parameter] : model.named_parameters())
      if (name == "generator.bias") {
        real* bias = parameter.mutable_data();
        bias[12] = bias[11] = 200;
        bias[10] = 100;
      }
    for (const std::size_t beam : {1, 3}) {
      nn::DecodeOptions options;
      options.beam = beam;
      for (const nn::Hypothesis& h : beam == 1 ? nn::greedy_decode(model, src)
                                               : nn::beam_search(model, src, options))
        CHECK(h.tokens == std::vector<std::int64_t>{10});
    }
  }
  SUBCASE("a source row of pad_id only is refused") {
    nn::Seq2SeqTransformer model(config, 23);
    CHECK_THROWS_WITH_AS(nn::greedy_decode(model, tokens(2, 2, {0, 10, 12, 12})),
                         doctest::Contains("source row 1 of (2,2) is all PAD (pad_id 12)"), Error);
    CHECK_NOTHROW(nn::greedy_decode(model, tokens(1, 2, {0, 0})));  // 0 is a symbol here
  }
  SUBCASE("special ids outside the vocabulary are refused") {
    config.eos_id = 13;
    nn::Seq2SeqTransformer model(config, 24);
    CHECK_THROWS_WITH_AS(nn::greedy_decode(model, src),
                         doctest::Contains("greedy_decode: the special ids (pad_id 12, bos_id 11, "
                                           "eos_id 13) must lie in the vocabulary [0, 13)"),
                         Error);
  }
}

TEST_CASE("beam_search: width 1 gives greedy's tokens and log_prob exactly") {
  nn::Seq2SeqTransformer random_model(small_config(), 9);
  for (nn::Seq2SeqTransformer* model : {&tiny_reverser(), &random_model})
    for (const bool use_cache : {true, false})
      for (const double length_penalty : {0.0, 1.0}) {
        nn::DecodeOptions options;
        options.use_cache = use_cache;
        options.length_penalty = length_penalty;
        options.keep_attention = true;
        const TokenMatrix src = digit_sources(10, 9);
        const auto greedy = nn::greedy_decode(*model, src, options);
        const auto beam = nn::beam_search(*model, src, options);
        REQUIRE(beam.size() == greedy.size());
        for (std::size_t r = 0; r < beam.size(); ++r) {
          CHECK(beam[r].tokens == greedy[r].tokens);
          CHECK(beam[r].log_prob == greedy[r].log_prob);  // bit for bit: the same sums
          REQUIRE(beam[r].cross_attention.size() == greedy[r].cross_attention.size());
          for (std::size_t l = 0; l < beam[r].cross_attention.size(); ++l)
            CHECK(max_abs_difference(beam[r].cross_attention[l],
                                     greedy[r].cross_attention[l]) == 0);
        }
      }
}

TEST_CASE("beam_search: cached and uncached beams agree, and log_prob is score() of the tokens") {
  nn::Seq2SeqTransformer& model = tiny_reverser();
  const TokenMatrix src = digit_sources(12, 10);
  for (const std::size_t width : {2, 4}) {
    nn::DecodeOptions cached, uncached;
    cached.beam = uncached.beam = width;
    uncached.use_cache = false;
    const auto fast = nn::beam_search(model, src, cached);
    const auto slow = nn::beam_search(model, src, uncached);
    TokenMatrix tgt_in, labels;
    as_targets(fast, tgt_in, labels);
    const std::vector<double> scores = nn::score(model, src, tgt_in, labels);
    for (std::size_t r = 0; r < fast.size(); ++r) {
      CHECK(fast[r].tokens == slow[r].tokens);
      CHECK(std::abs(fast[r].log_prob - slow[r].log_prob) <= kTolerance);
      CHECK(std::abs(scores[r] - fast[r].log_prob) <= kTolerance);
    }
  }
}

// Every output of up to max_len tokens over a 2-symbol vocabulary: those ending at EOS, and
// those cut at max_len without one.
std::vector<std::vector<std::int64_t>> every_output(std::size_t vocab_size, std::size_t max_len) {
  std::vector<std::vector<std::int64_t>> outputs, prefixes{{}};
  for (std::size_t length = 1; length <= max_len; ++length) {
    std::vector<std::vector<std::int64_t>> longer;
    for (const auto& prefix : prefixes)
      for (std::int64_t id = EOS; id < std::int64_t(vocab_size); ++id) {
        std::vector<std::int64_t> next = prefix;
        next.push_back(id);
        if (id == EOS || length == max_len) outputs.push_back(next);
        else longer.push_back(next);
      }
    prefixes = std::move(longer);
  }
  return outputs;
}

TEST_CASE("beam_search: an exhaustive beam finds the most likely output; greedy can only tie it") {
  // V = 5: PAD, BOS, EOS and two symbols; max_len 4 leaves 1 + 2 + 4 + 8 outputs ending at
  // EOS and 2⁴ = 16 cut at max_len: 31. A beam of 64 never prunes, so beam search must return the
  // best of them under its objective, as found by scoring each one.
  const std::size_t max_len = 4;
  const std::vector<std::vector<std::int64_t>> outputs = every_output(5, max_len);
  REQUIRE(outputs.size() == 31);
  for (std::uint64_t seed : {1, 2, 3, 4}) {
    nn::Seq2SeqTransformer model(small_config(5), seed);
    const TokenMatrix src = tokens(1, 3, {3, 4, EOS});
    std::vector<nn::Hypothesis> candidates(outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i) candidates[i].tokens = outputs[i];
    TokenMatrix tgt_in, labels;
    as_targets(candidates, tgt_in, labels);
    TokenMatrix sources(outputs.size(), 3);
    for (std::size_t i = 0; i < outputs.size(); ++i)
      std::copy_n(src.ids.begin(), 3, sources.ids.begin() + long(3 * i));
    const std::vector<double> log_probs = nn::score(model, sources, tgt_in, labels);
    for (const double length_penalty : {0.0, 1.0}) {
      auto objective = [&](std::size_t i) {
        return log_probs[i] / std::pow(double(outputs[i].size()), length_penalty);
      };
      std::size_t best = 0;
      for (std::size_t i = 1; i < outputs.size(); ++i)
        if (objective(i) > objective(best)) best = i;
      nn::DecodeOptions options;
      options.max_len = max_len;
      options.beam = 64;
      options.length_penalty = length_penalty;
      const nn::Hypothesis found = nn::beam_search(model, src, options)[0];
      CHECK(found.tokens == outputs[best]);
      CHECK(std::abs(found.log_prob - log_probs[best]) <= kTolerance);
      const nn::Hypothesis greedy = nn::greedy_decode(model, src, options)[0];
      const double greedy_objective =
          greedy.log_prob / std::pow(double(greedy.tokens.size()), length_penalty);
      CHECK(greedy_objective <= objective(best) + kTolerance);
    }
  }
}

TEST_CASE("beam_search: wider beams usually beat greedy on log p, but nothing guarantees it") {
  // Only an exhaustive beam is sure to find the most likely output (the test above). A
  // narrower one can prune greedy's prefix, or rank greedy's final EOS below K others, and
  // end below greedy: a search error. What holds for every width is checked here: each
  // answer's log_prob is log p of its tokens, EOS only at the end; the counts are reported.
  std::size_t worse = 0, better = 0, rows = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    nn::Seq2SeqTransformer model(small_config(), seed);
    const TokenMatrix src = digit_sources(20, seed);
    nn::DecodeOptions options;
    options.length_penalty = 0;
    options.max_len = 8;
    const auto greedy = nn::greedy_decode(model, src, options);
    options.beam = 3;
    const auto beam = nn::beam_search(model, src, options);
    TokenMatrix tgt_in, labels;
    as_targets(beam, tgt_in, labels);
    const std::vector<double> scores = nn::score(model, src, tgt_in, labels);
    for (std::size_t r = 0; r < beam.size(); ++r, ++rows) {
      CHECK(std::abs(scores[r] - beam[r].log_prob) <= kTolerance);
      const auto eos = std::find(beam[r].tokens.begin(), beam[r].tokens.end(), EOS);
      CHECK((eos == beam[r].tokens.end() || eos + 1 == beam[r].tokens.end()));
      worse += beam[r].log_prob < greedy[r].log_prob - kTolerance;
      better += beam[r].log_prob > greedy[r].log_prob + kTolerance;
    }
  }
  CHECK(better > worse);
  MESSAGE("beam 3 vs greedy, no length penalty, " << rows << " rows of random models: higher "
                                                  << better << ", lower " << worse);
}

TEST_CASE("MultiHeadAttention::forward_cached: keys appended step by step give forward's rows") {
  Generator gen(17);
  nn::MultiHeadAttention attention(8, 2, gen);
  const Tensor x = Tensor::randn({2, 4, 8}, gen);       // (N, T, D): a target, self-attention
  const Tensor memory = Tensor::randn({2, 3, 8}, gen);  // (N, S, D): a source, cross-attention
  const Tensor memory_mask = Tensor::from({0, 0, 0, 0, 0, 1}, {2, 3});  // row 1's key 2 is PAD
  const Tensor causal = attention.forward(x, x, Tensor(), /*causal=*/true);  // (2, 4, 8)
  const Tensor cross = attention.forward(x, memory, memory_mask);
  nn::KeyValueCache self_cache;
  const nn::KeyValueCache memory_cache = attention.project_key_value(memory);
  CHECK(memory_cache.key.shape() == Shape{2, 3, 8});    // (N, S, D)
  CHECK(memory_cache.value.shape() == Shape{2, 3, 8});  // (N, S, D)
  for (std::size_t t = 0; t < 4; ++t) {
    const Tensor x_t = x.slice(1, t, t + 1);  // (2, 1, 8)
    attention.append_key_value(self_cache, x_t);
    CHECK(self_cache.length() == t + 1);
    const Tensor self_row = attention.forward_cached(x_t, self_cache);  // (2, 1, 8)
    CHECK(max_abs_difference(self_row, causal.slice(1, t, t + 1)) <= kTolerance);
    CHECK(max_abs_difference(attention.forward_cached(x_t, memory_cache, memory_mask),
                             cross.slice(1, t, t + 1)) <= kTolerance);
    CHECK(attention.last_attention_weights().at({1, 0, 0, 2}) == 0);  // the PAD key
  }
  CHECK_THROWS_WITH_AS(attention.forward_cached(x, nn::KeyValueCache()),
                       doctest::Contains("forward_cached(d_model=8): query (2,4,8) must be "
                                         "(N, T, 8) for a non-empty cache of N=0 rows"),
                       Error);
  CHECK_THROWS_WITH_AS(attention.append_key_value(self_cache, x.slice(0, 0, 1).slice(1, 0, 1)),
                       doctest::Contains("append_key_value: cache (2,4,8) and new values "
                                         "(1,1,8) differ in N"),
                       Error);
}

TEST_CASE("decode_step: each step's logits are the last position of decode() on the prefix") {
  nn::Seq2SeqTransformer model(small_config(), 12);
  model.eval();
  const TokenMatrix src = tokens(2, 4, {3, 4, 5, EOS, 6, EOS, PAD, PAD});  // row 1 padded
  const TokenMatrix prefix = tokens(2, 4, {BOS, 7, 8, 9, BOS, 10, 11, 12});
  const Tensor memory = model.encode(src);
  const Tensor whole = model.decode(memory, src, prefix);  // (2, 4, V)
  nn::DecoderCache cache = model.start_decoding(memory, src);
  CHECK(cache.rows() == 2);
  for (std::size_t t = 0; t < prefix.cols; ++t) {
    const Tensor step = model.decode_step(cache, {prefix.at(0, t), prefix.at(1, t)});  // (2, V)
    CHECK(step.shape() == Shape{2, 13});
    CHECK(max_abs_difference(step, whole.slice(1, t, t + 1).reshape({2, 13})) <= kTolerance);
    CHECK(cache.length == t + 1);
    CHECK(cache.layers[0].self_attn.length() == t + 1);
    CHECK(cache.layers[1].cross_attn.length() == 4);  // projected once, never grows
    CHECK(!step.requires_grad());
  }
  // select keeps and reorders rows: row 1 alone goes on as row 0.
  cache.select({1});
  CHECK(cache.rows() == 1);
  const TokenMatrix longer = tokens(1, 5, {BOS, 10, 11, 12, 5});
  const Tensor expected = model.decode(index_select(memory, 0, {1}),
                                       tokens(1, 4, {6, EOS, PAD, PAD}), longer);  // (1, 5, V)
  const Tensor step = model.decode_step(cache, {5});
  CHECK(max_abs_difference(step, expected.slice(1, 4, 5).reshape({1, 13})) <= kTolerance);
}

TEST_CASE("keep_attention: per layer (H, T, S) maps whose rows sum to 1, 0 on source padding") {
  nn::Seq2SeqTransformer& model = tiny_reverser();
  const TokenMatrix src = digit_sources(8, 13);
  for (const std::size_t width : {1, 3}) {
    nn::DecodeOptions options;
    options.keep_attention = true;
    options.beam = width;
    for (const nn::Hypothesis& h : nn::beam_search(model, src, options)) {
      REQUIRE(h.cross_attention.size() == 2);  // decoder layers
      for (const Tensor& map : h.cross_attention) {
        REQUIRE(map.shape() == Shape{2, h.tokens.size(), src.cols});
        const Tensor row_sums = map.sum(-1);
        for (real sum : row_sums.values()) CHECK(double(sum) == doctest::Approx(1).epsilon(1e-5));
      }
    }
    // Without keep_attention, nothing is kept.
    options.keep_attention = false;
    for (const nn::Hypothesis& h : nn::beam_search(model, src, options))
      CHECK(h.cross_attention.empty());
  }
  // Padded source columns get exactly 0.
  nn::DecodeOptions options;
  options.keep_attention = true;
  const std::vector<nn::Hypothesis> out = nn::greedy_decode(model, src, options);
  for (std::size_t r = 0; r < src.rows; ++r)
    for (std::size_t c = 0; c < src.cols; ++c)
      if (src.at(r, c) == PAD)
        for (std::size_t h = 0; h < 2; ++h)
          for (std::size_t t = 0; t < out[r].tokens.size(); ++t)
            CHECK(out[r].cross_attention[0].at({h, t, c}) == 0);
}

TEST_CASE("batching: rows of different lengths decode as each row does alone") {
  nn::Seq2SeqTransformer& model = tiny_reverser();
  const TokenMatrix src = digit_sources(10, 14);
  for (const std::size_t width : {1, 3}) {
    nn::DecodeOptions options;
    options.beam = width;
    options.max_len = 12;  // the default depends on the batch's padded width
    const std::vector<nn::Hypothesis> together = nn::beam_search(model, src, options);
    bool bit_identical = true;
    for (std::size_t r = 0; r < src.rows; ++r) {
      std::vector<std::int64_t> row;
      for (std::size_t c = 0; c < src.cols && src.at(r, c) != PAD; ++c) row.push_back(src.at(r, c));
      const TokenMatrix alone = tokens(1, row.size(), row);
      const nn::Hypothesis single = nn::beam_search(model, alone, options)[0];
      CHECK(single.tokens == together[r].tokens);
      CHECK(std::abs(single.log_prob - together[r].log_prob) <= kTolerance);
      bit_identical = bit_identical && single.log_prob == together[r].log_prob;
    }
    MESSAGE("beam " << width << ": batched and alone log_prob bit-identical: " << bit_identical);
  }
}

// --- Weight edits (steering cross-attention) ---

namespace {

// A weight edit that forces query position p onto key p (mod the row's real keys), a one-hot
// row, every head: what the weights then hold is known exactly.
nn::WeightEdit force_position_edit() {
  return [](const nn::WeightBlock& block) {
    std::vector<std::size_t> keys;  // the columns that are not padding
    for (std::size_t s = 0; s < block.S; ++s)
      if (!block.key_padding || block.key_padding[s] == 0) keys.push_back(s);
    for (std::size_t t = 0; t < block.T; ++t) {
      real* row = block.weights + t * block.S;
      std::fill(row, row + block.S, real(0));
      row[keys[(block.first_query + t) % keys.size()]] = 1;
    }
  };
}

// The column force_position_edit chooses for output position t of source row r.
std::size_t forced_column(const TokenMatrix& src, std::size_t r, std::size_t t) {
  std::size_t keys = 0;
  while (keys < src.cols && src.at(r, keys) != PAD) ++keys;
  return t % keys;
}

// Every decoding path with attention kept, in this order: cached greedy, cached beam
// `beam`, uncached greedy, uncached beam `beam`.
std::vector<std::vector<nn::Hypothesis>> decode_every_path(nn::Seq2SeqTransformer& model,
                                                           const TokenMatrix& src,
                                                           std::size_t beam) {
  std::vector<std::vector<nn::Hypothesis>> runs;
  for (const bool cache : {true, false})
    for (const std::size_t width : {std::size_t(1), beam}) {
      nn::DecodeOptions options;
      options.use_cache = cache;
      options.beam = width;
      options.keep_attention = true;
      runs.push_back(nn::beam_search(model, src, options));
    }
  return runs;
}

}  // namespace

TEST_CASE("weight edit: an identity edit leaves every token and log p bit-identical") {
  nn::Seq2SeqTransformer& model = tiny_reverser();
  const TokenMatrix src = digit_sources(8, 21);
  std::vector<std::vector<nn::Hypothesis>> runs[2];
  std::vector<double> scores[2];
  for (const bool edited : {false, true}) {
    std::size_t calls = 0;
    if (edited)
      for (std::size_t l = 0; l < 2; ++l)
        model.set_cross_attention_edit(l, [&calls](const nn::WeightBlock&) { ++calls; });
    runs[edited] = decode_every_path(model, src, 3);
    TokenMatrix tgt_in, labels;
    as_targets(runs[edited][0], tgt_in, labels);
    scores[edited] = nn::score(model, src, tgt_in, labels);
    model.clear_cross_attention_edits();
    CHECK((calls > 0) == edited);  // the edit ran, on every path
  }
  REQUIRE(runs[0].size() == runs[1].size());
  for (std::size_t run = 0; run < runs[0].size(); ++run)
    for (std::size_t r = 0; r < src.rows; ++r) {
      const nn::Hypothesis &plain = runs[0][run][r], &edited = runs[1][run][r];
      CHECK(plain.tokens == edited.tokens);
      CHECK(plain.log_prob == edited.log_prob);  // bit for bit
      for (std::size_t l = 0; l < 2; ++l)
        CHECK(same_bits(plain.cross_attention[l], edited.cross_attention[l]));
    }
  CHECK(scores[0] == scores[1]);
}

TEST_CASE("weight edit: the forced map is what the weights then hold, on every decoding path") {
  nn::Seq2SeqTransformer& model = tiny_reverser();
  const TokenMatrix src = digit_sources(6, 22);
  model.set_cross_attention_edit(1, force_position_edit());
  const std::vector<std::vector<nn::Hypothesis>> runs = decode_every_path(model, src, 4);
  for (const std::vector<nn::Hypothesis>& run : runs)
    for (std::size_t r = 0; r < src.rows; ++r) {
      const Tensor& map = run[r].cross_attention.at(1);  // (H, T, S)
      for (std::size_t h = 0; h < map.size(0); ++h)
        for (std::size_t t = 0; t < map.size(1); ++t)
          for (std::size_t s = 0; s < map.size(2); ++s)
            CHECK(map.at({h, t, s}) == (s == forced_column(src, r, t) ? 1 : 0));
    }
  // Cached and uncached agree under the edit, greedy (beam 1) and beam 4 alike.
  for (std::size_t r = 0; r < src.rows; ++r) {
    CHECK(runs[0][r].tokens == runs[2][r].tokens);
    CHECK(runs[1][r].tokens == runs[3][r].tokens);
    CHECK(std::abs(runs[0][r].log_prob - runs[2][r].log_prob) <= kTolerance);
    CHECK(std::abs(runs[1][r].log_prob - runs[3][r].log_prob) <= kTolerance);
  }
  // Teacher-forced, the edited layer's weights after forward are the forced map too, and
  // score() of the edited greedy output is its log_prob.
  TokenMatrix tgt_in, labels;
  as_targets(runs[0], tgt_in, labels);
  const std::vector<double> scores = nn::score(model, src, tgt_in, labels);
  for (std::size_t r = 0; r < src.rows; ++r)
    CHECK(std::abs(scores[r] - runs[0][r].log_prob) <= kTolerance);
  const Tensor weights = model.cross_attention_weights().at(1);  // (B, H, T, S)
  for (std::size_t r = 0; r < src.rows; ++r)
    for (std::size_t t = 0; t < tgt_in.cols; ++t)
      CHECK(weights.at({r, 0, t, forced_column(src, r, t)}) == 1);
  model.clear_cross_attention_edits();
}

TEST_CASE("weight edit: refused while training records a graph, and for a layer that is absent") {
  nn::Seq2SeqTransformer model(small_config(), 4);
  const TokenMatrix src = digit_sources(2, 23);
  const TokenMatrix tgt_in = tokens(2, 2, {BOS, 3, BOS, 4});
  model.set_cross_attention_edit(0, force_position_edit());
  CHECK(model.transformer().decoder().layer(0).multihead_attn().has_weight_edit());
  CHECK_THROWS_WITH_AS(model.forward(src, tgt_in),
                       doctest::Contains("edit_weights is for inference"), Error);
  model.clear_cross_attention_edits();
  CHECK(model.forward(src, tgt_in).shape() == Shape{2, 2, 13});  // cleared: training works
  CHECK_THROWS_WITH_AS(model.set_cross_attention_edit(2, force_position_edit()),
                       doctest::Contains("decoder layer 2 does not exist; the model has 2"),
                       Error);
}

TEST_CASE("decoding runs in eval mode without a graph, and restores the caller's mode") {
  nn::TransformerConfig config = small_config();
  config.dropout = real(0.5);
  nn::Seq2SeqTransformer model(config, 15);
  const TokenMatrix src = digit_sources(4, 15);
  model.eval();
  const auto in_eval = nn::greedy_decode(model, src);
  model.train();
  const auto in_train = nn::greedy_decode(model, src);  // dropout must stay off
  CHECK(model.is_training());
  for (std::size_t r = 0; r < src.rows; ++r) {
    CHECK(in_train[r].tokens == in_eval[r].tokens);
    CHECK(in_train[r].log_prob == in_eval[r].log_prob);
  }
  model.eval();
  nn::beam_search(model, src);
  nn::score(model, src, tokens(4, 1, {BOS, BOS, BOS, BOS}), tokens(4, 1, {3, 3, 3, 3}));
  CHECK(!model.is_training());
}

TEST_CASE("decoding errors name the function and the problem") {
  nn::Seq2SeqTransformer model(small_config(), 16);
  const TokenMatrix src = tokens(1, 2, {3, EOS});
  nn::DecodeOptions options;
  options.beam = 0;
  CHECK_THROWS_WITH_AS(nn::beam_search(model, src, options),
                       doctest::Contains("beam_search: beam must be at least 1, got 0"), Error);
  CHECK_THROWS_WITH_AS(nn::greedy_decode(model, TokenMatrix(0, 3)),
                       doctest::Contains("greedy_decode: source (0,3) must be a non-empty"), Error);
  CHECK_THROWS_WITH_AS(nn::beam_search(model, tokens(1, 2, {13, EOS})),
                       doctest::Contains("beam_search: source (1,2): id 13 at (row 0, col 0) is "
                                         "outside the vocabulary [0, 13)"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::greedy_decode(model, tokens(1, 2, {3, -1})),
                       doctest::Contains("id -1 at (row 0, col 1)"), Error);
  CHECK_THROWS_WITH_AS(nn::greedy_decode(model, tokens(2, 2, {3, EOS, PAD, PAD})),
                       doctest::Contains("greedy_decode: source row 1 of (2,2) is all PAD"),
                       Error);
  options.beam = 1;
  options.max_len = 65;
  CHECK_THROWS_WITH_AS(nn::greedy_decode(model, src, options),
                       doctest::Contains("greedy_decode: max_len 65 exceeds the model's "
                                         "positional table of 64 positions"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::score(model, src, tokens(1, 2, {BOS, 3}), tokens(1, 3, {3, EOS, PAD})),
                       doctest::Contains("score: src (1,2), tgt_in (1,2) and labels (1,3) must be"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::score(model, src, tokens(1, 1, {BOS}), tokens(1, 1, {20})),
                       doctest::Contains("score: labels (1,1): id 20"), Error);
  nn::DecoderCache cache = model.start_decoding(model.encode(src), src);
  CHECK_THROWS_WITH_AS(model.decode_step(cache, {BOS, BOS}),
                       doctest::Contains("decode_step: 2 tokens for a cache of 1 rows"), Error);
  CHECK_THROWS_WITH_AS(model.start_decoding(model.encode(src), tokens(1, 3, {3, 4, EOS})),
                       doctest::Contains("start_decoding: memory (1,2,16) and src (1,3)"), Error);
}
