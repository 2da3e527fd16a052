#include "repairbench/io/torch_file.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <zlib.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/deflate.h"
#include "repairbench/core/error.h"
#include "repairbench/core/integrity.h"
#include "repairbench/io/legacy_format.h"
#include "repairbench/io/pickle.h"
#include "repairbench/io/utf8.h"

namespace repairbench::io {
namespace {

// Tensor bytes are copied as they are in memory, and the files are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "repairbench::io assumes a little-endian host");

// LibTorch's own MemoryReadAdapter copies whatever range miniz asks for, and a
// damaged archive (an offset or size past the end) makes miniz ask beyond the
// buffer. This adapter hands out only the bytes that exist, so such a read
// comes up short and miniz reports a read failure instead. The rest of the
// buffer is zeroed: getRecordOffset() reads a local header without checking
// how much it got, and then sees zeros rather than uninitialized memory.
class BoundedReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReadAdapter(std::string_view bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    const size_t count = pos >= bytes_.size() ? 0 : static_cast<size_t>(std::min<uint64_t>(n, bytes_.size() - pos));
    if (count != 0) std::memcpy(buf, bytes_.data() + pos, count);
    if (count < n) std::memset(static_cast<char*>(buf) + count, 0, n - count);
    return count;
  }

 private:
  std::string_view bytes_;
};

// The first line of a LibTorch error, without the stack trace and the
// "(Could this error message be improved? ...)" request that c10 appends.
std::string libtorch_message(const c10::Error& e) {
  std::string text = e.what_without_backtrace();
  text = text.substr(0, text.find('\n'));
  return text.substr(0, text.find(" (Could this error message be improved?"));
}

uint64_t load_le(std::string_view bytes, size_t pos, int n) {
  uint64_t value = 0;
  for (int i = n - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[pos + i]);
  return value;
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08" PRIx32, value);
  return text;
}

// What a record's own zip headers say about it: its name, compression method,
// CRC-32 and sizes.
struct RecordClaim {
  std::string full_name;  // as stored, with the archive's top folder
  uint64_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  bool sizes_known = true;
};

// The claim of the record whose data starts at `data` (getRecordOffset), read
// from the 30-byte zip local file header before it and, where that header
// defers the CRC and sizes to a data descriptor after the data (flag bit 3,
// which PyTorchStreamWriter, and so torch.save, always sets, leaving zeros in
// the header), from that descriptor. Throws Error(kCheckpoint) when neither is
// where it must be.
//
// Why we parse this much of the zip format ourselves: LibTorch builds miniz
// with MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS, so getRecord() never checks a
// CRC (Python's torch.load does not either), and LibTorch 1.13 exposes no
// record size before getRecord() allocates it. Only these two small headers
// are read here; the central directory, which says where records are and how
// much getRecord() allocates, stays LibTorch's.
RecordClaim claim_of(std::string_view bytes, const std::string& file, const std::string& record, uint64_t data) {
  constexpr size_t kHeader = 30;
  const std::string_view signature("PK\x03\x04", 4);
  // The header is 30 bytes, the name (the top folder, which PyTorchStreamReader
  // does not tell us, then '/' and `record`), then an extra field (alignment
  // padding) of up to 65535 bytes, ending exactly at `data`. Nearest first.
  size_t header = std::string_view::npos;
  const uint64_t shortest = kHeader + record.size() + 2;  // a one-letter top folder
  for (uint64_t back = shortest; back <= data && back <= kHeader + 2 * 0xFFFF; ++back) {
    const size_t at = static_cast<size_t>(data - back);
    if (bytes.compare(at, 4, signature) != 0) continue;
    const uint64_t name_size = load_le(bytes, at + 26, 2);
    const uint64_t extra_size = load_le(bytes, at + 28, 2);
    if (kHeader + name_size + extra_size != back || name_size < record.size() + 2) continue;
    const std::string_view name = bytes.substr(at + kHeader, name_size);
    const size_t slash = name.size() - record.size() - 1;
    if (name.substr(slash + 1) != record || name[slash] != '/' ||
        name.substr(0, slash).find('/') != std::string_view::npos) {
      continue;
    }
    header = at;
    break;
  }
  RB_CHECK(header != std::string_view::npos, kCheckpoint, file, ": record '", record,
           "' has no zip local header before its data; the file is corrupt, save or copy it "
           "again");
  RecordClaim claim;
  claim.full_name.assign(bytes.substr(header + kHeader, load_le(bytes, header + 26, 2)));
  const uint64_t flags = load_le(bytes, header + 6, 2);
  claim.method = load_le(bytes, header + 8, 2);
  if ((flags & 0x08) == 0) {
    claim.crc = static_cast<uint32_t>(load_le(bytes, header + 14, 4));
    claim.compressed = load_le(bytes, header + 18, 4);
    claim.uncompressed = load_le(bytes, header + 22, 4);
    // 0xFFFFFFFF: the sizes are in the header's zip64 extra field. torch.save
    // never gets here (its headers defer to a data descriptor, which has
    // 64-bit sizes when needed), so such records go without a size bound.
    claim.sizes_known = claim.compressed != 0xFFFFFFFF && claim.uncompressed != 0xFFFFFFFF;
    return claim;
  }
  // The descriptor: "PK\x07\x08", CRC-32, then the compressed and
  // uncompressed sizes, of 8 bytes each when the header has a zip64 extra
  // field (id 1) and of 4 otherwise, right after the compressed data, whose
  // size only the central directory gives. So take the first descriptor at or
  // after the data whose compressed size is its own distance from the data.
  bool zip64 = false;
  const size_t extra_end = static_cast<size_t>(data);
  for (size_t at = header + kHeader + claim.full_name.size(); at + 4 <= extra_end;
       at += 4 + load_le(bytes, at + 2, 2)) {
    zip64 = zip64 || load_le(bytes, at, 2) == 1;
  }
  const int width = zip64 ? 8 : 4;
  const std::string_view descriptor("PK\x07\x08", 4);
  for (size_t at = bytes.find(descriptor, data); at != std::string_view::npos; at = bytes.find(descriptor, at + 1)) {
    if (at + 8 + 2 * width > bytes.size() || load_le(bytes, at + 8, width) != at - data) continue;
    claim.crc = static_cast<uint32_t>(load_le(bytes, at + 4, 4));
    claim.compressed = at - data;
    claim.uncompressed = load_le(bytes, at + 8 + width, width);
    return claim;
  }
  RB_FAIL(kCheckpoint, file, ": zip record '", claim.full_name,
          "' has no data descriptor after its data; the file is truncated or corrupt, save or "
          "copy it again");
}

// The uncompressed size of every record by the zip central directory (full
// names, with the archive's top folder): what getRecord() allocates before it
// reads a byte. Read here because LibTorch 1.13 does not tell it, so that a
// directory claiming gigabytes for a small record is refused before LibTorch
// reserves them. Follows the end-of-central-directory record (ZIP64's where
// the 32-bit one holds its markers) and, for a 32-bit size of 0xFFFFFFFF, the
// entry's ZIP64 extra field (as miniz does; without one, 0xFFFFFFFF stands).
// Returns what it could read: an entry it cannot parse ends the walk, and the
// records it lacks are left to LibTorch's own checks.
struct CentralEntry {
  uint64_t size = 0;    // uncompressed
  uint64_t method = 0;  // 0 stored, 8 deflated
};
std::map<std::string, CentralEntry> central_sizes(std::string_view bytes) {
  std::map<std::string, CentralEntry> sizes;
  const std::string_view end_signature("PK\x05\x06", 4);
  constexpr size_t kEnd = 22;
  if (bytes.size() < kEnd) return sizes;
  const size_t earliest = bytes.size() > kEnd + 0xFFFF ? bytes.size() - kEnd - 0xFFFF : 0;
  size_t end = std::string_view::npos;
  for (size_t at = bytes.size() - kEnd + 1; at-- > earliest;) {
    if (bytes.compare(at, 4, end_signature) == 0) {
      end = at;
      break;
    }
  }
  if (end == std::string_view::npos) return sizes;
  uint64_t entries = load_le(bytes, end + 10, 2);
  uint64_t offset = load_le(bytes, end + 16, 4);
  if ((offset == 0xFFFFFFFF || entries == 0xFFFF) && end >= 20 &&
      bytes.compare(end - 20, 4, std::string_view("PK\x06\x07", 4)) == 0) {
    const uint64_t record = load_le(bytes, end - 20 + 8, 8);
    if (record > bytes.size() || bytes.size() - record < 56 ||
        bytes.compare(static_cast<size_t>(record), 4, std::string_view("PK\x06\x06", 4)) != 0) {
      return sizes;
    }
    entries = load_le(bytes, static_cast<size_t>(record) + 32, 8);
    offset = load_le(bytes, static_cast<size_t>(record) + 48, 8);
  }
  constexpr size_t kEntry = 46;
  for (uint64_t k = 0; k < entries && offset <= bytes.size() && bytes.size() - offset >= kEntry; ++k) {
    const size_t at = static_cast<size_t>(offset);
    if (bytes.compare(at, 4, std::string_view("PK\x01\x02", 4)) != 0) break;
    const uint64_t name_size = load_le(bytes, at + 28, 2), extra_size = load_le(bytes, at + 30, 2);
    const uint64_t comment_size = load_le(bytes, at + 32, 2);
    if (bytes.size() - at - kEntry < name_size + extra_size) break;
    uint64_t size = load_le(bytes, at + 24, 4);
    if (size == 0xFFFFFFFF) {
      // ZIP64 extended information: id 1, then the 8-byte uncompressed size
      // first when the entry's 32-bit one is the marker.
      for (size_t x = at + kEntry + name_size; x + 4 <= at + kEntry + name_size + extra_size;) {
        const uint64_t id = load_le(bytes, x, 2), length = load_le(bytes, x + 2, 2);
        if (id == 1 && length >= 8 && x + 12 <= bytes.size()) {
          size = load_le(bytes, x + 4, 8);
          break;
        }
        x += 4 + length;
      }
    }
    sizes[std::string(bytes.substr(at + kEntry, name_size))] = {size, load_le(bytes, at + 10, 2)};
    offset += kEntry + name_size + extra_size + comment_size;
  }
  return sizes;
}

// A torch.save zip archive read with LibTorch's PyTorchStreamReader. Every
// call into LibTorch goes through here, so that its c10::Error becomes an
// Error(kCheckpoint) that names the file and says what to do.
//
// read() checks each record against its own zip headers (claim_of): before
// getRecord(), that the sizes they claim are possible, and that the central
// directory's size, which getRecord() allocates, is one the file can hold
// (central_sizes); after it, that LibTorch read as many bytes and that their
// CRC-32 matches. miniz itself checks, when it opens the archive, that each stored
// record with 32-bit sizes lies inside the file. The version record is read by
// PyTorchStreamReader's constructor, before any check here can run; read_zip()
// reads it again through read(), so its CRC and size are checked then.
class Archive {
 public:
  Archive(const std::string& bytes, const std::string& name) : bytes_(bytes), name_(name) {
    // PyTorchStreamReader's constructor already reads the version record, so
    // no record may claim more than the whole file can hold before it runs.
    central_ = central_sizes(bytes_);
    for (const auto& [record, entry] : *central_) {
      const uint64_t most = entry.method == 0 ? bytes_.size() : bytes_.size() * kMaxDeflateRatio;
      RB_CHECK(entry.size <= most, kCheckpoint, name_, ": zip record '", record, "' claims ", entry.size,
               " bytes in the zip central directory, more than the ", bytes_.size(),
               "-byte file can hold; the file is corrupt, save or copy it again");
    }
    try {
      reader_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(std::make_shared<BoundedReadAdapter>(bytes));
    } catch (const c10::Error& e) {
      const std::string why = libtorch_message(e);
      // The one refusal whose LibTorch text says nothing to a user.
      RB_CHECK(why.find("hasRecord(\"version\")") == std::string::npos, kCheckpoint, name_,
               ": the zip archive has no version record, so it was not written by torch.save");
      RB_FAIL(kCheckpoint, name_, ": not a readable torch.save archive (LibTorch: ", why,
              "); the file is truncated or damaged, or was not written by torch.save: save or "
              "copy it again");
    }
  }

