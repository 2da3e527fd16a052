#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "repairbench/pipeline/merge.h"

namespace repairbench::report {

/// The results of a merge as JSON: alignment (method, passes over the data,
/// per group its permutation as an index list, perm[i] = channel of model B
/// at position i, and the mean correlation), endpoint metrics, every curve with its
/// barriers and relative barrier reductions, and per-layer variance ratios.
nlohmann::json merge_results_json(const pipeline::MergeResult& result);

/// One point's variance ratios as reports store them: {"point",
/// "on_statistics_data": {"interpolated", "corrected": {curve: ratio}},
/// "on_test_set": {...}}; `curves` names the corrections (curves[1..]).
nlohmann::json variance_ratio_json(const pipeline::VarianceRatio& ratio, const std::vector<pipeline::Curve>& curves);

/// The inverse of merge_results_json, with the alignment's permutations from
/// `permutations` (permutations_json): merge_results_json of the result gives
/// `results` back exactly. Sharded sweeps store each run's results this way.
/// Throws Error(kIo) naming what is missing or of the wrong type.
pipeline::MergeResult merge_result_from_json(const nlohmann::json& results, const nlohmann::json& permutations);
/// The alignment's permutations as arrays of int64 ([group][position]).
nlohmann::json permutations_json(const align::Alignment& alignment);

/// A plain-text table of the curves (accuracy and loss per alpha), then the
/// barriers and reductions; `paper` (a reference.json point) adds the paper's
/// numbers beside ours.
std::string merge_table(const pipeline::MergeResult& result, const std::optional<nlohmann::json>& paper);

}  // namespace repairbench::report
