#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "harness/endpoint_cache.h"
#include "repairbench/pipeline/merge.h"

namespace repairbench::harness {

/// Which run of a sweep: a point (its label) and a pair of endpoints (pair k
/// has seeds 2k+1 and 2k+2). Runs are numbered point-major for sharding.
struct RunKey {
  std::string point;
  int64_t pair = 0;

  bool operator<(const RunKey& o) const { return std::tie(point, pair) < std::tie(o.point, o.pair); }
};

/// Wall seconds a run spent, by stage. `training` is this process's share of
/// the endpoints it trained; `training_cumulative` is those endpoints'
/// training over every run of theirs, a resumed one's interrupted runs
/// included, so the two cannot be mixed up.
struct StageSeconds {
  double training = 0;
  double training_cumulative = 0;
  double alignment = 0;
  double repair_statistics = 0;  ///< The endpoints' REPAIR statistics passes.
  double curves = 0;             ///< Every curve's interpolation, corrections and evaluations.

  StageSeconds& operator+=(const StageSeconds& o);
};

/// The stages of an endpoint (training, when this process trained it) and of
/// a merge (alignment, REPAIR statistics, curves).
StageSeconds stage_seconds(const Endpoint& endpoint);
StageSeconds stage_seconds(const pipeline::MergeResult& merge);

/// What one run measured: its merge and two endpoints, or why it has none
/// (its training diverged: the Error(kNumeric) message).
struct RunRecord {
  RunKey key;
  std::optional<pipeline::MergeResult> merge;
  std::vector<Endpoint> endpoints;  ///< a, b; empty when the run diverged.
  std::string error;

  /// Its stage times: the merge's and those of the endpoints it trained
  /// (none for a diverged run, whose partial work is not timed).
  StageSeconds stages() const;
};

/// A record as a shard report stores it: the merge with its permutations, and
/// the endpoints by path and metadata (a collating run reads no network).
nlohmann::json to_json(const RunRecord& record);
/// The record to_json wrote; throws Error(kUsage) for a malformed one.
RunRecord run_record_from_json(const nlohmann::json& j);

/// {"training", "alignment", "repair_statistics", "curves"}: this process's
/// seconds per stage (training_cumulative is reported apart, see above).
nlohmann::json to_json(const StageSeconds& stages);

}  // namespace repairbench::harness
