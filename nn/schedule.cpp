// schedule.cpp — the learning-rate schedules of schedule.h. Every formula is evaluated in
// double in the order the PyTorch reference evaluates it, so lr_at agrees bit for bit.
#include "nn/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/shape.h"

namespace crossgrad::optim {

namespace {

constexpr double kPi = 3.141592653589793;  // Python's math.pi

void check_peak(const char* schedule, double peak_lr) {
  if (!std::isfinite(peak_lr) || peak_lr < 0)
    fail(std::string(schedule) + ": invalid peak learning rate " + std::to_string(peak_lr));
}

void check_step(const char* schedule, std::int64_t step) {
  if (step < 0) fail(std::string(schedule) + ": step must be >= 0, got " + std::to_string(step));
}

// The reference's warmup factor: min(1.0, (step + 1) / warmup), or 1 without a warmup.
double warmup_factor(std::int64_t step, std::int64_t warmup) {
  if (warmup == 0) return 1.0;
  return std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(warmup));
}

std::string format(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

}  // namespace

// --- constant ---

ConstantSchedule::ConstantSchedule(double peak_lr, std::int64_t warmup_steps)
    : peak_lr_(peak_lr), warmup_(warmup_steps) {
  check_peak("constant", peak_lr);
  if (warmup_steps < 0)
    fail("constant: warmup steps must be >= 0, got " + std::to_string(warmup_steps));
}

double ConstantSchedule::lr_at(std::int64_t step) const {
  check_step("constant", step);
  return peak_lr_ * warmup_factor(step, warmup_);
}

std::string ConstantSchedule::describe() const {
  return "constant(lr " + format(peak_lr_) + ", warmup " + std::to_string(warmup_) + ")";
}

// --- inverse square root ---

InverseSqrtSchedule::InverseSqrtSchedule(double peak_lr, std::int64_t warmup_steps)
    : peak_lr_(peak_lr), warmup_(warmup_steps) {
  check_peak("inverse-sqrt", peak_lr);
  if (warmup_steps < 1)
    fail("inverse-sqrt: warmup steps must be >= 1, got " + std::to_string(warmup_steps));
}

double InverseSqrtSchedule::lr_at(std::int64_t step) const {
  check_step("inverse-sqrt", step);
  const double s = static_cast<double>(step + 1), warmup = static_cast<double>(warmup_);
  return peak_lr_ * std::min(s / warmup, std::sqrt(warmup / s));
}

std::string InverseSqrtSchedule::describe() const {
  return "inverse-sqrt(peak " + format(peak_lr_) + ", warmup " + std::to_string(warmup_) + ")";
}

// --- cosine ---

CosineSchedule::CosineSchedule(double peak_lr, std::int64_t warmup_steps, std::int64_t total_steps)
    : peak_lr_(peak_lr), warmup_(warmup_steps), total_(total_steps) {
  check_peak("cosine", peak_lr);
  if (warmup_steps < 0)
    fail("cosine: warmup steps must be >= 0, got " + std::to_string(warmup_steps));
  if (total_steps < 1) fail("cosine: total steps must be >= 1, got " + std::to_string(total_steps));
}

double CosineSchedule::lr_at(std::int64_t step) const {
  check_step("cosine", step);
  double f = warmup_factor(step, warmup_);
  const double total = static_cast<double>(total_);
  f *= 0.5 * (1 + std::cos(kPi * static_cast<double>(std::min(step, total_)) / total));
  return peak_lr_ * f;
}

std::string CosineSchedule::describe() const {
  return "cosine(peak " + format(peak_lr_) + ", warmup " + std::to_string(warmup_) +
         ", decay to 0 over " + std::to_string(total_) + " steps)";
}

// --- by name ---

std::unique_ptr<Schedule> make_schedule(const std::string& name, double peak_lr,
                                        std::int64_t warmup_steps, std::int64_t total_steps) {
  if (name == "constant") return std::make_unique<ConstantSchedule>(peak_lr, warmup_steps);
  if (name == "inverse-sqrt") return std::make_unique<InverseSqrtSchedule>(peak_lr, warmup_steps);
  if (name == "cosine") return std::make_unique<CosineSchedule>(peak_lr, warmup_steps, total_steps);
  fail("make_schedule: unknown schedule '" + name +
       "'; expected one of: constant, inverse-sqrt, cosine");
}

}  // namespace crossgrad::optim
