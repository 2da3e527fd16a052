#include <gtest/gtest.h>

#include "model_cases.h"
#include "repairbench/core/error.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"

namespace repairbench {
namespace {

// Gives every BatchNorm non-trivial running statistics, so a permutation that
// forgot a buffer changes the eval-mode output.
void randomize_buffers(models::NetworkImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& buffer : net.named_buffers()) {
    if (buffer.key().find("running_mean") != std::string::npos) buffer.value().normal_(0, 0.2);
    if (buffer.key().find("running_var") != std::string::npos) buffer.value().uniform_(0.5, 2.0);
  }
  for (auto& param : net.named_parameters()) {
    // Norm affine parameters start at 1/0; make them channel-specific too.
    if (param.value().dim() == 1 && param.key().find("bn") != std::string::npos) {
      param.value().add_(torch::randn_like(param.value()) * 0.1);
    }
  }
}

std::vector<torch::Tensor> random_permutations(const models::PermutationSpec& spec) {
  std::vector<torch::Tensor> perms;
  for (const auto& g : spec.groups) perms.push_back(torch::randperm(g.size, torch::kInt64));
  return perms;
}

// The core symmetry REPAIR relies on: permuting the hidden units of every
// group, consistently across producers and consumers, leaves the function
// unchanged. A wrong or missing entry in a permutation spec breaks this.
TEST(PermutationSpec, RandomlyPermutedModelComputesTheSameLogits) {
  torch::manual_seed(0);
  for (const auto& model_case : testing::fixture_cases()) {
    SCOPED_TRACE(model_case.name);
    const auto& c = model_case.config;
    auto net = models::make_network(c);
    randomize_buffers(*net);
    net->eval();
    const auto spec = net->permutation_spec();
    for (const auto& group : spec.groups) {
      EXPECT_NO_THROW(net->point_index(group.match_point)) << group.name;
    }
    auto permuted = models::make_network(c);
    models::load_state_dict(
        *permuted, models::apply_permutations(spec, models::state_dict(*net), random_permutations(spec)), "permuted");
    permuted->eval();
    const int64_t size = c.image_size > 32 ? 64 : c.image_size;
    const auto x = torch::randn({3, c.in_channels, size, size});
    torch::NoGradGuard no_grad;
    const auto a = net->forward(x);
    const auto b = permuted->forward(x);
    EXPECT_LE((a - b).abs().max().item<double>(), 1e-4);
    // ... and the permutation really moved weights.
    EXPECT_FALSE(models::state_dict(*net)[0].second.equal(models::state_dict(*permuted)[0].second));
  }
}

TEST(PermutationSpec, ResidualStreamsAreSharedGroups) {
  auto net = models::make_network(testing::make_config("resnet20", 1, "bn", 3, 32));
  const auto spec = net->permutation_spec();
  // 3 streams + one intra-block group per block.
  EXPECT_EQ(spec.groups.size(), 3u + 9u);
  const int stream1 = spec.group_index("stream1");
  EXPECT_EQ(spec.axes.at("conv1.weight")[0], stream1);
  EXPECT_EQ(spec.axes.at("layer1.2.bn2.running_var")[0], stream1);
  EXPECT_EQ(spec.axes.at("layer2.0.shortcut.0.weight")[1], stream1);
  EXPECT_EQ(spec.axes.at("layer2.0.conv1.weight")[1], stream1);
  const int stream3 = spec.group_index("stream3");
  EXPECT_EQ(spec.axes.at("linear.weight")[1], stream3);
  // Permute-CIFAR10-ResNet20's stage-3 quirk (docs/reference/algorithm.md §5.7).
  EXPECT_EQ(spec.groups[stream3].match_point, "layer3.1");

  auto tv = models::make_network(testing::make_config("resnet18_imagenet", 1, "bn", 3, 224, 1000, 0, true));
  const auto tv_spec = tv->permutation_spec();
  EXPECT_NO_THROW(tv_spec.group_index("stream0"));  // junctures let the stem have its own
  EXPECT_EQ(tv_spec.axes.at("layer1.0.downsample.weight")[1], tv_spec.group_index("stream0"));
  EXPECT_EQ(tv_spec.axes.at("layer1.0.downsample.weight")[0], tv_spec.group_index("stream1"));
}

TEST(PermutationSpec, RejectsWrongPermutations) {
  auto net = models::make_network(testing::make_config("mlp", 8, "none", 1, 28, 10, 1));
  const auto spec = net->permutation_spec();
  auto perms = models::identity_permutations(spec);
  perms[0] = torch::zeros({8}, torch::kInt64);
  EXPECT_THROW(models::apply_permutations(spec, models::state_dict(*net), perms), Error);
  perms[0] = torch::arange(7, torch::kInt64);
  EXPECT_THROW(models::apply_permutations(spec, models::state_dict(*net), perms), Error);
  perms.pop_back();
  EXPECT_THROW(models::apply_permutations(spec, models::state_dict(*net), perms), Error);
}

}  // namespace
}  // namespace repairbench
