#include "repairbench/metrics/barrier.h"

#include <gtest/gtest.h>

#include "repairbench/core/error.h"

namespace repairbench {
namespace {

TEST(Barrier, MidpointAndMaxOnAccuracy) {
  // Endpoints 90 and 80; the straight line is 85 at 0.5 and 87.5 at 0.25.
  const metrics::Path path{{0, 0.25, 0.5, 0.75, 1}, {90, 60, 70, 79, 80}};
  const auto b = metrics::barrier(path, 90, 80, /*higher_is_better=*/true);
  ASSERT_TRUE(b.midpoint.has_value());
  EXPECT_DOUBLE_EQ(*b.midpoint, 15.0);
  EXPECT_DOUBLE_EQ(b.max, 27.5);
  EXPECT_DOUBLE_EQ(b.alpha_at_max, 0.25);
}

TEST(Barrier, LossBarrierIsABump) {
  const metrics::Path path{{0, 0.5, 1}, {0.3, 2.3, 0.5}};
  const auto b = metrics::barrier(path, 0.3, 0.5, /*higher_is_better=*/false);
  EXPECT_DOUBLE_EQ(*b.midpoint, 1.9);
  EXPECT_DOUBLE_EQ(b.max, 1.9);
}

TEST(Barrier, NoMidpointOffTheGridAndRelativeReduction) {
  const auto b = metrics::barrier({{0, 0.4, 1}, {1, 0, 1}}, 1, 1, true);
  EXPECT_FALSE(b.midpoint.has_value());
  // The paper's Fashion-MNIST MLP h=128 numbers: 60.99 -> 17.55 is a 71.2% reduction.
  EXPECT_NEAR(*metrics::relative_reduction(60.99, 17.55), 0.7122, 1e-4);
  EXPECT_FALSE(metrics::relative_reduction(0.0, 1.0).has_value());
  EXPECT_THROW(metrics::barrier({{}, {}}, 0, 0, true), Error);
}

}  // namespace
}  // namespace repairbench
