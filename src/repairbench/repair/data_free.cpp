#include "repairbench/repair/data_free.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "repairbench/core/error.h"
#include "repairbench/models/family.h"
#include "repairbench/models/state_dict.h"

namespace repairbench::repair {
namespace {

// Moments of a Gaussian vector, float64: mean (C), covariance (C, C).
struct Gaussian {
  torch::Tensor mean, cov;
};

// z = W x + b for x ~ (mean, cov): exact.
Gaussian through_linear(const Gaussian& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return {torch::mv(weight, x.mean) + bias, torch::mm(torch::mm(weight, x.cov), weight.t())};
}

// relu(z) for z ~ N(m, S). Per channel, with s = sqrt(S_ii) and a = m / s,
// the rectified Gaussian's E[r] = m Phi(a) + s phi(a) and
// E[r^2] = (m^2 + s^2) Phi(a) + m s phi(a) (exact); across channels the
// covariance is linearized at the mean: Cov_ij = Phi(a_i) Phi(a_j) S_ij.
Gaussian through_relu(const Gaussian& z) {
  const auto m = z.mean;
  const auto s = z.cov.diagonal().clamp_min(0).sqrt().clamp_min(1e-12);
  const auto a = m / s;
  const auto cdf = 0.5 * torch::erfc(-a / std::sqrt(2.0));
  const auto pdf = torch::exp(-0.5 * a * a) / std::sqrt(2.0 * M_PI);
  const auto mean = m * cdf + s * pdf;
  const auto second = (m * m + s * s) * cdf + m * s * pdf;
  auto cov = z.cov * torch::outer(cdf, cdf);
  cov.diagonal().copy_((second - mean * mean).clamp_min(0));
  return {mean, cov};
}

void require_plain_mlp(const models::NetworkImpl& net) {
  const auto& c = net.config();
  RB_CHECK(models::family_info(c.family).architecture == models::Architecture::kMlp && c.norm == models::Norm::kNone,
           kUsage,
           "data-free REPAIR propagates moments through Linear and ReLU layers only, so it needs a "
           "norm-free MLP; ",
           c.describe(), " is not one (use --repair repair, or fuse BatchNorm first)");
}

torch::Tensor f64(const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kFloat64); }

// Propagates the input moments through `net`'s Linear/ReLU chain up to the
// logits; `at_layer(point, z)` sees (and may change) the moments of every
// Linear output before its ReLU.
void propagate(models::NetworkImpl& net, const InputMoments& input,
               const std::function<void(int64_t, Gaussian&)>& at_layer) {
  require_plain_mlp(net);
  torch::NoGradGuard no_grad;
  const auto state = models::state_dict(net);
  Gaussian h{input.mean, input.cov};
  const auto& points = net.points();
  for (size_t p = 0; p < points.size(); ++p) {
    if (points[p].kind != models::PointKind::kLayerOutput) continue;
    Gaussian z =
        through_linear(h, f64(models::find(state, points[p].weight)), f64(models::find(state, points[p].bias)));
    at_layer(static_cast<int64_t>(p), z);
    h = through_relu(z);
  }
}

stats::ChannelStats channel_stats(const Gaussian& z) { return {z.mean.clone(), z.cov.diagonal().clamp_min(0).clone()}; }

}  // namespace

InputMoments input_moments(data::Loader& loader, int64_t epochs, stats::PassCounter* counter) {
  RB_CHECK(epochs > 0, kUsage, "the input moments need at least one pass, got ", epochs);
  torch::NoGradGuard no_grad;
  torch::Tensor sum, outer;  // (D), (D, D) float64
  int64_t n = 0;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader.new_epoch();
    for (int64_t i = 0; i < loader.num_batches(); ++i) {
      const torch::Tensor images = loader.batch(i).images;
      const auto x = images.reshape({images.size(0), -1}).to(torch::kFloat64);  // (B, D)
      sum = sum.defined() ? sum + x.sum(0) : x.sum(0);
      outer = outer.defined() ? outer + torch::mm(x.t(), x) : torch::mm(x.t(), x);
      n += x.size(0);
    }
    if (counter != nullptr) ++counter->data_passes;
  }
  RB_CHECK(n > 1, kUsage, "the input moments need at least two images, got ", n);
  const auto mean = sum / static_cast<double>(n);
  const auto cov = (outer - static_cast<double>(n) * torch::outer(mean, mean)) / static_cast<double>(n - 1);
  return {mean.cpu(), cov.cpu(), n};
}

std::vector<stats::ChannelStats> predicted_layer_stats(models::NetworkImpl& net, const InputMoments& input) {
  std::vector<stats::ChannelStats> out;
  propagate(net, input, [&](int64_t, Gaussian& z) { out.push_back(channel_stats(z)); });
  return out;
}

EndpointStats predicted_endpoint_stats(models::NetworkImpl& net0, models::NetworkImpl& net1, const InputMoments& input,
                                       const std::vector<std::string>& points) {
  RB_CHECK(!points.empty(), kUsage, net0.config().describe(), " has no points to REPAIR");
  std::map<int64_t, stats::ChannelStats> s0, s1;
  propagate(net0, input, [&](int64_t p, Gaussian& z) { s0[p] = channel_stats(z); });
  propagate(net1, input, [&](int64_t p, Gaussian& z) { s1[p] = channel_stats(z); });
  EndpointStats out;
  out.input = input;
  for (const auto& name : points) {
    const int64_t p = net0.point_index(name);
    RB_CHECK(s0.count(p), kUsage, "data-free REPAIR corrects Linear outputs only, not ", name);
    const auto& a = s0.at(p);
    const auto& b = s1.at(p);
    stats::PairStats ps;
    ps.mean0 = a.mean;
    ps.mean1 = b.mean;
    ps.var0 = a.var;
    ps.var1 = b.var;
    ps.std0 = a.var.sqrt();
    ps.std1 = b.var.sqrt();
    ps.sq0 = a.var + a.mean * a.mean;
    ps.sq1 = b.var + b.mean * b.mean;
    out.points.push_back(p);
    out.stats.push_back(ps);
  }
  return out;
}

std::vector<Correction> data_free_corrections(models::NetworkImpl& merged, const EndpointStats& endpoints, double alpha,
                                              const std::vector<int64_t>& points, const RepairOptions& options) {
  RB_CHECK(endpoints.input.mean.defined(), kInternal,
           "data-free REPAIR needs predicted endpoint statistics (predicted_endpoint_stats)");
  std::vector<Correction> out;
  propagate(merged, endpoints.input, [&](int64_t p, Gaussian& z) {
    if (std::find(points.begin(), points.end(), p) == points.end()) return;
    const Targets t = targets(endpoints.at(p), alpha);
    const auto var = z.cov.diagonal().clamp_min(0).clone();
    const auto scale = target_scale(t, options.target_std_eps);
    const auto g = scale / (var + options.bn_eps).sqrt();  // (C)
    out.push_back({p, scale, t.mean, z.mean.clone(), var});
    // The corrected layer's moments, as the fused layer will produce them.
    z = {g * (z.mean - out.back().mean) + t.mean, z.cov * torch::outer(g, g)};
  });
  return out;
}

}  // namespace repairbench::repair
