#include "repairbench/pipeline/merge_many.h"

#include <gtest/gtest.h>

#include "model_cases.h"
#include "repairbench/core/error.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/merge.h"
#include "synthetic.h"

namespace repairbench {
namespace {

using testing::make_config;

std::vector<models::Network> independent_models(const models::ModelConfig& c, int64_t n) {
  std::vector<models::Network> nets;
  for (int64_t k = 0; k < n; ++k) {
    torch::manual_seed(100 + k);
    nets.push_back(models::make_network(c));
    testing::kaiming_init(*nets.back());
    nets.back()->eval();
  }
  return nets;
}

// Fixed order, no augmentation: every pass reads the same batches.
data::Loader fixed_loader(const data::Dataset& d) {
  data::LoaderOptions o;
  o.batch_size = 128;
  return data::Loader(d, o);
}

std::vector<models::NetworkImpl*> pointers(std::vector<models::Network>& nets) {
  std::vector<models::NetworkImpl*> out;
  for (auto& n : nets) out.push_back(n.get());
  return out;
}

// Two models: the uniform average is the alpha = 0.5 interpolation and the
// mean statistics are REPAIR's targets at 0.5, so merge_many reproduces
// merge()'s midpoint, uncorrected and corrected, and its ensemble is the
// two-model output ensemble.
TEST(MergeMany, TwoModelsAreMergesMidpoint) {
  const auto config = make_config("mlp", 32, "none", 1, 8, 10, 2);
  auto nets = independent_models(config, 2);
  const auto train = testing::template_dataset(512, 1, 8, 10, 11);
  const auto test = testing::template_dataset(256, 1, 8, 10, 12);
  auto loader = fixed_loader(train);
  pipeline::MergeOptions pair;
  pair.alphas = {0.5};
  pair.variance_ratios = false;
  const auto expected = pipeline::merge(*nets[0], *nets[1], loader, test, nullptr, pair, torch::kCPU);
  pipeline::ManyOptions many;
  const auto got = pipeline::merge_many(pointers(nets), loader, test, many, torch::kCPU);
  ASSERT_EQ(got.alignments.size(), 1u);
  for (size_t g = 0; g < got.alignments[0].perms.size(); ++g) {
    EXPECT_TRUE(got.alignments[0].perms[g].equal(expected.alignment.perms[g]));
  }
  EXPECT_NEAR(got.averaged.accuracy, expected.curves[0].points[0].test.accuracy, 1e-9);
  EXPECT_NEAR(got.averaged.loss, expected.curves[0].points[0].test.loss, 1e-5);
  EXPECT_NEAR(got.corrected.accuracy, expected.curves[1].points[0].test.accuracy, 1e-9);
  EXPECT_NEAR(got.corrected.loss, expected.curves[1].points[0].test.loss, 1e-4);
  const auto ensemble = metrics::evaluate_ensemble(*nets[0], *nets[1], 0.5, test, 2000, torch::kCPU);
  EXPECT_NEAR(got.ensemble.accuracy, ensemble.accuracy, 1e-9);
  EXPECT_EQ(got.endpoints.size(), 2u);
}

// Four BatchNorm models, BN reset: every model is aligned to the first, and
// the correction changes the averaged network (the interpolated BN statistics
// are not those of the average).
TEST(MergeMany, AlignsEveryModelToTheFirstAndCorrectsTheAverage) {
  const auto config = make_config("mlp", 16, "bn", 1, 8, 10, 1);
  auto nets = independent_models(config, 4);
  const auto train = testing::template_dataset(256, 1, 8, 10, 11);
  const auto test = testing::template_dataset(128, 1, 8, 10, 12);
  auto loader = fixed_loader(train);
  pipeline::ManyOptions many;
  many.correction = repair::RepairMethod::kResetBn;
  const auto got = pipeline::merge_many(pointers(nets), loader, test, many, torch::kCPU);
  EXPECT_EQ(got.alignments.size(), 3u);
  EXPECT_EQ(got.endpoints.size(), 4u);
  EXPECT_NE(got.corrected.loss, got.averaged.loss);
}

TEST(MergeMany, RefusesWhatItCannotMerge) {
  const auto config = make_config("mlp", 16, "none", 1, 8, 10, 1);
  auto nets = independent_models(config, 2);
  const auto d = testing::template_dataset(128, 1, 8, 10, 11);
  auto loader = fixed_loader(d);
  pipeline::ManyOptions many;
  auto one = pointers(nets);
  one.pop_back();
  EXPECT_THROW(pipeline::merge_many(one, loader, d, many, torch::kCPU), Error);
  many.correction = repair::RepairMethod::kClosedForm;
  EXPECT_THROW(pipeline::merge_many(pointers(nets), loader, d, many, torch::kCPU), Error);
  auto wider = independent_models(make_config("mlp", 32, "none", 1, 8, 10, 1), 1);
  std::vector<models::NetworkImpl*> mixed = {nets[0].get(), wider[0].get()};
  many.correction = repair::RepairMethod::kForward;
  EXPECT_THROW(pipeline::merge_many(mixed, loader, d, many, torch::kCPU), Error);
}

}  // namespace
}  // namespace repairbench
