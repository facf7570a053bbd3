// progress.cpp — the progress bar and its plain-text twin (see progress.h).
#include "examples/common/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace crossgrad::cli {

namespace {

constexpr std::size_t kTerminalWindow = 50;  // steps the bar's figures average over
constexpr int kBarWidth = 24;
constexpr double kRedrawSeconds = 0.1;  // a faster redraw only flickers

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string format_rate(double per_second) {  // 950, 21.3k, 1.20M
  if (per_second >= 1e6) return format("%.2fM", per_second / 1e6);
  if (per_second >= 1e3) return format("%.1fk", per_second / 1e3);
  return format("%.0f", per_second);
}

}  // namespace

bool is_terminal(const std::ostream& out) {
  if (&out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
  if (&out == &std::cerr) return ::isatty(STDERR_FILENO) == 1;
  return false;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) return format("%.1fs", seconds);
  const long total = std::lround(seconds);
  char buffer[64];
  if (total < 60)
    std::snprintf(buffer, sizeof buffer, "%lds", total);
  else if (total < 3600)
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", total / 60, total % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", total / 3600, total % 3600 / 60);
  return buffer;
}

Progress::Progress(std::ostream& out, bool terminal, std::int64_t first_step,
                   std::int64_t total_steps, std::int64_t log_every)
    : out_(out),
      terminal_(terminal),
      total_(total_steps),
      log_every_(log_every < 1 ? 1 : log_every),
      step_(first_step) {}

std::string Progress::status_line(std::int64_t step) const {
  Record mean{0, 0, 0, 0};
  for (const Record& r : window_) {
    mean.loss += r.loss / double(window_.size());
    mean.token_accuracy += r.token_accuracy / double(window_.size());
    mean.tokens += r.tokens;
    mean.seconds += r.seconds;
  }
  const double eta =
      steps_done_ > 0 ? seconds_total_ / double(steps_done_) * double(total_ - step) : NAN;
  std::string line = "step " + std::to_string(step) + "/" + std::to_string(total_);
  if (terminal_) {
    const double fraction = total_ > 0 ? double(step) / double(total_) : 1;
    const int filled = int(fraction * kBarWidth);
    std::string bar(std::size_t(kBarWidth), ' ');
    for (int i = 0; i < filled && i < kBarWidth; ++i) bar[std::size_t(i)] = '=';
    if (filled < kBarWidth) bar[std::size_t(filled)] = '>';
    line = "[" + bar + "] " + std::to_string(step) + "/" + std::to_string(total_);
  }
  line += format("  loss %.4f", mean.loss) + format("  tok %.1f%%", 100 * mean.token_accuracy);
  line += "  " + format_rate(mean.seconds > 0 ? mean.tokens / mean.seconds : 0) + " tok/s";
  if (step < total_) line += "  ETA " + format_duration(eta);
  return line;
}

void Progress::update(std::int64_t step, double loss, double token_accuracy, std::size_t tokens,
                      double seconds) {
  step_ = step;
  window_.push_back({loss, token_accuracy, double(tokens), seconds});
  seconds_total_ += seconds;
  ++steps_done_;
  if (!terminal_) {
    if (step % log_every_ != 0 && step != total_) return;
    out_ << status_line(step) << "\n" << std::flush;
    window_.clear();  // the next line averages the steps after this one
    return;
  }
  if (window_.size() > kTerminalWindow) window_.pop_front();
  const auto now = std::chrono::steady_clock::now();
  if (bar_shown_ && step != total_ &&
      std::chrono::duration<double>(now - last_draw_).count() < kRedrawSeconds)
    return;
  last_draw_ = now;
  out_ << "\r\033[K" << status_line(step) << std::flush;  // carriage return, clear the line
  bar_shown_ = true;
}

void Progress::clear_bar() {
  if (terminal_ && bar_shown_) out_ << "\r\033[K";
}

void Progress::message(const std::string& line) {
  clear_bar();
  out_ << line << "\n";
  if (terminal_ && bar_shown_) out_ << status_line(step_);
  out_ << std::flush;
}

void Progress::finish() {
  clear_bar();
  bar_shown_ = false;
  out_ << std::flush;
}

}  // namespace crossgrad::cli
