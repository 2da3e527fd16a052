#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/run_record.h"
#include "harness/verdict.h"

namespace repairbench::harness {

/// The target's half of a report's context block; the run's half (commit,
/// versions, threads, device, CPU, date, command line, peak memory) is
/// report::run_context, shared with the CLI's merge reports.
struct TargetContext {
  std::string target;  ///< e.g. "mlp_datasets".
  std::string preset;  ///< "paper" or "quick".
  bool smoke = false;
  int64_t pairs = 1;  ///< Pair k has seeds 2k+1, 2k+2 (written out as "seeds").
  std::string endpoint_cache;
  /// This process's wall time per stage, so they add up to at most `total_seconds`.
  StageSeconds stages;
  double total_seconds = 0;  ///< This process's wall time, until the report was written.
  /// A collated run computed nothing itself: the stage times its shards'
  /// processes spent, summed over the shards (written as
  /// "shards_stage_seconds_summed", apart from this process's, since shards
  /// that ran side by side can sum to more than any wall time).
  std::optional<StageSeconds> shard_stages;
};

/// The paper's side of a report: where its numbers come from and the
/// reference entries that were compared (sweep_paper_json).
struct PaperSection {
  std::string source;
  std::string notes;
  nlohmann::json points = nlohmann::json::array();
};

/// A reproduction target's report (reports/<target>/report.json, format 1,
/// kind "reproduction"): what report::check_report validates, what the
/// golden regression tests compare (results and verdict) and what the HTML
/// index shows. Planning, running and judging fill it; write_target_report
/// stores it.
struct TargetReport {
  nlohmann::json run = nlohmann::json::object();  ///< report::run_context.
  TargetContext context;
  /// The plan's settings (Plan::settings) with the sweep's "alphas" and "match".
  nlohmann::json settings = nlohmann::json::object();
  nlohmann::json results = nlohmann::json::array();  ///< sweep_results_json.
  PaperSection paper;
  Verdict verdict;
  /// Gaps to the paper the run measured, each with its likely cause.
  std::vector<std::string> findings;
  std::vector<std::string> plots;  ///< Files beside the report.
  /// What an extension measured beyond the sweep (Extension::report): each
  /// field is a top-level field of the report ("ensemble_curves", ...).
  nlohmann::json extensions = nlohmann::json::object();
};

/// The report as it is stored. Throws Error(kInternal) when an extension's
/// field would replace one of the report's own.
nlohmann::json to_json(const TargetReport& report);
/// The report to_json wrote; throws Error(kUsage) saying what is missing or
/// mistyped (a report of another kind, format or a truncated file).
TargetReport target_report_from_json(const nlohmann::json& j);

nlohmann::json to_json(const TargetContext& context);

}  // namespace repairbench::harness
