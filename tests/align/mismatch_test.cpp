// Two models of different architectures or widths cannot be aligned, compared
// or merged: every library entry point refuses them with Error(kUsage) whose
// message says which fields differ, before touching any data.
#include <gtest/gtest.h>

#include "expect_error.h"
#include "model_cases.h"
#include "repairbench/align/matching.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/merge.h"
#include "repairbench/stats/pair_stats.h"
#include "synthetic.h"

namespace repairbench {
namespace {

using testing::make_config;
using testing::throws_error;

TEST(Mismatch, ConfigDifferenceNamesEachDifferingField) {
  const auto mlp = make_config("mlp", 128, "none", 1, 28, 10, 10);
  EXPECT_EQ(models::config_difference(mlp, mlp), "");
  EXPECT_EQ(models::config_difference(mlp, make_config("mlp", 64, "none", 1, 28, 10, 2)),
            "width 128 vs 64, depth 10 vs 2");
  EXPECT_EQ(models::config_difference(mlp, make_config("vgg11", 1, "bn", 3, 32, 100)),
            "family mlp vs vgg11, width 128 vs 1, norm none vs bn, in_channels 1 vs 3, "
            "image_size 28 vs 32, num_classes 10 vs 100");
}

TEST(Mismatch, AlignmentAndMergeEntryPointsSayWhatDiffers) {
  auto narrow = models::make_network(make_config("mlp", 8, "none", 1, 8, 10, 2));
  auto wide = models::make_network(make_config("mlp", 16, "none", 1, 8, 10, 2));
  auto deeper = models::make_network(make_config("mlp", 8, "none", 1, 8, 10, 3));
  auto vgg = models::make_network(make_config("vgg11", 1, "none", 3, 32));
  const data::Dataset dataset = testing::random_dataset(20, 1, 8, 10, 0);
  data::Loader loader(dataset, {});
  // Named rather than braced in the calls: GCC 12 warns of maybe-uninitialized
  // maps inside temporaries destroyed in a lambda.
  align::WeightMatchingOptions weight;
  align::ActivationMatchingOptions activation;
  stats::PairStatsRequest request;
  pipeline::MergeOptions options;

  EXPECT_TRUE(throws_error(ErrorKind::kUsage, [&] { align::weight_matching(*narrow, *wide, weight); },
                           {"cannot align", "width 16 vs 8"}));
  EXPECT_TRUE(throws_error(ErrorKind::kUsage, [&] { align::activation_matching(*narrow, *deeper, loader, activation); },
                           {"cannot compare", "depth 2 vs 3"}));
  EXPECT_TRUE(throws_error(ErrorKind::kUsage, [&] { stats::collect_pair_stats(*narrow, *wide, loader, request); },
                           {"cannot compare", "width 8 vs 16"}));
  EXPECT_TRUE(throws_error(
      ErrorKind::kUsage, [&] { pipeline::merge(*narrow, *vgg, loader, dataset, nullptr, options, torch::kCPU); },
      {"cannot merge", "family mlp vs vgg11, width 8 vs 1, in_channels 1 vs 3, image_size 8 vs 32"}));
}

}  // namespace
}  // namespace repairbench
