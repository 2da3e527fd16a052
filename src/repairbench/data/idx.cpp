#include "repairbench/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <vector>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/deflate.h"
#include "repairbench/core/error.h"

namespace repairbench::data {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;
constexpr uint64_t kReadChunk = uint64_t{1} << 30;  // gzread takes an unsigned int length

class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    RB_CHECK(file_ != nullptr, kData, "cannot open ", path);
    gzbuffer(file_, 1 << 18);
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  bool compressed() { return gzdirect(file_) == 0; }

  /// Reads up to `n` bytes into `dst`; fewer only at the end of the data.
  uint64_t read(void* dst, uint64_t n) {
    auto* out = static_cast<char*>(dst);
    uint64_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min(n - done, kReadChunk));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* why = gzerror(file_, &code);
        RB_FAIL(kData, path_, " is corrupt or truncated (gzip: ", why, ")");
      }
      if (got == 0) {
        // zlib reports a stream that stops early (even one missing only its
        // CRC trailer, so unchecked) as a plain end of file.
        int code = Z_OK;
        gzerror(file_, &code);
        RB_CHECK(code != Z_BUF_ERROR, kData, path_, " is truncated: its gzip stream ends before its end marker");
        break;
      }
      done += static_cast<uint64_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile file_;
};

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text = "(";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + ")";
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  namespace fs = std::filesystem;
  check_input_file(path, "IDX file");
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path, ec);
  RB_CHECK(!ec, kData, "cannot stat ", path, ": ", ec.message());

  GzReader in(path);
  uint8_t magic[4] = {};
  RB_CHECK(in.read(magic, 4) == 4, kData, path, " is too short to hold an IDX header");
  RB_CHECK(magic[0] == 0 && magic[1] == 0, kData, path, " is not an IDX file: its first two bytes should be zero");
  RB_CHECK(magic[2] == kUnsignedByte, kData, path, " has IDX element type ", static_cast<int>(magic[2]),
           "; only unsigned byte (8) is supported");
  const int ndims = magic[3];
  RB_CHECK(ndims > 0, kData, path, " has an IDX header with zero dims");

  std::vector<uint8_t> raw_dims(4 * static_cast<size_t>(ndims));
  RB_CHECK(in.read(raw_dims.data(), raw_dims.size()) == raw_dims.size(), kData, path, " ends inside its IDX header (",
           ndims, " dims expected)");
  std::vector<int64_t> dims(ndims);
  uint64_t elements = 1;
  bool overflow = false;
  for (int i = 0; i < ndims; ++i) {
    const uint32_t d = big_endian_u32(&raw_dims[4 * i]);
    dims[i] = d;
    overflow = overflow || __builtin_mul_overflow(elements, uint64_t{d}, &elements);
  }
  const uint64_t header = 4 + raw_dims.size();
  RB_CHECK(!overflow && elements < std::numeric_limits<uint64_t>::max() / 2, kData, path, " has impossible IDX dims ",
           dims_text(dims));
  if (in.compressed()) {
    RB_CHECK(header + elements <= kMaxDeflateRatio * file_size, kData, path, " has IDX dims ", dims_text(dims),
             " that need ", elements, " bytes, more than its ", file_size, " compressed bytes can hold");
  } else {
    RB_CHECK(header + elements == file_size, kData, path, " has IDX dims ", dims_text(dims), " that need ",
             header + elements, " bytes, but the file has ", file_size, " (truncated or not an IDX file)");
  }

  torch::Tensor array = torch::empty(dims, torch::kUInt8);
  const uint64_t got = in.read(array.data_ptr<uint8_t>(), elements);
  RB_CHECK(got == elements, kData, path, " is truncated: its IDX dims ", dims_text(dims), " need ", elements,
           " bytes of data, found ", got);
  uint8_t extra = 0;
  RB_CHECK(in.read(&extra, 1) == 0, kData, path, " holds more data than its IDX dims ", dims_text(dims), " say");
  return array;
}

void write_idx(const std::string& path, const torch::Tensor& array) {
  RB_CHECK(array.defined() && array.scalar_type() == torch::kUInt8, kUsage, "write_idx needs a uint8 tensor");
  RB_CHECK(array.dim() >= 1 && array.dim() <= 255, kUsage, "write_idx: IDX holds 1 to 255 dims, got ", array.dim());
  const torch::Tensor data = array.to(torch::kCPU).contiguous();
  std::string bytes = {'\0', '\0', static_cast<char>(kUnsignedByte), static_cast<char>(data.dim())};
  for (int64_t d : data.sizes()) {
    RB_CHECK(d <= std::numeric_limits<uint32_t>::max(), kUsage, "write_idx: dim ", d, " does not fit in 32 bits");
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(d >> shift));
  }
  bytes.append(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(data.numel()));
  write_file_atomic(path, bytes);
}

Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path, const std::string& name,
                         int64_t num_classes) {
  const torch::Tensor images = read_idx(images_path);
  RB_CHECK(images.dim() == 3, kData, images_path, " should hold (N, H, W) images but has ", images.dim(), " IDX dims ",
           images.sizes());
  const torch::Tensor labels = read_idx(labels_path);
  RB_CHECK(labels.dim() == 1, kData, labels_path, " should hold (N) labels but has ", labels.dim(), " IDX dims ",
           labels.sizes());
  RB_CHECK(labels.size(0) == images.size(0), kData, labels_path, " holds ", labels.size(0), " labels but ", images_path,
           " holds ", images.size(0), " images");
  if (labels.numel() > 0) {
    const int64_t worst = labels.argmax().item<int64_t>();
    const int64_t value = labels[worst].item<int64_t>();
    RB_CHECK(value < num_classes, kData, labels_path, " has label ", value, " at index ", worst,
             "; expected labels in [0, ", num_classes, ")");
  }
  Dataset dataset;
  dataset.name = name;
  dataset.images = images.unsqueeze(1);
  dataset.labels = labels.to(torch::kInt64);
  dataset.num_classes = num_classes;
  dataset.norm = normalization_for(name);
  validate(dataset, images_path + " and " + labels_path);
  return dataset;
}

}  // namespace repairbench::data
