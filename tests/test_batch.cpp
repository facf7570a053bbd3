// Tests for data/batch.cpp: a batch spelled out by hand, agreement with the reference's
// batchify + shift on random batches, masks and token counts, errors, and the shuffling
// iterator: every epoch a permutation, reproducible, and resumable bit for bit.
#include "testing.h"

#include <algorithm>
#include <set>

#include "data/batch.h"
#include "data/tasks.h"

using namespace crossgrad;

using Ids = std::vector<std::int64_t>;

TEST_CASE("batch: three pairs spelled out: source + EOS, BOS + target, target + EOS") {
  // '1'..'6' are ids 4..9. Targets: "21" -> 5 4, "543" -> 8 7 6, "6" -> 9.
  const Batch batch =
      make_batch({{"12", "21"}, {"345", "543"}, {"6", "6"}}, task_vocab(Task::reverse));
  // src: S = longest source (3) + 1 = 4
  CHECK(batch.src.shape() == Shape{3, 4});
  CHECK(batch.src.ids == Ids{4, 5, EOS, PAD,  //
                             6, 7, 8, EOS,    //
                             9, EOS, PAD, PAD});
  // The full target rows are BOS 5 4 EOS PAD / BOS 8 7 6 EOS / BOS 9 EOS PAD PAD (width 5);
  // tgt_in drops the last column, labels the first: T = 4.
  CHECK(batch.tgt_in.shape() == Shape{3, 4});
  CHECK(batch.tgt_in.ids == Ids{BOS, 5, 4, EOS,  //
                                BOS, 8, 7, 6,    //
                                BOS, 9, EOS, PAD});
  CHECK(batch.labels.shape() == Shape{3, 4});
  CHECK(batch.labels.ids == Ids{5, 4, EOS, PAD,  //
                                8, 7, 6, EOS,    //
                                9, EOS, PAD, PAD});
  CHECK(batch.label_tokens == 9);  // 3 + 4 + 2 non-PAD labels
}

// The reference, transcribed: batchify() fills BOS + t + EOS into a (B, longest + 2) row of
// PAD, and training reads tgt[:, :-1] and tgt[:, 1:].
static void check_against_reference(const std::vector<Ids>& sources,
                                    const std::vector<Ids>& targets, const Batch& batch) {
  std::size_t source_width = 0, target_width = 0;
  for (const Ids& s : sources) source_width = std::max(source_width, s.size() + 1);
  for (const Ids& t : targets) target_width = std::max(target_width, t.size() + 2);
  REQUIRE(batch.src.shape() == Shape{sources.size(), source_width});
  REQUIRE(batch.tgt_in.shape() == Shape{targets.size(), target_width - 1});
  REQUIRE(batch.labels.shape() == Shape{targets.size(), target_width - 1});
  for (std::size_t row = 0; row < sources.size(); ++row) {
    Ids src(source_width, PAD), tgt(target_width, PAD);
    std::copy(sources[row].begin(), sources[row].end(), src.begin());
    src[sources[row].size()] = EOS;
    tgt[0] = BOS;
    std::copy(targets[row].begin(), targets[row].end(), tgt.begin() + 1);
    tgt[targets[row].size() + 1] = EOS;
    for (std::size_t col = 0; col < source_width; ++col) CHECK(batch.src.at(row, col) == src[col]);
    for (std::size_t col = 0; col + 1 < target_width; ++col) {
      CHECK(batch.tgt_in.at(row, col) == tgt[col]);
      CHECK(batch.labels.at(row, col) == tgt[col + 1]);
    }
  }
}

TEST_CASE("batch: agrees with the reference's batchify and shift on random batches") {
  const Vocab vocab = task_vocab(Task::add);
  Generator gen(3);
  for (const Task task : {Task::reverse, Task::sort, Task::add}) {
    for (int trial = 0; trial < 5; ++trial) {
      const std::vector<Pair> pairs = make_examples(default_spec(task), 1 + gen.below(20), gen);
      std::vector<Ids> sources, targets;
      for (const Pair& pair : pairs) {
        sources.push_back(vocab.encode(pair.source));
        targets.push_back(vocab.encode(pair.target));
      }
      const Batch batch = make_batch(pairs, vocab);
      check_against_reference(sources, targets, batch);
      CHECK(batch.label_tokens == count_non_pad(batch.labels));
    }
  }
}

TEST_CASE("batch: padding masks mark PAD, and label tokens count what the loss sees") {
  const Batch batch = make_batch(std::vector<Ids>{{3, 4}, {5}}, std::vector<Ids>{{6}, {7, 8, 9}});
  // src: 3 4 EOS / 5 EOS PAD
  CHECK(padding_mask(batch.src) == std::vector<std::uint8_t>{0, 0, 0, 0, 0, 1});
  // labels: 6 EOS PAD PAD / 7 8 9 EOS -> 2 + 4 = 6 tokens
  CHECK(batch.labels.ids == Ids{6, EOS, PAD, PAD, 7, 8, 9, EOS});
  CHECK(batch.label_tokens == 6);
  CHECK(count_non_pad(batch.src) == 5);
  CHECK(make_source_batch({{3}, {}}).ids == Ids{3, EOS, EOS, PAD});  // an empty input is just EOS
}

