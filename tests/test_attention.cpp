// Tests for nn/attention.cpp: MultiHeadAttention's output and weights by hand, against a
// reference that splits heads by slicing instead of reshape/permute, the masks' effect on
// the kept weights, float64 gradient checks for self- and cross-attention, and errors.
#include "nn/attention.h"
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// Every parameter of the attention block, then the given inputs: what gradchecks vary.
Inputs with_parameters(nn::MultiHeadAttention& attention, Inputs inputs) {
  for (const Tensor& p : attention.parameters()) inputs.push_back(p);
  return inputs;
}

// (B, L) 0/1 padding mask from the real lengths of each row.
Tensor mask_from_lengths(const std::vector<std::size_t>& lengths, std::size_t width) {
  Tensor mask = Tensor::zeros({lengths.size(), width});
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (std::size_t s = lengths[b]; s < width; ++s) mask.set({b, s}, 1);
  return mask;
}

}  // namespace

TEST_CASE("MultiHeadAttention: one head with identity projections, by hand") {
  Generator gen(0);
  nn::MultiHeadAttention attention(2, 1, gen);
  // in_proj = [I; I; I], out_proj = I, zero biases: q = k = v = x and the output is the context.
  std::vector<real> identity3 = {1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1};
  std::copy(identity3.begin(), identity3.end(), attention.in_proj_weight().mutable_data());
  std::vector<real> identity = {1, 0, 0, 1};
  std::copy(identity.begin(), identity.end(), attention.out_proj().weight().mutable_data());
  const Tensor x = Tensor::from({1, 0, 0, 1}, {1, 2, 2});
  // scores = x xᵀ / √2 = [[0.7071, 0], [0, 0.7071]];
  // softmax(0.7071, 0) = (e^0.7071, 1) / (e^0.7071 + 1) = (0.6697615, 0.3302385)
  check_values(attention.forward(x, x), {0.6697615, 0.3302385, 0.3302385, 0.6697615});
  check_values(attention.last_attention_weights(), {0.6697615, 0.3302385, 0.3302385, 0.6697615});
  // causal: query 0 sees only key 0, so its output is x[0] exactly
  check_values(attention.forward(x, x, Tensor(), true), {1, 0, 0.3302385, 0.6697615});
  check_values(attention.last_attention_weights(), {1, 0, 0.3302385, 0.6697615});
  // key 1 is padding: both queries see only key 0
  check_values(attention.forward(x, x, Tensor::from({0, 1}, {1, 2})), {1, 0, 1, 0});
}

TEST_CASE("MultiHeadAttention: equals a reference that slices heads out of the last dim") {
  Generator gen(1);
  nn::MultiHeadAttention attention(6, 3, gen);
  randomize(attention.in_proj_bias(), 2, /*bound=*/1);
  randomize(attention.out_proj().bias(), 3, /*bound=*/1);
  const Tensor query = random_input({2, 3, 6}, 4), memory = random_input({2, 4, 6}, 5);
  const Tensor mask = mask_from_lengths({4, 2}, 4);
  const Tensor out = attention.forward(query, memory, mask);
  const Tensor w = attention.in_proj_weight(), b = attention.in_proj_bias();
  const Tensor q = query.matmul(w.slice(0, 0, 6).t()) + b.slice(0, 0, 6);
  const Tensor k = memory.matmul(w.slice(0, 6, 12).t()) + b.slice(0, 6, 12);
  const Tensor v = memory.matmul(w.slice(0, 12, 18).t()) + b.slice(0, 12, 18);
  std::vector<Tensor> contexts;
  for (std::size_t h = 0; h < 3; ++h) {  // head h owns columns [2h, 2h + 2)
    const Tensor scores =
        q.slice(-1, 2 * h, 2 * h + 2).matmul(k.slice(-1, 2 * h, 2 * h + 2).transpose(-2, -1));
    // mask (B, S) -> (B, 1, S), broadcast over the queries
    const Tensor weights =
        (scores / real(std::sqrt(2.0))).masked_fill(mask.unsqueeze(1), -INFINITY).softmax(-1);
    const Tensor kept = attention.last_attention_weights().slice(1, h, h + 1).squeeze(1);
    for (std::size_t i = 0; i < kept.numel(); ++i)
      CHECK(double(kept.values()[i]) == doctest::Approx(double(weights.values()[i])).epsilon(1e-5));
    contexts.push_back(weights.matmul(v.slice(-1, 2 * h, 2 * h + 2)));
  }
  const Tensor expected = attention.out_proj().forward(concat(contexts, -1));
  REQUIRE(out.shape() == Shape{2, 3, 6});
  for (std::size_t i = 0; i < out.numel(); ++i)
    CHECK(double(out.values()[i]) == doctest::Approx(double(expected.values()[i])).epsilon(1e-5));
}

