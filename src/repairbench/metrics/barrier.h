#pragma once

#include <optional>
#include <vector>

namespace repairbench::metrics {

/// A metric along an interpolation path: value[i] at alpha[i].
struct Path {
  std::vector<double> alpha;
  std::vector<double> value;
};

/// Barriers of one curve against its endpoints' values `end0` (alpha = 0) and
/// `end1` (alpha = 1), which are the ORIGINAL endpoint models, as in the
/// reference's Figures.ipynb (docs/reference/algorithm.md §2d). Signs make a dip in
/// accuracy and a bump in loss both positive.
struct Barrier {
  /// mean(end0, end1) - value(0.5) for accuracy, value(0.5) - mean for loss:
  /// the paper's barrier. Empty when 0.5 is not on the grid.
  std::optional<double> midpoint;
  /// max over alpha of the gap to the straight line between the endpoint
  /// values (Entezari et al.'s definition).
  double max = 0;
  double alpha_at_max = 0;
};

/// `higher_is_better`: true for accuracy, false for loss.
Barrier barrier(const Path& path, double end0, double end1, bool higher_is_better);

/// (B_before - B_after) / B_before, the paper's relative barrier reduction.
/// Empty when B_before is not positive (nothing to reduce).
std::optional<double> relative_reduction(double before, double after);

}  // namespace repairbench::metrics
