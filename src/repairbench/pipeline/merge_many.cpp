#include "repairbench/pipeline/merge_many.h"

#include <torch/torch.h>

#include <chrono>

#include "repairbench/core/clock.h"
#include "repairbench/core/error.h"
#include "repairbench/interp/interpolate.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/merge.h"

namespace repairbench::pipeline {
namespace {

// The targets of the N-model correction as one EndpointStats: both sides of
// every point hold the mean over the endpoints of the channel means and of
// the channel stds (as variances), so repair::targets gives them at any alpha.
repair::EndpointStats mean_statistics(const std::vector<repair::EndpointStats>& pairs) {
  repair::EndpointStats out;
  out.points = pairs.front().points;
  const double n = static_cast<double>(pairs.size() + 1);
  for (size_t i = 0; i < out.points.size(); ++i) {
    const auto& first = pairs.front().stats[i];
    torch::Tensor mean = first.mean0.clone(), std = first.var0.sqrt();  // model 0's, (C)
    for (const auto& p : pairs) {
      mean += p.stats[i].mean1;
      std += p.stats[i].var1.sqrt();
    }
    stats::PairStats s;
    s.mean0 = s.mean1 = mean / n;
    s.std0 = s.std1 = std / n;
    s.var0 = s.var1 = s.std0 * s.std0;
    out.stats.push_back(s);
  }
  for (const auto& p : pairs) {
    out.passes.data_passes += p.passes.data_passes;
    out.passes.forward_batches += p.passes.forward_batches;
  }
  return out;
}

}  // namespace

ManyResult merge_many(const std::vector<models::NetworkImpl*>& nets, data::Loader& stats_loader,
                      const data::Dataset& test, const ManyOptions& options, const stats::Context& context) {
  RB_CHECK(context.group == nullptr, kUsage, "many-model merging runs in one process, not data-parallel");
  const torch::Device& device = context.device;
  RB_CHECK(nets.size() >= 2, kUsage, "many-model merging needs at least 2 models, got ", nets.size());
  using repair::RepairMethod;
  const RepairMethod method = options.correction;
  RB_CHECK(method == RepairMethod::kNone || method == RepairMethod::kResetBn || method == RepairMethod::kForward ||
               method == RepairMethod::kRescale || method == RepairMethod::kReshift,
           kUsage, "many-model merging corrects with none, reset-bn, repair, rescale or reshift, not ",
           repair::to_string(method));
  const auto start = std::chrono::steady_clock::now();
  models::NetworkImpl& reference = *nets.front();
  for (auto* net : nets) {
    RB_CHECK(net->config() == reference.config(), kUsage, "cannot merge ", reference.config().describe(), " with ",
             net->config().describe(), ": ", models::config_difference(reference.config(), net->config()));
    net->to(device);
  }
  ManyResult result;
  for (auto* net : nets) result.endpoints.push_back(metrics::evaluate(*net, test, options.eval_batch_size, device));
  std::vector<double> uniform(nets.size(), 1.0 / static_cast<double>(nets.size()));
  result.ensemble = metrics::evaluate_ensemble(nets, uniform, test, options.eval_batch_size, device);

  // Align each model to the reference and keep a running mean of the weights:
  // after model k (0-based) the average is interpolate(average, model k, 1/(k+1)).
  std::vector<models::Network> aligned;
  models::StateDict average = models::state_dict(reference);
  for (size_t k = 1; k < nets.size(); ++k) {
    data::Loader& match_loader = options.match_loader != nullptr ? *options.match_loader : stats_loader;
    result.alignments.push_back(align_with(options.match, reference, *nets[k], match_loader, options.activation,
                                           options.weight, options.random_seed + k));
    aligned.push_back(align::permuted_copy(*nets[k], result.alignments.back()));
    aligned.back()->to(device);
    average = interp::interpolate(average, models::state_dict(*aligned.back()), 1.0 / static_cast<double>(k + 1));
  }
  models::Network merged = models::make_network(reference.config());
  models::load_state_dict(*merged, average, "average of " + std::to_string(nets.size()) + " models");
  merged->to(device);
  merged->eval();
  result.averaged = metrics::evaluate(*merged, test, options.eval_batch_size, device);

  repair::RepairOptions ro = options.repair;
  ro.method = method;
  repair::EndpointStats targets;
  const auto points = repair::repair_points(reference, ro);
  if (!points.empty()) {
    std::vector<repair::EndpointStats> pairs;
    for (auto& net : aligned) {
      pairs.push_back(repair::endpoint_stats(reference, *net, stats_loader, points, ro.endpoint_epochs));
    }
    targets = mean_statistics(pairs);
  }
  const auto repaired = repair::repair(*merged, targets, 0.5, stats_loader, ro);
  RB_CHECK(repaired.unfused.empty(), kInternal, "a many-model correction left unfused corrections");
  result.corrected = metrics::evaluate(*merged, test, options.eval_batch_size, device);
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace repairbench::pipeline
