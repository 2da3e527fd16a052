#include "repairbench/metrics/flops.h"

#include <torch/torch.h>

#include <map>
#include <set>

#include "repairbench/core/error.h"
#include "repairbench/models/state_dict.h"

namespace repairbench::metrics {
namespace {

// Records the output shape at every point whose producer is a Linear/Conv2d.
class ShapeProbe : public models::ActivationProbe {
 public:
  explicit ShapeProbe(const models::NetworkImpl& net) : net_(net) {}
  torch::Tensor visit(int64_t point, const torch::Tensor& x) override {
    const auto& p = net_.points()[point];
    if (p.kind == models::PointKind::kLayerOutput || p.kind == models::PointKind::kLogits)
      shapes[p.weight] = x.sizes().vec();
    return x;
  }
  std::map<std::string, std::vector<int64_t>> shapes;  // weight key -> output shape

 private:
  const models::NetworkImpl& net_;
};

}  // namespace

ForwardFlops forward_flops(models::NetworkImpl& net, const std::vector<int64_t>& input_shape) {
  RB_CHECK(input_shape.size() == 4 && input_shape[0] > 0, kUsage, "forward_flops wants an (N, C, H, W) shape");
  ShapeProbe probe(net);
  {
    models::ProbeScope scope(net, &probe);
    torch::NoGradGuard no_grad;
    const models::ModeScope eval_mode(net, false);
    net.forward(torch::zeros(input_shape));
  }
  ForwardFlops out;
  double total = 0;
  for (const auto& [key, weight] : models::state_dict(net)) {
    const bool linear_or_conv =
        (weight.dim() == 2 || weight.dim() == 4) && key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0;
    if (!linear_or_conv) continue;
    const auto it = probe.shapes.find(key);
    RB_CHECK(it != probe.shapes.end(), kInternal, "forward_flops: layer ", key,
             " has no activation point, so its FLOPs cannot be counted");
    const auto& y = it->second;
    double macs = static_cast<double>(weight.numel());                        // C_out x C_in/groups x kh x kw
    for (size_t d = 2; d < y.size(); ++d) macs *= static_cast<double>(y[d]);  // x H' x W'
    total += 2.0 * macs;                                                      // per image
    ++out.layers;
  }
  out.per_image = total;
  return out;
}

}  // namespace repairbench::metrics
