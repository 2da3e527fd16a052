#pragma once

#include <torch/types.h>

#include <cstdint>
#include <set>
#include <vector>

#include "repairbench/data/loader.h"
#include "repairbench/dist/dist.h"
#include "repairbench/models/network.h"
#include "repairbench/stats/context.h"

namespace repairbench::stats {

/// The statistics module (below align and repair): what both need of the
/// networks' activations, measured in single passes over the data.

/// Statistics of two networks' activations at one point, over the same
/// batches, in float64. Every field is an equal-weight average over batches of
/// a per-batch statistic, as the reference accumulates them (run_corr_matrix;
/// BatchNorm with momentum=None for REPAIR): docs/reference/algorithm.md §2a,
/// §2c and §5.1. Rows of a batch are its N*H*W positions; C channels.
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
/// (docs/reference/algorithm.md §2a; the notebooks differ).
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
  std::vector<int64_t> points;  ///< Point indices (same in both nets).
  std::set<int64_t> outer;      ///< Points whose (C, C) outer product is needed.
  bool cross = false;           ///< Also the per-channel cross covariance (closed-form REPAIR).
  int64_t epochs = 1;           ///< Passes over the loader.
  /// Run both nets in train mode (their BatchNorms normalize with batch
  /// statistics and update their running statistics, so the caller passes
  /// networks it prepared: repair::endpoint_stats passes copies with their
  /// BatchNorms reset, docs/reference/algorithm.md §5.3). Otherwise both run in eval mode. Either
  /// way each net's mode is restored afterwards.
  bool train_mode = false;
};

/// Collects PairStats for every requested point in `epochs` passes over
/// `loader`, running both networks on every batch (the single pass the
/// reference needs one of per layer). Returns one entry per requested point,
/// in request order. Data-parallel with the context's group (every rank ends
/// with one process's statistics); its passes go to the context's counter.
std::vector<PairStats> collect_pair_stats(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                                          const PairStatsRequest& request, const Context& context = {});

/// Mean and unbiased variance ((C) float64 each), averaged over batches, of one
/// network's activations at `points`, with the network in eval mode. A probe
/// already installed on `net` stays in effect (it is part of what is measured).
/// The context as in collect_pair_stats.
struct ChannelStats {
  torch::Tensor mean, var;
};
std::vector<ChannelStats> collect_channel_stats(models::NetworkImpl& net, data::Loader& loader,
                                                const std::vector<int64_t>& points, const Context& context = {});

}  // namespace repairbench::stats
