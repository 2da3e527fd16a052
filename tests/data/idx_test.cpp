#include "repairbench/data/idx.h"

#include <gtest/gtest.h>

#include "data_test_util.h"
#include "repairbench/core/atomic_file.h"
#include "temp_dir.h"

namespace repairbench::data {
namespace {

using repairbench::testing::TempDir;
using repairbench::testing::write_bytes;
using test::idx_bytes;
using test::throws_data_error;

// 5 images of 3x4 with pixels 0, 1, 2, ... and labels 0..4.
struct TinyIdx {
  std::string images = idx_bytes(0x08, {5, 3, 4}, test::counting_bytes(60));
  std::string labels = idx_bytes(0x08, {5}, std::string("\0\1\2\3\4", 5));
};

TEST(Idx, ReadsRawFilesWithTheHeaderShape) {
  TempDir dir;
  write_bytes(dir.file("images"), TinyIdx().images);
  const torch::Tensor t = read_idx(dir.file("images"));
  EXPECT_EQ(t.scalar_type(), torch::kUInt8);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{5, 3, 4}));
  EXPECT_TRUE(torch::equal(t.flatten(), torch::arange(60).to(torch::kUInt8)));
}

TEST(Idx, ReadsGzipFilesWhateverTheirName) {
  TempDir dir;
  test::write_gzip(dir.file("images.gz"), TinyIdx().images);
  test::write_gzip(dir.file("no-suffix"), TinyIdx().images);
  EXPECT_TRUE(torch::equal(read_idx(dir.file("images.gz")).flatten(), torch::arange(60).to(torch::kUInt8)));
  EXPECT_EQ(read_idx(dir.file("no-suffix")).sizes(), (std::vector<int64_t>{5, 3, 4}));
}

TEST(Idx, WriterRoundTrips) {
  TempDir dir;
  const torch::Tensor a = torch::arange(2 * 3 * 5 * 7).remainder(256).to(torch::kUInt8).view({2, 3, 5, 7});
  write_idx(dir.file("sub/a.idx"), a);
  EXPECT_EQ(read_file(dir.file("sub/a.idx")).size(), 4u + 4 * 4 + 210);
  EXPECT_TRUE(torch::equal(read_idx(dir.file("sub/a.idx")), a));
  // Non-contiguous input is written in logical order.
  write_idx(dir.file("t.idx"), a[0].transpose(0, 1));
  EXPECT_TRUE(torch::equal(read_idx(dir.file("t.idx")), a[0].transpose(0, 1)));
  EXPECT_THROW(write_idx(dir.file("f.idx"), torch::zeros({2})), Error);
}

TEST(Idx, DatasetAddsTheChannelDimAndChecksLabels) {
  TempDir dir;
  write_bytes(dir.file("images"), TinyIdx().images);
  test::write_gzip(dir.file("labels.gz"), TinyIdx().labels);
  const Dataset d = read_idx_dataset(dir.file("images"), dir.file("labels.gz"), "mnist", 5);
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{5, 1, 3, 4}));
  EXPECT_EQ(d.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(d.labels, torch::arange(5)));
  EXPECT_EQ(d.images[2][0][1][3].item<int>(), 2 * 12 + 1 * 4 + 3);
  EXPECT_EQ(d.norm.mean, std::vector<double>{33.3184});

  EXPECT_TRUE(throws_data_error([&] { read_idx_dataset(dir.file("images"), dir.file("labels.gz"), "mnist", 4); },
                                {dir.file("labels.gz"), "label 4"}));
  write_bytes(dir.file("short-labels"), idx_bytes(0x08, {4}, std::string(4, '\0')));
  EXPECT_TRUE(throws_data_error([&] { read_idx_dataset(dir.file("images"), dir.file("short-labels"), "mnist", 10); },
                                {dir.file("short-labels"), "4 labels"}));
  write_bytes(dir.file("flat"), idx_bytes(0x08, {5, 12}, test::counting_bytes(60)));
  EXPECT_TRUE(throws_data_error([&] { read_idx_dataset(dir.file("flat"), dir.file("labels.gz"), "mnist", 10); },
                                {dir.file("flat"), "(N, H, W)"}));
}

TEST(Idx, BadFilesThrowDataErrorsNamingTheFile) {
  TempDir dir;
  const std::string good = TinyIdx().images;
  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"truncated", good.substr(0, good.size() - 1), "bytes"},
      {"trailing", good + "x", "bytes"},
      {"header-only", good.substr(0, 9), "header"},
      {"tiny", good.substr(0, 2), "header"},
      {"empty", "", "header"},
      {"magic", std::string("\1") + good.substr(1), "first two bytes"},
      {"float", idx_bytes(0x0D, {5, 3, 4}, std::string(240, '\0')), "element type 13"},
      {"no-dims", idx_bytes(0x08, {}, ""), "zero dims"},
      {"oversized", idx_bytes(0x08, {60000, 60000, 60000}, test::counting_bytes(60)), "need"},
      {"overflow", idx_bytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, ""), "impossible"},
  };
  for (const Case& c : cases) {
    write_bytes(dir.file(c.name), c.bytes);
    EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file(c.name)); }, {dir.file(c.name), c.says})) << c.name;
  }
  EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file("missing")); }, {dir.file("missing"), "does not exist"}));
}

TEST(Idx, BadGzipFilesThrowDataErrorsNamingTheFile) {
  TempDir dir;
  // Enough incompressible-ish data that the deflate stream spans many bytes.
  const std::string payload = test::counting_bytes(1000 * 97 * 13 + 5, 7);
  std::string big = idx_bytes(0x08, {1000, 97, 13}, payload.substr(0, 1000 * 97 * 13));
  for (size_t i = 16; i < big.size(); i += 7) big[i] = static_cast<char>(big[i] * 31 + i);
  test::write_gzip(dir.file("good.gz"), big);
  ASSERT_EQ(read_idx(dir.file("good.gz")).numel(), 1000 * 97 * 13);
  const std::string gz = read_file(dir.file("good.gz"));

  write_bytes(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file("cut.gz")); }, {dir.file("cut.gz")}));
  std::string flipped = gz;
  for (size_t i = gz.size() / 3; i < gz.size() / 3 + 64; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  write_bytes(dir.file("flipped.gz"), flipped);
  EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file("flipped.gz")); }, {dir.file("flipped.gz")}));
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] = static_cast<char>(~bad_crc[gz.size() - 6]);
  write_bytes(dir.file("crc.gz"), bad_crc);
  EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file("crc.gz")); }, {dir.file("crc.gz")}));

  // A header that claims far more than the compressed file could hold.
  test::write_gzip(dir.file("oversized.gz"), idx_bytes(0x08, {60000, 60000, 600}, "abc"));
  EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file("oversized.gz")); }, {dir.file("oversized.gz"), "compressed"}));
  test::write_gzip(dir.file("short.gz"), idx_bytes(0x08, {5, 3, 4}, std::string(50, 'a')));
  EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file("short.gz")); }, {dir.file("short.gz"), "truncated"}));
  test::write_gzip(dir.file("long.gz"), TinyIdx().images + "extra");
  EXPECT_TRUE(throws_data_error([&] { read_idx(dir.file("long.gz")); }, {dir.file("long.gz"), "more data"}));
}

}  // namespace
}  // namespace repairbench::data
