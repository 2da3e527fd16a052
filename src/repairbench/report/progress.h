#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "repairbench/train/trainer.h"

namespace repairbench::report {

/// A one-line progress display: on a terminal it redraws a bar with ETA and
/// throughput in place (at most ~10 times a second); otherwise it writes a
/// plain log line at every `log_every`-th step and at the end, so logs stay
/// readable.
class ProgressBar {
 public:
  /// `tty` decides between the two styles; usually isatty(fileno(stderr)).
  ProgressBar(std::ostream& out, bool tty, int64_t total_steps, int64_t log_every);
  /// Reports that `done` of the total steps are finished; `status` follows
  /// the bar (e.g. "epoch 3/100 loss 0.512 4512 img/s").
  void update(int64_t done, const std::string& status);
  /// Ends the line.
  void finish();

  /// Formats seconds as "1:02:03" or "2:03".
  static std::string format_duration(double seconds);

 private:
  std::ostream& out_;
  bool tty_;
  int64_t total_;
  int64_t log_every_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
};

/// Shows a training run's progress (epoch, running loss, lr, images/s, elapsed
/// and ETA) with a ProgressBar: redrawn in place on a terminal, otherwise one
/// line per tenth of the run. Pass `callback()` as TrainOptions::on_iteration;
/// the object must outlive the run.
class TrainingProgress {
 public:
  TrainingProgress(std::ostream& out, bool tty) : out_(out), tty_(tty) {}
  std::function<void(const train::TrainProgress&)> callback();
  void finish();

 private:
  void update(const train::TrainProgress& p);
  std::ostream& out_;
  bool tty_;
  std::unique_ptr<ProgressBar> bar_;
};

}  // namespace repairbench::report
