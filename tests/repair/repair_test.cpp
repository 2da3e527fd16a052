#include "repairbench/repair/repair.h"

#include <gtest/gtest.h>

#include "model_cases.h"
#include "repairbench/core/error.h"
#include "repairbench/interp/interpolate.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/repair/data_free.h"
#include "repairbench/stats/pair_stats.h"
#include "synthetic.h"

namespace repairbench {
namespace {

using testing::make_config;

models::Network interpolate(models::NetworkImpl& a, models::NetworkImpl& b, double alpha) {
  auto net = models::make_network(a.config());
  models::load_state_dict(*net, interp::interpolate(models::state_dict(a), models::state_dict(b), alpha), "mix");
  net->eval();
  return net;
}

// Fixed order, no augmentation: every pass sees the same batches, so the
// statistics REPAIR measured are exactly reproducible afterwards. `images` in
// batches of 128.
data::Loader fixed_loader(const models::ModelConfig& c, int64_t images = 512) {
  data::LoaderOptions o;
  o.batch_size = 128;
  o.channels = c.in_channels;
  return data::Loader(testing::template_dataset(images, c.in_channels, c.image_size, 10, 11), o);
}

torch::Tensor logits(models::NetworkImpl& net, data::Loader& loader) {
  torch::NoGradGuard no_grad;
  net.eval();
  loader.new_epoch();
  return net.forward(loader.batch(0).images);
}

struct Pair {
  models::Network a, b;
};

Pair independent_pair(const models::ModelConfig& c) {
  torch::manual_seed(10);
  auto a = models::make_network(c);
  testing::kaiming_init(*a);
  torch::manual_seed(20);
  auto b = models::make_network(c);
  testing::kaiming_init(*b);
  return {a, b};
}

// After forward-pass REPAIR every corrected channel of the merged net has the
// target statistics on the statistics data. The first corrected layer sees
// exactly the batches it was calibrated on, so it matches to float precision;
// deeper layers were calibrated while upstream layers normalized with batch
// statistics (docs/reference/algorithm.md §5.2) and are evaluated with running statistics, which
// moves them by a little: the worst channel-average error measured over these
// three nets was 0.023 (MLP), so deeper layers get a tolerance of 0.05.
TEST(Repair, MergedChannelsGetTheTargetStatistics) {
  for (const auto& config : {make_config("mlp", 32, "none", 1, 8, 10, 4), make_config("vgg11", 1, "none", 3, 32),
                             make_config("resnet20", 1, "ln", 3, 32)}) {
    SCOPED_TRACE(config.describe());
    auto [a, b] = independent_pair(config);
    auto loader = fixed_loader(config, 256);
    repair::RepairOptions options;
    const auto endpoints = repair::endpoint_stats(*a, *b, loader, repair::repair_points(*a, options), 1);
    EXPECT_EQ(endpoints.passes.data_passes, 1);  // both endpoints in one pass
    auto merged = interpolate(*a, *b, 0.5);
    const auto result = repair::repair(*merged, endpoints, 0.5, loader, options);
    EXPECT_EQ(result.passes.data_passes, 1);
    ASSERT_EQ(result.points.size(), endpoints.points.size());
    const auto after = stats::collect_channel_stats(*merged, loader, endpoints.points);
    double max_deep_error = 0;
    for (size_t i = 0; i < after.size(); ++i) {
      const auto t = repair::targets(endpoints.stats[i], 0.5);
      const double mean_err = ((after[i].mean - t.mean).abs() / t.std.clamp_min(1e-6)).max().item<double>();
      const double std_err = ((after[i].var.sqrt() - t.std).abs().sum() / t.std.sum()).item<double>();
      const double tolerance = i == 0 ? 1e-4 : 0.05;
      EXPECT_LT(mean_err, tolerance) << result.points[i] << " mean (in target stds)";
      EXPECT_LT(std_err, tolerance) << result.points[i] << " std (relative L1)";
      max_deep_error = std::max(max_deep_error, i == 0 ? 0.0 : std::max(mean_err, std_err));
    }
    RecordProperty(models::family_name(config.family) + "_max_deep_error", std::to_string(max_deep_error));
  }
}

// Fusing the correction into the producing layer changes nothing: the fused
// net computes what the reference's wrapped net (ResetLayer in eval mode) does.
TEST(Repair, FusedNetworkEqualsTheWrappedOne) {
  for (const auto& config : {make_config("mlp", 32, "none", 1, 8, 10, 3), make_config("vgg11", 1, "none", 3, 32),
                             make_config("resnet20", 1, "bn", 3, 32), make_config("resnet20", 1, "ln", 3, 32)}) {
    SCOPED_TRACE(config.describe());
    auto [a, b] = independent_pair(config);
    // Fusing is exact whatever the statistics: one batch is enough.
    auto loader = fixed_loader(config, 128);
    const auto endpoints = repair::endpoint_stats(
        *a, *b, loader, repair::default_repair_points(*a, repair::RepairMethod::kForward), 1, /*cross=*/true);
    for (auto method : {repair::RepairMethod::kForward, repair::RepairMethod::kClosedForm}) {
      repair::RepairOptions options;
      options.method = method;
      auto fused = interpolate(*a, *b, 0.3);
      const auto result = repair::repair(*fused, endpoints, 0.3, loader, options);
      // The wrapped net: the same merged weights (with the BN statistics the
      // repair pass re-estimated) plus the corrections applied by a probe.
      auto wrapped = interpolate(*a, *b, 0.3);
      if (method == repair::RepairMethod::kForward) {
        auto fused_state = models::state_dict(*fused);
        auto wrapped_state = models::state_dict(*wrapped);
        for (size_t i = 0; i < wrapped_state.size(); ++i) {
          if (wrapped_state[i].first.find("running_") != std::string::npos) {
            wrapped_state[i].second.copy_(fused_state[i].second);
          }
        }
      }
      repair::CorrectionProbe probe(result.corrections, options.bn_eps);
      torch::Tensor expected;
      {
        models::ProbeScope scope(*wrapped, &probe);
        expected = logits(*wrapped, loader);
      }
      const auto actual = logits(*fused, loader);
      EXPECT_LT((actual - expected).abs().max().item<double>(), 1e-3 * (1 + expected.abs().max().item<double>()))
          << repair::to_string(method);
    }
  }
}

// For the first layer the merged pre-activation is exactly (1-a) x0 + a x1,
// so closed-form REPAIR's predicted statistics equal the measured ones.
TEST(Repair, ClosedFormMatchesTheForwardPassOnTheFirstLayer) {
  const auto config = make_config("mlp", 32, "none", 1, 8, 10, 3);
  auto [a, b] = independent_pair(config);
  auto loader = fixed_loader(config);
  repair::RepairOptions forward, closed;
  closed.method = repair::RepairMethod::kClosedForm;
  const auto endpoints = repair::endpoint_stats(*a, *b, loader, repair::repair_points(*a, forward), 1, /*cross=*/true);
  auto m1 = interpolate(*a, *b, 0.4), m2 = interpolate(*a, *b, 0.4);
  const auto r1 = repair::repair(*m1, endpoints, 0.4, loader, forward);
  const auto r2 = repair::repair(*m2, endpoints, 0.4, loader, closed);
  ASSERT_EQ(r1.corrections.front().point, r2.corrections.front().point);
  EXPECT_TRUE(r1.corrections.front().mean.to(torch::kFloat64).allclose(r2.corrections.front().mean, 1e-4, 1e-5));
  EXPECT_TRUE(r1.corrections.front().var.to(torch::kFloat64).allclose(r2.corrections.front().var, 1e-3, 1e-5));
}

TEST(Repair, ResetBnReestimatesTheStatisticsAndNeedsBatchNorm) {
  auto [a, b] = independent_pair(make_config("resnet20", 1, "bn", 3, 32));
  auto loader = fixed_loader(a->config());
  auto merged = interpolate(*a, *b, 0.5);
  repair::RepairOptions options;
  options.method = repair::RepairMethod::kResetBn;
  const auto result = repair::repair(*merged, {}, 0.5, loader, options);
  EXPECT_EQ(result.batch_norms_reset, 21);  // stem + 2 per block x 9 + 2 shortcuts
  EXPECT_FALSE(merged->is_training());
  // The stem BN now holds the average of per-batch statistics of its input.
  const auto rm = models::find(models::state_dict(*merged), "bn1.running_mean");
  EXPECT_FALSE(rm.equal(torch::zeros_like(rm)));

  auto plain = models::make_network(make_config("vgg11", 1, "none", 3, 32));
  EXPECT_THROW(repair::repair(*plain, {}, 0.5, loader, options), Error);
}

// repair-blocks rescales block outputs with a wrapper (they have no layer
// to fold into) and the logits in place; the merged net with the wrapper has
// the target statistics at the block outputs.
TEST(Repair, BlockOutputCorrectionsStayAsAWrapper) {
  const auto config = make_config("resnet20", 1, "bn", 3, 32);
  auto [a, b] = independent_pair(config);
  auto loader = fixed_loader(config);
  repair::RepairOptions options;
  options.method = repair::RepairMethod::kBlocks;
  const auto points = repair::repair_points(*a, options);
  ASSERT_EQ(points.size(), 10u);  // 9 blocks + linear
  const auto endpoints = repair::endpoint_stats(*a, *b, loader, points, 1);
  auto merged = interpolate(*a, *b, 0.5);
  const auto result = repair::repair(*merged, endpoints, 0.5, loader, options);
  EXPECT_EQ(result.unfused.size(), 9u);
  EXPECT_EQ(result.corrections.size(), 10u);
  EXPECT_GT(result.batch_norms_reset, 0);
  repair::CorrectionProbe wrapper(result.unfused, options.bn_eps);
  models::ProbeScope scope(*merged, &wrapper);
  const int64_t first = merged->point_index("layer1.0");
  const auto after = stats::collect_channel_stats(*merged, loader, {first});
  const auto t = repair::targets(endpoints.at(first), 0.5);
  EXPECT_LT(((after[0].mean - t.mean).abs() / t.std.clamp_min(1e-6)).max().item<double>(), 0.05);
}

TEST(Repair, DefaultPointsArePreActivationsAndNeverTheLogits) {
  auto mlp = models::make_network(make_config("mlp", 16, "none", 1, 8, 10, 2));
  const auto forward = repair::RepairMethod::kForward;
  EXPECT_EQ(repair::default_repair_points(*mlp, forward), (std::vector<std::string>{"fc1", "layers.0", "layers.2"}));
  auto bn = models::make_network(make_config("vgg11", 1, "bn", 3, 32));
  for (const auto& name : repair::default_repair_points(*bn, forward)) {
    EXPECT_EQ(bn->point(name).kind, models::PointKind::kNormOutput) << name;
  }
  // The ImageNet variant: every residual block output and the logits.
  auto resnet = models::make_network(make_config("resnet18_imagenet", 1, "bn", 3, 32, 10, 0, true));
  const auto blocks = repair::default_repair_points(*resnet, repair::RepairMethod::kBlocks);
  EXPECT_EQ(blocks.size(), 9u);
  EXPECT_EQ(blocks.front(), "layer1.0");
  EXPECT_EQ(blocks.back(), "fc");
  EXPECT_THROW(repair::default_repair_points(*mlp, repair::RepairMethod::kBlocks), Error);
  EXPECT_THROW(repair::parse_repair_method("magic"), Error);
}

// The defining properties of RESCALE and RESHIFT, against REPAIR, at the
// first corrected layer (which sees exactly the batches it was calibrated on;
// one batch, so the per-batch averages are the data's own moments): RESCALE
// moves the std to sigma* and leaves the merged net's mean where it was;
// RESHIFT moves the mean to mu* and leaves the std; REPAIR moves both.
TEST(Repair, RescaleAndReshiftMoveOneMomentEach) {
  const auto config = make_config("mlp", 32, "none", 1, 8, 10, 2);
  auto [a, b] = independent_pair(config);
  data::LoaderOptions o;
  o.batch_size = 512;
  data::Loader loader(testing::template_dataset(512, 1, 8, 10, 11), o);
  const auto points = repair::default_repair_points(*a, repair::RepairMethod::kForward);
  const auto endpoints = repair::endpoint_stats(*a, *b, loader, points, 1);
  const int64_t first = endpoints.points.front();
  const auto t = repair::targets(endpoints.at(first), 0.5);
  auto plain = interpolate(*a, *b, 0.5);
  const auto before = stats::collect_channel_stats(*plain, loader, {first})[0];
  // Unbiased variances under a biased normalization: the std lands at
  // sigma* sqrt((n-1)/n), 0.1% low for n = 512.
  auto close = [](const torch::Tensor& x, const torch::Tensor& y) {
    return ((x - y).abs().max() / y.abs().max().clamp_min(1e-9)).item<double>();
  };
  for (auto method : {repair::RepairMethod::kForward, repair::RepairMethod::kRescale, repair::RepairMethod::kReshift}) {
    SCOPED_TRACE(repair::to_string(method));
    repair::RepairOptions options;
    options.method = method;
    EXPECT_EQ(repair::repair_points(*a, options), points);
    auto merged = interpolate(*a, *b, 0.5);
    const auto result = repair::repair(*merged, endpoints, 0.5, loader, options);
    EXPECT_EQ(result.corrections.size(), points.size());
    const auto after = stats::collect_channel_stats(*merged, loader, {first})[0];
    const bool moves_std = method != repair::RepairMethod::kReshift;
    const bool moves_mean = method != repair::RepairMethod::kRescale;
    EXPECT_LT(close(after.var.sqrt(), moves_std ? t.std : before.var.sqrt()), 3e-3);
    EXPECT_LT(close(after.mean, moves_mean ? t.mean : before.mean), 1e-4);
    // ... and the other moment is really changed (the targets differ from the merged net's own).
    EXPECT_GT(close(after.var.sqrt(), moves_std ? before.var.sqrt() : t.std), 0.05);
  }
  EXPECT_EQ(repair::parse_repair_method("rescale"), repair::RepairMethod::kRescale);
  EXPECT_EQ(repair::parse_repair_method("reshift"), repair::RepairMethod::kReshift);
}

// Data-free REPAIR. Through the first Linear the moment propagation is exact,
// so on one full batch its predicted endpoint statistics equal the measured
// ones; its corrections make the PREDICTED statistics of the fused merged net
// equal the targets at every corrected layer; and it runs no network on data.
TEST(Repair, DataFreePredictsTheFirstLayerExactlyAndHitsItsTargets) {
  const auto config = make_config("mlp", 32, "none", 1, 8, 10, 3);
  auto [a, b] = independent_pair(config);
  data::LoaderOptions o;
  o.batch_size = 256;
  data::Loader loader(testing::template_dataset(256, 1, 8, 10, 11), o);
  stats::PassCounter passes;
  const auto input = repair::input_moments(loader, 1, &passes);
  EXPECT_EQ(passes.data_passes, 1);
  EXPECT_EQ(passes.forward_batches, 0);
  EXPECT_EQ(input.images, 256);
  const auto points = repair::default_repair_points(*a, repair::RepairMethod::kDataFree);
  const auto predicted = repair::predicted_endpoint_stats(*a, *b, input, points);
  const auto measured = repair::endpoint_stats(*a, *b, loader, points, 1);
  const auto& p0 = predicted.stats.front();
  const auto& m0 = measured.stats.front();
  EXPECT_TRUE(p0.mean0.allclose(m0.mean0, 1e-5, 1e-6));
  EXPECT_TRUE(p0.var1.allclose(m0.var1, 1e-5, 1e-6));

  repair::RepairOptions options;
  options.method = repair::RepairMethod::kDataFree;
  auto merged = interpolate(*a, *b, 0.3);
  const auto result = repair::repair(*merged, predicted, 0.3, loader, options);
  EXPECT_EQ(result.passes.data_passes, 0);
  EXPECT_EQ(result.passes.forward_batches, 0);
  ASSERT_EQ(result.corrections.size(), points.size());
  EXPECT_TRUE(result.unfused.empty());
  const auto after = repair::predicted_layer_stats(*merged, input);  // the fused net, every layer output
  ASSERT_EQ(after.size(), points.size());
  for (size_t i = 0; i < after.size(); ++i) {
    const auto t = repair::targets(predicted.stats[i], 0.3);
    EXPECT_TRUE(after[i].mean.allclose(t.mean, 1e-4, 1e-5)) << points[i];
    // The fused scale is sqrt(sigma*^2 + 0) / sqrt(v + 1e-5): sigma* up to BN's eps.
    EXPECT_TRUE(after[i].var.sqrt().allclose(t.std, 1e-3, 1e-4)) << points[i];
  }
  EXPECT_EQ(repair::parse_repair_method("data-free"), repair::RepairMethod::kDataFree);
}

TEST(Repair, DataFreeRefusesNetworksItCannotPropagateThrough) {
  for (const auto& config : {make_config("mlp", 16, "bn", 1, 8, 10, 1), make_config("vgg11", 1, "none", 3, 32)}) {
    auto net = models::make_network(config);
    repair::InputMoments input{torch::zeros({config.in_channels * 64}, torch::kFloat64),
                               torch::eye(config.in_channels * 64, torch::kFloat64), 2};
    EXPECT_THROW(repair::predicted_layer_stats(*net, input), Error) << config.describe();
  }
}

}  // namespace
}  // namespace repairbench
