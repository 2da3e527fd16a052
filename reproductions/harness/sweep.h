#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/endpoint_cache.h"
#include "harness/run_record.h"
#include "harness/target.h"
#include "harness/verdict.h"
#include "repairbench/metrics/barrier.h"
#include "repairbench/pipeline/merge.h"

namespace repairbench::harness {

/// The paper's numbers for one point of a sweep (test accuracy, %), read from
/// the target's reference.json.
struct PaperPoint {
  double endpoint0 = 0, endpoint1 = 0;
  std::optional<double> interpolated;       ///< Aligned, uncorrected, alpha 0.5.
  std::map<std::string, double> corrected;  ///< Curve name (a RepairMethod string) -> alpha 0.5.
  /// Whole curves where the paper stored them (test accuracy against alpha), by
  /// curve name ("interpolated" or a RepairMethod string); drawn in the plots.
  std::map<std::string, metrics::Path> curves;
  nlohmann::json raw;  ///< The reference entry, copied into the report.
  std::string source;

  /// Compares our curve `ours` with the paper's curve `papers` (a BN net's
  /// BatchNorm reset with what the paper calls REPAIR for it); throws
  /// Error(kUsage) when the paper has no such curve.
  void compare_as(const std::string& ours, const std::string& papers);
};

/// The two endpoints of pair k, when a target does not train them itself
/// (imported checkpoints, endpoints trained on different data).
using EndpointSource = std::function<std::pair<Endpoint, Endpoint>(int64_t k)>;

/// One point of a sweep: which endpoints, how they are merged, what the paper got.
struct SweepPoint {
  std::string label;          ///< e.g. "fashion-mnist h=128"; names checks, table rows and files.
  std::string group;          ///< Points of one group share a barrier-against-x plot.
  double x = 0;               ///< Width or depth, for that plot.
  nlohmann::json coords;      ///< Written into the report beside the point's results.
  EndpointSpec base;          ///< Endpoints trained with seeds 2k+1, 2k+2 (unless `endpoints`).
  std::string dataset;        ///< Data set of the statistics and of the evaluation.
  data::LoaderOptions stats;  ///< Statistics data (seed and device are set per pair).
  std::string stats_source;   ///< Which notebook the statistics settings follow.
  /// Matching data when it differs from `stats` (ResNet18/CIFAR-10: un-augmented).
  std::optional<data::LoaderOptions> match_stats;
  pipeline::MergeOptions merge;
  EndpointSource endpoints;  ///< Optional replacement for training `base`.
  /// Optional: turns each endpoint into the network that is merged (the depth
  /// study fuses BatchNorm into the linears first).
  std::function<models::Network(const models::Network&)> prepare;
  std::optional<PaperPoint> paper;
};

/// A point whose endpoints are trained on `dataset` with the paper's recipe
/// for `model`'s family and merged with the statistics the reference uses for
/// it (both from pipeline::experiment_defaults). The
/// model's input shape and class count are filled in from the data set (grey
/// images: one channel for MLPs, repeated to three for conv nets). The quick
/// preset evaluates alphas {0, 0.5, 1} only. In smoke mode: one epoch of two
/// batches of 32 (half of the 128 synthetic training images, see
/// target_data; a split target's half of them holds one batch), statistics
/// on batches of 32, one statistics pass, alphas {0, 0.5, 1}.
SweepPoint trained_point(const TargetSettings& settings, models::ModelConfig model, const std::string& dataset,
                         const std::vector<repair::RepairMethod>& repairs);

/// trained_point for a model whose input shape and class count are already
/// set (ImageNet-sized models, say): the same recipe, statistics and presets.
SweepPoint trained_point_for(const TargetSettings& settings, const models::ModelConfig& model,
                             const std::string& dataset, const std::vector<repair::RepairMethod>& repairs);

/// `base` with `seed`, trained (or loaded from the cache) on `train`, a part
/// of its data set named by `part` (e.g. "-half-a": the cache key's data set
/// becomes base.dataset + part), and evaluated on `test`; progress to stderr.
Endpoint train_on_part(const TargetSettings& settings, EndpointSpec base, const std::string& part,
                       const data::Dataset& train, const data::Dataset& test, uint64_t seed);

/// What one point measured, over its pairs.
struct PointOutcome {
  SweepPoint point;
  std::vector<Endpoint> endpoints;            ///< a0, b0, a1, b1, ...
  std::vector<pipeline::MergeResult> merges;  ///< One per pair.
  /// Why the point has no results: every pair's training diverged (the
  /// first message of their Error(kNumeric)); empty when a pair ran.
  std::string error;
  /// Pairs whose endpoints diverged (0-based pair index, message); the
  /// point's results are those of the other pairs.
  struct DivergedPair {
    int64_t pair = 0;
    std::string error;
  };
  std::vector<DivergedPair> diverged;
  StageSeconds stages;  ///< Summed over the point's runs.