  // The names of all records, below the archive's top folder.
  std::vector<std::string> records() {
    try {
      return reader_->getAllRecords();
    } catch (const c10::Error& e) {
      RB_FAIL(kCheckpoint, name_, ": the zip archive is malformed (LibTorch: ", libtorch_message(e),
              "); the file is corrupt, save or copy it again");
    }
  }

  bool has(const std::string& record) {
    try {
      return reader_->hasRecord(record);
    } catch (const c10::Error& e) {
      RB_FAIL(kCheckpoint, name_, ": cannot look up record '", record, "' (LibTorch: ", libtorch_message(e),
              "); the file is corrupt, save or copy it again");
    }
  }

  // The bytes of a record, valid while the archive lives, checked against its
  // CRC-32.
  std::string_view read(const std::string& record) {
    uint64_t offset = 0;
    try {
      offset = reader_->getRecordOffset(record);
    } catch (const c10::Error& e) {
      RB_FAIL(kCheckpoint, name_, ": cannot find record '", record, "' (LibTorch: ", libtorch_message(e),
              "); the file is corrupt, save or copy it again");
    }
    RB_CHECK(offset <= bytes_.size(), kCheckpoint, name_, ": record '", record,
             "' starts past the end of the file; the file is truncated, copy it again");
    const RecordClaim claim = claim_of(bytes_, name_, record, offset);
    check_sizes(claim, offset);
    check_central_size(claim, offset);
    std::string_view data;
    try {
      auto [pointer, size] = reader_->getRecord(record);
      owned_.push_back(std::move(pointer));
      data = {static_cast<const char*>(owned_.back().get()), size};
    } catch (const c10::Error& e) {
      RB_FAIL(kCheckpoint, name_, ": cannot read record '", record, "' (LibTorch: ", libtorch_message(e),
              "); the file is damaged, copy or save it again");
    }
    RB_CHECK(!claim.sizes_known || data.size() == claim.uncompressed, kCheckpoint, name_, ": zip record '",
             claim.full_name, "' holds ", data.size(), " bytes by the zip directory but ", claim.uncompressed,
             " by its own header; the file is corrupt, save or copy it again");
    const uint32_t crc = crc32_of(data);
    RB_CHECK(crc == claim.crc, kCheckpoint, name_, ": zip record '", claim.full_name,
             "' fails its CRC-32 check (stored ", hex32(claim.crc), ", computed ", hex32(crc),
             "); the file is damaged, copy or save it again");
    return data;
  }

