#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repairbench/data/loader.h"
#include "repairbench/models/network.h"
#include "repairbench/stats/pair_stats.h"

namespace repairbench::repair {

/// The corrections of docs/reference/algorithm.md §2c, as options of one entry point.
enum class RepairMethod {
  kNone,        ///< Plain interpolation.
  kResetBn,     ///< Re-estimate every BatchNorm's statistics on the merged net
                ///< (the paper's "REPAIR" for BN networks).
  kForward,     ///< Forward-pass REPAIR (Train-Merge-REPAIR-VGG11): rescale every
                ///< corrected channel to the interpolated endpoint statistics,
                ///< measured in one train-mode pass through the merged net.
  kClosedForm,  ///< Closed-form REPAIR (the MNIST MLP notebook's): the merged
                ///< statistics are predicted from the endpoints' variances and
                ///< covariance; no pass through the merged net.
  kBlocks,      ///< The ImageNet notebooks' "REPAIR" (permute_renorm_plus): BN
                ///< reset of the whole merged net plus forward-pass REPAIR of
                ///< every residual block output and of the logits, all in one
                ///< train-mode pass (docs/reference/algorithm.md §2c). Block-output
                ///< corrections cannot be folded into a layer, so they stay as a
                ///< per-channel affine map applied during evaluation.
  kRescale,     ///< RESCALE (Qu & Horvath, arXiv 2402.05966): forward-pass
                ///< REPAIR of the std only; each channel keeps the merged
                ///< net's own mean: y = sigma* (x - m) / sqrt(v + eps) + m.
  kReshift,     ///< RESHIFT (the same paper): of the mean only; each channel
                ///< keeps the merged net's own spread: y = x - m + mu*.
  kDataFree,    ///< Data-free REPAIR (repair/data_free.h): REPAIR's correction
                ///< with every statistic, the endpoints' and the merged net's,
                ///< predicted from the input's mean and covariance by moment
                ///< propagation; no network sees a batch. Norm-free MLPs only.
};

/// Prepares `net` for a reset_bn_stats pass (docs/reference/algorithm.md §2c): every
/// BatchNorm gets momentum=None and fresh running statistics, and the module
/// is put in train mode. Returns the number of BatchNorm layers touched.
int64_t reset_batch_norms(models::NetworkImpl& net);

/// "none" | "reset-bn" | "repair" | "closed-form" | "repair-blocks" | "rescale" | "reshift" | "data-free";
/// parse throws Error(kUsage).
std::string to_string(RepairMethod method);
RepairMethod parse_repair_method(const std::string& text);

struct RepairOptions {
  RepairMethod method = RepairMethod::kForward;
  /// Activation points to correct; empty = default_repair_points().
  std::vector<std::string> points;
  /// Passes over the statistics loader for the endpoints and for the merged
  /// net (the MLP notebooks use 2 and 3, VGG/ResNet 1 and 1).
  int64_t endpoint_epochs = 1;
  int64_t merged_epochs = 1;
  /// The corrected channel's scale is sqrt(sigma*^2 + target_std_eps): 0 in
  /// Train-Merge-REPAIR-VGG11 (weight = sigma*), 1e-7 in the MLP notebooks,
  /// 1e-5 in the VGG-x2 and ImageNet notebooks (docs/reference/algorithm.md §5.14).
  double target_std_eps = 0.0;
  /// BatchNorm's eps, used to normalize in the merged pass and to fuse (1e-5).
  double bn_eps = 1e-5;
};

/// Where a method corrects a network by default. kForward, kRescale, kReshift, kClosedForm and kDataFree:
/// every pre-activation, i.e. every Linear/Conv output (norm-free and
/// LayerNorm nets) or every BatchNorm output (BN nets), never the logits.
/// kBlocks: every residual block output (not the stem) and the logits.
/// kNone and kResetBn: none.
std::vector<std::string> default_repair_points(const models::NetworkImpl& net, RepairMethod method);

/// The first two moments of the flattened network input, float64: mean (D)
/// and covariance (D, D), D = C*H*W. They are all data-free REPAIR
/// (RepairMethod::kDataFree, repair/data_free.h) knows about the data.
struct InputMoments {
  torch::Tensor mean, cov;
  int64_t images = 0;
};

/// Statistics of the two endpoints at the REPAIR points, gathered once (one
/// pass per epoch over the data for BOTH endpoints) and reused for every alpha.
struct EndpointStats {
  std::vector<int64_t> points;          ///< Point indices.
  std::vector<stats::PairStats> stats;  ///< One per point.
  stats::PassCounter passes;
  /// Predicted statistics (predicted_endpoint_stats): the input moments they
  /// were propagated from, which kDataFree propagates through the merged net.
  InputMoments input;

