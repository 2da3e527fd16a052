#pragma once

#include <string>
#include <vector>

#include "repairbench/models/permutation_spec.h"

namespace repairbench::interp {

/// theta_alpha = (1 - alpha) theta_a + alpha theta_b for EVERY state-dict
/// entry, BatchNorm running statistics included (docs/reference/algorithm.md
/// §5.9: the "permuted" numbers of BN nets use these interpolated statistics).
/// Integer entries (num_batches_tracked) are interpolated and rounded. Both
/// dicts must have the same keys in the same order with the same shapes.
models::StateDict interpolate(const models::StateDict& a, const models::StateDict& b, double alpha);

/// Parses an alpha grid: "start:stop:count" (count evenly spaced points, both
/// ends included, e.g. 0:1:11 = 0, 0.1, ..., 1) or a comma list "0,0.5,1".
/// Throws Error(kUsage).
std::vector<double> parse_alpha_grid(const std::string& text);

}  // namespace repairbench::interp