 private:
  // Refuses sizes no intact record can have, before getRecord() allocates.
  void check_sizes(const RecordClaim& claim, uint64_t offset) const {
    if (!claim.sizes_known) return;
    RB_CHECK(claim.compressed <= bytes_.size() - offset, kCheckpoint, name_, ": zip record '", claim.full_name,
             "' claims ", claim.compressed, " bytes, past the end of the file; the file is truncated, copy it again");
    if (claim.method == 0) {
      RB_CHECK(claim.uncompressed == claim.compressed, kCheckpoint, name_, ": stored zip record '", claim.full_name,
               "' claims ", claim.uncompressed, " bytes but holds ", claim.compressed,
               "; the file is corrupt, save or copy it again");
    } else if (claim.method == 8) {
      RB_CHECK(claim.uncompressed <= claim.compressed * kMaxDeflateRatio, kCheckpoint, name_, ": zip record '",
               claim.full_name, "' claims ", claim.uncompressed, " bytes deflated into ", claim.compressed,
               ", more than deflate's ", kMaxDeflateRatio, ":1 allows; the file is corrupt, save or copy it again");
    }
  }

  // What getRecord() will allocate must fit what the file holds from the
  // record's data on: as stored, or deflated at deflate's best ratio.
  void check_central_size(const RecordClaim& claim, uint64_t offset) {
    const auto found = central_->find(claim.full_name);
    if (found == central_->end()) return;
    const uint64_t room = bytes_.size() - offset;
    const uint64_t most = claim.method == 0 ? room : room * kMaxDeflateRatio;
    RB_CHECK(found->second.size <= most, kCheckpoint, name_, ": zip record '", claim.full_name, "' claims ",
             found->second.size, " bytes in the zip central directory, more than the ", room,
             " bytes after its start can hold; the file is corrupt, save or copy it again");
  }

