#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/plot.h"
#include "harness/sweep.h"
#include "harness/target_cli.h"
#include "repairbench/data/dataset.h"
#include "repairbench/metrics/evaluate.h"

namespace repairbench::harness {

/// The output ensemble of every pair of a point: the endpoints' logits
/// averaged with weights 1 - alpha, alpha (metrics::evaluate_ensemble) on
/// `test` at the point's alphas, what a merged network is measured against
/// (the paper's split-data figure, docs/reference/algorithm.md §4.3).
struct EnsembleCurves {
  nlohmann::json curves = nlohmann::json::array();  ///< Per pair: [{alpha, test_accuracy, test_loss}].
  std::vector<double> midpoint;                     ///< Per pair: test accuracy at alpha 0.5.
  /// Per pair, the merged curve `curve` and the ensemble's curve, for a chart
  /// (colors 1 and 2).
  std::vector<Series> series(const PointOutcome& o, const std::string& curve) const;
};

/// Says on stderr what it evaluates. A run collated from shards holds no networks: the endpoints are then
/// loaded again through the point's `endpoints` (from the cache), which such
/// a point must have (Error(kUsage) otherwise).
EnsembleCurves output_ensembles(const TargetSettings& settings, const PointOutcome& o, const data::Dataset& test);

/// The split-data figure (docs/reference/algorithm.md §4.3) as a target extension: the
/// merged network's curve `curve` of point `o` against the output ensemble of
/// its endpoints and a network trained on all the data (`combined`, evaluated
/// on `test`). Paper preset with the paper's point
/// (its raw "ensemble" and "combined_data" test accuracies): both within 1
/// point, or 2 std over our pairs. Otherwise the figure's claims: the ensemble
/// beats the merged network at alpha 0.5, and all the data beats either half.
/// Draws ensemble.png (with the paper's curves), tables both numbers and
/// reports "ensemble_curves" and "combined_data".
Extension split_data_comparison(const TargetSettings& settings, const PointOutcome& o, const std::string& curve,
                                const EnsembleCurves& ensembles, const Endpoint& combined, const data::Dataset& test);

/// The paper's mechanism figure as a target extension: per point, per layer,
/// the std of the interpolated network's channels at alpha 0.5 over the
/// interpolated endpoint std sigma* (pipeline::VarianceRatio, the first pair),
/// before and after the point's first correction. Draws
/// variance_<stems[i]>.png per point, tables the ratios, reports them as
/// "variance_ratios" and checks the two claims: the ratio falls from the
/// first layer to the last (variance collapse), and the correction brings
/// every layer within 10% of 1 (docs/reference/algorithm.md §2c, "Why it works").
Extension per_layer_variance(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                             const std::vector<std::string>& stems);

}  // namespace repairbench::harness
