// Tests for autograd/ops_attention.cpp: the fused scaled_dot_product_attention against its
// composed reference (values and gradients, in float32 and float64, with every mask, T != S,
// and dropout), float64 gradient checks of the fused op, a fully masked row, the weights it
// hands out, the edit point, and bit-identical results for 1 and 2 threads.
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// (B, S) 0/1 padding mask from the real lengths of each row.
Tensor padding_from_lengths(const std::vector<std::size_t>& lengths, std::size_t width) {
  Tensor mask = Tensor::zeros({lengths.size(), width});
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (std::size_t s = lengths[b]; s < width; ++s) mask.set({b, s}, 1);
  return mask;
}

struct Case {
  const char* name;
  std::size_t B, T, S, D, heads;
  bool causal;
  std::vector<std::size_t> key_lengths;  // empty: no padding mask
};

const Case cases[] = {
    {"no mask, one head", 2, 3, 3, 4, 1, false, {}},
    {"causal, two heads", 2, 5, 5, 8, 2, true, {}},
    {"padding, T != S (cross-attention)", 3, 4, 6, 8, 2, false, {6, 2, 4}},
    {"causal and padding", 2, 5, 5, 12, 3, true, {5, 3}},
    {"the standard model's shape", 4, 17, 17, 64, 4, true, {17, 9, 1, 12}},
};

AttentionOptions options_for(const Case& c) {
  AttentionOptions options;
  options.heads = c.heads;
  options.causal = c.causal;
  if (!c.key_lengths.empty()) options.key_padding_mask = padding_from_lengths(c.key_lengths, c.S);
  return options;
}

// The fused op and the composed one on the same inputs: output, weights and all three
// gradients (of a fixed random projection of the output) agree within `tolerance`.
void check_against_composed(const Case& c, AttentionOptions options, double tolerance) {
  CAPTURE(c.name);
  Tensor q = random_input({c.B, c.T, c.D}, 1), k = random_input({c.B, c.S, c.D}, 2);
  Tensor v = random_input({c.B, c.S, c.D}, 3);
  const Tensor projection = random_input({c.B, c.T, c.D}, 4).detach();
  std::vector<Tensor> results;
  Generator fused_gen(5), composed_gen(5);
  for (bool fused : {true, false}) {
    Tensor weights;
    options.weights = &weights;
    options.dropout_gen = fused ? &fused_gen : &composed_gen;
    const Tensor out = fused ? scaled_dot_product_attention(q, k, v, options)
                             : scaled_dot_product_attention_composed(q, k, v, options);
    REQUIRE(out.shape() == Shape{c.B, c.T, c.D});
    REQUIRE(weights.shape() == Shape{c.B, c.heads, c.T, c.S});
    (out * projection).sum().backward();
    results.insert(results.end(), {out, weights, q.grad(), k.grad(), v.grad()});
    for (Tensor x : {q, k, v}) x.zero_grad();
  }
  const char* names[] = {"output", "weights", "dq", "dk", "dv"};
  for (std::size_t i = 0; i < 5; ++i) {
    CAPTURE(names[i]);
    CHECK(max_abs_difference(results[i], results[i + 5]) <= tolerance);
  }
}

}  // namespace

TEST_CASE("scaled_dot_product_attention: one head, by hand") {
  // q = k = v = [[1, 0], [0, 1]]: scores = q kᵀ / √2 = [[0.7071, 0], [0, 0.7071]];
  // softmax(0.7071, 0) = (0.6697615, 0.3302385), and out = weights · v is the same matrix.
  const Tensor x = Tensor::from({1, 0, 0, 1}, {1, 2, 2});
  Tensor weights;
  AttentionOptions options;
  options.weights = &weights;
  check_values(scaled_dot_product_attention(x, x, x, options),
               {0.6697615, 0.3302385, 0.3302385, 0.6697615});
  check_values(weights, {0.6697615, 0.3302385, 0.3302385, 0.6697615});
  options.causal = true;  // query 0 sees key 0 only
  check_values(scaled_dot_product_attention(x, x, x, options), {1, 0, 0.3302385, 0.6697615});
  options.causal = false;
  options.key_padding_mask = Tensor::from({0, 1}, {1, 2});  // key 1 is padding
  check_values(scaled_dot_product_attention(x, x, x, options), {1, 0, 1, 0});
  check_values(weights, {1, 0, 1, 0});
}

