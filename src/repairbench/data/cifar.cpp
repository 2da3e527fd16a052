#include "repairbench/data/cifar.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "repairbench/core/error.h"

namespace repairbench::data {
namespace {

constexpr int64_t kCifarImageBytes = 3 * 32 * 32;

// The size of a CIFAR file in records of `record` bytes, checked.
int64_t record_count(const std::string& path, int64_t record) {
  namespace fs = std::filesystem;
  check_input_file(path, "CIFAR file");
  std::error_code ec;
  const auto size = static_cast<int64_t>(fs::file_size(path, ec));
  RB_CHECK(!ec, kData, "cannot stat ", path, ": ", ec.message());
  RB_CHECK(size > 0 && size % record == 0, kData, path, " has ", size, " bytes, not a positive multiple of the ",
           record, "-byte CIFAR record (truncated, or not the binary version?)");
  return size / record;
}

// The label bytes and images of a set of CIFAR files.
struct Records {
  torch::Tensor labels;         // (N, label_bytes) uint8
  torch::Tensor images;         // (N, 3, 32, 32) uint8
  std::vector<int64_t> counts;  // records per file
};

// Reads the files in chunks through one small buffer, copying each record's
// label bytes and pixels (already channel-major) to their tensors: the
// images are written once, with no full-size intermediate copy.
Records read_records(const std::vector<std::string>& paths, int64_t label_bytes) {
  constexpr int64_t kChunk = 1024;
  const int64_t record = label_bytes + kCifarImageBytes;
  Records out;
  int64_t total = 0;
  for (const std::string& path : paths) total += out.counts.emplace_back(record_count(path, record));
  out.labels = torch::empty({total, label_bytes}, torch::kUInt8);
  out.images = torch::empty({total, 3, 32, 32}, torch::kUInt8);
  uint8_t* labels = out.labels.data_ptr<uint8_t>();
  uint8_t* images = out.images.data_ptr<uint8_t>();
  std::vector<char> buffer(static_cast<size_t>(kChunk * record));
  for (size_t f = 0; f < paths.size(); ++f) {
    std::ifstream in(paths[f], std::ios::binary);
    for (int64_t done = 0; done < out.counts[f];) {
      const int64_t n = std::min(kChunk, out.counts[f] - done);
      in.read(buffer.data(), n * record);
      RB_CHECK(in.gcount() == n * record, kData, "could not read record ", done, " of ", paths[f]);
      for (int64_t r = 0; r < n; ++r) {
        const char* src = buffer.data() + r * record;
        std::memcpy(labels, src, static_cast<size_t>(label_bytes));
        std::memcpy(images, src + label_bytes, static_cast<size_t>(kCifarImageBytes));
        labels += label_bytes;
        images += kCifarImageBytes;
      }
      done += n;
    }
  }
  return out;
}

// Column `column` of the label bytes as (N) int64, checked against num_classes
// file by file so that an error names the file at fault.
torch::Tensor checked_labels(const Records& records, int64_t column, int64_t num_classes,
                             const std::vector<std::string>& paths) {
  const torch::Tensor labels = records.labels.select(1, column).to(torch::kInt64);
  int64_t first = 0;
  for (size_t f = 0; f < paths.size(); ++f) {
    const torch::Tensor part = labels.slice(0, first, first + records.counts[f]);
    const int64_t worst = part.argmax().item<int64_t>();
    const int64_t value = part[worst].item<int64_t>();
    RB_CHECK(value < num_classes, kData, paths[f], " has label ", value, " in record ", worst,
             "; expected labels in [0, ", num_classes, ")");
    first += records.counts[f];
  }
  return labels;
}

Dataset make_dataset(const std::string& name, torch::Tensor images, torch::Tensor labels, int64_t num_classes,
                     const std::vector<std::string>& paths) {
  Dataset dataset;
  dataset.name = name;
  dataset.images = std::move(images);
  dataset.labels = std::move(labels);
  dataset.num_classes = num_classes;
  dataset.norm = normalization_for(name);
  std::string origin;
  for (const std::string& path : paths) origin += (origin.empty() ? "" : ", ") + path;
  validate(dataset, origin);
  return dataset;
}

}  // namespace

Dataset read_cifar10(const std::vector<std::string>& batch_paths) {
  RB_CHECK(!batch_paths.empty(), kUsage, "read_cifar10 needs at least one batch file");
  Records records = read_records(batch_paths, 1);
  torch::Tensor labels = checked_labels(records, 0, 10, batch_paths);
  return make_dataset("cifar10", std::move(records.images), std::move(labels), 10, batch_paths);
}

Dataset read_cifar100(const std::string& path, Cifar100Labels labels) {
  Records records = read_records({path}, 2);
  const bool fine = labels == Cifar100Labels::kFine;
  const int64_t num_classes = fine ? 100 : 20;
  torch::Tensor label_tensor = checked_labels(records, fine ? 1 : 0, num_classes, {path});
  return make_dataset("cifar100", std::move(records.images), std::move(label_tensor), num_classes, {path});
}

std::vector<std::string> cifar10_files(const std::string& batches_dir) {
  std::vector<std::string> files;
  for (int i = 1; i <= 5; ++i) files.push_back(batches_dir + "/data_batch_" + std::to_string(i) + ".bin");
  files.push_back(batches_dir + "/test_batch.bin");
  return files;
}

std::vector<std::string> cifar100_files(const std::string& binary_dir) {
  return {binary_dir + "/train.bin", binary_dir + "/test.bin"};
}

DatasetSplits load_cifar10(const std::string& batches_dir) {
  std::vector<std::string> files = cifar10_files(batches_dir);
  const std::string test = files.back();
  files.pop_back();
  return {read_cifar10(files), read_cifar10({test})};
}

DatasetSplits load_cifar100(const std::string& binary_dir, Cifar100Labels labels) {
  const std::vector<std::string> files = cifar100_files(binary_dir);
  return {read_cifar100(files[0], labels), read_cifar100(files[1], labels)};
}

}  // namespace repairbench::data
