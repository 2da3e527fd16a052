#include "repairbench/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "repairbench/core/error.h"
#include "repairbench/core/named.h"

namespace repairbench::train {

namespace {
constexpr Named<ScheduleKind> kSchedules[] = {{ScheduleKind::kTriangular, "triangular"},
                                              {ScheduleKind::kWarmupCosine, "cosine"},
                                              {ScheduleKind::kConstant, "constant"}};
}  // namespace

std::string to_string(ScheduleKind kind) { return name_of(kSchedules, kind); }

ScheduleKind parse_schedule(const std::string& text) { return parse_named(kSchedules, text, "schedule"); }

double Schedule::lr_at(int64_t it, int64_t iters_per_epoch, int64_t epochs) const {
  if (kind == ScheduleKind::kConstant) return peak_lr;
  const double total = static_cast<double>(iters_per_epoch * epochs);
  const double warm = std::min(warmup_epochs * static_cast<double>(iters_per_epoch), total);
  const double t = static_cast<double>(it);
  if (t < warm) return peak_lr * (start + (1.0 - start) * t / warm);
  if (total <= warm) return peak_lr;
  const double progress = std::clamp((t - warm) / (total - warm), 0.0, 1.0);
  if (kind == ScheduleKind::kTriangular) return peak_lr * (1.0 - progress);
  return peak_lr * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace repairbench::train
