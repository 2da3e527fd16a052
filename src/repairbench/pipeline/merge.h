#pragma once

#include <optional>
#include <string>
#include <vector>

#include "repairbench/align/matching.h"
#include "repairbench/data/dataset.h"
#include "repairbench/data/loader.h"
#include "repairbench/metrics/barrier.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/network.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/pipeline/matcher.h"
#include "repairbench/repair/repair.h"

namespace repairbench::pipeline {

/// Everything `merge` does: align, interpolate over an alpha grid, correct.
struct MergeOptions {
  Matcher match = Matcher::kActivation;
  uint64_t random_seed = 0;
  align::ActivationMatchingOptions activation;
  /// Data for activation matching when it differs from the statistics data
  /// (Permute-CIFAR10-ResNet18 matches on the un-augmented train loader);
  /// null = the statistics loader. Not owned.
  data::Loader* match_loader = nullptr;
  align::WeightMatchingOptions weight;
  /// Corrections to compare; the uncorrected interpolation is always computed.
  std::vector<repair::RepairMethod> repairs = {repair::RepairMethod::kForward};
  repair::RepairOptions repair;
  std::vector<double> alphas = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  bool eval_train = false;  ///< Also evaluate every point on the un-augmented train set.
  int64_t eval_batch_size = 2000;
  bool flip_tta = false;        ///< Evaluate with flip-TTA (the ImageNet notebooks).
  bool variance_ratios = true;  ///< Per-layer std ratio at alpha = 0.5, before and after each correction.
  /// Reproduces a quirk of Permute-Datasets-MLP.ipynb, which produced the
  /// paper's MLP figure: its REPAIR statistics of model 1 are taken from the
  /// model as loaded, before alignment, so channel i's target mixes model 0's
  /// channel i with an unrelated channel of model 1. Off by default.
  bool repair_stats_from_unaligned_b = false;
};

/// Accuracy and loss at one alpha.
struct CurvePoint {
  double alpha = 0;
  metrics::EvalResult test;
  std::optional<metrics::EvalResult> train;
};

/// One interpolation curve and its barriers against the original endpoints.
struct Curve {
  std::string name;  ///< "interpolated" (no correction) or a RepairMethod name.
  std::vector<CurvePoint> points;
  metrics::Barrier test_accuracy, test_loss;
  std::optional<metrics::Barrier> train_accuracy, train_loss;
  double seconds = 0;
};

/// Variance collapse at one REPAIR point (docs/reference/algorithm.md §2c, "Why it
/// works"): the interpolated net's per-channel std over the interpolated
/// endpoint std sigma*, averaged over channels, at alpha = 0.5, in eval mode.
/// Measured twice: on the statistics data, where a statistics-based
/// correction has just imposed sigma* (its ratio after REPAIR is 1 by
/// construction), and on the test set, which no correction saw (both the
/// merged net's std and sigma* measured there), where it can fail.
struct VarianceRatio {
  std::string point;
  double before = 0;                   ///< Uncorrected interpolation, on the statistics data.
  std::vector<double> after;           ///< One per entry of MergeOptions::repairs, on the statistics data.
  double held_out_before = 0;          ///< Uncorrected interpolation, on the test set.
  std::vector<double> held_out_after;  ///< One per entry of MergeOptions::repairs, on the test set.
};

struct MergeResult {
  align::Alignment alignment;
  metrics::EvalResult endpoint0_test, endpoint1_test;
  std::optional<metrics::EvalResult> endpoint0_train, endpoint1_train;
  std::vector<Curve> curves;  ///< [0] = "interpolated", then one per repair.
  std::vector<VarianceRatio> variance_ratios;
  stats::PassCounter endpoint_stats_passes;
  double seconds_alignment = 0, seconds_endpoint_stats = 0, seconds_total = 0;
};

/// MergeOptions with the reference's statistics settings of `stats` (the
/// correlation's std estimate, the REPAIR passes and the target std's eps);
/// everything else at its default.
MergeOptions merge_options(const StatsDefaults& stats);

/// Aligns net1 to net0 with `match`: the activation matchers read `loader`;
/// weight matching, the identity and the random permutation read no data.
align::Alignment align_with(Matcher match, models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                            const align::ActivationMatchingOptions& activation,
                            const align::WeightMatchingOptions& weight, uint64_t random_seed,
                            const stats::Context& context = {});

/// The paper's experiment on a pair of trained networks: aligns net1 to net0
/// (on `stats_loader`, the augmented training data), interpolates at every
/// alpha, applies each requested correction (endpoint statistics gathered once
/// for all alphas), and evaluates on `test` (and `train`). net0 and net1 are
/// not modified. Runs on the context's device; with its group, every
/// statistics pass (activation matching, endpoint and merged-net statistics,
/// variance ratios) and every evaluation is shared over the ranks and
/// all-reduced, so each rank computes 1/N of the batches and all end with one
/// process's result. The passes are reported per stage in the result.
MergeResult merge(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& stats_loader,
                  const data::Dataset& test, const data::Dataset* train, const MergeOptions& options,
                  const stats::Context& context);

}  // namespace repairbench::pipeline
