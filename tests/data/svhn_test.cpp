#include "repairbench/data/svhn.h"

#include <gtest/gtest.h>

#include "data_test_util.h"
#include "mat_test_util.h"
#include "repairbench/core/atomic_file.h"
#include "temp_dir.h"

namespace repairbench::data {
namespace {

using repairbench::testing::TempDir;
using repairbench::testing::write_bytes;
using test::MatVarSpec;
using test::SvhnFile;
using test::throws_data_error;
using test::write_mat;

void expect_images(const Dataset& d, int64_t n) {
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{n, 3, 32, 32}));
  const torch::Tensor h = torch::arange(32).view({1, 1, 32, 1});
  const torch::Tensor w = torch::arange(32).view({1, 1, 1, 32});
  const torch::Tensor c = torch::arange(3).view({1, 3, 1, 1});
  const torch::Tensor img = torch::arange(n).view({n, 1, 1, 1});
  const torch::Tensor expected = (h + 3 * w + 50 * c + 7 * img).remainder(256).to(torch::kUInt8);
  EXPECT_TRUE(torch::equal(d.images, expected));
}

TEST(Svhn, ReadsColumnMajorImagesAndMapsLabelTenToZero) {
  TempDir dir;
  SvhnFile f(12);
  write_mat(dir.file("train_32x32.mat"), {f.x_var(), f.y_var()});
  const Dataset d = read_svhn_mat(dir.file("train_32x32.mat"));
  EXPECT_EQ(d.name, "svhn");
  expect_images(d, 12);
  EXPECT_EQ(d.images[2][1][5][9].item<int>(), test::svhn_x_value(5, 9, 1, 2));
  EXPECT_TRUE(torch::equal(d.labels, torch::tensor({1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2}, torch::kInt64)));
}

TEST(Svhn, ReadsCompressedFilesAndTheStandardLayout) {
  TempDir dir;
  SvhnFile train(4);
  SvhnFile test(3);
  write_mat(dir.file("train_32x32.mat"), {train.x_var(), train.y_var()}, MAT_COMPRESSION_ZLIB);
  write_mat(dir.file("test_32x32.mat"), {test.x_var(), test.y_var()});
  const DatasetSplits s = load_svhn(dir.path());
  expect_images(s.train, 4);
  expect_images(s.test, 3);
}

TEST(Svhn, BadFilesThrowDataErrorsNamingTheFile) {
  TempDir dir;
  SvhnFile f(4);
  auto expect_bad = [&](const std::string& name, const std::vector<MatVarSpec>& vars, const std::string& says) {
    write_mat(dir.file(name), vars);
    EXPECT_TRUE(throws_data_error([&] { read_svhn_mat(dir.file(name)); }, {dir.file(name), says})) << name;
  };
  std::vector<double> x_double(3072 * 4, 1.0);
  expect_bad("double.mat", {{"X", MAT_C_DOUBLE, MAT_T_DOUBLE, {32, 32, 3, 4}, x_double.data()}, f.y_var()}, "uint8");
  expect_bad("grey.mat", {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 1, 12}, f.x.data()}, f.y_var()}, "32x32x3xN");
  expect_bad("no-y.mat", {f.x_var()}, "'y'");
  expect_bad("short-y.mat", {f.x_var(), {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {3, 1}, f.y.data()}}, "4x1");
  for (double bad : {11.0, 0.0, 2.5}) {
    SvhnFile g(4);
    g.y[2] = bad;
    expect_bad("label.mat", {g.x_var(), g.y_var()}, "at index 2");
  }

  write_mat(dir.file("good.mat"), {f.x_var(), f.y_var()});
  const std::string good = read_file(dir.file("good.mat"));
  write_bytes(dir.file("truncated.mat"), good.substr(0, good.size() / 2));
  EXPECT_TRUE(throws_data_error([&] { read_svhn_mat(dir.file("truncated.mat")); }, {dir.file("truncated.mat")}));
  write_bytes(dir.file("junk.mat"), std::string(300, 'j'));
  EXPECT_TRUE(throws_data_error([&] { read_svhn_mat(dir.file("junk.mat")); }, {dir.file("junk.mat")}));
  write_bytes(dir.file("empty.mat"), "");
  EXPECT_TRUE(throws_data_error([&] { read_svhn_mat(dir.file("empty.mat")); }, {dir.file("empty.mat")}));
  EXPECT_TRUE(
      throws_data_error([&] { read_svhn_mat(dir.file("missing.mat")); }, {dir.file("missing.mat"), "does not exist"}));
}

}  // namespace
}  // namespace repairbench::data
