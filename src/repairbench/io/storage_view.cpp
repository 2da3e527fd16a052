#include "repairbench/io/storage_view.h"

#include <array>
#include <cstring>
#include <utility>

#include "repairbench/core/error.h"
#include "repairbench/io/pickle.h"

namespace repairbench::io {
namespace {

// More dimensions than any real tensor has; bounds the work on hostile shapes.
constexpr size_t kMaxDims = 64;

// The torch storage classes of the dtypes that state_dicts hold.
constexpr std::array<std::pair<const char*, torch::ScalarType>, 10> kStorageClasses = {{
    {"FloatStorage", torch::kFloat32},
    {"DoubleStorage", torch::kFloat64},
    {"HalfStorage", torch::kFloat16},
    {"BFloat16Storage", torch::kBFloat16},
    {"LongStorage", torch::kInt64},
    {"IntStorage", torch::kInt32},
    {"ShortStorage", torch::kInt16},
    {"CharStorage", torch::kInt8},
    {"ByteStorage", torch::kUInt8},
    {"BoolStorage", torch::kBool},
}};

}  // namespace

std::optional<torch::ScalarType> storage_dtype(std::string_view class_name) {
  for (const auto& [name, dtype] : kStorageClasses) {
    if (class_name == name) return dtype;
  }
  return std::nullopt;
}

std::string storage_class_name(torch::ScalarType dtype) {
  for (const auto& [name, type] : kStorageClasses) {
    if (type == dtype) return name;
  }
  RB_FAIL(kUsage, "cannot save a tensor of dtype ", c10::toString(dtype),
          ": repairbench writes float32, float64, float16, bfloat16, int64, int32, int16, int8, "
          "uint8 and bool tensors");
}

uint64_t checked_view_bytes(const StorageBytes& storage, int64_t offset, const std::vector<int64_t>& sizes,
                            const std::vector<int64_t>& strides, const std::string& name) {
  RB_CHECK(sizes.size() == strides.size() && sizes.size() <= kMaxDims, kCheckpoint, name, ": a tensor has ",
           sizes.size(), " sizes but ", strides.size(), " strides; the file is corrupt");
  RB_CHECK(offset >= 0 && offset <= storage.numel, kCheckpoint, name, ": a tensor starts at element ", offset,
           " of a storage of ", storage.numel, " elements; the file is corrupt");
  // numel and the last addressed element, with every product and sum checked
  // for overflow: a hostile shape must not wrap around into range.
  int64_t numel = 1;
  int64_t last = offset;
  bool overflow = false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    RB_CHECK(sizes[d] >= 0 && strides[d] >= 0, kCheckpoint, name,
             ": a tensor has a negative size or stride; the file is corrupt");
    overflow |= __builtin_mul_overflow(numel, sizes[d], &numel);
  }
  if (numel > 0) {
    for (size_t d = 0; d < sizes.size(); ++d) {
      int64_t reach = 0;
      overflow |= __builtin_mul_overflow(sizes[d] - 1, strides[d], &reach);
      overflow |= __builtin_add_overflow(last, reach, &last);
    }
  }
  const auto element_size = static_cast<int64_t>(c10::elementSize(storage.dtype));
  int64_t bytes = 0;
  overflow |= __builtin_mul_overflow(numel, element_size, &bytes);
  RB_CHECK(!overflow, kCheckpoint, name, ": a tensor shape overflows 64 bits; the file is corrupt");
  RB_CHECK(numel == 0 || last < storage.numel, kCheckpoint, name, ": a tensor reaches element ", last,
           " of a storage of ", storage.numel, " elements; the file is corrupt");
  return static_cast<uint64_t>(bytes);
}

torch::Tensor copy_view(const StorageBytes& storage, int64_t offset, const std::vector<int64_t>& sizes,
                        const std::vector<int64_t>& strides, const std::string& name) {
  checked_view_bytes(storage, offset, sizes, strides, name);
  if (storage.dtype == torch::kBool) {
    // Only bytes 0 and 1 are valid bools; kernels may copy others unchanged or
    // not, so check the record itself.
    for (int64_t i = 0; i < storage.numel; ++i) {
      RB_CHECK(static_cast<unsigned char>(storage.bytes[static_cast<size_t>(i)]) <= 1, kCheckpoint, name,
               ": a bool tensor holds bytes other than 0 and 1; the file is corrupt");
    }
  }
  const auto options = torch::TensorOptions().dtype(storage.dtype);
  const size_t element_size = c10::elementSize(storage.dtype);
  const size_t storage_bytes = static_cast<size_t>(storage.numel) * element_size;
  RB_CHECK(storage.bytes.size() >= storage_bytes, kInternal, name, ": copy_view got a storage shorter than its numel");
  torch::Tensor base;
  const auto* data = storage.bytes.data();
  if (storage.numel > 0 && reinterpret_cast<uintptr_t>(data) % element_size == 0) {
    // Reading in place is safe: the view is only read, and copied below.
    base = torch::from_blob(const_cast<char*>(data), {storage.numel}, options);
  } else {
    // Elements must be aligned for their type; copy misaligned records first.
    base = torch::empty({storage.numel}, options);
    if (storage_bytes > 0) std::memcpy(base.data_ptr(), data, storage_bytes);
  }
  return base.as_strided(sizes, strides, offset).clone(at::MemoryFormat::Contiguous);
}

}  // namespace repairbench::io