  std::string_view bytes_;
  std::string name_;
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader_;
  std::deque<at::DataPtr> owned_;
  std::optional<std::map<std::string, CentralEntry>> central_;  // set first thing
};

// True for what a version record holds: decimal digits, then optional line ends.
bool is_version_text(std::string_view text) {
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  return digits > 0 && text.find_first_not_of("\r\n", digits) == std::string_view::npos;
}

enum class Format { kZip, kLegacy };

// Which of torch.save's two formats `bytes` are in; refuses everything else
// with its remedy.
Format detect_format(const std::string& bytes, const std::string& name) {
  RB_CHECK(!bytes.empty(), kCheckpoint, name,
           ": the file is empty; it was not written completely, save or copy it again");
  // The legacy format is a sequence of pickles, the first starting with the PROTO opcode.
  if (bytes[0] == '\x80') return Format::kLegacy;
  const std::string_view zip_magic("PK\x03\x04", 4);
  RB_CHECK(bytes.size() >= zip_magic.size() || zip_magic.substr(0, bytes.size()) != bytes, kCheckpoint, name,
           ": the file is truncated after ", bytes.size(), " bytes; save or copy it again");
  RB_CHECK(std::string_view(bytes).substr(0, zip_magic.size()) == zip_magic, kCheckpoint, name,
           ": not a PyTorch checkpoint (it is not a zip archive, nor in the legacy format of "
           "PyTorch < 1.6); expected a file written by torch.save");
  return Format::kZip;
}

PyValue read_zip(const std::string& bytes, const std::string& name) {
  Archive zip(bytes, name);
  std::set<std::string> names;
  for (const std::string& record : zip.records()) {
    RB_CHECK(record != "constants.pkl" && record.rfind("code/", 0) != 0, kCheckpoint, name,
             ": the file is a TorchScript module (torch.jit.save), not a state_dict; in Python, "
             "save its state_dict instead: torch.save(module.state_dict(), path)");
    RB_CHECK(names.insert(record).second, kCheckpoint, name, ": the zip archive holds two records called '", record,
             "'; the file is corrupt");
  }
  RB_CHECK(names.count("data.pkl") != 0, kCheckpoint, name,
           ": the zip archive has no data.pkl record, so it was not written by torch.save");
  // LibTorch has parsed the version as a number already; torch.save writes "3\n".
  for (const char* record : {".data/version", "version"}) {
    if (names.count(record) == 0) continue;
    const std::string_view text = zip.read(record);
    RB_CHECK(is_version_text(text), kCheckpoint, name, ": the version record holds '", text.substr(0, 16),
             "'; the file is corrupt");
  }
  if (names.count("byteorder") != 0) {
    const std::string_view value = zip.read("byteorder");
    RB_CHECK(value != "big", kCheckpoint, name,
             ": the file was saved on a big-endian machine, which repairbench does not read; "
             "load and save it again on a little-endian (x86 or ARM) machine");
    RB_CHECK(value == "little", kCheckpoint, name, ": the byteorder record holds '", value.substr(0, 16),
             "'; the file is corrupt");
  }
  const StorageResolver resolve = [&](const StorageRef& ref) {
    const std::string record = "data/" + ref.key;
    RB_CHECK(zip.has(record), kCheckpoint, name, ": the pickle refers to tensor storage '", ref.key,
             "' but the archive has no record data/", ref.key, "; the file is corrupt");
    return zip.read(record);
  };
  return unpickle(zip.read("data.pkl"), resolve, name);
}

// PyValue -> IValue for LibTorch's Pickler, with the checks that keep the
// result loadable by Python.
c10::IValue to_ivalue(const PyValue& value) {
  using Kind = PyValue::Kind;
  switch (value.kind()) {
    case Kind::kNone:
      return {};
    case Kind::kBool:
      return value.as_bool();
    case Kind::kInt:
      return value.as_int();
    case Kind::kFloat:
      return value.as_float();
    case Kind::kString:
      RB_CHECK(is_valid_utf8(value.as_string()), kUsage,
               "cannot save a str that is not valid UTF-8 (Python could not load it): '", value.as_string(), "'");
      return value.as_string();
    case Kind::kBytes:
      // c10::IValue has no bytes type, so LibTorch's Pickler cannot write one.
      RB_FAIL(kUsage,
              "cannot save a bytes value: LibTorch's pickler has no bytes type; store it "
              "as a str or a uint8 tensor");
    case Kind::kTensor: {
      torch::Tensor tensor = value.as_tensor().detach().to(torch::kCPU).contiguous();
      storage_class_name(tensor.scalar_type());  // refuses dtypes Python has no storage for
      // The Pickler writes a tensor's whole storage: a view of a larger one (a
      // row of a matrix) would carry the rest along, so write a compact copy.
      if (tensor.storage_offset() != 0 || tensor.storage().nbytes() != tensor.nbytes()) {
        tensor = tensor.clone();
      }
      return tensor;
    }
    case Kind::kList: {
      c10::impl::GenericList list(c10::AnyType::get());
      list.reserve(value.as_list().size());
      for (const PyValue& item : value.as_list()) list.push_back(to_ivalue(item));
      return list;
    }
    case Kind::kTuple: {
      std::vector<c10::IValue> items;
      items.reserve(value.as_tuple().size());
      for (const PyValue& item : value.as_tuple()) items.push_back(to_ivalue(item));
      return c10::ivalue::Tuple::create(std::move(items));
    }
    case Kind::kDict: {
      // LibTorch's Pickler writes every dict as a plain dict (it knows no
      // OrderedDict), so Python's torch.load gives a dict where
      // torch.save(model.state_dict()) would give an OrderedDict. Nothing done
      // with a state_dict needs the difference: dicts keep insertion order
      // (Python >= 3.7) and nn.Module.load_state_dict takes any Mapping. The
      // OrderedDict's _metadata attribute was never written by repairbench.
      c10::impl::GenericDict dict(c10::AnyType::get(), c10::AnyType::get());
      dict.reserve(value.as_dict().size());
      for (const auto& [key, item] : value.as_dict()) {
        const Kind kind = key.kind();
        // The key types c10::Dict can hash (see c10::detail::DictKeyHash).
        RB_CHECK(kind == Kind::kString || kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool, kUsage,
                 "cannot save a dict key of type ", PyValue::kind_name(kind),
                 ": LibTorch's pickler writes str, int, float and bool keys");
        dict.insert_or_assign(to_ivalue(key), to_ivalue(item));
      }
      return dict;
    }
  }
  RB_FAIL(kInternal, "to_ivalue: unknown PyValue kind");
}

}  // namespace

