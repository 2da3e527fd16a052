#include "repairbench/interp/interpolate.h"

#include <gtest/gtest.h>

#include "model_cases.h"
#include "repairbench/core/error.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "synthetic.h"

namespace repairbench {
namespace {

models::StateDict random_state(const models::ModelConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  auto net = models::make_network(config);
  testing::kaiming_init(*net);
  return models::state_dict(*net);
}

TEST(Interpolate, EndpointsAreReproducedExactly) {
  const auto config = testing::make_config("resnet20", 1, "bn", 3, 32);
  const auto sa = random_state(config, 10), sb = random_state(config, 20);
  const auto at0 = interp::interpolate(sa, sb, 0.0), at1 = interp::interpolate(sa, sb, 1.0);
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_TRUE(at0[i].second.equal(sa[i].second)) << sa[i].first;
    EXPECT_TRUE(at1[i].second.equal(sb[i].second)) << sb[i].first;
  }
  const auto mid = interp::interpolate(sa, sb, 0.5);
  EXPECT_TRUE(mid[0].second.allclose((sa[0].second + sb[0].second) / 2));
}

// BatchNorm's num_batches_tracked is an integer: interpolated, then rounded.
TEST(Interpolate, IntegerEntriesAreRounded) {
  const auto config = testing::make_config("mlp", 16, "bn", 1, 8, 10, 1);
  auto sa = random_state(config, 1), sb = random_state(config, 2);
  size_t tracked = sa.size();
  for (size_t i = 0; i < sa.size(); ++i) {
    if (sa[i].first.find("num_batches_tracked") == std::string::npos) continue;
    sa[i].second.fill_(10);
    sb[i].second.fill_(21);
    tracked = i;
  }
  ASSERT_LT(tracked, sa.size());
  const auto mid = interp::interpolate(sa, sb, 0.5);
  EXPECT_EQ(mid[tracked].second.scalar_type(), torch::kInt64);
  EXPECT_EQ(mid[tracked].second.item<int64_t>(), 16);  // 15.5 rounded
}

TEST(Interpolate, AlphaGridParsing) {
  const auto grid = interp::parse_alpha_grid("0:1:11");
  ASSERT_EQ(grid.size(), 11u);
  EXPECT_DOUBLE_EQ(grid[5], 0.5);
  EXPECT_DOUBLE_EQ(grid[10], 1.0);
  EXPECT_EQ(interp::parse_alpha_grid("0,0.25,1"), (std::vector<double>{0, 0.25, 1}));
  EXPECT_THROW(interp::parse_alpha_grid("0:1"), Error);
  EXPECT_THROW(interp::parse_alpha_grid("0:1:x"), Error);
  EXPECT_THROW(interp::parse_alpha_grid(""), Error);
}

}  // namespace
}  // namespace repairbench
