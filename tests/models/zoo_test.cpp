#include "repairbench/models/zoo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "model_cases.h"
#include "repairbench/core/error.h"
#include "repairbench/models/family.h"
#include "repairbench/models/mlp.h"
#include "repairbench/models/state_dict.h"

namespace repairbench {
namespace {

nlohmann::json load_keys_fixture() {
  std::ifstream in(REPAIRBENCH_SOURCE_DIR "/tests/fixtures/models/keys.json");
  EXPECT_TRUE(in.good()) << "run /usr/bin/python3 tools/make_model_fixtures.py";
  return nlohmann::json::parse(in);
}

// Parameter names, order and shapes equal PyTorch's state_dict for every
// family, so checkpoints from the official code and torchvision load 1:1.
TEST(ModelZoo, StateDictKeysAndShapesMatchPyTorch) {
  const nlohmann::json fixture = load_keys_fixture();
  for (const auto& model_case : testing::fixture_cases()) {
    SCOPED_TRACE(model_case.name);
    const auto& expected = fixture.at("models").at(model_case.name);
    auto net = models::make_network(model_case.config);
    const auto state = models::state_dict(*net);
    ASSERT_EQ(state.size(), expected.size());
    for (size_t i = 0; i < state.size(); ++i) {
      EXPECT_EQ(state[i].first, expected[i][0].get<std::string>()) << "entry " << i;
      EXPECT_EQ(state[i].second.sizes().vec(), expected[i][1].get<std::vector<int64_t>>()) << state[i].first;
    }
  }
}

// Records which points a forward pass visits.
class RecordingProbe : public models::ActivationProbe {
 public:
  torch::Tensor visit(int64_t point, const torch::Tensor& x) override {
    visits.emplace_back(point, x.size(1));
    return x;
  }
  std::vector<std::pair<int64_t, int64_t>> visits;
};

TEST(ModelZoo, EveryDeclaredPointIsVisitedOnceWithItsChannelCount) {
  for (const auto& model_case : testing::fixture_cases()) {
    if (model_case.config.image_size > 32) continue;  // the ImageNet nets are slow here
    SCOPED_TRACE(model_case.name);
    auto net = models::make_network(model_case.config);
    net->eval();
    RecordingProbe probe;
    torch::Tensor logits;
    {
      models::ProbeScope scope(*net, &probe);
      torch::NoGradGuard no_grad;
      const auto& c = model_case.config;
      logits = net->forward(torch::randn({2, c.in_channels, c.image_size, c.image_size}));
    }
    EXPECT_EQ(net->probe(), nullptr);
    EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{2, model_case.config.num_classes}));
    ASSERT_EQ(probe.visits.size(), net->points().size());
    std::set<int64_t> seen;
    for (const auto& [point, channels] : probe.visits) {
      EXPECT_TRUE(seen.insert(point).second) << net->points()[point].name << " visited twice";
      EXPECT_EQ(channels, net->points()[point].channels) << net->points()[point].name;
    }
  }
}

TEST(ModelZoo, ImageNetResNetsRunOnSmallInputs) {
  for (const auto& model_case : testing::fixture_cases()) {
    if (model_case.config.image_size <= 32) continue;
    SCOPED_TRACE(model_case.name);
    auto net = models::make_network(model_case.config);
    net->eval();
    torch::NoGradGuard no_grad;
    EXPECT_EQ(net->forward(torch::randn({1, 3, 64, 64})).sizes().vec(), (std::vector<int64_t>{1, 1000}));
  }
}