TEST_CASE("scaled_dot_product_attention: equals the composed reference, values and gradients") {
  // The fused op sums q·k in another order than the gemm does, so the two agree to rounding:
  // about 1e-6 in float32 and 1e-14 in float64.
  const double tolerance = kDoublePrecision ? 1e-12 : 2e-5;
  for (const Case& c : cases) check_against_composed(c, options_for(c), tolerance);
  SUBCASE("with dropout on the weights, drawn in the same order") {
    AttentionOptions options = options_for(cases[3]);
    options.dropout = 0.3;
    check_against_composed(cases[3], options, tolerance);
  }
}

GRADCHECK_CASE("scaled_dot_product_attention: backward matches finite differences") {
  for (const Case& c : cases) {
    if (c.T > 8) continue;  // the standard shape is covered against the composed op above
    CAPTURE(c.name);
    const AttentionOptions options = options_for(c);
    check_gradients(
        [options](const Inputs& in) {
          return scaled_dot_product_attention(in[0], in[1], in[2], options);
        },
        {random_input({c.B, c.T, c.D}, 6), random_input({c.B, c.S, c.D}, 7),
         random_input({c.B, c.S, c.D}, 8)});
  }
  SUBCASE("one tensor as q, k and v (self-attention without projections)") {
    AttentionOptions options;
    options.heads = 2;
    options.causal = true;
    check_gradients(
        [options](const Inputs& in) {
          return scaled_dot_product_attention(in[0], in[0], in[0], options);
        },
        {random_input({2, 4, 6}, 9)});
  }
  SUBCASE("dropout, with the generator reseeded for every evaluation") {
    check_gradients(
        [](const Inputs& in) {
          Generator gen(10);
          AttentionOptions options;
          options.heads = 2;
          options.key_padding_mask = padding_from_lengths({3, 2}, 3);
          options.dropout = 0.4;
          options.dropout_gen = &gen;
          return scaled_dot_product_attention(in[0], in[1], in[2], options);
        },
        {random_input({2, 4, 4}, 11), random_input({2, 3, 4}, 12), random_input({2, 3, 4}, 13)});
  }
}

TEST_CASE("scaled_dot_product_attention: a fully masked query row is an error in both forms") {
  const Tensor q = random_input({2, 3, 4}, 14), kv = random_input({2, 3, 4}, 15);
  AttentionOptions options;
  options.key_padding_mask = Tensor::from({0, 0, 1, 1, 1, 1}, {2, 3});  // row 1: all padding
  const char* message = "query 0 of batch row 1 has every key masked (key_padding_mask)";
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, kv, kv, options),
                       doctest::Contains(message), Error);
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention_composed(q, kv, kv, options),
                       doctest::Contains(message), Error);
  SUBCASE("causal: a padded first key leaves query 0 nothing to see") {
    options.causal = true;
    options.key_padding_mask = Tensor::from({0, 0, 1, 1, 0, 0}, {2, 3});
    CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, kv, kv, options),
                         doctest::Contains("batch row 1 has every key masked (key_padding_mask "
                                           "and causal)"),
                         Error);
  }
}

TEST_CASE("scaled_dot_product_attention: bad shapes and options name the op") {
  const Tensor x = Tensor::zeros({2, 3, 8});
  AttentionOptions options;
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, Tensor::zeros({2, 3, 6}), x),
                       doctest::Contains("scaled_dot_product_attention: q (2,3,8), k (2,3,6), "
                                         "v (2,3,8) must be (B, T, D), (B, S, D) and (B, S, D)"),
                       Error);
  options.heads = 3;
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, x, x, options),
                       doctest::Contains("D = 8 does not split into 3 heads"), Error);
  options.heads = 2;
  options.key_padding_mask = Tensor::zeros({2, 4});
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, x, x, options),
                       doctest::Contains("key_padding_mask shape (2,4) must be (B, S) = (2,3)"),
                       Error);
  options.key_padding_mask = Tensor();
  options.causal = true;
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, Tensor::zeros({2, 5, 8}),
                                                    Tensor::zeros({2, 5, 8}), options),
                       doctest::Contains("a causal mask needs as many queries as keys"), Error);
  options.causal = false;
  options.dropout = 0.5;
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, x, x, options),
                       doctest::Contains("needs a generator"), Error);
}

