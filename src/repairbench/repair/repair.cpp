#include "repairbench/repair/repair.h"

#include <torch/torch.h>

#include <chrono>
#include <map>

#include "repairbench/core/clock.h"
#include "repairbench/core/error.h"
#include "repairbench/core/named.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/repair/data_free.h"

namespace repairbench::repair {
namespace {

// The reference's ResetLayer in train mode (docs/reference/algorithm.md §5.2): normalizes each
// corrected channel with the CURRENT batch's statistics and applies the target
// affine map; its running statistics are BatchNorm's with momentum=None (the
// average of per-batch means and unbiased variances), which at_batch_norm
// computes when the momentum of batch k is 1/(k+1). RESCALE and RESHIFT keep
// the same running statistics but move only one of the batch's two moments to
// its target (the other stays the batch's own), so each corrects exactly what
// its eval-mode form does.
class ResetProbe : public models::ActivationProbe {
 public:
  struct Slot {
    torch::Tensor weight, bias;               // (C) float32: target scale and mean
    torch::Tensor running_mean, running_var;  // (C) float32, BN initial values 0 / 1
    int64_t batches = 0;
  };
  ResetProbe(std::map<int64_t, Slot> slots, double eps, RepairMethod method)
      : slots_(std::move(slots)), eps_(eps), method_(method) {}

  torch::Tensor visit(int64_t point, const torch::Tensor& x) override {
    auto it = slots_.find(point);
    if (it == slots_.end()) return x;
    Slot& s = it->second;
    const double momentum = 1.0 / static_cast<double>(++s.batches);
    // y = weight (x - m_b) / sqrt(v_b + eps) + bias, m_b and v_b (biased) of this batch.
    const torch::Tensor y = torch::batch_norm(x, s.weight, s.bias, s.running_mean, s.running_var,
                                              /*training=*/true, momentum, eps_, /*cudnn_enabled=*/true);
    if (method_ != RepairMethod::kRescale && method_ != RepairMethod::kReshift) return y;
    std::vector<int64_t> dims, shape(x.dim(), 1);  // every axis but the channels'
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (d != 1) dims.push_back(d);
    }
    shape[1] = -1;
    const torch::Tensor batch_mean = x.mean(dims, /*keepdim=*/true);  // (1, C, 1, ...)
    const torch::Tensor target_mean = s.bias.view(shape);
    // RESCALE: the target std about the batch's own mean; RESHIFT: the batch's
    // own spread about the target mean.
    return method_ == RepairMethod::kRescale ? y - target_mean + batch_mean : x - batch_mean + target_mean;
  }
  const std::map<int64_t, Slot>& slots() const { return slots_; }
  std::map<int64_t, Slot>& slots() { return slots_; }