TEST(ModelZoo, InvalidConfigsAreRefusedWithTheFieldNamed) {
  auto expect_usage_error = [](models::ModelConfig c, const std::string& needle) {
    try {
      models::make_network(c);
      ADD_FAILURE() << "accepted " << c.describe();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // A family is a name from the table wherever it comes in (flags, checkpoints).
  nlohmann::json stored = testing::make_config("mlp", 128, "none", 1, 28);
  stored["family"] = "transformer";
  try {
    stored.get<models::ModelConfig>();
    ADD_FAILURE() << "accepted family 'transformer'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("unknown model family"), std::string::npos) << e.what();
  }
  auto c = testing::make_config("mlp", 0, "none", 1, 28);
  expect_usage_error(c, "width");
  c = testing::make_config("vgg11", 1, "ln", 3, 32);
  expect_usage_error(c, "LayerNorm");
  c = testing::make_config("vgg11", 1, "none", 1, 28);
  expect_usage_error(c, "32x32");
}

// The one table of family facts: the VGG cfgs, which norms a
// family has and which module builds it.
TEST(ModelZoo, FamilyTable) {
  EXPECT_EQ(models::model_families(),
            (std::vector<std::string>{"mlp", "vgg11", "vgg13", "vgg16", "vgg19", "resnet20", "resnet18",
                                      "resnet18_imagenet", "resnet50", "wide_resnet50_2"}));
  for (const auto& info : models::family_infos()) {
    EXPECT_EQ(&models::family_info(info.name), &info);
    EXPECT_EQ(models::parse_family(info.name), info.family);
    EXPECT_EQ(models::family_name(info.family), info.name);
    // VGG-n has n weight layers: its convs and three fully connected ones.
    if (info.architecture == models::Architecture::kVgg) {
      const auto convs = std::count_if(info.vgg_layers.begin(), info.vgg_layers.end(), [](int64_t c) { return c > 0; });
      EXPECT_EQ(std::to_string(convs + 3), info.name.substr(3)) << info.name;
      EXPECT_EQ(std::count(info.vgg_layers.begin(), info.vgg_layers.end(), -1), 5) << info.name;  // 32 px -> 1
    } else {
      EXPECT_TRUE(info.vgg_layers.empty()) << info.name;
    }
  }
  EXPECT_TRUE(models::family_info("resnet20").layernorm);
  EXPECT_TRUE(models::family_info("resnet18").batchnorm_only);
  EXPECT_FALSE(models::family_info("resnet18").torchvision);
  EXPECT_TRUE(models::family_info("wide_resnet50_2").torchvision);
  EXPECT_EQ(models::family_info("mlp").max_width, 65536);
  EXPECT_EQ(models::find_family("transformer"), nullptr);
  EXPECT_THROW(models::family_info("transformer"), Error);
  EXPECT_THROW(models::parse_family("transformer"), Error);
}

TEST(ModelZoo, LoadStateDictSaysWhatDiffers) {
  auto small = models::make_network(testing::make_config("mlp", 16, "none", 1, 28, 10, 2));
  auto wide = models::make_network(testing::make_config("mlp", 32, "none", 1, 28, 10, 2));
  try {
    models::load_state_dict(*small, models::state_dict(*wide), "wide.pt");
    FAIL() << "expected a mismatch";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint);
    const std::string message = e.what();
    EXPECT_NE(message.find("wide.pt"), std::string::npos);
    EXPECT_NE(message.find("fc1.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("shape mismatch"), std::string::npos) << message;
  }
}

// The depth study merges BatchNorm-trained MLPs after folding the BN into the
// linears (docs/reference/algorithm.md §3): the fused plain MLP must compute
// the same function as the BN MLP in eval mode.
TEST(ModelZoo, FusedBatchNormMlpComputesTheSameFunction) {
  auto bn = models::make_network(testing::make_config("mlp", 12, "bn", 1, 6, 5, 3));
  torch::manual_seed(4);
  {
    torch::NoGradGuard no_grad;
    for (auto& buffer : bn->named_buffers()) {
      if (buffer.key().find("running_var") != std::string::npos) buffer.value().uniform_(0.5, 2.0);
      if (buffer.key().find("running_mean") != std::string::npos) buffer.value().normal_();
    }
    for (auto& p : bn->named_parameters()) p.value().normal_(0, 0.5);
  }
  bn->eval();
  auto fused = models::fuse_mlp_batchnorm(*bn);
  EXPECT_EQ(fused->config().norm, models::Norm::kNone);
  const auto x = torch::randn({7, 1, 6, 6});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(bn->forward(x), fused->forward(x), 1e-4, 1e-5));
  auto plain = models::make_network(testing::make_config("mlp", 12, "none", 1, 6, 5, 3));
  EXPECT_THROW(models::fuse_mlp_batchnorm(*plain), Error);
}

}  // namespace
}  // namespace repairbench
