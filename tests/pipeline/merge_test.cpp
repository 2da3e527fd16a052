#include "repairbench/pipeline/merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "model_cases.h"
#include "repairbench/core/error.h"
#include "repairbench/models/zoo.h"
#include "synthetic.h"

namespace repairbench {
namespace {

using repair::RepairMethod;
using testing::make_config;

struct Fixture {
  models::Network a, b;
  data::Dataset train, test;
};

Fixture fixture() {
  const auto config = make_config("mlp", 32, "none", 1, 8, 10, 2);
  Fixture f;
  torch::manual_seed(30);
  f.a = models::make_network(config);
  testing::kaiming_init(*f.a);
  torch::manual_seed(31);
  f.b = models::make_network(config);
  testing::kaiming_init(*f.b);
  f.train = testing::template_dataset(512, 1, 8, 10, 11);
  f.test = testing::template_dataset(256, 1, 8, 10, 12);
  return f;
}

// Shuffled and augmented like the reference's statistics loaders: whatever a
// merge reads, the next merge with the same seed reads it again.
data::Loader shuffled_loader(const data::Dataset& d, int64_t max_batches = 0) {
  data::LoaderOptions o;
  o.batch_size = 64;
  o.shuffle = true;
  o.augment = data::parse_augment("flip+translate2");
  o.max_batches = max_batches;
  return data::Loader(d, o);
}

const pipeline::Curve& curve(const pipeline::MergeResult& r, const std::string& name) {
  for (const auto& c : r.curves) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no curve " + name);
}

// Alpha 0 and 1 of the aligned interpolation are model A and the permuted
// model B, which computes what B does: their accuracies are the endpoints'.
TEST(Merge, TheInterpolationEndsAtTheEndpoints) {
  auto f = fixture();
  auto loader = shuffled_loader(f.train);
  pipeline::MergeOptions options;
  options.alphas = {0.0, 1.0};
  options.repairs = {};
  for (const char* match : {"activation", "covariance", "weight", "random"}) {
    SCOPED_TRACE(match);
    options.match = pipeline::parse_matcher(match);
    EXPECT_STREQ(pipeline::matcher_name(options.match), match);
    const auto r = pipeline::merge(*f.a, *f.b, loader, f.test, nullptr, options, torch::kCPU);
    ASSERT_EQ(r.curves.size(), 1u);
    EXPECT_EQ(r.alignment.method, match);
    EXPECT_DOUBLE_EQ(r.curves[0].points[0].test.accuracy, r.endpoint0_test.accuracy);
    EXPECT_NEAR(r.curves[0].points[1].test.accuracy, r.endpoint1_test.accuracy, 1e-9);
  }
  try {
    pipeline::parse_matcher("cosine");
    ADD_FAILURE() << "an unknown matcher was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("activation, covariance, inner-product, weight, none or random"),
              std::string::npos)
        << e.what();
  }
  // Every name in the table parses back to its matcher.
  for (const auto& name : pipeline::matcher_names())
    EXPECT_EQ(pipeline::matcher_name(pipeline::parse_matcher(name)), name);
}

// Data-free REPAIR reads its input moments from a loader of its own, so
// asking for it leaves the curves before it exactly as they were (the
// statistics loader is shared in curve order: each curve's passes, and the
// variance ratios after it, draw the batches the next curve does not see).
TEST(Merge, AddingDataFreeRepairChangesNoOtherCurve) {
  auto f = fixture();
  pipeline::MergeOptions options;
  options.alphas = {0.5};
  options.repairs = {RepairMethod::kForward, RepairMethod::kRescale};
  auto first = shuffled_loader(f.train);
  const auto without = pipeline::merge(*f.a, *f.b, first, f.test, nullptr, options, torch::kCPU);
  options.repairs = {RepairMethod::kForward, RepairMethod::kRescale, RepairMethod::kDataFree};
  auto second = shuffled_loader(f.train);
  const auto with = pipeline::merge(*f.a, *f.b, second, f.test, nullptr, options, torch::kCPU);
  for (const char* name : {"interpolated", "repair", "rescale"}) {
    EXPECT_EQ(curve(with, name).points[0].test.loss, curve(without, name).points[0].test.loss) << name;
  }
  EXPECT_EQ(with.variance_ratios.front().after.size(), 3u);
  EXPECT_GT(curve(with, "data-free").points[0].test.loss, 0);
}

// The std ratio after REPAIR is measured twice: on the statistics data, where
// REPAIR has just imposed its targets, and on the test set against the
// aligned endpoints' own sigma* there. The statistics-data ratio is blind to
// wrong targets: REPAIR targets taken from the unaligned model B (channel i's
// target mixes A's channel i with an unrelated channel of B) still read 1
// there. The held-out ratio is its own measurement: another test set moves
// it and leaves every statistics-data ratio exactly as it was.
TEST(Merge, TheHeldOutStdRatioIsMeasuredOnTheTestSetAlone) {
  auto f = fixture();
  pipeline::MergeOptions options;
  options.alphas = {0.5};
  options.repairs = {RepairMethod::kForward};
  auto run = [&](const data::Dataset& test, bool wrong_targets) {
    options.repair_stats_from_unaligned_b = wrong_targets;
    auto loader = shuffled_loader(f.train);
    return pipeline::merge(*f.a, *f.b, loader, test, nullptr, options, torch::kCPU);
  };
  const auto wrong = run(f.test, true);
  for (const auto& v : wrong.variance_ratios) EXPECT_NEAR(v.after.at(0), 1.0, 0.05) << v.point;
  const auto r = run(f.test, false);
  const auto other = run(testing::template_dataset(256, 1, 8, 10, 99), false);
  ASSERT_EQ(r.variance_ratios.size(), other.variance_ratios.size());
  bool moved = false;
  for (size_t i = 0; i < r.variance_ratios.size(); ++i) {
    const auto &v = r.variance_ratios[i], &w = other.variance_ratios[i];
    ASSERT_EQ(v.held_out_after.size(), 1u);
    EXPECT_EQ(v.before, w.before);
    EXPECT_EQ(v.after, w.after);
    moved = moved || v.held_out_before != w.held_out_before || v.held_out_after != w.held_out_after;
  }
  EXPECT_TRUE(moved);
}

// The statistics budget: with max_batches every statistics pass reads that
// many batches; matching reads all of them from its own loader.
TEST(Merge, TheStatisticsBudgetCapsEveryPass) {
  auto f = fixture();
  pipeline::MergeOptions options;
  options.alphas = {0.5};
  options.variance_ratios = false;
  auto full = shuffled_loader(f.train);
  auto capped = shuffled_loader(f.train, 2);
  options.match_loader = &full;
  const auto r = pipeline::merge(*f.a, *f.b, capped, f.test, nullptr, options, torch::kCPU);
  EXPECT_EQ(r.alignment.passes.forward_batches, 2 * full.num_batches());  // 8 batches, both nets
  EXPECT_EQ(r.endpoint_stats_passes.forward_batches, 2 * 2);
  EXPECT_EQ(capped.num_images(), 128);
  data::LoaderOptions bad;
  bad.max_batches = -1;
  EXPECT_THROW(data::Loader(f.train, bad), Error);
}

}  // namespace
}  // namespace repairbench
