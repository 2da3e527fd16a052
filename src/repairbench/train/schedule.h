#pragma once

#include <cstdint>
#include <string>

namespace repairbench::train {

/// Learning-rate schedules, stepped per iteration as in the reference's
/// LambdaLR loops (docs/reference/algorithm.md §3, "Common training loop").
enum class ScheduleKind {
  /// Linear warm-up from `start` x peak to peak over `warmup_epochs`, then
  /// linear decay to 0 at the last iteration: the reference's
  /// np.interp(it, [0, 5*ipe, E*ipe], [0, 1, 0]).
  kTriangular,
  /// Linear warm-up from `start` x peak, then cosine decay to 0
  /// (train/resnet-*-cifar/train.py).
  kWarmupCosine,
  /// Constant peak learning rate.
  kConstant,
};

/// "triangular" | "cosine" | "constant"; parse throws Error(kUsage).
std::string to_string(ScheduleKind kind);
ScheduleKind parse_schedule(const std::string& text);

struct Schedule {
  ScheduleKind kind = ScheduleKind::kTriangular;
  double peak_lr = 0.1;
  double warmup_epochs = 5;
  /// Fraction of the peak at iteration 0 (0 in the reference's triangular
  /// schedule, so its very first step has learning rate 0).
  double start = 0.0;

  /// Learning rate of iteration `it` (0-based) out of `epochs` x `iters_per_epoch`.
  double lr_at(int64_t it, int64_t iters_per_epoch, int64_t epochs) const;
};

}  // namespace repairbench::train