 private:
  std::map<int64_t, Slot> slots_;
  double eps_;
  RepairMethod method_;
};

// Folds y -> scale (y - mean) / sqrt(var + eps) + shift into the producer of `point`.
void fuse(models::NetworkImpl& net, const models::ActivationPoint& point, const Correction& f, double eps) {
  RB_CHECK(!point.weight.empty(), kInternal, "point ", point.name, " has no producer to fold into");
  RB_CHECK(!point.bias.empty(), kUsage, "cannot fuse REPAIR into ", point.weight,
           ": the layer has no bias; correct a point whose producer has one");
  torch::NoGradGuard no_grad;
  const auto state = models::state_dict(net);
  torch::Tensor weight = models::find(state, point.weight);  // aliases the module's parameter
  torch::Tensor bias = models::find(state, point.bias);
  const auto g = (f.scale.to(torch::kFloat64) / (f.var.to(torch::kFloat64) + eps).sqrt());  // (C)
  const auto new_bias = f.shift.to(torch::kFloat64) + g * (bias.to(torch::kFloat64) - f.mean.to(torch::kFloat64));
  std::vector<int64_t> shape(weight.dim(), 1);
  shape[0] = -1;
  weight.mul_(g.to(weight.device(), weight.scalar_type()).view(shape));
  bias.copy_(new_bias.to(bias.device(), bias.scalar_type()));
}

// One running average as BatchNorm with momentum=None keeps it: the mean of
// the per-batch values over `batches` batches.
struct RunningAverage {
  torch::Tensor mean, var;  // (C), updated in place
  int64_t batches = 0;
  torch::Tensor tracked;            // BatchNorm's num_batches_tracked, if this is one
  int64_t* slot_batches = nullptr;  // a ResetProbe slot's count, if this is one
};

// Combines every rank's running averages into the average over all ranks'
// batches: sum_r k_r avg_r / sum_r k_r, in float64 and one collective.
void reduce_running_averages(std::vector<RunningAverage>& averages, dist::Group& group) {
  std::vector<torch::Tensor> weighted;
  std::vector<int64_t*> counts;
  for (auto& a : averages) {
    const double k = static_cast<double>(a.batches);
    weighted.push_back(a.mean.to(torch::kFloat64) * k);
    weighted.push_back(a.var.to(torch::kFloat64) * k);
    counts.push_back(&a.batches);
  }
  group.allreduce_sums_and_counts(weighted, counts);
  for (size_t i = 0; i < averages.size(); ++i) {
    auto& a = averages[i];
    const double k = static_cast<double>(a.batches);
    a.mean.copy_(weighted[2 * i] / k);
    a.var.copy_(weighted[2 * i + 1] / k);
    if (a.slot_batches != nullptr)
      *a.slot_batches = a.batches;
    else
      a.tracked.fill_(a.batches);
  }
}

int64_t reset_bn_pass(models::NetworkImpl& merged, data::Loader& loader, int64_t epochs, ResetProbe* probe,
                      stats::PassCounter& passes, dist::Group* group) {
  const int64_t reset = reset_batch_norms(merged);  // also puts it in train mode
  torch::NoGradGuard no_grad;
  models::ProbeScope scope(merged, probe);
  bool split = false;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    split = stats::for_each_batch_share(loader, group, [&](const data::Batch& batch) {
              merged.forward(batch.images);
            }).split();
    passes.forward_batches += loader.num_batches();
    ++passes.data_passes;
  }
  if (split) {
    std::vector<RunningAverage> averages;
    for (const auto& module : merged.modules(/*include_self=*/false)) {
      // reset_batch_norms gave every BatchNorm running statistics.
      if (auto* bn1 = module->as<torch::nn::BatchNorm1d>()) {
        averages.push_back({bn1->running_mean, bn1->running_var, bn1->num_batches_tracked.item<int64_t>(),
                            bn1->num_batches_tracked, nullptr});
      } else if (auto* bn2 = module->as<torch::nn::BatchNorm2d>()) {
        averages.push_back({bn2->running_mean, bn2->running_var, bn2->num_batches_tracked.item<int64_t>(),
                            bn2->num_batches_tracked, nullptr});
      }
    }
    if (probe != nullptr) {
      for (auto& [point, slot] : probe->slots()) {
        averages.push_back({slot.running_mean, slot.running_var, slot.batches, {}, &slot.batches});
      }
    }
    reduce_running_averages(averages, *group);
  }
  merged.eval();
  return reset;
}

}  // namespace

int64_t reset_batch_norms(models::NetworkImpl& net) {
  int64_t count = 0;
  for (const auto& module : net.modules(/*include_self=*/false)) {
    if (auto* bn1 = module->as<torch::nn::BatchNorm1d>()) {
      bn1->options.momentum(c10::nullopt);
      bn1->reset_running_stats();
      ++count;
    } else if (auto* bn2 = module->as<torch::nn::BatchNorm2d>()) {
      bn2->options.momentum(c10::nullopt);
      bn2->reset_running_stats();
      ++count;
    }
  }
  net.train();
  return count;
}

