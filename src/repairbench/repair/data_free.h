#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "repairbench/data/loader.h"
#include "repairbench/models/network.h"
#include "repairbench/repair/repair.h"

namespace repairbench::repair {

/// The input moments over `epochs` passes of `loader` (its images only, as
/// the loader augments them; every image weighs the same; the covariance is
/// the unbiased one). Counts the passes in `counter`, none of them forward.
InputMoments input_moments(data::Loader& loader, int64_t epochs, stats::PassCounter* counter = nullptr);

/// Predicted per-channel mean and variance ((C) float64 each) at every
/// Linear output of a norm-free MLP (its kLayerOutput points, in order),
/// given its input moments. The moments are propagated as a Gaussian's:
/// through a Linear exactly (m' = W m + b, S' = W S W^T), through ReLU with
/// the rectified Gaussian's exact per-channel mean and variance and, off the
/// diagonal, the covariance linearized at the mean, Cov'_ij = P(z_i > 0)
/// P(z_j > 0) S_ij (our approximation; the per-channel formulas are the
/// standard rectified-Gaussian moments). Throws Error(kUsage) for any other
/// network: propagation through convolutions, pooling and normalization
/// layers is not implemented.
std::vector<stats::ChannelStats> predicted_layer_stats(models::NetworkImpl& net, const InputMoments& input);

/// EndpointStats with predicted statistics instead of measured ones (mean,
/// var, std, sq of both nets) at `points`, and the input moments they came
/// from, for RepairMethod::kDataFree. `net1` must already be aligned to `net0`.
EndpointStats predicted_endpoint_stats(models::NetworkImpl& net0, models::NetworkImpl& net1, const InputMoments& input,
                                       const std::vector<std::string>& points);

/// Data-free REPAIR's corrections of `merged` (the interpolation at `alpha`)
/// at `points`, layer by layer: the merged net's statistics at a point are
/// predicted with every upstream correction in place, and its correction
/// maps them to the targets of `endpoints` (predicted_endpoint_stats), with
/// scale sqrt(sigma*^2 + target_std_eps). Not fused (repair() fuses them).
std::vector<Correction> data_free_corrections(models::NetworkImpl& merged, const EndpointStats& endpoints, double alpha,
                                              const std::vector<int64_t>& points, const RepairOptions& options);

}  // namespace repairbench::repair