TEST_CASE("MultiHeadAttention: kept weights sum to 1 per row, 0 on padding and the future") {
  Generator gen(6);
  nn::MultiHeadAttention attention(8, 2, gen);
  const Tensor target = random_input({2, 4, 8}, 7), memory = random_input({2, 5, 8}, 8);
  SUBCASE("cross-attention: queries from the target, keys from a padded memory") {
    const std::vector<std::size_t> lengths = {5, 3};
    const Tensor out = attention.forward(target, memory, mask_from_lengths(lengths, 5));
    CHECK(out.shape() == Shape{2, 4, 8});
    const Tensor& w = attention.last_attention_weights();
    REQUIRE(w.shape() == Shape{2, 2, 4, 5});
    CHECK_FALSE(w.requires_grad());
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t h = 0; h < 2; ++h)
        for (std::size_t t = 0; t < 4; ++t) {
          double row = 0;
          for (std::size_t s = 0; s < 5; ++s) {
            row += double(w.at({b, h, t, s}));
            if (s >= lengths[b]) CHECK(w.at({b, h, t, s}) == 0);
            else CHECK(w.at({b, h, t, s}) > 0);
          }
          CHECK(row == doctest::Approx(1).epsilon(1e-6));
        }
  }
  SUBCASE("self-attention: causal and padded at once") {
    const std::vector<std::size_t> lengths = {4, 2};
    attention.forward(target, target, mask_from_lengths(lengths, 4), /*causal=*/true);
    const Tensor& w = attention.last_attention_weights();
    REQUIRE(w.shape() == Shape{2, 2, 4, 4});
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t h = 0; h < 2; ++h)
        for (std::size_t t = 0; t < 4; ++t) {
          double row = 0;
          for (std::size_t s = 0; s < 4; ++s) {
            row += double(w.at({b, h, t, s}));
            if (s > t || s >= lengths[b]) CHECK(w.at({b, h, t, s}) == 0);
          }
          CHECK(row == doctest::Approx(1).epsilon(1e-6));
        }
  }
}

TEST_CASE("MultiHeadAttention: attention dropout acts in training mode only") {
  Generator gen(9), dropout_gen(10);
  nn::MultiHeadAttention attention(4, 2, gen, /*dropout=*/0.5, dropout_gen);
  const Tensor x = random_input({1, 6, 4}, 11);
  attention.eval();
  const Tensor clean = attention.forward(x, x);
  CHECK(attention.forward(x, x).values() == clean.values());  // deterministic
  attention.train();
  CHECK(attention.forward(x, x).values() != clean.values());
  // The kept weights are taken before dropout: still a distribution.
  const Tensor row_sums = attention.last_attention_weights().sum(-1);
  for (real v : row_sums.values()) CHECK(double(v) == doctest::Approx(1));
}

