#include "repairbench/data/image_folder.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "repairbench/core/error.h"

namespace repairbench::data {
namespace {

namespace fs = std::filesystem;

struct ImageFile {
  std::string path;
  int64_t label;
};

bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

std::vector<ImageFile> list_images(const std::string& root, const std::vector<std::string>& classes) {
  const std::set<std::string> known(classes.begin(), classes.end());
  for (const std::string& dir : image_folder_classes(root)) {
    RB_CHECK(known.count(dir) == 1, kData, "directory ", root, "/", dir, " is not one of the ", classes.size(),
             " classes of this data set");
  }
  std::vector<ImageFile> entries;
  for (size_t label = 0; label < classes.size(); ++label) {
    const fs::path dir = fs::path(root) / classes[label];
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;  // a subset folder may lack some classes
    std::vector<std::string> files;
    fs::directory_iterator items(dir, ec);
    RB_CHECK(!ec, kData, "cannot list ", dir.string(), ": ", ec.message());
    for (const auto& item : items) {
      if (!hidden(item.path()) && item.is_regular_file()) files.push_back(item.path().string());
    }
    std::sort(files.begin(), files.end());
    for (std::string& f : files) entries.push_back({std::move(f), static_cast<int64_t>(label)});
  }
  RB_CHECK(!entries.empty(), kData, "image folder ", root, " holds no image files");
  return entries;
}

// libjpeg only warns about a JPEG that ends early, and OpenCV then returns the
// image with its missing part filled in, so a truncated file would load. A
// whole JPEG has an end-of-image marker (FF D9) after its last start-of-scan
// marker (FF DA); the entropy-coded data between them holds neither, as it
// stuffs every FF byte as FF 00. Bytes after the end marker are allowed.
bool truncated_jpeg(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 2 || bytes.compare(0, 2, "\xFF\xD8") != 0) return false;
  const size_t scan = bytes.rfind("\xFF\xDA");
  return scan == std::string::npos || bytes.find("\xFF\xD9", scan) == std::string::npos;
}

// Decodes one image into `out`, a (3, size, size) uint8 RGB buffer; returns
// "" or the error. OpenCV only: no torch op may run here (see the caller).
std::string decode_into(const std::string& path, int size, double crop_ratio, uint8_t* out) {
  if (truncated_jpeg(path)) {
    return "the JPEG file " + path + " is truncated: no end-of-image marker after its image data";
  }
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) return "OpenCV cannot decode the image file " + path;
  const int short_side = std::min(bgr.rows, bgr.cols);
  const int crop = std::max(1, static_cast<int>(std::lround(short_side * crop_ratio)));
  const cv::Rect square((bgr.cols - crop) / 2, (bgr.rows - crop) / 2, crop, crop);
  cv::Mat resized;
  cv::resize(bgr(square), resized, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  // Splitting B, G, R into the planes 2, 1, 0 of `out` converts to RGB and
  // to channel-major order in one pass.
  const size_t plane = static_cast<size_t>(size) * static_cast<size_t>(size);
  std::vector<cv::Mat> planes = {cv::Mat(size, size, CV_8UC1, out + 2 * plane),
                                 cv::Mat(size, size, CV_8UC1, out + plane), cv::Mat(size, size, CV_8UC1, out)};
  cv::split(resized, planes);
  return "";
}

}  // namespace

std::vector<std::string> image_folder_classes(const std::string& root) {
  std::error_code ec;
  RB_CHECK(fs::exists(root, ec), kData, "image folder ", root, " does not exist");
  RB_CHECK(fs::is_directory(root, ec), kData, "image folder ", root, " is not a directory");
  std::vector<std::string> classes;
  fs::directory_iterator items(root, ec);
  RB_CHECK(!ec, kData, "cannot list ", root, ": ", ec.message());
  for (const auto& item : items) {
    if (!hidden(item.path()) && item.is_directory()) {
      classes.push_back(item.path().filename().string());
    }
  }
  RB_CHECK(!classes.empty(), kData, "image folder ", root,
           " has no class sub-directories (expected <root>/<class>/<image files>)");
  std::sort(classes.begin(), classes.end());
  return classes;
}

Dataset read_image_folder(const std::string& root, const ImageFolderOptions& options) {
  RB_CHECK(options.size > 0 && options.size <= 4096, kUsage, "image size ", options.size, " is outside [1, 4096]");
  RB_CHECK(options.crop_ratio > 0.0 && options.crop_ratio <= 1.0, kUsage, "crop ratio ", options.crop_ratio,
           " is outside (0, 1]");
  Normalization norm = normalization_for(options.name);  // an unknown name fails before decoding
  const std::vector<std::string> classes = options.classes.empty() ? image_folder_classes(root) : options.classes;
  std::vector<ImageFile> entries = list_images(root, classes);

  if (options.max_images > 0 && options.max_images < static_cast<int64_t>(entries.size())) {
    torch::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    const torch::Tensor pick = std::get<0>(
        torch::sort(torch::randperm(static_cast<int64_t>(entries.size()), gen).slice(0, 0, options.max_images)));
    std::vector<ImageFile> kept;
    kept.reserve(static_cast<size_t>(options.max_images));
    const auto* idx = pick.data_ptr<int64_t>();
    for (int64_t i = 0; i < pick.numel(); ++i) kept.push_back(std::move(entries[idx[i]]));
    entries = std::move(kept);
  }

  const auto n = static_cast<int64_t>(entries.size());
  const auto size = static_cast<int>(options.size);
  torch::Tensor images = torch::empty({n, 3, options.size, options.size}, torch::kUInt8);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  // Errors are collected per image and thrown afterwards, on this thread.
  std::vector<std::string> errors(static_cast<size_t>(n));
  uint8_t* pixels = images.data_ptr<uint8_t>();
  const int64_t image_bytes = 3 * options.size * options.size;
  // OpenCV's own thread pool (TBB here) runs the loop, so its parallel resize
  // nests inside it; under at::parallel_for the two pools oversubscribed the
  // cores (measured 3x slower than one thread on a 2-core machine).
  cv::parallel_for_(cv::Range(0, static_cast<int>(n)), [&](const cv::Range& range) {
    for (int i = range.start; i < range.end; ++i) {
      try {
        errors[i] = decode_into(entries[i].path, size, options.crop_ratio, pixels + i * image_bytes);
      } catch (const cv::Exception& e) {
        // what() spans lines (source file, line, function); err is the reason.
        errors[i] = "cannot decode the image file " + entries[i].path + ": " + e.err + " (OpenCV, in " + e.func + ")";
      } catch (const std::exception& e) {
        errors[i] = "cannot decode the image file " + entries[i].path + ": " + e.what();
      }
    }
  });
  auto* label_out = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    RB_CHECK(errors[i].empty(), kData, errors[i]);
    label_out[i] = entries[i].label;
  }

  Dataset dataset;
  dataset.name = options.name;
  dataset.images = std::move(images);
  dataset.labels = std::move(labels);
  dataset.num_classes = static_cast<int64_t>(classes.size());
  dataset.norm = std::move(norm);
  validate(dataset, root);
  return dataset;
}

}  // namespace repairbench::data