CorrectionProbe::CorrectionProbe(std::vector<Correction> corrections, double bn_eps)
    : corrections_(std::move(corrections)), bn_eps_(bn_eps) {}

torch::Tensor CorrectionProbe::visit(int64_t point, const torch::Tensor& x) {
  for (const auto& c : corrections_) {
    if (c.point != point) continue;
    std::vector<int64_t> shape(x.dim(), 1);
    shape[1] = -1;  // broadcast the (C) statistics over (N, C, ...)
    auto as = [&](const torch::Tensor& t) { return t.to(x.device(), x.scalar_type()).view(shape); };
    return as(c.scale) * (x - as(c.mean)) / (as(c.var) + bn_eps_).sqrt() + as(c.shift);
  }
  return x;
}

namespace {
constexpr Named<RepairMethod> kRepairMethods[] = {
    {RepairMethod::kNone, "none"},       {RepairMethod::kResetBn, "reset-bn"},   {RepairMethod::kForward, "repair"},
    {RepairMethod::kClosedForm, "closed-form"}, {RepairMethod::kBlocks, "repair-blocks"},
    {RepairMethod::kRescale, "rescale"}, {RepairMethod::kReshift, "reshift"},     {RepairMethod::kDataFree, "data-free"},
};
}  // namespace

std::string to_string(RepairMethod method) { return name_of(kRepairMethods, method); }

RepairMethod parse_repair_method(const std::string& text) {
  return parse_named(kRepairMethods, text, "repair method");
}

std::vector<std::string> default_repair_points(const models::NetworkImpl& net, RepairMethod method) {
  std::vector<std::string> names;
  if (method == RepairMethod::kBlocks) {
    for (const auto& p : net.points()) {
      // Residual blocks are named "layerS.B"; the stem's output is not one.
      const bool block = p.kind == models::PointKind::kBlockOutput && p.name.rfind("layer", 0) == 0;
      if (block || p.kind == models::PointKind::kLogits) names.push_back(p.name);
    }
    RB_CHECK(names.size() > 1, kUsage, net.config().describe(),
             " has no residual blocks; repair-blocks is for ResNets");
    return names;
  }
  if (method == RepairMethod::kNone || method == RepairMethod::kResetBn) return names;
  const bool bn = net.config().norm == models::Norm::kBatch;
  const auto wanted = bn ? models::PointKind::kNormOutput : models::PointKind::kLayerOutput;
  for (const auto& p : net.points()) {
    if (p.kind == wanted) names.push_back(p.name);
  }
  return names;
}

std::vector<std::string> repair_points(const models::NetworkImpl& net, const RepairOptions& options) {
  return options.points.empty() ? default_repair_points(net, options.method) : options.points;
}

const stats::PairStats& EndpointStats::at(int64_t point) const {
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i] == point) return stats[i];
  }
  RB_FAIL(kInternal, "no endpoint statistics were gathered at point ", point);
}

EndpointStats endpoint_stats(models::NetworkImpl& net0, models::NetworkImpl& net1, data::Loader& loader,
                             const std::vector<std::string>& points, int64_t epochs, bool cross,
                             const stats::Context& context) {
  EndpointStats out;
  RB_CHECK(!points.empty(), kUsage, net0.config().describe(), " has no points to REPAIR");
  stats::PairStatsRequest request;
  for (const auto& name : points) request.points.push_back(net0.point_index(name));
  request.epochs = epochs;
  request.train_mode = true;
  request.cross = cross;
  out.points = request.points;
  // Copies with their own BatchNorms reset, re-estimated on the way (docs/reference/algorithm.md §5.3).
  models::Network copy0 = models::copy_network(net0), copy1 = models::copy_network(net1);
  reset_batch_norms(*copy0);
  reset_batch_norms(*copy1);
  out.stats = stats::collect_pair_stats(*copy0, *copy1, loader, request, context.counting(&out.passes));
  return out;
}

torch::Tensor target_scale(const Targets& t, double target_std_eps) { return (t.std * t.std + target_std_eps).sqrt(); }

