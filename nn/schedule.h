// schedule.h — learning-rate schedules: the lr to use for the update of step `step`
// (0 for the first update), as a pure function of the step, so a resumed run needs no
// schedule state. Call opt.set_lr(schedule.lr_at(step)) before each opt.step(), exactly as
// the PyTorch reference sets g["lr"] = lr_at(step). Read next: nn/io/json.h (the files).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace crossgrad::optim {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr_at(std::int64_t step) const = 0;  // step >= 0, or an Error
  virtual std::string describe() const = 0;           // "cosine(peak 0.003, warmup 200, ...)"
};

// lr(step) = peak · min(1, (step+1)/warmup); with warmup 0 simply peak.
// A linear warmup followed by a constant (the reference's --warmup without --cosine).
class ConstantSchedule : public Schedule {
 public:
  explicit ConstantSchedule(double peak_lr, std::int64_t warmup_steps = 0);
  double lr_at(std::int64_t step) const override;
  std::string describe() const override;

 private:
  double peak_lr_;
  std::int64_t warmup_;
};

// The original Transformer's schedule (Vaswani et al. 2017, eq. 3), with step counted from 0:
//   lr(step) = peak · min((step+1)/warmup, sqrt(warmup/(step+1)))
// It rises linearly to peak at step+1 = warmup, then decays as 1/sqrt(step+1). The paper's
// d_model^-0.5 · min(s^-0.5, s·warmup^-1.5) with s = step+1 is this with
// peak = d_model^-0.5 · warmup^-0.5. warmup must be at least 1.
class InverseSqrtSchedule : public Schedule {
 public:
  InverseSqrtSchedule(double peak_lr, std::int64_t warmup_steps);
  double lr_at(std::int64_t step) const override;
  std::string describe() const override;

 private:
  double peak_lr_;
  std::int64_t warmup_;
};

// Linear warmup, then cosine decay to 0 at step total_steps, then 0; exactly the PyTorch
// reference's lr_at, operation for operation in double:
//   f = min(1, (step+1)/warmup)  (1 when warmup is 0)
//   f *= 0.5·(1 + cos(π·min(step, total)/total));  lr = peak·f
// The decay starts at step 0, not after the warmup: both factors multiply throughout.
class CosineSchedule : public Schedule {
 public:
  CosineSchedule(double peak_lr, std::int64_t warmup_steps, std::int64_t total_steps);
  double lr_at(std::int64_t step) const override;
  std::string describe() const override;

 private:
  double peak_lr_;
  std::int64_t warmup_, total_;
};

// "constant", "inverse-sqrt" or "cosine"; an unknown name is an Error listing these.
// total_steps is used by "cosine" only.
std::unique_ptr<Schedule> make_schedule(const std::string& name, double peak_lr,
                                        std::int64_t warmup_steps, std::int64_t total_steps);

}  // namespace crossgrad::optim
