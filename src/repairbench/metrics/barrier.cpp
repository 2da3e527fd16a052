#include "repairbench/metrics/barrier.h"

#include <cmath>
#include <limits>

#include "repairbench/core/error.h"

namespace repairbench::metrics {

Barrier barrier(const Path& path, double end0, double end1, bool higher_is_better) {
  RB_CHECK(!path.alpha.empty() && path.alpha.size() == path.value.size(), kUsage,
           "a barrier needs a non-empty path with one value per alpha");
  const double sign = higher_is_better ? 1.0 : -1.0;
  Barrier b;
  b.max = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < path.alpha.size(); ++i) {
    const double a = path.alpha[i];
    const double line = (1.0 - a) * end0 + a * end1;
    const double gap = sign * (line - path.value[i]);
    if (gap > b.max) {
      b.max = gap;
      b.alpha_at_max = a;
    }
    if (std::abs(a - 0.5) < 1e-9) b.midpoint = sign * (0.5 * (end0 + end1) - path.value[i]);
  }
  return b;
}

std::optional<double> relative_reduction(double before, double after) {
  if (!(before > 0)) return std::nullopt;
  return (before - after) / before;
}

}  // namespace repairbench::metrics