TEST_CASE("scaled_dot_product_attention: the weights it hands out are its own, guarded") {
  Tensor q = random_input({1, 2, 4}, 16);
  const Tensor kv = random_input({1, 3, 4}, 17);
  Tensor weights;
  AttentionOptions options;
  options.weights = &weights;
  Tensor loss = scaled_dot_product_attention(q, kv, kv, options).sum();
  CHECK(weights.is_leaf());
  CHECK_FALSE(weights.requires_grad());
  // No copy was made, so writing into them is a write to what the backward reads.
  weights.mutable_data()[0] = 1;
  CHECK_THROWS_WITH_AS(loss.backward(),
                       doctest::Contains("'scaled_dot_product_attention' saved for its backward"),
                       Error);
}

TEST_CASE("scaled_dot_product_attention: edit_weights sees each head's weights before weights·v") {
  const Tensor q = random_input({2, 3, 4}, 18).detach(), kv = random_input({2, 5, 4}, 19).detach();
  AttentionOptions options;
  options.heads = 2;
  std::vector<std::pair<std::size_t, std::size_t>> seen;
  // Attend only to key 4: every output row becomes that key's values.
  options.edit_weights = [&](std::size_t b, std::size_t h, real* w, std::size_t T,
                             std::size_t S) {
    seen.emplace_back(b, h);
    for (std::size_t i = 0; i < T * S; ++i) w[i] = i % S == 4 ? 1 : 0;
  };
  const Tensor out = scaled_dot_product_attention(q, kv, kv, options);
  CHECK(seen.size() == 4);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t t = 0; t < 3; ++t)
      for (std::size_t j = 0; j < 4; ++j) CHECK(out.at({b, t, j}) == kv.at({b, 4, j}));
  const Tensor trainable = random_input({2, 3, 4}, 20);
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(trainable, kv, kv, options),
                       doctest::Contains("edit_weights is for inference"), Error);
  NoGradGuard no_grad;
  CHECK(scaled_dot_product_attention(trainable, kv, kv, options).shape() == Shape{2, 3, 4});
}

TEST_CASE("scaled_dot_product_attention: bit-identical forward and backward at 1 and 2 threads") {
  const Case& c = cases[4];  // the standard model's shape: 16 (b, h) items
  std::vector<Tensor> results;
  for (std::size_t threads : {1, 2}) {
    const ThreadCount scope(threads);
    Tensor q = random_input({c.B, c.T, c.D}, 21), k = random_input({c.B, c.S, c.D}, 22);
    Tensor v = random_input({c.B, c.S, c.D}, 23);
    const Tensor out = scaled_dot_product_attention(q, k, v, options_for(c));
    (out * out).sum().backward();
    results.insert(results.end(), {out, q.grad(), k.grad(), v.grad()});
  }
  for (std::size_t i = 0; i < 4; ++i) CHECK(same_bits(results[i], results[i + 4]));
}

// --- Packed rows ---

namespace {

// Rows [0, lengths[b]) of each batch row b of x (B, L, D), one after another: (Σ lengths, D).
Tensor packed_rows(const Tensor& x, const std::vector<std::size_t>& lengths) {
  const std::size_t L = x.size(1), D = x.size(2);
  std::vector<real> rows;
  for (std::size_t b = 0; b < lengths.size(); ++b)
    rows.insert(rows.end(), x.data() + b * L * D, x.data() + (b * L + lengths[b]) * D);
  return Tensor::from(std::move(rows), {rows.size() / D, D}, true);
}

std::vector<std::size_t> offsets_of(const std::vector<std::size_t>& lengths) {
  std::vector<std::size_t> offsets{0};
  for (std::size_t n : lengths) offsets.push_back(offsets.back() + n);
  return offsets;
}

}  // namespace