PyValue read_torch_bytes(const std::string& bytes, const std::string& name_for_errors) {
  if (detect_format(bytes, name_for_errors) == Format::kLegacy) {
    return read_legacy_torch_bytes(bytes, name_for_errors);
  }
  return read_zip(bytes, name_for_errors);
}

PyValue read_torch_file(const std::string& path) {
  // A checkpoint that is not there is the user's checkpoint problem, not an
  // I/O failure, and a directory would otherwise read as an empty file.
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  RB_CHECK(std::filesystem::exists(status), kCheckpoint, "checkpoint ", path, " does not exist");
  RB_CHECK(!std::filesystem::is_directory(status), kCheckpoint, "checkpoint ", path, " is a directory, not a file");
  return read_torch_bytes(read_file(path), path);
}

std::string torch_file_bytes(const PyValue& value) {
  const c10::IValue root = to_ivalue(value);
  try {
    // Without type tags (tag_aggregates false): with them, LibTorch wraps each
    // list and dict in torch.jit._pickle.restore_type_tag, which our reader
    // refuses and which torch.save never writes.
    std::string program;
    torch::jit::Pickler pickler([&program](const char* data, size_t size) { program.append(data, size); }, nullptr,
                                nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(root);
    pickler.stop();

    std::string out;
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t size) {
      out.append(static_cast<const char*>(data), size);
      return size;
    });
    writer.writeRecord("data.pkl", program.data(), program.size());
    writer.writeRecord("byteorder", "little", 6);
    // The Pickler names storage i "i", in the order of tensorData().
    const std::vector<at::Tensor>& tensors = pickler.tensorData();
    for (size_t i = 0; i < tensors.size(); ++i) {
      const torch::jit::WriteableTensorData data = torch::jit::getWriteableTensorData(tensors[i]);
      writer.writeRecord("data/" + std::to_string(i), data.data(), data.sizeInBytes());
    }
    writer.writeEndOfFile();  // adds the version record
    return out;
  } catch (const c10::Error& e) {
    RB_FAIL(kInternal, "LibTorch could not write a torch.save archive: ", libtorch_message(e));
  }
}

void write_torch_file(const std::string& path, const PyValue& value) {
  write_file_atomic(path, torch_file_bytes(value));
}

}  // namespace repairbench::io
