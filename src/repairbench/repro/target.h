#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <string>
#include <vector>

#include "repairbench/data/dataset.h"
#include "repairbench/pipeline/merge.h"
#include "repairbench/repro/endpoint_cache.h"

namespace repairbench::repro {

/// What every reproduction target shares: which preset runs, how many pairs
/// of endpoints, where the data, the endpoint cache and the reports live.
struct TargetSettings {
  std::string target;           ///< e.g. "mlp_datasets".
  std::string preset = "paper"; ///< "paper" (the paper's recipe) or "quick".
  int64_t pairs = 1;            ///< Pairs of endpoints; pair k uses seeds 2k+1 and 2k+2.
  std::string data_dir;
  std::string cache_dir;        ///< Trained endpoints, keyed by recipe hash.
  std::string out_dir;          ///< reports/<target>
  bool retrain = false;
  /// Smoke mode: synthetic stand-ins for the data sets, tiny widths and one
  /// short epoch; checks that the pipeline runs, not the paper's numbers.
  bool smoke = false;
  torch::Device device = torch::kCPU;
};

/// Loads a target's data set, or its synthetic stand-in in smoke mode.
data::DatasetSplits target_data(const TargetSettings& settings, const std::string& dataset);

/// Checks, before anything is trained, that every data set a run needs is on
/// the machine; throws the registry's Error(kData) for the first missing one
/// (which names it, where to get it and where to put it).
void require_datasets(const TargetSettings& settings, const std::vector<std::string>& datasets);

/// One merged pair of endpoints: where they came from and what merging gave.
struct PairResult {
  Endpoint a, b;
  pipeline::MergeResult merge;
};

/// Trains (or loads) the endpoints of pair `k` of `base` (seeds 2k+1, 2k+2)
/// and merges them with `options` on statistics data `stats`.
PairResult run_pair(const EndpointSpec& base, int64_t k, const data::DatasetSplits& splits,
                    const data::LoaderOptions& stats, const pipeline::MergeOptions& options,
                    const TargetSettings& settings);

/// Test accuracy at alpha 0.5 of a curve (throws if 0.5 is not on the grid).
double midpoint_accuracy(const pipeline::Curve& curve);

/// The report every target writes: format_version, kind "reproduction",
/// context (with preset, seeds and stage times), settings, results, paper,
/// verdict and plots. Writes <out_dir>/report.json atomically and refreshes
/// <reports root>/index.html. Returns the report path.
std::string write_target_report(const TargetSettings& settings, nlohmann::json report, int argc, char** argv);

/// Rebuilds reports/index.html from every reports/*/report.json under `root`:
/// each report's verdict, checks table and plots on one page.
void write_reports_index(const std::string& root);

}  // namespace repairbench::repro