  /// Adds one run's merge and endpoints, or its divergence, and its times.
  void add(RunRecord run);
  /// Per pair: mean test accuracy of the two endpoints.
  std::vector<double> endpoint_accuracy() const;
  /// Per pair, for curve `name`: test accuracy at alpha 0.5, its midpoint
  /// accuracy barrier, and its relative reduction of the uncorrected barrier.
  std::vector<double> midpoint(const std::string& name) const;
  std::vector<double> barrier(const std::string& name) const;
  std::vector<double> reduction(const std::string& name) const;
  /// Names of the curves every merge produced ("interpolated" first).
  std::vector<std::string> curve_names() const;
};

/// How a target's sweep is drawn and judged.
struct SweepLayout {
  std::string model;    ///< e.g. "MLP", "ResNet20"; in plot titles.
  std::string x_label;  ///< e.g. "width multiplier".
  bool log_x = true;
  /// Qualitative checks also require variance collapse before REPAIR and its
  /// repair after it (norm-free nets; a BatchNorm or LayerNorm net renormalizes).
  bool check_variance = false;
  /// Draw every point's curve along alpha and each group's barrier against x
  /// (off for a target whose points sit at alpha 0.5 alone and draws its own).
  bool curve_plots = true;
};

/// The shard report a sharded sweep (TargetSettings::shard_count > 1) wrote:
/// the target has nothing more to do.
struct ShardWritten {
  std::string path;  ///< The shard report.
  int64_t runs = 0;  ///< Runs this shard computed.
};

/// What run_sweep did: every point's outcome, or, for a shard, the shard
/// report it wrote (and the outcomes of its own runs only).
struct SweepRun {
  std::vector<PointOutcome> outcomes;
  std::optional<ShardWritten> shard;

