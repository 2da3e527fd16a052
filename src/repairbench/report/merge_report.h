#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "repairbench/pipeline/merge.h"

namespace repairbench::report {

/// The results of a merge as JSON: alignment (method, passes over the data,
/// mean correlation per group), endpoint metrics, every curve with its
/// barriers and relative barrier reductions, and per-layer variance ratios.
nlohmann::json merge_results_json(const pipeline::MergeResult& result);

/// A plain-text table of the curves (accuracy and loss per alpha), then the
/// barriers and reductions; `paper` (a reference.json point) adds the paper's
/// numbers beside ours.
std::string merge_table(const pipeline::MergeResult& result, const std::optional<nlohmann::json>& paper);

}  // namespace repairbench::report