  /// The statistics of point `point`; throws Error(kInternal) if not gathered.
  const stats::PairStats& at(int64_t point) const;
};

/// Endpoint statistics as the reference's TrackLayer + reset_bn_stats measure
/// them at `points` (names): mean and unbiased variance averaged over batches,
/// with the endpoints in train mode and their own BatchNorms re-estimated
/// (docs/reference/algorithm.md §5.3), in `epochs` passes. `net1` must already be aligned to `net0`.
/// `cross` also gathers the endpoints' per-channel covariance (closed form).
/// Data-parallel with the context's group, as stats::collect_pair_stats; the
/// passes are counted in EndpointStats::passes.
EndpointStats endpoint_stats(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                             const std::vector<std::string>& points, int64_t epochs, bool cross = false,
                             const stats::Context& context = {});

/// The points `options` corrects on `net`: options.points, or the method's defaults.
std::vector<std::string> repair_points(const models::NetworkImpl& net, const RepairOptions& options);

/// Target statistics of one point at alpha: mu* = (1-a) mu0 + a mu1 and
/// sigma* = (1-a) sigma0 + a sigma1, interpolated stds, not variances
/// (docs/reference/algorithm.md §5.4). Both (C) float64.
struct Targets {
  torch::Tensor mean;
  torch::Tensor std;
};
Targets targets(const stats::PairStats& stats, double alpha);

/// The scale a correction gives a channel: sqrt(sigma*^2 + target_std_eps)
/// (RepairOptions::target_std_eps, docs/reference/algorithm.md §5.14), (C) float64.
torch::Tensor target_scale(const Targets& t, double target_std_eps);

/// The eval-mode correction REPAIR applies at one point, before it is fused:
/// y = scale (x - mean) / sqrt(var + bn_eps) + shift, all (C).
struct Correction {
  int64_t point = -1;
  torch::Tensor scale, shift, mean, var;
};

/// Applies `corrections` at their points during a forward pass (the
/// reference's wrapped network, for checking that fusing changed nothing).
class CorrectionProbe : public models::ActivationProbe {
 public:
  CorrectionProbe(std::vector<Correction> corrections, double bn_eps);
  torch::Tensor visit(int64_t point, const torch::Tensor& x) override;

 private:
  std::vector<Correction> corrections_;
  double bn_eps_;
};

/// What a repair did.
struct RepairResult {
  std::vector<std::string> points;      ///< Corrected points (empty for reset-bn/none).
  std::vector<Correction> corrections;  ///< One per point, fused or not.
  /// Corrections at points without a producing layer (block outputs), which
  /// the merged net needs applied by a CorrectionProbe during evaluation.
  std::vector<Correction> unfused;
  int64_t batch_norms_reset = 0;
  stats::PassCounter passes;  ///< Passes over the data through the merged net.
  double seconds = 0;
};

/// Corrects `merged` (the interpolation of the endpoints at `alpha`) in place
/// and leaves it in eval mode. Every correction at a point with a producing
/// layer is fused into that layer's weight and bias, W' = W g,
/// b' = mu* + g (b - m) with g = scale / sqrt(v + bn_eps) (docs/reference/algorithm.md §5.10), so
/// `merged` keeps its architecture; the others are returned in `unfused`.
/// `endpoints` must hold statistics for every corrected point (predicted
/// ones for kDataFree, which reads no data and ignores `loader`). kResetBn,
/// kForward, kRescale, kReshift and kBlocks re-estimate the merged net's own
/// BatchNorm statistics in their train-mode pass.
/// Data-parallel with the context's group: each rank runs its share of the
/// merged pass's batches and the re-estimated statistics (BatchNorm running
/// averages, REPAIR's) are combined over the ranks, weighted by their batch
/// counts, so every rank ends with one process's correction (up to float32
/// rounding of the running averages). Its passes are counted in
/// RepairResult::passes.
RepairResult repair(models::NetworkImpl& merged, const EndpointStats& endpoints, double alpha, data::Loader& loader,
                    const RepairOptions& options, const stats::Context& context = {});

}  // namespace repairbench::repair
