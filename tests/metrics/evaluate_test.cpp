#include "repairbench/metrics/evaluate.h"

#include <gtest/gtest.h>

#include "model_cases.h"
#include "repairbench/metrics/flops.h"
#include "repairbench/models/zoo.h"
#include "synthetic.h"

namespace repairbench {
namespace {

TEST(Evaluate, EnsembleEndsAreTheModelsAndMidpointAveragesLogits) {
  const auto config = testing::make_config("mlp", 16, "none", 1, 8, 4, 1);
  auto net0 = models::make_network(config);
  auto net1 = models::make_network(config);
  const auto test = testing::random_dataset(64, 1, 8, 4, 3);
  const auto a = metrics::evaluate(*net0, test, 32, torch::kCPU);
  const auto b = metrics::evaluate(*net1, test, 32, torch::kCPU);
  const auto e0 = metrics::evaluate_ensemble(*net0, *net1, 0.0, test, 32, torch::kCPU);
  const auto e1 = metrics::evaluate_ensemble(*net0, *net1, 1.0, test, 32, torch::kCPU);
  EXPECT_DOUBLE_EQ(e0.accuracy, a.accuracy);
  EXPECT_NEAR(e0.loss, a.loss, 1e-6);
  EXPECT_DOUBLE_EQ(e1.accuracy, b.accuracy);
  EXPECT_NEAR(e1.loss, b.loss, 1e-6);
  // Averaging logits can only lower the loss below the mean of the two (cross-entropy is convex in the logits).
  const auto mid = metrics::evaluate_ensemble(*net0, *net1, 0.5, test, 32, torch::kCPU);
  EXPECT_LE(mid.loss, 0.5 * (a.loss + b.loss) + 1e-6);
}

TEST(Evaluate, FlipTtaMatchesOnMirrorSymmetricImages) {
  const auto config = testing::make_config("mlp", 16, "none", 1, 8, 4, 1);
  auto net = models::make_network(config);
  auto test = testing::random_dataset(64, 1, 8, 4, 5);
  // Images equal to their mirror image: TTA averages two identical logits.
  test.images = torch::cat({test.images.narrow(3, 0, 4), test.images.narrow(3, 0, 4).flip({3})}, 3).contiguous();
  const auto plain = metrics::evaluate(*net, test, 32, torch::kCPU);
  const auto tta = metrics::evaluate(*net, test, 32, torch::kCPU, /*flip_tta=*/true);
  EXPECT_DOUBLE_EQ(plain.accuracy, tta.accuracy);
  EXPECT_NEAR(plain.loss, tta.loss, 1e-6);
  // On ordinary images the mirrored view changes the logits.
  auto asym = testing::random_dataset(64, 1, 8, 4, 5);
  EXPECT_NE(metrics::evaluate(*net, asym, 32, torch::kCPU).loss,
            metrics::evaluate(*net, asym, 32, torch::kCPU, true).loss);
}

TEST(Flops, MlpIsAnalyticAndResNet18MatchesItsKnownCount) {
  auto mlp = models::make_network(testing::make_config("mlp", 128, "none", 1, 28, 10, 10));
  const auto f = metrics::forward_flops(*mlp, {2, 1, 28, 28});
  EXPECT_DOUBLE_EQ(f.per_image, 2.0 * (784 * 128 + 10 * 128 * 128 + 128 * 10));
  EXPECT_EQ(f.layers, 12);
  // torchvision's ResNet18 at 224 px: 1.814 G multiply-adds (convolutions and fc).
  auto r18 = models::make_network(testing::make_config("resnet18_imagenet", 1, "bn", 3, 224, 1000));
  EXPECT_NEAR(metrics::forward_flops(*r18, {1, 3, 224, 224}).per_image / 2e9, 1.814, 0.01);
  for (const auto& c : testing::fixture_cases()) {
    auto net = models::make_network(c.config);
    const auto& k = c.config;
    EXPECT_GT(metrics::forward_flops(*net, {1, k.in_channels, k.image_size, k.image_size}).layers, 0) << c.name;
  }
}

}  // namespace
}  // namespace repairbench
