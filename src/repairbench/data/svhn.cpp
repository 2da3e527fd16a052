#include "repairbench/data/svhn.h"

#include <matio.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>

#include "repairbench/core/deflate.h"
#include "repairbench/core/error.h"

namespace repairbench::data {
namespace {

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

std::string dims_text(const matvar_t* var) {
  std::string text;
  for (int i = 0; i < var->rank; ++i) text += (i ? "x" : "") + std::to_string(var->dims[i]);
  return text;
}

// matio allocates a variable's data as its header's dims say before reading
// it, so a corrupt header could make it ask for terabytes (found by fuzzing).
// The header alone (Mat_VarReadInfo reads no data) is checked against what
// the file can hold first; a compressed (MAT 7) variable can unpack to at
// most about 1032 times its size, deflate's limit.
void check_var_size(mat_t* mat, const char* name, const std::string& path) {
  const MatVar info(Mat_VarReadInfo(mat, name));
  RB_CHECK(info != nullptr, kData, path, " has no readable variable '", name,
           "' (truncated, or not an SVHN cropped-digits file?)");
  uint64_t bytes = Mat_SizeOfClass(info->class_type);
  bool overflow = false;
  for (int i = 0; i < info->rank; ++i) {
    overflow = overflow || __builtin_mul_overflow(bytes, uint64_t{info->dims[i]}, &bytes);
  }
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  RB_CHECK(!ec, kData, "cannot stat ", path, ": ", ec.message());
  RB_CHECK(!overflow && bytes <= kMaxDeflateRatio * file_size, kData, "variable '", name, "' in ", path,
           " claims dims ", dims_text(info.get()), ", more data than the ", file_size,
           "-byte file can hold (corrupt header)");
}

// SVHN ships MAT v5 files: a 128-byte header whose text starts "MATLAB".
// Anything else is refused before Mat_Open, which would otherwise retry it as
// a headerless MAT v4 file and allocate whatever name length its first bytes
// spell (1.6 GB for an 89-byte fuzz input).
void check_mat_header(const std::string& path) {
  constexpr std::streamsize kHeaderSize = 128;
  std::ifstream in(path, std::ios::binary);
  std::array<char, kHeaderSize> header{};
  in.read(header.data(), kHeaderSize);
  RB_CHECK(in.gcount() == kHeaderSize && std::string_view(header.data(), 6) == "MATLAB", kData, path,
           " is not a MATLAB v5 .mat file (no 128-byte header starting with \"MATLAB\")");
}

MatVar read_var(mat_t* mat, const char* name, const std::string& path) {
  check_var_size(mat, name, path);
  MatVar var(Mat_VarRead(mat, name));
  RB_CHECK(var != nullptr, kData, path, " has no readable variable '", name,
           "' (truncated, or not an SVHN cropped-digits file?)");
  RB_CHECK(!var->isComplex && var->data != nullptr, kData, "variable '", name, "' in ", path, " is complex or empty");
  return var;
}

// The start of a miMATRIX element: its tag (2 words), the array-flags element
// (tag and data, 4), the dims tag (2), up to kMaxRank dims and the name tag (2).
constexpr uint32_t kMaxRank = 32;
using MatrixStart = std::array<uint32_t, 10 + kMaxRank>;

// matio's Mat_VarReadInfo allocates the rank and the name length a variable's
// sub-element tags claim before any check (2.55 GB for a 1,050-byte
// compressed fuzz input, 3.6 GB for a plain one). So the start of every
// variable, `available` bytes of `words` (inflated first when compressed),
// must be the layout MATLAB writes: a miMATRIX tag, an 8-byte miUINT32
// array-flags element, a miINT32 dims element of rank 2..kMaxRank, and a
// miINT8 name of at most kMaxName bytes.
void check_matrix_start(const MatrixStart& words, uint64_t available, uint64_t pos, const std::string& path) {
  constexpr uint32_t kMatrix = 14, kUInt32 = 6, kInt32 = 5, kInt8 = 1, kMaxName = 4096;
  const uint32_t dims_bytes = words[7];
  const bool matrix = available >= 32 && words[0] == kMatrix && words[2] == kUInt32 && words[3] == 8 &&
                      words[6] == kInt32 && dims_bytes % 4 == 0 && dims_bytes >= 8 && dims_bytes <= 4 * kMaxRank;
  RB_CHECK(matrix, kData, path, " has a corrupt variable at byte ", pos,
           " (its array flags or dimensions are not a MATLAB matrix header)");
  // Cells and structs make matio allocate a pointer per element before any
  // data is read (3.2 GB for a fuzz input); SVHN files hold numeric arrays
  // only: classes 6..15 are double, single and the integer types.
  const uint32_t array_class = words[4] & 0xff;
  RB_CHECK(array_class >= 6 && array_class <= 15, kData, path, " has a variable of MATLAB class ", array_class,
           " at byte ", pos, "; an SVHN file holds numeric arrays only");
  const size_t name_word = (32 + (dims_bytes + 7) / 8 * 8) / 4;
  RB_CHECK(available >= 4 * name_word + 8, kData, path, " has a corrupt variable at byte ", pos,
           " (it ends inside its header)");
  const uint32_t name_tag = words[name_word];
  const uint32_t name_bytes = (name_tag >> 16) != 0 ? (name_tag >> 16) : words[name_word + 1];
  RB_CHECK((name_tag & 0xffff) == kInt8 && name_bytes <= kMaxName, kData, path, " has a corrupt variable at byte ", pos,
           " (a name of ", name_bytes, " bytes)");
}

// Inflates up to sizeof(MatrixStart) bytes of the compressed element whose
// `length` bytes start at `pos`; returns how many came out (a corrupt stream
// stops early, which check_matrix_start then refuses).
uint64_t inflate_start(std::ifstream& in, uint64_t pos, uint64_t length, MatrixStart& words) {
  std::string compressed(std::min<uint64_t>(length, 4096), '\0');
  in.seekg(static_cast<std::streamoff>(pos));
  in.read(compressed.data(), static_cast<std::streamsize>(compressed.size()));
  z_stream z{};
  RB_CHECK(inflateInit(&z) == Z_OK, kInternal, "zlib inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(compressed.data());
  z.avail_in = static_cast<uInt>(compressed.size());
  z.next_out = reinterpret_cast<Bytef*>(words.data());
  z.avail_out = sizeof words;
  const int status = inflate(&z, Z_SYNC_FLUSH);
  inflateEnd(&z);
  const bool ok = status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR;
  return ok ? sizeof words - z.avail_out : 0;
}

// matio reads a variable whose data the file cuts short without an error,
// leaving the rest of its buffer as it was, so a truncated file would give
// made-up pixels or labels. A MAT v5 file is a 128-byte header, then
// top-level data elements, each an 8-byte tag (type, byte count) and its
// bytes: every element must fit in the file.
void check_v5_complete(const std::string& path) {
  constexpr uint32_t kCompressed = 15;  // miCOMPRESSED: its bytes are not padded to 8
  constexpr uint32_t kMatrix = 14;      // miMATRIX: an uncompressed variable
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  RB_CHECK(!ec, kData, "cannot stat ", path, ": ", ec.message());
  char header[128] = {};
  RB_CHECK(size >= sizeof header, kData, path, " is truncated inside its 128-byte MAT header");
  std::ifstream in(path, std::ios::binary);
  in.read(header, sizeof header);
  const bool swapped = header[126] == 'M' && header[127] == 'I';
  uint64_t pos = sizeof header;
  // Fewer than 8 bytes after the last element can only be padding.
  while (pos + 8 <= size) {
    uint32_t tag[2] = {};
    in.seekg(static_cast<std::streamoff>(pos));
    in.read(reinterpret_cast<char*>(tag), sizeof tag);
    for (uint32_t& word : tag) word = swapped ? __builtin_bswap32(word) : word;
    // A small element keeps its byte count in the type word's upper half and
    // its data inside the tag.
    const uint64_t length = (tag[0] >> 16) != 0 ? 0 : tag[1];
    RB_CHECK(length <= size - pos - 8, kData, path, " is truncated: a data element at byte ", pos, " needs ", length,
             " bytes, the file has ", size - pos - 8, " after its tag");
    if (tag[0] == kCompressed || tag[0] == kMatrix) {
      MatrixStart words{};
      uint64_t available = 0;
      if (tag[0] == kCompressed) {
        available = inflate_start(in, pos + 8, length, words);
      } else {
        available = std::min<uint64_t>(8 + length, sizeof words);
        in.seekg(static_cast<std::streamoff>(pos));
        in.read(reinterpret_cast<char*>(words.data()), static_cast<std::streamsize>(available));
      }
      for (uint32_t& word : words) word = swapped ? __builtin_bswap32(word) : word;
      check_matrix_start(words, available, pos, path);
    }
    pos += 8 + (tag[0] == kCompressed ? length : (length + 7) / 8 * 8);
  }
}

}  // namespace

Dataset read_svhn_mat(const std::string& path) {
  check_input_file(path, "SVHN file");
  check_mat_header(path);
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  RB_CHECK(mat != nullptr, kData, path, " is not a readable MATLAB .mat file");
  if (Mat_GetVersion(mat.get()) == MAT_FT_MAT5) check_v5_complete(path);

  const MatVar x = read_var(mat.get(), "X", path);
  RB_CHECK(x->class_type == MAT_C_UINT8 && x->data_type == MAT_T_UINT8, kData, "X in ", path,
           " should be a uint8 array (class ", static_cast<int>(x->class_type), ", type ",
           static_cast<int>(x->data_type), " found)");
  RB_CHECK(x->rank == 4 && x->dims[0] == 32 && x->dims[1] == 32 && x->dims[2] == 3, kData, "X in ", path,
           " should be 32x32x3xN, found ", dims_text(x.get()));
  const auto n = static_cast<int64_t>(x->dims[3]);
  RB_CHECK(static_cast<int64_t>(x->nbytes) == n * 32 * 32 * 3, kData, "X in ", path, " holds ", x->nbytes,
           " bytes for dims ", dims_text(x.get()));

  const MatVar y = read_var(mat.get(), "y", path);
  RB_CHECK(y->class_type == MAT_C_DOUBLE && y->data_type == MAT_T_DOUBLE, kData, "y in ", path,
           " should be a double array");
  RB_CHECK(y->rank == 2 && static_cast<int64_t>(y->dims[0]) == n && y->dims[1] == 1, kData, "y in ", path,
           " should be ", n, "x1 to match X, found ", dims_text(y.get()));

  // Column-major X(h, w, c, n) puts h fastest, so the bytes read row-major
  // are (N, C, W, H): swap the last two dims.
  const torch::Tensor raw = torch::from_blob(x->data, {n, 3, 32, 32}, torch::kUInt8);
  torch::Tensor images = raw.transpose(2, 3).contiguous();

  const torch::Tensor y_values = torch::from_blob(y->data, {n}, torch::kFloat64);
  const torch::Tensor bad = (y_values < 1) | (y_values > 10) | (y_values != y_values.round());
  if (bad.any().item<bool>()) {
    const int64_t at = bad.to(torch::kUInt8).argmax().item<int64_t>();
    RB_FAIL(kData, path, " has label ", y_values[at].item<double>(), " at index ", at,
            "; SVHN labels are the integers 1..10");
  }
  // SVHN writes the digit 0 as label 10.
  torch::Tensor labels = y_values.to(torch::kInt64).remainder(10);

  Dataset dataset;
  dataset.name = "svhn";
  dataset.images = std::move(images);
  dataset.labels = std::move(labels);
  dataset.num_classes = 10;
  dataset.norm = normalization_for("svhn");
  validate(dataset, path);
  return dataset;
}

DatasetSplits load_svhn(const std::string& dir) {
  return {read_svhn_mat(dir + "/train_32x32.mat"), read_svhn_mat(dir + "/test_32x32.mat")};
}

}  // namespace repairbench::data