TEST_CASE("MultiHeadAttention: bad shapes, masks and sizes are errors naming them") {
  Generator gen(12);
  nn::MultiHeadAttention attention(8, 2, gen);
  const Tensor x = Tensor::zeros({2, 3, 8});
  CHECK_THROWS_WITH_AS(attention.forward(x, Tensor::zeros({2, 3, 6})),
                       doctest::Contains("MultiHeadAttention(d_model=8): query (2,3,8) and "
                                         "key_value (2,3,6) must be (B, T, 8) and (B, S, 8)"),
                       Error);
  CHECK_THROWS_WITH_AS(attention.forward(x, Tensor::zeros({1, 3, 8})),
                       doctest::Contains("key_value (1,3,8)"), Error);
  CHECK_THROWS_WITH_AS(attention.forward(Tensor::zeros({3, 8}), x),
                       doctest::Contains("query (3,8)"), Error);
  CHECK_THROWS_WITH_AS(attention.forward(x, Tensor::zeros({2, 5, 8}), Tensor::zeros({2, 3})),
                       doctest::Contains("key_padding_mask shape (2,3) must be (B, S) = (2,5)"),
                       Error);
  CHECK_THROWS_WITH_AS(attention.forward(x, Tensor::zeros({2, 5, 8}), Tensor(), true),
                       doctest::Contains("a causal mask needs as many queries as keys, got T=3 "
                                         "and S=5"),
                       Error);
  CHECK_THROWS_WITH_AS(attention.forward(x, x, Tensor::from({0, 0, 0, 1, 1, 1}, {2, 3})),
                       doctest::Contains("query 0 of batch row 1 has every key masked"), Error);
  CHECK_THROWS_WITH_AS(nn::MultiHeadAttention(8, 3, gen),
                       doctest::Contains("d_model 8 must be a positive multiple of num_heads 3"),
                       Error);
}

GRADCHECK_CASE("MultiHeadAttention: self-attention backward matches finite differences") {
  Generator gen(13);
  nn::MultiHeadAttention attention(8, 2, gen);
  // PyTorch starts the biases at 0: move off that point
  randomize(attention.in_proj_bias(), 14, /*bound=*/1);
  randomize(attention.out_proj().bias(), 15, /*bound=*/1);
  const Tensor x = random_input({2, 4, 8}, 16);
  SUBCASE("causal mask; x is query, key and value at once") {
    check_gradients_logged(
        "MultiHeadAttention self, causal",
        [&](const Inputs& in) { return attention.forward(in[0], in[0], Tensor(), true); },
        with_parameters(attention, {x}));
  }
  SUBCASE("causal and target padding, rows of different lengths") {
    const Tensor mask = mask_from_lengths({4, 3}, 4);
    check_gradients_logged(
        "MultiHeadAttention self, causal + padding",
        [&](const Inputs& in) { return attention.forward(in[0], in[0], mask, true); },
        with_parameters(attention, {x}));
  }
}

GRADCHECK_CASE("MultiHeadAttention: cross-attention backward matches finite differences") {
  Generator gen(17), dropout_gen(18);
  nn::MultiHeadAttention attention(8, 2, gen, /*dropout=*/0.25, dropout_gen);
  randomize(attention.in_proj_bias(), 19, /*bound=*/1);
  randomize(attention.out_proj().bias(), 20, /*bound=*/1);
  // Queries from a (B, T=3) target, keys/values from a (B, S=5) memory whose rows hold 5
  // and 2 real positions: the padded keys must get no gradient and change nothing.
  const Tensor query = random_input({2, 3, 8}, 21), memory = random_input({2, 5, 8}, 22);
  const Tensor mask = mask_from_lengths({5, 2}, 5);
  SUBCASE("source padding mask") {
    attention.eval();
    check_gradients_logged(
        "MultiHeadAttention cross, source padding",
        [&](const Inputs& in) { return attention.forward(in[0], in[1], mask); },
        with_parameters(attention, {query, memory}));
  }
  SUBCASE("with attention dropout, its generator reseeded for every evaluation") {
    attention.train();
    check_gradients_logged("MultiHeadAttention cross, padding + dropout",
                           [&](const Inputs& in) {
                             dropout_gen.manual_seed(23);  // the same mask every time
                             return attention.forward(in[0], in[1], mask);
                           },
                           with_parameters(attention, {query, memory}));
  }
}