TEST_CASE("scaled_dot_product_attention: packed rows give the padded batch's real rows") {
  // Padded (B, T, D) with a padding mask, against the same sequences packed without their
  // padding: the output at every real query, the weights, and every real row's gradient.
  const std::vector<std::size_t> query_lengths{5, 2, 4}, key_lengths{6, 3, 1};
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    const std::vector<std::size_t>& keys = causal ? query_lengths : key_lengths;
    const std::size_t T = 5, S = causal ? 5 : 6, D = 8;
    Tensor q = random_input({3, T, D}, 30), k = random_input({3, S, D}, 31);
    Tensor v = random_input({3, S, D}, 32);
    AttentionOptions padded;
    padded.heads = 2;
    padded.causal = causal;
    padded.key_padding_mask = padding_from_lengths(keys, S);
    Tensor padded_weights;
    padded.weights = &padded_weights;
    const Tensor projection = random_input({3, T, D}, 33).detach();
    // Only real query rows count: zero the projection at padded queries.
    Tensor real_rows = Tensor::zeros({3, T, 1});
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t t = 0; t < query_lengths[b]; ++t) real_rows.set({b, t, 0}, 1);
    const Tensor out = scaled_dot_product_attention(q, k, v, padded);
    (out * projection * real_rows).sum().backward();

    Tensor pq = packed_rows(q, query_lengths), pk = packed_rows(k, keys);
    Tensor pv = packed_rows(v, keys);
    AttentionOptions packed;
    packed.heads = 2;
    packed.causal = causal;
    packed.query_offsets = offsets_of(query_lengths);
    packed.key_offsets = offsets_of(keys);
    Tensor packed_weights;
    packed.weights = &packed_weights;
    const Tensor packed_out = scaled_dot_product_attention(pq, pk, pv, packed);
    (packed_out * packed_rows(projection, query_lengths).detach()).sum().backward();

    const double tolerance = kDoublePrecision ? 1e-12 : 1e-5;
    CHECK(max_abs_difference(packed_out, packed_rows(out, query_lengths)) <= tolerance);
    CHECK(max_abs_difference(pq.grad(), packed_rows(q.grad(), query_lengths)) <= tolerance);
    CHECK(max_abs_difference(pk.grad(), packed_rows(k.grad(), keys)) <= tolerance);
    CHECK(max_abs_difference(pv.grad(), packed_rows(v.grad(), keys)) <= tolerance);
    REQUIRE(packed_weights.shape() == Shape{3, 2, T, S});
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t h = 0; h < 2; ++h)
        for (std::size_t t = 0; t < T; ++t)
          for (std::size_t s = 0; s < S; ++s) {
            const real expected = t < query_lengths[b] ? padded_weights.at({b, h, t, s}) : 0;
            CHECK(std::abs(double(packed_weights.at({b, h, t, s}) - expected)) <= tolerance);
          }
  }
}

GRADCHECK_CASE("scaled_dot_product_attention: packed backward matches finite differences") {
  AttentionOptions options;
  options.heads = 2;
  options.query_offsets = {0, 3, 4, 6};
  options.key_offsets = {0, 2, 5, 6};
  check_gradients(
      [options](const Inputs& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], options);
      },
      {random_input({6, 4}, 34), random_input({6, 4}, 35), random_input({6, 4}, 36)});
  SUBCASE("causal, one tensor as q, k and v") {
    options.causal = true;
    options.key_offsets = options.query_offsets;
    check_gradients(
        [options](const Inputs& in) {
          return scaled_dot_product_attention(in[0], in[0], in[0], options);
        },
        {random_input({6, 4}, 37)});
  }
}

TEST_CASE("scaled_dot_product_attention: bad packed offsets name the problem") {
  const Tensor x = Tensor::zeros({5, 4});
  AttentionOptions options;
  options.query_offsets = {0, 2, 5};
  options.key_offsets = {0, 3};
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, x, x, options),
                       doctest::Contains("3 query_offsets and 2 key_offsets"), Error);
  options.key_offsets = {0, 4, 3};
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, x, x, options),
                       doctest::Contains("key_offsets (0,4,3) must rise from 0 to the 5 rows"),
                       Error);
  options.key_offsets = {0, 0, 5};
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, x, x, options),
                       doctest::Contains("batch row 0 has every key masked"), Error);
  options.key_offsets = {0, 3, 5};
  options.causal = true;
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(x, x, x, options),
                       doctest::Contains("got T=2 and S=3 in sequence 0"), Error);
}
