#include "repairbench/data/image_folder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "data_test_util.h"
#include "temp_dir.h"

namespace repairbench::data {
namespace {

using repairbench::testing::TempDir;
using repairbench::testing::write_bytes;
using test::throws_data_error;

// A BGR image whose blue channel is the column, green the row and red `tag`.
void write_png(const std::string& path, int rows, int cols, int tag) {
  cv::Mat img(rows, cols, CV_8UC3);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) img.at<cv::Vec3b>(r, c) = cv::Vec3b(c, r, tag);
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, img)) << path;
}

ImageFolderOptions sized(int64_t size, double crop_ratio = 1.0) {
  ImageFolderOptions options;
  options.size = size;
  options.crop_ratio = crop_ratio;
  return options;
}

TEST(ImageFolder, SortedClassesCenterCropAndRgbOrder) {
  TempDir dir;
  // Class directories are sorted: "a_cls" is class 0 although written second.
  write_png(dir.file("b_cls/x.png"), 8, 12, 30);
  write_png(dir.file("a_cls/2.png"), 8, 12, 20);
  write_png(dir.file("a_cls/1.png"), 8, 12, 10);
  write_bytes(dir.file("a_cls/.hidden"), "skipped");
  EXPECT_EQ(image_folder_classes(dir.path()), (std::vector<std::string>{"a_cls", "b_cls"}));

  // 8x12 -> the central 8x8 square, already the output size: an exact copy.
  const Dataset d = read_image_folder(dir.path(), sized(8));
  EXPECT_EQ(d.name, "imagenet");
  EXPECT_EQ(d.num_classes, 2);
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{3, 3, 8, 8}));
  EXPECT_TRUE(torch::equal(d.labels, torch::tensor({0, 0, 1}, torch::kInt64)));
  const torch::Tensor rows = torch::arange(8).view({8, 1}).expand({8, 8}).to(torch::kUInt8);
  const torch::Tensor cols = (torch::arange(8) + 2).view({1, 8}).expand({8, 8}).to(torch::kUInt8);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(torch::all(d.images[i][0] == 10 * (i + 1)).item<bool>()) << "red, image " << i;
    EXPECT_TRUE(torch::equal(d.images[i][1], rows)) << "green, image " << i;
    EXPECT_TRUE(torch::equal(d.images[i][2], cols)) << "blue, image " << i;
  }
}

TEST(ImageFolder, CropRatioAndResize) {
  TempDir dir;
  write_png(dir.file("c/a.png"), 16, 16, 7);
  // Ratio 0.5 of a 16x16 image is its central 8x8 square: rows/cols 4..11.
  const Dataset crop = read_image_folder(dir.path(), sized(8, 0.5));
  EXPECT_TRUE(torch::equal(crop.images[0][1][0], torch::full({8}, 4, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(crop.images[0][2][0], (torch::arange(8) + 4).to(torch::kUInt8)));

  // A constant grey image of any shape stays constant, at 5x5, on all three channels.
  cv::Mat grey(20, 31, CV_8UC1, cv::Scalar(77));
  ASSERT_TRUE(cv::imwrite(dir.file("c/b.png"), grey));
  const Dataset d = read_image_folder(dir.path(), sized(5));
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{2, 3, 5, 5}));
  EXPECT_TRUE(torch::all(d.images[1] == 77).item<bool>());
}

TEST(ImageFolder, MaxImagesIsASeededSubsetInFolderOrder) {
  TempDir dir;
  for (int i = 0; i < 12; ++i) {
    write_png(dir.file("k" + std::to_string(i % 3) + "/" + std::to_string(i + 10) + ".png"), 4, 4, i);
  }
  ImageFolderOptions options = sized(4);
  options.max_images = 5;
  options.seed = 3;
  const Dataset a = read_image_folder(dir.path(), options);
  const Dataset b = read_image_folder(dir.path(), options);
  ASSERT_EQ(a.size(), 5);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_EQ(a.num_classes, 3);
  EXPECT_TRUE(torch::equal(std::get<0>(torch::sort(a.labels)), a.labels)) << "not in folder order";
  // Tags are distinct, so five different images were picked.
  EXPECT_EQ(std::get<0>(torch::_unique(a.images.select(1, 0).select(1, 0).select(1, 0))).numel(), 5);
  bool any_different = false;
  for (uint64_t seed = 4; seed < 10 && !any_different; ++seed) {
    options.seed = seed;
    any_different = !torch::equal(read_image_folder(dir.path(), options).images, a.images);
  }
  EXPECT_TRUE(any_different);
  options.max_images = 100;
  EXPECT_EQ(read_image_folder(dir.path(), options).size(), 12);
}

TEST(ImageFolder, ExplicitClassesKeepTheTrainingLabels) {
  TempDir dir;
  write_png(dir.file("c2/a.png"), 4, 4, 1);
  ImageFolderOptions options = sized(4);
  options.classes = {"c0", "c1", "c2"};
  const Dataset d = read_image_folder(dir.path(), options);
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.labels[0].item<int64_t>(), 2);
  write_png(dir.file("stray/a.png"), 4, 4, 1);
  EXPECT_TRUE(throws_data_error([&] { read_image_folder(dir.path(), options); },
                                {dir.file("stray"), "not one of the 3 classes"}));
}

TEST(ImageFolder, BadFoldersAndFilesThrowDataErrors) {
  TempDir dir;
  EXPECT_TRUE(throws_data_error([&] { read_image_folder(dir.file("nope")); }, {dir.file("nope"), "does not exist"}));
  EXPECT_TRUE(throws_data_error([&] { read_image_folder(dir.path()); }, {dir.path(), "no class sub-directories"}));
  std::filesystem::create_directories(dir.file("empty_class"));
  EXPECT_TRUE(throws_data_error([&] { read_image_folder(dir.path()); }, {dir.path(), "no image files"}));
  write_png(dir.file("cls/good.png"), 6, 6, 1);
  write_bytes(dir.file("cls/broken.png"), "this is not a PNG");
  EXPECT_TRUE(
      throws_data_error([&] { read_image_folder(dir.path(), sized(4)); }, {dir.file("cls/broken.png"), "decode"}));
  EXPECT_THROW(read_image_folder(dir.path(), sized(4, 1.5)), Error);
}

}  // namespace
}  // namespace repairbench::data
