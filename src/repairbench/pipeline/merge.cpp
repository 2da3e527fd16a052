#include "repairbench/pipeline/merge.h"

#include <torch/torch.h>

#include <chrono>

#include "repairbench/core/clock.h"
#include "repairbench/core/error.h"
#include "repairbench/interp/interpolate.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/repair/data_free.h"

namespace repairbench::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

models::Network interpolated(models::NetworkImpl& net0, models::NetworkImpl& net1, double alpha,
                             const torch::Device& device) {
  models::Network net = models::make_network(net0.config());
  models::load_state_dict(*net, interp::interpolate(models::state_dict(net0), models::state_dict(net1), alpha),
                          "interpolation");
  net->to(device);
  net->eval();
  return net;
}

metrics::Path path_of(const Curve& curve, bool train, bool loss) {
  metrics::Path path;
  for (const auto& p : curve.points) {
    const auto& r = train ? *p.train : p.test;
    path.alpha.push_back(p.alpha);
    path.value.push_back(loss ? r.loss : r.accuracy);
  }
  return path;
}

void set_barriers(Curve& curve, const MergeResult& r) {
  curve.test_accuracy =
      metrics::barrier(path_of(curve, false, false), r.endpoint0_test.accuracy, r.endpoint1_test.accuracy, true);
  curve.test_loss = metrics::barrier(path_of(curve, false, true), r.endpoint0_test.loss, r.endpoint1_test.loss, false);
  if (r.endpoint0_train) {
    curve.train_accuracy =
        metrics::barrier(path_of(curve, true, false), r.endpoint0_train->accuracy, r.endpoint1_train->accuracy, true);
    curve.train_loss =
        metrics::barrier(path_of(curve, true, true), r.endpoint0_train->loss, r.endpoint1_train->loss, false);
  }
}

// Mean over channels of std(merged) / sigma*.
double std_ratio(const stats::ChannelStats& merged, const repair::Targets& t) {
  return (merged.var.sqrt() / t.std.clamp_min(1e-12)).mean().item<double>();
}

}  // namespace

MergeOptions merge_options(const StatsDefaults& stats) {
  MergeOptions options;
  options.activation.std_estimate = stats.std_estimate;
  options.repair.endpoint_epochs = stats.endpoint_epochs;
  options.repair.merged_epochs = stats.merged_epochs;
  options.repair.target_std_eps = stats.target_std_eps;
  return options;
}

align::Alignment align_with(Matcher match, models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                            const align::ActivationMatchingOptions& activation,
                            const align::WeightMatchingOptions& weight, uint64_t random_seed,
                            const stats::Context& context) {
  align::ActivationMatchingOptions o = activation;
  switch (match) {
    case Matcher::kActivation:
    case Matcher::kCovariance:
    case Matcher::kInnerProduct:
      o.objective = match == Matcher::kActivation   ? align::MatchObjective::kCorrelation
                    : match == Matcher::kCovariance ? align::MatchObjective::kCovariance
                                                    : align::MatchObjective::kInnerProduct;
      return align::activation_matching(net0, net1, loader, o, context);
    case Matcher::kWeight:
      return align::weight_matching(net0, net1, weight);
    case Matcher::kRandom:
      return align::random_alignment(net1, random_seed);
    case Matcher::kNone:
      break;
  }
  return align::identity_alignment(net1);
}

