// progress.h — training progress for people: on a terminal one bar redrawn in place
//   [=========>          ] 1200/4000  loss 0.4132  tok 87.5%  21.3k tok/s  ETA 2m05s
// and, when the output is a file or a pipe, the same figures as a plain line every
// `log_every` steps, so logs stay readable. Loss, accuracy and speed are means over the
// steps since the last line (or the last 50 steps on a terminal), not one noisy batch.
// Read next: examples/common/loss_plot.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <string>

namespace crossgrad::cli {

bool is_terminal(const std::ostream& out);  // std::cout or std::cerr attached to a tty

// "2m05s", "1h02m", "45s", "0.8s"
std::string format_duration(double seconds);

class Progress {
 public:
  // Steps are counted from first_step (a resumed run starts past 0) to total_steps.
  Progress(std::ostream& out, bool terminal, std::int64_t first_step, std::int64_t total_steps,
           std::int64_t log_every);

  // After each training step.
  void update(std::int64_t step, double loss, double token_accuracy, std::size_t tokens,
              double seconds);
  // A line of its own (an evaluation): clears the bar, prints, redraws the bar.
  void message(const std::string& line);
  // Clears the bar for good (before the final summary).
  void finish();

 private:
  struct Record {
    double loss, token_accuracy, tokens, seconds;
  };
  std::string status_line(std::int64_t step) const;
  void clear_bar();

  std::ostream& out_;
  bool terminal_;
  std::int64_t total_, log_every_, step_ = 0;
  std::deque<Record> window_;  // the steps the figures average over
  double seconds_total_ = 0;   // for the ETA: mean seconds per step of this session
  std::int64_t steps_done_ = 0;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace crossgrad::cli