  /// Every run's stage times, summed.
  StageSeconds stages() const;
};

/// Executes run `k` of `point` on `splits`: trains or loads its two
/// endpoints (or takes them from point.endpoints) and merges them with
/// statistics seeded by the pair. A diverged training (Error(kNumeric)) is
/// the record's error; other errors propagate. Progress goes to stderr.
RunRecord execute_run(const TargetSettings& settings, const SweepPoint& point, int64_t k,
                      const data::DatasetSplits& splits);

/// Loads each data set once (its synthetic stand-in in smoke mode), trains or
/// loads every point's endpoints and merges each pair. Progress goes to stderr.
/// A point whose training diverges keeps its error and the sweep goes on; the
/// verdict counts it as a failed check.
/// Sharded (settings.shard_count > 1): computes this shard's runs and writes
/// them with their permutations and endpoints to the shard report, which
/// SweepRun::shard names. Collating (settings.collate): reads every run from
/// the shard reports of the same arguments and commit instead (throws
/// Error(kUsage) naming a missing run and its shard); the endpoints then carry
/// their path and metadata but no network.
SweepRun run_sweep(const TargetSettings& settings, const std::vector<SweepPoint>& points);

/// One shard report, read field by field. It is data: nothing in it names a
/// program to run, and `arguments` (the sweep's flags as the shards were
/// given them) is read only by the target's own option table.
struct ShardReport {
  std::string path;
  std::string target;  ///< A name of the build's target table, checked by whoever runs it.
  int64_t index = 0;   ///< 1..count.
  int64_t count = 0;
  std::vector<std::string> arguments;
  std::string commit;  ///< context.git_commit of the shard's run.
  std::vector<RunRecord> runs;
};

/// "shard-<index + 1>-of-<count>.json": the name a shard's report is written
/// under in <out_dir>/shards.
std::string shard_file_name(int64_t index, int64_t count);

/// Writes this shard's runs (to_json(RunRecord) each) as its shard report.
ShardWritten write_shard_report(const TargetSettings& settings, const nlohmann::json& shard_runs);

/// The runs of a sharded sweep by (point label, pair), read from the shard
/// reports in <settings.out_dir>/shards for a collating run; throws
/// Error(kUsage) when they are of another target.
std::map<RunKey, RunRecord> collated_runs(const TargetSettings& settings);

/// The shard reports of one sharded sweep in `dir` (<out_dir>/shards): checks
/// that they are shards 1..n of one sharding of one target, with the same
/// arguments and from the same commit, and returns them in shard order.
/// Throws Error(kUsage) saying which is missing or inconsistent, and naming
/// the file, the key and the type wanted for a missing or mistyped field.
std::vector<ShardReport> load_shard_reports(const std::string& dir);

/// The verdict's checks. Paper preset with a paper point: the mean endpoint
/// accuracy, the aligned midpoint and every corrected midpoint, each judged
/// against the paper's single run by judge_against_paper (kEndpointTolerance,
/// kInterpolatedTolerance, kCorrectedTolerance). Otherwise the paper's
/// qualitative claims: every correction reduces the barrier (and, with
/// `check_variance`, the collapse and its repair).
std::vector<Check> sweep_checks(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                                const SweepLayout& layout);

/// "results": per point its coords, model, recipe, statistics data, summary
/// (mean and std over pairs) and every pair's full merge results.
nlohmann::json sweep_results_json(const std::vector<PointOutcome>& outcomes);
/// The paper's points that were compared, with their source.
nlohmann::json sweep_paper_json(const std::vector<PointOutcome>& outcomes);

/// Draws a curve plot per point and, for groups with more than one point, a
/// barrier-against-x plot with the paper's points; returns the file names.
std::vector<std::string> sweep_plots(const TargetSettings& settings, const std::vector<PointOutcome>& outcomes,
                                     const SweepLayout& layout);

/// A plain-text table: per point the endpoints, each curve's midpoint, barrier
/// and reduction, and the paper's numbers beside them.
std::string sweep_table(const std::vector<PointOutcome>& outcomes);

/// One finding per paper number that differs: ours, the paper's, the
/// difference, how far outside the interval it lies and what a difference in
/// that direction means (endpoints weaker or stronger, the aligned midpoint
/// collapsing more or less, a correction recovering more or less); then, if
/// any differs, `known_differences`: what the target knows of how its setup
/// differs from the paper's, a text without numbers of its own.
std::vector<std::string> sweep_findings(const std::vector<Check>& checks, const std::string& known_differences);

/// The curve of `merge` called `name`; throws Error(kInternal) when it has none.
const pipeline::Curve& curve_named(const pipeline::MergeResult& merge, const std::string& name);

/// Reads a paper point from a reference.json entry with "endpoint0",
/// "endpoint1" and any of "interpolated", "repair", "reset-bn",
/// "closed-form", "repair-blocks" (objects with "test_accuracy"), and
/// "curves" ({name: {"alpha": [...], "test_accuracy": [...]}}).
PaperPoint paper_point_from_json(const nlohmann::json& entry, const std::string& source);

}  // namespace repairbench::harness
