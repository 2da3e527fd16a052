#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include "repairbench/data/loader.h"
#include "repairbench/dist/dist.h"
#include "repairbench/models/network.h"

namespace repairbench::align {

/// Statistics of two networks' activations at one point, over the same
/// batches, in float64. Every field is an equal-weight average over batches of
/// a per-batch statistic, as the reference accumulates them (run_corr_matrix;
/// BatchNorm with momentum=None for REPAIR): repair_reference.md sections 2a,
/// 2c and pitfall 1. Rows of a batch are its N*H*W positions; C channels.
struct PairStats {
  torch::Tensor mean0, mean1;  ///< (C) per-batch means.
  torch::Tensor var0, var1;    ///< (C) per-batch unbiased variances.
  torch::Tensor std0, std1;    ///< (C) per-batch unbiased standard deviations.
  torch::Tensor sq0, sq1;      ///< (C) per-batch means of x^2.
  torch::Tensor cross_cov;     ///< (C) per-batch unbiased covariance of channel c of both nets; only where requested.
  torch::Tensor outer;         ///< (C, C) per-batch A^T B / rows; only where requested.
  int64_t batches = 0;
};

/// How the std in the correlation's denominator is estimated
/// (repair_reference.md 2a; the notebooks differ).
enum class StdEstimate {
  kMoment,   ///< sqrt(avg E[x^2] - avg E[x]^2): Train-Merge-REPAIR-VGG11, Merge-ResNet50.
  kAverage,  ///< average of per-batch unbiased stds: most other notebooks.
};

/// "moment" | "average"; parse throws Error(kUsage).
std::string to_string(StdEstimate estimate);
StdEstimate parse_std_estimate(const std::string& text);

/// corr = (outer - mean0 mean1^T) / (std0 std1^T + 1e-4), NaN -> 0:
/// (C, C), rows = net0 channels, columns = net1 channels.
torch::Tensor correlation(const PairStats& stats, StdEstimate estimate);

/// What one statistics pass collects.
struct PairStatsRequest {
  std::vector<int64_t> points;   ///< Point indices (same in both nets).
  std::set<int64_t> outer;       ///< Points whose (C, C) outer product is needed.
  bool cross = false;            ///< Also the per-channel cross covariance (closed-form REPAIR).
  int64_t epochs = 1;            ///< Passes over the loader.
  /// Run the nets in train mode with their own BatchNorm statistics reset and
  /// re-estimated on the way (momentum=None), as reset_bn_stats does before the
  /// reference's REPAIR statistics pass (pitfall 3). Works on copies: the
  /// networks passed in are not modified. Otherwise both run in eval mode.
  bool train_mode_bn_reset = false;
  /// Data-parallel: each rank computes its share of every epoch's batches
  /// (dist::share_pass) and the per-batch sums and batch counts are
  /// all-reduced, so every rank ends with one process's statistics (up to
  /// float64 summation order). Null: one process. Not owned.
  dist::Group* group = nullptr;
};

/// Counts forward passes, so reports (and tests) can state how many passes
/// over the data a procedure made. A data-parallel pass counts the batches of
/// the whole job, whichever rank computed them.
struct PassCounter {
  int64_t data_passes = 0;      ///< Full passes over a loader.
  int64_t forward_batches = 0;  ///< Network forward calls (one net, one batch).
};

/// Draws the next epoch of `loader` and runs `step` on this rank's share of
/// its batches (all of them without a group), skipping the others with
/// Loader::skip. Returns the share, which says whether to all-reduce.
dist::PassShare for_each_batch_share(data::Loader& loader, dist::Group* group,
                                     const std::function<void(const data::Batch&)>& step);

/// Collects PairStats for every requested point in `epochs` passes over
/// `loader`, running both networks on every batch (the single pass the
/// reference needs one of per layer). Returns one entry per requested point,
/// in request order.
std::vector<PairStats> collect_pair_stats(models::NetworkImpl& net0, models::NetworkImpl& net1,
                                          data::Loader& loader, const PairStatsRequest& request,
                                          PassCounter* counter = nullptr);

/// Mean and unbiased variance ((C) float64 each), averaged over batches, of one
/// network's activations at `points`, with the network in eval mode. A probe
/// already installed on `net` stays in effect (it is part of what is measured).
/// With `group`, data-parallel as in PairStatsRequest::group.
struct ChannelStats {
  torch::Tensor mean, var;
};
std::vector<ChannelStats> collect_channel_stats(models::NetworkImpl& net, data::Loader& loader,
                                                const std::vector<int64_t>& points,
                                                PassCounter* counter = nullptr, dist::Group* group = nullptr);

/// A deep copy of a network (same config, cloned state).
models::Network copy_network(models::NetworkImpl& net);

/// Prepares `net` for a reset_bn_stats pass: every BatchNorm gets
/// momentum=None and fresh running statistics, and the module is put in
/// train mode. Returns the number of BatchNorm layers touched.
int64_t reset_batch_norms(models::NetworkImpl& net);

}  // namespace repairbench::align
