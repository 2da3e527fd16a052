#include "repairbench/report/progress.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace repairbench::report {

ProgressBar::ProgressBar(std::ostream& out, bool tty, int64_t total_steps, int64_t log_every)
    : out_(out),
      tty_(tty),
      total_(total_steps > 0 ? total_steps : 1),
      log_every_(log_every > 0 ? log_every : 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  char buffer[32];
  if (total >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  }
  return buffer;
}

void ProgressBar::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : NAN;
  const bool last = done >= total_;
  if (tty_) {
    if (!last && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * done / total_);
    out_ << "\r[" << std::string(filled, '=') << std::string(kWidth - filled, ' ') << "] " << status << " | "
         << format_duration(elapsed) << " < " << format_duration(eta) << "\x1b[K" << std::flush;
  } else {
    if (!last && done % log_every_ != 0) return;
    out_ << status << " | elapsed " << format_duration(elapsed) << ", eta " << format_duration(eta) << "\n"
         << std::flush;
  }
  drawn_ = true;
  last_draw_ = now;
}

void ProgressBar::finish() {
  if (tty_ && drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

std::function<void(const train::TrainProgress&)> TrainingProgress::callback() {
  return [this](const train::TrainProgress& p) { update(p); };
}

void TrainingProgress::update(const train::TrainProgress& p) {
  if (!bar_) {
    bar_ = std::make_unique<ProgressBar>(out_, tty_, p.epochs * p.batches,
                                         std::max<int64_t>(1, p.epochs / 10) * p.batches);
  }
  std::ostringstream status;
  status << "epoch " << p.epoch + 1 << "/" << p.epochs << " loss " << std::fixed << std::setprecision(4) << p.loss
         << " lr " << p.lr << " " << std::setprecision(0) << p.images_per_second << " img/s";
  bar_->update(p.epoch * p.batches + p.batch + 1, status.str());
}

void TrainingProgress::finish() {
  if (bar_) bar_->finish();
  bar_.reset();
}

}  // namespace repairbench::report
