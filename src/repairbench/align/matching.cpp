#include "repairbench/align/matching.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>

#include "repairbench/align/assignment.h"
#include "repairbench/core/clock.h"
#include "repairbench/core/error.h"
#include "repairbench/core/named.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"

namespace repairbench::align {
namespace {

// Mean of corr[i, perm[i]] over i.
double paired_correlation(const torch::Tensor& corr, const torch::Tensor& perm) {
  return corr.gather(1, perm.view({-1, 1})).mean().item<double>();
}

Alignment empty_alignment(const models::PermutationSpec& spec, const std::string& method) {
  Alignment a;
  a.method = method;
  for (const auto& g : spec.groups) a.groups.push_back(g.name);
  a.perms = models::identity_permutations(spec);
  return a;
}

bool is_buffer_key(const std::string& key) {
  return key.find("running_mean") != std::string::npos || key.find("running_var") != std::string::npos;
}

// The (C, C) matrix the assignment maximizes (rows model 0, columns model 1).
torch::Tensor objective_matrix(const stats::PairStats& s, const ActivationMatchingOptions& options) {
  switch (options.objective) {
    case MatchObjective::kCorrelation:
      return stats::correlation(s, options.std_estimate);
    case MatchObjective::kCovariance:
      return s.outer - torch::outer(s.mean0, s.mean1);
    case MatchObjective::kInnerProduct:
      return s.outer;
  }
  return stats::correlation(s, options.std_estimate);
}

}  // namespace

namespace {
constexpr Named<MatchObjective> kObjectives[] = {{MatchObjective::kCorrelation, "correlation"},
                                                 {MatchObjective::kCovariance, "covariance"},
                                                 {MatchObjective::kInnerProduct, "inner-product"}};
constexpr Named<WeightOrder> kWeightOrders[] = {{WeightOrder::kRandom, "random"}, {WeightOrder::kSpec, "spec"}};
}  // namespace

std::string to_string(MatchObjective objective) { return name_of(kObjectives, objective); }

MatchObjective parse_match_objective(const std::string& text) {
  return parse_named(kObjectives, text, "activation-matching objective");
}

const char* weight_order_name(WeightOrder order) { return name_of(kWeightOrders, order); }

WeightOrder parse_weight_order(const std::string& name) { return parse_named(kWeightOrders, name, "--weight-order"); }

Alignment activation_matching(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                              const ActivationMatchingOptions& options, const stats::Context& context) {
  const auto start = std::chrono::steady_clock::now();
  auto spec = net0.permutation_spec();
  for (const auto& [group, point] : options.match_points) {
    auto& g = spec.groups[spec.group_index(group)];
    RB_CHECK(net0.point(point).channels == g.size, kUsage, "point ", point, " has ", net0.point(point).channels,
             " channels but group ", group, " has ", g.size);
    g.match_point = point;
  }
  // The matcher's name, as MergeOptions::match spells it.
  Alignment result = empty_alignment(
      spec, options.objective == MatchObjective::kCorrelation ? "activation" : to_string(options.objective));

  // One statistics slot per distinct matching point.
  stats::PairStatsRequest request;
  request.epochs = options.epochs;
  std::vector<size_t> slot_of_group;
  for (const auto& g : spec.groups) {
    const int64_t p = net0.point_index(g.match_point);
    auto it = std::find(request.points.begin(), request.points.end(), p);
    if (it == request.points.end()) {
      request.points.push_back(p);
      request.outer.insert(p);
      it = request.points.end() - 1;
    }
    slot_of_group.push_back(static_cast<size_t>(it - request.points.begin()));
  }
  const auto pair_stats = stats::collect_pair_stats(net0, net1, loader, request, context.counting(&result.passes));

  for (size_t g = 0; g < spec.groups.size(); ++g) {
    const auto& s = pair_stats[slot_of_group[g]];
    const auto corr = stats::correlation(s, options.std_estimate);  // (C, C)
    const auto objective = options.objective == MatchObjective::kCorrelation ? corr : objective_matrix(s, options);
    result.perms[g] = linear_assignment(objective, /*maximize=*/true);
    result.correlation_before.push_back(corr.diagonal().mean().item<double>());
    result.correlation_after.push_back(paired_correlation(corr, result.perms[g]));
    if (options.keep_correlations) result.correlations.push_back(objective);
  }
  result.seconds = seconds_since(start);
  return result;
}

Alignment weight_matching(models::NetworkImpl& net0, models::NetworkImpl& net1, const WeightMatchingOptions& options) {
  RB_CHECK(net0.config() == net1.config(), kUsage, "cannot align ", net1.config().describe(), " to ",
           net0.config().describe(), ": ", models::config_difference(net1.config(), net0.config()),
           "; the two networks must have the same architecture");
  RB_CHECK(options.max_iterations > 0, kUsage, "max_iterations must be positive");
  const auto start = std::chrono::steady_clock::now();
  const auto spec = net0.permutation_spec();
  Alignment result = empty_alignment(spec, "weight");
  const auto state0 = models::state_dict(net0);
  const auto state1 = models::state_dict(net1);

  // Entries (key, axes) that carry each group, over parameters only.
  struct Member {
    torch::Tensor w0, w1;  // float64 CPU
    std::vector<int> axes;
    int64_t axis;  // the axis this group permutes
  };
  std::vector<std::vector<Member>> members(spec.groups.size());
  for (const auto& [key, axes] : spec.axes) {
    if (is_buffer_key(key)) continue;
    const auto w0 = models::find(state0, key).to(torch::kCPU, torch::kFloat64);
    const auto w1 = models::find(state1, key).to(torch::kCPU, torch::kFloat64);
    for (size_t axis = 0; axis < axes.size(); ++axis) {
      if (axes[axis] >= 0) members[axes[axis]].push_back({w0, w1, axes, static_cast<int64_t>(axis)});
    }
  }

  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const int64_t n_groups = static_cast<int64_t>(spec.groups.size());
  for (int64_t iteration = 0; iteration < options.max_iterations; ++iteration) {
    result.iterations = iteration + 1;
    bool improved = false;
    const auto order = options.order == WeightOrder::kSpec ? torch::arange(n_groups, torch::kInt64)
                                                           : torch::randperm(n_groups, generator, torch::kInt64);
    for (int64_t k = 0; k < n_groups; ++k) {
      const int64_t g = order[k].item<int64_t>();
      const int64_t n = spec.groups[g].size;
      auto cost = torch::zeros({n, n}, torch::kFloat64);
      for (const auto& m : members[g]) {
        // Permute model 1's entry on every other axis by that axis's current perm.
        torch::Tensor w1 = m.w1;
        for (size_t axis = 0; axis < m.axes.size(); ++axis) {
          if (static_cast<int64_t>(axis) != m.axis && m.axes[axis] >= 0) {
            w1 = w1.index_select(static_cast<int64_t>(axis), result.perms[m.axes[axis]]);
          }
        }
        const auto a = m.w0.movedim(m.axis, 0).reshape({n, -1});  // (n, rest)
        const auto b = w1.movedim(m.axis, 0).reshape({n, -1});
        cost += torch::mm(a, b.t());  // cost[i, j] = <row i of model 0, row j of model 1>
      }
      const auto perm = linear_assignment(cost, /*maximize=*/true);
      const double old_value = cost.gather(1, result.perms[g].view({-1, 1})).sum().item<double>();
      const double new_value = cost.gather(1, perm.view({-1, 1})).sum().item<double>();
      if (new_value > old_value + 1e-12 * std::max(1.0, std::abs(old_value))) {
        result.perms[g] = perm;
        improved = true;
      }
    }
    if (!improved) break;
  }
  result.seconds = seconds_since(start);
  return result;
}

Alignment identity_alignment(models::NetworkImpl& net) { return empty_alignment(net.permutation_spec(), "none"); }

Alignment random_alignment(models::NetworkImpl& net, uint64_t seed) {
  const auto spec = net.permutation_spec();
  Alignment result = empty_alignment(spec, "random");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (size_t g = 0; g < spec.groups.size(); ++g) {
    result.perms[g] = torch::randperm(spec.groups[g].size, generator, torch::kInt64);
  }
  return result;
}

models::Network permuted_copy(models::NetworkImpl& net, const Alignment& alignment) {
  models::Network copy = models::copy_network(net);
  const auto spec = net.permutation_spec();
  models::load_state_dict(*copy, models::apply_permutations(spec, models::state_dict(net), alignment.perms),
                          "permuted model");
  return copy;
}

}  // namespace repairbench::align
