// Sharded sweeps store each run's merge results as JSON and collate them later
//: reading them back must reproduce the same report exactly.
#include "repairbench/report/merge_report.h"

#include <gtest/gtest.h>

#include "expect_error.h"
#include "model_cases.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/merge.h"
#include "synthetic.h"

namespace repairbench {
namespace {

pipeline::MergeResult small_merge(const std::string& match) {
  const auto config = testing::make_config("mlp", 8, "none", 1, 8, 10, 2);
  torch::manual_seed(3);
  auto a = models::make_network(config);
  auto b = models::make_network(config);
  const auto train = testing::template_dataset(256, 1, 8, 10, 1);
  const auto test = testing::template_dataset(128, 1, 8, 10, 2);
  data::LoaderOptions lo;
  lo.batch_size = 64;
  data::Loader loader(train, lo);
  pipeline::MergeOptions options;
  options.match = pipeline::parse_matcher(match);
  options.repairs = {repair::RepairMethod::kForward, repair::RepairMethod::kClosedForm};
  options.alphas = {0.0, 0.5, 1.0};
  options.eval_train = true;
  return pipeline::merge(*a, *b, loader, test, &train, options, torch::kCPU);
}

TEST(MergeReport, ResultsReadBackGiveTheSameJsonExactly) {
  for (const std::string match : {"activation", "weight"}) {
    const auto result = small_merge(match);
    const auto json = report::merge_results_json(result);
    // Through text, as a shard report stores it: doubles survive exactly.
    const auto stored = nlohmann::json::parse(json.dump(1));
    const auto perms = nlohmann::json::parse(report::permutations_json(result.alignment).dump());
    const auto back = report::merge_result_from_json(stored, perms);
    EXPECT_EQ(report::merge_results_json(back), json) << match;
    ASSERT_EQ(back.alignment.perms.size(), result.alignment.perms.size());
    for (size_t g = 0; g < back.alignment.perms.size(); ++g) {
      EXPECT_TRUE(back.alignment.perms[g].equal(result.alignment.perms[g])) << match << " group " << g;
    }
    ASSERT_TRUE(back.endpoint0_train.has_value());
    EXPECT_EQ(back.curves.size(), 3u);
  }
}

TEST(MergeReport, IncompleteStoredResultsAreAnIoError) {
  const auto result = small_merge("activation");
  const auto json = report::merge_results_json(result);
  const auto perms = report::permutations_json(result.alignment);
  auto no_curves = json;
  no_curves.erase("curves");
  EXPECT_TRUE(testing::throws_error(ErrorKind::kIo, [&] { report::merge_result_from_json(no_curves, perms); },
                                    {"incomplete or mistyped", "curves"}));
  auto wrong_type = json;
  wrong_type["alignment"]["method"] = 3;
  EXPECT_TRUE(testing::throws_error(ErrorKind::kIo, [&] { report::merge_result_from_json(wrong_type, perms); },
                                    {"incomplete or mistyped"}));
  EXPECT_TRUE(testing::throws_error(
      ErrorKind::kIo, [&] { report::merge_result_from_json(json, nlohmann::json::array()); }, {"permutations"}));
}

}  // namespace
}  // namespace repairbench
