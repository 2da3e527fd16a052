#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "repairbench/data/loader.h"
#include "repairbench/models/network.h"
#include "repairbench/stats/pair_stats.h"

namespace repairbench::align {

/// The permutation of every group of a network's PermutationSpec that aligns
/// model 1 to model 0, and how it was found.
struct Alignment {
  std::string method;               ///< A MergeOptions::match name: "activation", "covariance", ...
  std::vector<std::string> groups;  ///< Group names, in spec order.
  /// perms[g][i] = channel of model 1 that goes to position i ((size) int64).
  std::vector<torch::Tensor> perms;
  /// Activation matching: mean correlation of paired channels per group,
  /// before (identity pairing) and after alignment.
  std::vector<double> correlation_before, correlation_after;
  /// Activation matching with keep_correlations: the (C, C) float64
  /// correlation matrix of every group (rows model 0, columns model 1).
  std::vector<torch::Tensor> correlations;
  /// Weight matching: sweeps over all groups until none improved.
  int64_t iterations = 0;
  stats::PassCounter passes;
  double seconds = 0;
};

/// What activation matching maximizes over paired channels.
enum class MatchObjective {
  kCorrelation,   ///< Pearson correlation (docs/reference/algorithm.md §2a; the paper's matcher).
  kCovariance,    ///< The correlation's numerator, E[a b] - E[a] E[b]: large channels weigh more.
  kInnerProduct,  ///< E[a b], uncentered (Git Re-Basin's activation matching, Ainsworth et al. 2022).
};

/// "correlation" | "covariance" | "inner-product"; parse throws Error(kUsage).
std::string to_string(MatchObjective objective);
MatchObjective parse_match_objective(const std::string& text);

struct ActivationMatchingOptions {
  MatchObjective objective = MatchObjective::kCorrelation;
  /// How the correlation's std is estimated (kCorrelation only).
  stats::StdEstimate std_estimate = stats::StdEstimate::kMoment;
  /// Overrides of a group's matching point: group name -> point name. E.g.
  /// {"stream3", "layer3.2"} matches ResNet20's third stream at the stage end
  /// instead of the reference's layer3[1] (docs/reference/algorithm.md §5.7).
  std::map<std::string, std::string> match_points;
  int64_t epochs = 1;
  /// Keep every group's objective matrix in Alignment::correlations (for
  /// parity checks against another implementation; C^2 doubles per group).
  bool keep_correlations = false;
};

/// Activation matching (docs/reference/algorithm.md §2a): correlations (or the
/// options' other objective) of both models' activations at every group's
/// matching point, gathered for ALL groups in one pass over `loader` with both
/// models in eval mode, then one exact linear assignment per group maximizing
/// the total objective. Alignment::correlation_before/after always report the
/// correlation of the paired channels, whichever objective chose them. The
/// reference makes one pass per layer; permuting earlier layers does not
/// change a later layer's correlations (only their column order), so the
/// result is the same. With the context's group the pass is data-parallel and
/// every rank gets the same permutations; its passes are counted in
/// Alignment::passes.
Alignment activation_matching(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                              const ActivationMatchingOptions& options, const stats::Context& context = {});

/// The order in which weight matching sweeps over the groups: a random
/// order per sweep, seeded (Git Re-Basin's), or the spec's order, so that
/// another implementation can follow the same path (the parity tests').
enum class WeightOrder { kRandom, kSpec };
/// "random" or "spec".
const char* weight_order_name(WeightOrder order);
/// Throws Error(kUsage) for a name that is not "random" or "spec".
WeightOrder parse_weight_order(const std::string& name);

struct WeightMatchingOptions {
  int64_t max_iterations = 100;
  uint64_t seed = 0;  ///< Seeds the random group order of each sweep.
  WeightOrder order = WeightOrder::kRandom;
};

/// Weight matching (Ainsworth et al., Git Re-Basin): sweeps over the groups in
/// a random order, solving for each group the assignment that maximizes
/// sum_w <W0, P W1 (other groups' current perms)> over its parameters
/// (weights and biases; BN running statistics are left out), until a sweep
/// improves no group. Needs no data.
Alignment weight_matching(models::NetworkImpl& net0, models::NetworkImpl& net1, const WeightMatchingOptions& options);

/// The identity alignment (no permutation), for "--match none".
Alignment identity_alignment(models::NetworkImpl& net);

/// A uniformly random permutation of every group, drawn from `seed`, for
/// "--match random": a control that keeps each network's function and breaks
/// any accidental alignment the identity might carry.
Alignment random_alignment(models::NetworkImpl& net, uint64_t seed);

/// A copy of `net` with `alignment` applied: computes the same function.
models::Network permuted_copy(models::NetworkImpl& net, const Alignment& alignment);

}  // namespace repairbench::align
