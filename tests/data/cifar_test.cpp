#include "repairbench/data/cifar.h"

#include <gtest/gtest.h>

#include "data_test_util.h"
#include "temp_dir.h"

namespace repairbench::data {
namespace {

using repairbench::testing::TempDir;
using repairbench::testing::write_bytes;
using test::throws_data_error;

// `n` records starting at global index `first`: label bytes from `label_of`,
// then 3072 pixel bytes counting up from the record index.
std::string records(int64_t first, int64_t n, const std::function<std::string(int64_t)>& label_of) {
  std::string bytes;
  for (int64_t r = first; r < first + n; ++r) {
    bytes += label_of(r) + test::counting_bytes(3072, static_cast<size_t>(r));
  }
  return bytes;
}

std::string cifar10_label(int64_t r) { return std::string(1, static_cast<char>(r % 10)); }

// Image r, channel-major: pixel (c, h, w) is byte c*1024 + h*32 + w of the record.
torch::Tensor expected_image(int64_t r) {
  return (torch::arange(3072) + r).remainder(256).to(torch::kUInt8).view({3, 32, 32});
}

TEST(Cifar, ReadsCifar10BatchesInOrder) {
  TempDir dir;
  write_bytes(dir.file("a.bin"), records(0, 3, cifar10_label));
  write_bytes(dir.file("b.bin"), records(3, 4, cifar10_label));
  const Dataset d = read_cifar10({dir.file("a.bin"), dir.file("b.bin")});
  EXPECT_EQ(d.name, "cifar10");
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{7, 3, 32, 32}));
  EXPECT_TRUE(d.images.is_contiguous());
  EXPECT_TRUE(torch::equal(d.labels, torch::arange(7)));
  for (int64_t r = 0; r < 7; ++r) EXPECT_TRUE(torch::equal(d.images[r], expected_image(r))) << r;
  EXPECT_EQ(d.images[1][2][3][4].item<int>(), (1 + 2 * 1024 + 3 * 32 + 4) % 256);
}

TEST(Cifar, LoadsTheStandardLayout) {
  TempDir dir;
  const std::vector<std::string> files = cifar10_files(dir.path());
  ASSERT_EQ(files.size(), 6u);
  for (size_t i = 0; i < files.size(); ++i) {
    write_bytes(files[i], records(static_cast<int64_t>(2 * i), 2, cifar10_label));
  }
  const DatasetSplits s = load_cifar10(dir.path());
  EXPECT_EQ(s.train.size(), 10);
  EXPECT_EQ(s.test.size(), 2);
  EXPECT_TRUE(torch::equal(s.test.images[1], expected_image(11)));
  EXPECT_EQ(s.test.labels[1].item<int64_t>(), 1);
}

TEST(Cifar, ReadsCifar100FineAndCoarseLabels) {
  TempDir dir;
  auto labels = [](int64_t r) { return std::string{static_cast<char>(r % 20), static_cast<char>(99 - r)}; };
  write_bytes(dir.file("train.bin"), records(0, 5, labels));
  write_bytes(dir.file("test.bin"), records(5, 2, labels));
  const Dataset fine = read_cifar100(dir.file("train.bin"));
  EXPECT_EQ(fine.name, "cifar100");
  EXPECT_EQ(fine.num_classes, 100);
  EXPECT_TRUE(torch::equal(fine.labels, torch::tensor({99, 98, 97, 96, 95}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(fine.images[4], expected_image(4)));
  const Dataset coarse = read_cifar100(dir.file("train.bin"), Cifar100Labels::kCoarse);
  EXPECT_EQ(coarse.num_classes, 20);
  EXPECT_TRUE(torch::equal(coarse.labels, torch::arange(5)));
  const DatasetSplits s = load_cifar100(dir.path());
  EXPECT_EQ(s.test.size(), 2);
  EXPECT_TRUE(torch::equal(s.test.images[0], expected_image(5)));
}

TEST(Cifar, BadFilesThrowDataErrorsNamingTheFile) {
  TempDir dir;
  const std::string good = records(0, 3, cifar10_label);
  write_bytes(dir.file("truncated.bin"), good.substr(0, good.size() - 1));
  write_bytes(dir.file("empty.bin"), "");
  std::string bad_label = good;
  bad_label[3073] = 10;
  write_bytes(dir.file("label.bin"), bad_label);
  for (const std::string name : {"truncated.bin", "empty.bin"}) {
    EXPECT_TRUE(
        throws_data_error([&] { read_cifar10({dir.file(name)}); }, {dir.file(name), "multiple of the 3073-byte"}));
  }
  EXPECT_TRUE(throws_data_error([&] { read_cifar10({dir.file("label.bin")}); },
                                {dir.file("label.bin"), "label 10 in record 1"}));
  EXPECT_TRUE(
      throws_data_error([&] { read_cifar10({dir.file("missing.bin")}); }, {dir.file("missing.bin"), "does not exist"}));
  // A CIFAR-10 file (3073-byte records) read as CIFAR-100 (3074).
  EXPECT_TRUE(throws_data_error([&] { read_cifar100(dir.file("label.bin")); }, {dir.file("label.bin"), "3074"}));
  auto fine_100 = [](int64_t) { return std::string{0, 100}; };
  write_bytes(dir.file("fine.bin"), records(0, 2, fine_100));
  EXPECT_TRUE(throws_data_error([&] { read_cifar100(dir.file("fine.bin")); }, {dir.file("fine.bin"), "label 100"}));
  EXPECT_NO_THROW(read_cifar100(dir.file("fine.bin"), Cifar100Labels::kCoarse));
}

}  // namespace
}  // namespace repairbench::data