Targets targets(const stats::PairStats& s, double alpha) {
  return {s.mean0 * (1.0 - alpha) + s.mean1 * alpha, s.var0.sqrt() * (1.0 - alpha) + s.var1.sqrt() * alpha};
}

RepairResult repair(models::NetworkImpl& merged, const EndpointStats& endpoints, double alpha, data::Loader& loader,
                    const RepairOptions& options, const stats::Context& context) {
  const auto start = std::chrono::steady_clock::now();
  RepairResult result;
  std::vector<int64_t> points;
  for (const auto& name : repair_points(merged, options)) points.push_back(merged.point_index(name));
  switch (options.method) {
    case RepairMethod::kNone:
      merged.eval();
      break;
    case RepairMethod::kResetBn:
      result.batch_norms_reset =
          reset_bn_pass(merged, loader, options.merged_epochs, nullptr, result.passes, context.group);
      RB_CHECK(result.batch_norms_reset > 0, kUsage, merged.config().describe(),
               " has no BatchNorm layers to reset; use --repair repair for norm-free or LayerNorm nets");
      break;
    case RepairMethod::kForward:
    case RepairMethod::kRescale:
    case RepairMethod::kReshift:
    case RepairMethod::kBlocks: {
      std::map<int64_t, ResetProbe::Slot> slots;
      const auto device = merged.parameters().front().device();
      const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
      for (int64_t point : points) {
        const Targets t = targets(endpoints.at(point), alpha);
        const int64_t c = t.mean.size(0);
        slots[point] = {target_scale(t, options.target_std_eps).to(f32), t.mean.to(f32), torch::zeros({c}, f32),
                        torch::ones({c}, f32), 0};
      }
      ResetProbe probe(std::move(slots), options.bn_eps, options.method);
      result.batch_norms_reset =
          reset_bn_pass(merged, loader, options.merged_epochs, &probe, result.passes, context.group);
      for (const auto& [point, slot] : probe.slots()) {
        // The eval-mode forms: REPAIR y = s* (x - m) / sqrt(v + eps) + mu*;
        // RESCALE keeps the merged mean m as the shift; RESHIFT's scale
        // sqrt(v + eps) makes the gain 1, so y = x - m + mu*.
        torch::Tensor scale = slot.weight, shift = slot.bias;
        if (options.method == RepairMethod::kRescale) shift = slot.running_mean;
        if (options.method == RepairMethod::kReshift) scale = (slot.running_var + options.bn_eps).sqrt();
        result.corrections.push_back({point, scale, shift, slot.running_mean, slot.running_var});
      }
      break;
    }
    case RepairMethod::kDataFree:
      result.corrections = data_free_corrections(merged, endpoints, alpha, points, options);
      merged.eval();
      break;
    case RepairMethod::kClosedForm:
      for (int64_t point : points) {
        const auto& s = endpoints.at(point);
        RB_CHECK(s.cross_cov.defined(), kInternal, "closed-form REPAIR needs endpoint statistics with cross=true");
        const Targets t = targets(s, alpha);
        // Predicted statistics of (1-a) x0 + a x1 (MNIST-MLP notebook).
        const auto mean = s.mean0 * (1.0 - alpha) + s.mean1 * alpha;
        const auto var = s.var0 * ((1.0 - alpha) * (1.0 - alpha)) + s.cross_cov * (2.0 * alpha * (1.0 - alpha)) +
                         s.var1 * (alpha * alpha);
        result.corrections.push_back({point, target_scale(t, options.target_std_eps), t.mean, mean, var.clamp_min(0)});
      }
      merged.eval();
      break;
  }
  for (const auto& c : result.corrections) {
    const auto& point = merged.points()[c.point];
    if (point.weight.empty()) {
      result.unfused.push_back(c);
    } else {
      fuse(merged, point, c, options.bn_eps);
    }
    result.points.push_back(point.name);
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace repairbench::repair
