// Tests for nn/schedule.cpp: each schedule's values worked by hand, bit-for-bit agreement
// with the PyTorch reference's lr_at, the factory by name and the errors.
#include "nn/schedule.h"
#include "testing.h"

using namespace crossgrad;
using optim::ConstantSchedule;
using optim::CosineSchedule;
using optim::InverseSqrtSchedule;

TEST_CASE("constant schedule: a linear warmup, then the peak") {
  const ConstantSchedule flat(0.1);
  CHECK(flat.lr_at(0) == 0.1);
  CHECK(flat.lr_at(100000) == 0.1);
  const ConstantSchedule warm(0.1, 4);
  CHECK(warm.lr_at(0) == doctest::Approx(0.025));  // 0.1 · 1/4
  CHECK(warm.lr_at(1) == doctest::Approx(0.05));   // 0.1 · 2/4
  CHECK(warm.lr_at(3) == 0.1);                     // 0.1 · min(1, 4/4)
  CHECK(warm.lr_at(10) == 0.1);
}

TEST_CASE("inverse-sqrt schedule: peak·min((step+1)/warmup, sqrt(warmup/(step+1)))") {
  const InverseSqrtSchedule schedule(1.0, 4);
  CHECK(schedule.lr_at(0) == doctest::Approx(0.25));       // 1/4
  CHECK(schedule.lr_at(2) == doctest::Approx(0.75));       // 3/4
  CHECK(schedule.lr_at(3) == 1.0);                         // min(4/4, sqrt(4/4)): the peak
  CHECK(schedule.lr_at(4) == doctest::Approx(0.8944272));  // sqrt(4/5)
  CHECK(schedule.lr_at(15) == doctest::Approx(0.5));       // sqrt(4/16)
  CHECK(schedule.lr_at(99) == doctest::Approx(0.2));       // sqrt(4/100)
  // The paper's d^-0.5·min(s^-0.5, s·w^-1.5), s = step+1, with d = 64, w = 4000, at s = 1000:
  // 64^-0.5 · 1000 · 4000^-1.5 = 0.125 · 1000 / 252982.2 = 4.941059e-4.
  const InverseSqrtSchedule paper(std::pow(64.0, -0.5) * std::pow(4000.0, -0.5), 4000);
  CHECK(paper.lr_at(999) == doctest::Approx(4.941059e-4));
}

TEST_CASE("cosine schedule: warmup times a cosine from step 0, reaching 0 at total_steps") {
  const CosineSchedule schedule(1.0, 4, 8);
  CHECK(schedule.lr_at(0) == 0.25);  // 1/4 · 0.5·(1 + cos 0)
  // 2/4 · 0.5·(1 + cos(π/8)) = 0.25 · 1.9238795 = 0.4809699
  CHECK(schedule.lr_at(1) == doctest::Approx(0.4809699));
  // 1 · 0.5·(1 + cos(3π/8)) = 0.5 · 1.3826834 = 0.6913417
  CHECK(schedule.lr_at(3) == doctest::Approx(0.6913417));
  CHECK(schedule.lr_at(4) == doctest::Approx(0.5));  // 0.5·(1 + cos(π/2))
  CHECK(schedule.lr_at(8) == 0);                     // 0.5·(1 + cos π)
  CHECK(schedule.lr_at(100) == 0);                   // min(step, total) holds it at 0
  const CosineSchedule no_warmup(1.0, 0, 8);
  CHECK(no_warmup.lr_at(0) == 1.0);
  CHECK(no_warmup.lr_at(2) == doctest::Approx(0.8535534));  // 0.5·(1 + cos(π/4))
}

TEST_CASE("cosine schedule: equals the PyTorch reference's lr_at bit for bit") {
  // lr_at(step) of the PyTorch reference with --lr 3e-3 --warmup 200 --cosine 4000,
  // printed with Python's repr (which round-trips doubles exactly).
  const CosineSchedule schedule(3e-3, 200, 4000);
  const std::pair<std::int64_t, double> expected[] = {{0, 1.5e-05},
                                                      {1, 2.9999995373623177e-05},
                                                      {4, 7.499981494506968e-05},
                                                      {99, 0.001497733985911597},
                                                      {200, 0.002981532510892707},
                                                      {1000, 0.002560660171779821},
                                                      {3999, 4.6263768249676927e-10},
                                                      {4000, 0.0},
                                                      {5000, 0.0}};
  for (const auto& [step, lr] : expected) {
    CAPTURE(step);
    CHECK(schedule.lr_at(step) == lr);
  }
}

TEST_CASE("make_schedule: by name, with a clear error for an unknown one") {
  CHECK(optim::make_schedule("constant", 0.1, 0, 0)->lr_at(5) == 0.1);
  CHECK(optim::make_schedule("inverse-sqrt", 1.0, 4, 0)->lr_at(3) == 1.0);
  const auto cosine = optim::make_schedule("cosine", 3e-3, 200, 4000);
  CHECK(cosine->lr_at(0) == 1.5e-05);
  CHECK(cosine->describe() == "cosine(peak 0.003, warmup 200, decay to 0 over 4000 steps)");
  CHECK_THROWS_WITH_AS(optim::make_schedule("linear", 0.1, 0, 0),
                       doctest::Contains("make_schedule: unknown schedule 'linear'; expected one "
                                         "of: constant, inverse-sqrt, cosine"),
                       Error);
}

TEST_CASE("schedules refuse bad arguments") {
  CHECK_THROWS_WITH_AS(ConstantSchedule(-0.1), doctest::Contains("constant: invalid peak"), Error);
  CHECK_THROWS_WITH_AS(ConstantSchedule(0.1, -1), doctest::Contains("warmup steps must be >= 0"),
                       Error);
  CHECK_THROWS_WITH_AS(InverseSqrtSchedule(0.1, 0),
                       doctest::Contains("inverse-sqrt: warmup steps must be >= 1, got 0"), Error);
  CHECK_THROWS_WITH_AS(CosineSchedule(0.1, 10, 0),
                       doctest::Contains("cosine: total steps must be >= 1, got 0"), Error);
  CHECK_THROWS_WITH_AS(CosineSchedule(0.1, 10, 100).lr_at(-1),
                       doctest::Contains("cosine: step must be >= 0, got -1"), Error);
}
