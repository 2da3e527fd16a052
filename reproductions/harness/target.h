#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "harness/endpoint_cache.h"
#include "harness/run_record.h"
#include "harness/target_report.h"
#include "harness/verdict.h"
#include "repairbench/data/dataset.h"
#include "repairbench/pipeline/merge.h"

namespace repairbench::harness {

/// Which grid and recipe a target runs: the paper's (`--preset paper`), or
/// fewer widths and epochs, judged on the paper's claims (`quick`).
enum class Preset { kPaper, kQuick };
/// "paper" or "quick", as --preset and reports spell it.
const char* preset_name(Preset preset);
/// Throws Error(kUsage) for any other name.
Preset parse_preset(const std::string& name);

/// What every reproduction target shares: which preset runs, how many pairs
/// of endpoints, where the data, the endpoint cache and the reports live.
struct TargetSettings {
  std::string target;            ///< e.g. "mlp_datasets".
  Preset preset = Preset::kPaper;
  int64_t pairs = 1;             ///< Pairs of endpoints; pair k uses seeds 2k+1 and 2k+2.
  std::string data_dir;          ///< --data-dir; "" = not given (see data::load_dataset).
  std::string cache_dir;         ///< Trained endpoints, keyed by recipe hash.
  std::string out_dir;           ///< reports/<target>
  bool retrain = false;
  /// Train the two endpoints of a pair at the same time, each with half the
  /// threads (when there are at least two). On this project's 2-core machine
  /// two one-thread width-128 MLP trainings side by side took 11 s where one
  /// after the other at two threads took 14-19 s (8 epochs each);
  /// each endpoint is then also the same on any machine with >= 2 cores.
  bool concurrent_endpoints = true;
  /// Train for this many epochs instead of the recipe's (train::with_epochs);
  /// 0 = the recipe's. Quick presets set it; the report records the recipe.
  int64_t epochs = 0;
  /// Train with the GradScaler skip-rule emulation (train::Recipe::grad_scaler).
  bool grad_scaler = false;
  /// Smoke mode: small synthetic stand-ins for the data sets (target_data) and one
  /// short epoch; checks that the pipeline runs, not the paper's numbers.
  bool smoke = false;
  torch::Device device = torch::kCPU;
  /// Sharded sweep (--shard k/n, shard_index = k - 1): this process computes
  /// only the runs (point, pair), numbered point-major, whose number modulo
  /// shard_count is shard_index, and writes them to
  /// <out_dir>/shards/shard-<k>-of-<n>.json instead of a report.
  int64_t shard_index = 0, shard_count = 1;
  /// Collate (--collate, which `repairbench report merge` runs): every run's
  /// results are read from the shard reports in <out_dir>/shards, none is
  /// computed, and the target's report and plots are written as an unsharded
  /// run would.
  bool collate = false;
  /// The target's arguments without --shard and --collate: the shards and the
  /// collating run must have been given the same ones.
  std::vector<std::string> arguments;

  /// The paper's recipe ran unchanged (paper preset, no smoke, no --epochs),
  /// so the verdict compares numbers; otherwise the paper's qualitative claims.
  bool judged_on_numbers() const { return preset == Preset::kPaper && !smoke && epochs == 0; }
};

/// Loads a target's data set, or its synthetic stand-in in smoke mode.
data::DatasetSplits target_data(const TargetSettings& settings, const std::string& dataset);

/// Checks, before anything is trained, that every data set a run needs is on
/// the machine; throws the registry's Error(kData) for the first missing one
/// (which names it, where to get it and where to put it). Collating shards
/// needs none (a target that evaluates more than its sweep still loads its own).
void require_datasets(const TargetSettings& settings, const std::vector<std::string>& datasets);

/// Test accuracy at alpha 0.5 of a curve (throws if 0.5 is not on the grid).
double midpoint_accuracy(const pipeline::Curve& curve);

/// The target's half of a report's context: the settings' target, preset,
/// smoke mode, pairs and endpoint cache, and the runs' `stages`.
TargetContext target_context(const TargetSettings& settings, const StageSeconds& stages);

/// Stores `report` with this process's run context (report::run_context)
/// and wall time in <out_dir>/report.json, atomically, and refreshes <reports root>/index.html.
/// Returns the report's path.
std::string write_target_report(const TargetSettings& settings, TargetReport& report, int argc, char** argv);

/// What a target prints at its end: `table`, the verdict with every check,
/// the findings, the paths of the report (`path`), plots and index, and the
/// stage times and peak memory of this run.
void print_target_summary(std::ostream& out, const TargetSettings& settings, const TargetReport& report,
                          const std::string& table, const std::string& path);

/// Rebuilds reports/index.html from every reports/*/report.json under `root`:
/// each target report's verdict, checks table, findings and plots on one
/// page; a report that is not a readable target report is listed with why.
void write_reports_index(const std::string& root);

}  // namespace repairbench::harness