MergeResult merge(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& stats_loader,
                  const data::Dataset& test, const data::Dataset* train, const MergeOptions& options,
                  const stats::Context& context) {
  const torch::Device& device = context.device;
  const stats::Context shared(device, context.group);  // each stage counts its own passes
  RB_CHECK(net0.config() == net1.config(), kUsage, "cannot merge ", net0.config().describe(), " with ",
           net1.config().describe(), ": ", models::config_difference(net0.config(), net1.config()),
           "; the two models must have the same architecture and width");
  RB_CHECK(!options.alphas.empty(), kUsage, "empty alpha grid");
  const auto start = Clock::now();
  MergeResult result;
  net0.to(device);
  net1.to(device);
  auto eval = [&](models::NetworkImpl& net, const data::Dataset& d) {
    return metrics::evaluate(net, d, options.eval_batch_size, device, options.flip_tta, context.group);
  };
  result.endpoint0_test = eval(net0, test);
  result.endpoint1_test = eval(net1, test);
  if (train != nullptr) {
    result.endpoint0_train = eval(net0, *train);
    result.endpoint1_train = eval(net1, *train);
  }

  const auto align_start = Clock::now();
  result.alignment =
      align_with(options.match, net0, net1, options.match_loader != nullptr ? *options.match_loader : stats_loader,
                 options.activation, options.weight, options.random_seed, shared);
  models::Network aligned = align::permuted_copy(net1, result.alignment);
  aligned->to(device);
  result.seconds_alignment = seconds_since(align_start);

  // Endpoint statistics at every point any requested correction (or the
  // variance ratios, measured at the pre-activations) needs: one gathering
  // for every alpha and every correction.
  std::vector<std::string> stat_points;
  auto add_points = [&](const std::vector<std::string>& names) {
    for (const auto& n : names) {
      if (std::find(stat_points.begin(), stat_points.end(), n) == stat_points.end()) stat_points.push_back(n);
    }
  };
  const std::vector<std::string> ratio_points =
      options.variance_ratios ? repair::default_repair_points(net0, repair::RepairMethod::kForward)
                              : std::vector<std::string>{};
  add_points(ratio_points);
  for (auto method : options.repairs) {
    if (method == repair::RepairMethod::kDataFree) continue;  // predicted below, not measured
    repair::RepairOptions ro = options.repair;
    ro.method = method;
    add_points(repair::repair_points(net0, ro));
  }
  repair::EndpointStats endpoints;
  const auto stats_start = Clock::now();
  if (!stat_points.empty()) {
    models::NetworkImpl& stats_b = options.repair_stats_from_unaligned_b ? net1 : *aligned;
    const bool cross =
        std::count(options.repairs.begin(), options.repairs.end(), repair::RepairMethod::kClosedForm) > 0;
    endpoints =
        repair::endpoint_stats(net0, stats_b, stats_loader, stat_points, options.repair.endpoint_epochs, cross, shared);
  }
  // Data-free REPAIR predicts its endpoint statistics from the input's
  // moments (one pass over the images, no network forward), read from a
  // loader of its own so that the other corrections draw the same batches
  // whether it runs or not.
  repair::EndpointStats predicted;
  if (std::count(options.repairs.begin(), options.repairs.end(), repair::RepairMethod::kDataFree) > 0) {
    repair::RepairOptions ro = options.repair;
    ro.method = repair::RepairMethod::kDataFree;
    data::Loader images(stats_loader.dataset(), stats_loader.options());
    const repair::InputMoments input = repair::input_moments(images, options.repair.endpoint_epochs, &endpoints.passes);
    predicted = repair::predicted_endpoint_stats(net0, *aligned, input, repair::repair_points(net0, ro));
  }
  result.endpoint_stats_passes = endpoints.passes;
  result.seconds_endpoint_stats = seconds_since(stats_start);

  std::vector<int64_t> ratio_indices;
  for (const auto& name : ratio_points) {
    ratio_indices.push_back(net0.point_index(name));
    result.variance_ratios.push_back({name, 0, {}, 0, {}});
  }
  // The held-out ratios read the test set in stored order, without
  // augmentation, from a loader of their own: the statistics loader's batches
  // (and so every curve) are the same with or without them.
  const bool has_midpoint =
      std::any_of(options.alphas.begin(), options.alphas.end(), [](double a) { return std::abs(a - 0.5) < 1e-9; });
  // Data-parallel, each rank reads its rows of every batch (as the
  // statistics loader does), which needs a batch divisible by the ranks.
  data::LoaderOptions held_out_options;
  const data::LoaderOptions& stats_options = stats_loader.options();
  held_out_options.shard_rank = stats_options.shard_rank;
  held_out_options.shard_count = stats_options.shard_count;
  held_out_options.batch_size =
      std::max<int64_t>(1, options.eval_batch_size / stats_options.shard_count) * stats_options.shard_count;
  held_out_options.channels = stats_options.channels;
  held_out_options.device = stats_options.device;
  data::Loader held_out(test, held_out_options);
  repair::EndpointStats held_out_endpoints;
  if (!ratio_indices.empty() && has_midpoint) {
    held_out_endpoints = repair::endpoint_stats(net0, *aligned, held_out, ratio_points, 1, false, shared);
  }
  std::vector<std::string> names = {"interpolated"};
  for (auto m : options.repairs) names.push_back(repair::to_string(m));
  for (size_t c = 0; c < names.size(); ++c) {
    Curve curve;
    curve.name = names[c];
    const auto curve_start = Clock::now();
    for (double alpha : options.alphas) {
      models::Network merged = interpolated(net0, *aligned, alpha, device);
      // Corrections that could not be fused stay applied while evaluating.
      std::unique_ptr<repair::CorrectionProbe> wrapper;
      if (c > 0) {
        repair::RepairOptions ro = options.repair;
        ro.method = options.repairs[c - 1];
        const auto repaired =
            repair::repair(*merged, ro.method == repair::RepairMethod::kDataFree ? predicted : endpoints, alpha,
                           stats_loader, ro, shared);
        if (!repaired.unfused.empty()) {
          wrapper = std::make_unique<repair::CorrectionProbe>(repaired.unfused, ro.bn_eps);
        }
      }
      models::ProbeScope scope(*merged, wrapper.get());
      CurvePoint point;
      point.alpha = alpha;
      point.test = eval(*merged, test);
      if (train != nullptr) point.train = eval(*merged, *train);
      curve.points.push_back(point);
      if (!ratio_indices.empty() && std::abs(alpha - 0.5) < 1e-9) {
        const auto channels = stats::collect_channel_stats(*merged, stats_loader, ratio_indices, shared);
        const auto held_out_channels = stats::collect_channel_stats(*merged, held_out, ratio_indices, shared);
        for (size_t i = 0; i < channels.size(); ++i) {
          auto& v = result.variance_ratios[i];
          const double ratio = std_ratio(channels[i], repair::targets(endpoints.at(ratio_indices[i]), 0.5));
          const double held_out_ratio =
              std_ratio(held_out_channels[i], repair::targets(held_out_endpoints.at(ratio_indices[i]), 0.5));
          if (c == 0) {
            v.before = ratio;
            v.held_out_before = held_out_ratio;
          } else {
            v.after.push_back(ratio);
            v.held_out_after.push_back(held_out_ratio);
          }
        }
      }
    }
    curve.seconds = seconds_since(curve_start);
    set_barriers(curve, result);
    result.curves.push_back(std::move(curve));
  }
  if (!has_midpoint) result.variance_ratios.clear();  // measured at alpha = 0.5 only
  result.seconds_total = seconds_since(start);
  return result;
}

}  // namespace repairbench::pipeline