TEST_CASE("batch: bad pairs and bad ids are errors naming the row") {
  const Vocab vocab = task_vocab(Task::reverse);
  CHECK_THROWS_WITH_AS(make_batch({{"12", "21"}, {"1a", "a1"}}, vocab),
                       doctest::Contains("make_batch: pair 1 ('1a' -> 'a1'): vocab: unknown "
                                         "symbol 'a'"),
                       Error);
  CHECK_THROWS_WITH_AS(make_batch(std::vector<Pair>{}, vocab),
                       doctest::Contains("a batch needs at least one row"), Error);
  CHECK_THROWS_WITH_AS(make_batch(std::vector<Ids>{{3}}, std::vector<Ids>{{3}, {4}}),
                       doctest::Contains("1 sources but 2 targets"), Error);
  CHECK_THROWS_WITH_AS(make_batch(std::vector<Ids>{{3}}, std::vector<Ids>{{4, EOS}}),
                       doctest::Contains("target 0 position 1 holds id 2, a special id"), Error);
  CHECK_THROWS_WITH_AS(make_source_batch({{3}, {PAD}}),
                       doctest::Contains("source 1 position 0 holds id 0"), Error);
}

TEST_CASE("batch iterator: each epoch hands out every index once; the last batch is smaller") {
  BatchIterator batches(10, 4, 1);
  CHECK(batches.batches_per_epoch() == 3);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::multiset<std::size_t> seen;
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 3; ++i) {
      const std::vector<std::size_t> batch = batches.next();
      sizes.push_back(batch.size());
      seen.insert(batch.begin(), batch.end());
    }
    CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
    CHECK(seen == std::multiset<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(batches.position().epoch == std::size_t(epoch));
  }
  BatchIterator dropping(10, 4, 1, /*drop_last=*/true);
  CHECK(dropping.batches_per_epoch() == 2);
  for (int i = 0; i < 6; ++i) CHECK(dropping.next().size() == 4);
  CHECK(dropping.position().epoch == 2);
}

TEST_CASE("batch iterator: the same seed gives the same order; epochs are reshuffled") {
  BatchIterator a(50, 50, 7), b(50, 50, 7), c(50, 50, 8);
  const std::vector<std::size_t> first = a.next();
  CHECK(first == b.next());
  CHECK(first != c.next());
  CHECK(first != a.next());  // epoch 1 is shuffled afresh
  std::vector<std::size_t> identity(50);
  for (std::size_t i = 0; i < 50; ++i) identity[i] = i;
  CHECK(first != identity);
}

TEST_CASE("batch iterator: a resumed run continues bit-identically, batches included") {
  const std::vector<Pair> data = make_examples(default_spec(Task::reverse), 10, 5);
  const Vocab vocab = task_vocab(Task::reverse);
  // 10 pairs in batches of 3: epochs of 4 batches (3, 3, 3, 1); stop anywhere in 3 epochs.
  for (int stop = 0; stop <= 12; ++stop) {
    CAPTURE(stop);
    BatchIterator original(10, 3, 21);
    for (int i = 0; i < stop; ++i) original.next();
    const std::string saved = original.save();
    const BatchPosition position = original.position();
    BatchIterator loaded(10, 3, 999), restored(10, 3, 12345);  // seeds are overwritten
    loaded.load(saved);
    restored.restore(position);
    for (int i = 0; i < 9; ++i) {
      const std::vector<std::size_t> expected = original.next();
      CHECK(loaded.next() == expected);
      CHECK(restored.next() == expected);
    }
    CHECK(loaded.save() == original.save());
    const Batch expected = make_batch(pick_examples(data, original.next()), vocab);
    const Batch resumed = make_batch(pick_examples(data, loaded.next()), vocab);
    CHECK(resumed.src.ids == expected.src.ids);
    CHECK(resumed.tgt_in.ids == expected.tgt_in.ids);
    CHECK(resumed.labels.ids == expected.labels.ids);
  }
}

TEST_CASE("batch iterator: bad settings and bad saved positions are errors") {
  CHECK_THROWS_WITH_AS(BatchIterator(0, 4, 0), doctest::Contains("the dataset is empty"), Error);
  CHECK_THROWS_WITH_AS(BatchIterator(5, 0, 0), doctest::Contains("batch size must be at least 1"),
                       Error);
  CHECK_THROWS_WITH_AS(BatchIterator(5, 8, 0, true),
                       doctest::Contains("batch size 8 with drop_last exceeds the dataset's 5"),
                       Error);
  BatchIterator batches(10, 3, 0);
  const std::string saved = BatchIterator(11, 3, 0).save();
  CHECK_THROWS_WITH_AS(batches.load(saved),
                       doctest::Contains("saved for 11 pairs in batches of 3, but this iterator "
                                         "has 10 pairs in batches of 3"),
                       Error);
  CHECK_THROWS_WITH_AS(batches.load("hello"), doctest::Contains("not a saved batch position"),
                       Error);
  CHECK_THROWS_WITH_AS(
      batches.load("crossgrad-batches 1 size 10 batch 3 drop_last 0 epoch 0 index 0\nnot a state"),
      doctest::Contains("Generator::set_state"), Error);
  CHECK_THROWS_WITH_AS(batches.restore({0, 11, batches.position().epoch_start_state}),
                       doctest::Contains("index 11 is past the end of a dataset of 10 pairs"),
                       Error);
  CHECK_THROWS_WITH_AS(pick_examples({{"a", "b"}}, {1}),
                       doctest::Contains("pick_examples: index 1 is out of range"), Error);
}
