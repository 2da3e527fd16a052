#include "repairbench/io/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "repairbench/core/error.h"

namespace repairbench::io {
namespace {

// Record signatures and fixed sizes from the zip specification (APPNOTE.TXT).
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kMaxCommentSize = 0xFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;
// The id of our own alignment-padding extra field; readers skip unknown ids.
constexpr uint16_t kPaddingExtraId = 0x5242;
constexpr uint64_t kDataAlignment = 64;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagUtf8Names = 0x0800;
constexpr uint16_t kVersion20 = 20;
constexpr uint16_t kDosDate1980 = (1 << 5) | 1;  // 1980-01-01, the earliest valid DOS date

// True when [pos, pos + len) lies inside a buffer of `size` bytes, without overflow.
bool fits(uint64_t size, uint64_t pos, uint64_t len) { return pos <= size && len <= size - pos; }

// Little-endian integer of `n` bytes at `pos`; the caller has checked the range.
uint64_t load_le(std::string_view bytes, uint64_t pos, int n) {
  uint64_t value = 0;
  for (int i = n - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[pos + static_cast<uint64_t>(i)]);
  }
  return value;
}

void store_le(std::string* out, uint64_t value, int n) {
  for (int i = 0; i < n; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint32_t crc32_of(std::string_view data) {
  // zlib takes 32-bit lengths; feed big records in chunks.
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < data.size()) {
    const size_t chunk = std::min<size_t>(data.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), static_cast<uInt>(chunk));
    done += chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

ZipReader::ZipReader(std::string_view bytes, std::string name)
    : bytes_(bytes), name_(std::move(name)) {
  const uint64_t size = bytes_.size();
  RB_CHECK(size >= kEndSize, kCheckpoint, name_, ": only ", size,
           " bytes, too short for a zip archive; the file is truncated, copy it again");
  // The end record sits at the very end, followed only by its comment.
  const uint64_t lowest = size > kEndSize + kMaxCommentSize ? size - kEndSize - kMaxCommentSize : 0;
  uint64_t end = size - kEndSize;
  while (!(load_le(bytes_, end, 4) == kEndSignature &&
           end + kEndSize + load_le(bytes_, end + 20, 2) == size)) {
    RB_CHECK(end > lowest, kCheckpoint, name_,
             ": no zip end-of-central-directory record; the file is truncated or is not a zip "
             "archive, copy or save it again");
    --end;
  }
  uint64_t disk = load_le(bytes_, end + 4, 2);
  uint64_t directory_disk = load_le(bytes_, end + 6, 2);
  uint64_t count = load_le(bytes_, end + 10, 2);
  uint64_t directory_size = load_le(bytes_, end + 12, 4);
  uint64_t directory_offset = load_le(bytes_, end + 16, 4);
  const bool has_locator = end >= kZip64LocatorSize &&
                           load_le(bytes_, end - kZip64LocatorSize, 4) == kZip64LocatorSignature;
  if (has_locator) {
    // PyTorch always writes the zip64 records; their fields supersede the 16/32-bit ones.
    const uint64_t record = load_le(bytes_, end - kZip64LocatorSize + 8, 8);
    RB_CHECK(fits(size, record, kZip64EndSize) && load_le(bytes_, record, 4) == kZip64EndSignature,
             kCheckpoint, name_,
             ": the zip64 end record is missing or damaged; the file is corrupt");
    disk = load_le(bytes_, record + 16, 4);
    directory_disk = load_le(bytes_, record + 20, 4);
    count = load_le(bytes_, record + 32, 8);
    directory_size = load_le(bytes_, record + 40, 8);
    directory_offset = load_le(bytes_, record + 48, 8);
  } else {
    RB_CHECK(count != 0xFFFF && directory_size != 0xFFFFFFFF && directory_offset != 0xFFFFFFFF,
             kCheckpoint, name_,
             ": zip64 archive without its zip64 end record; the file is corrupt");
  }
  RB_CHECK(disk == 0 && directory_disk == 0, kCheckpoint, name_,
           ": multi-volume zip archives are not supported; recreate it as a single file");
  RB_CHECK(fits(size, directory_offset, directory_size), kCheckpoint, name_,
           ": the zip central directory lies outside the file; the file is truncated or corrupt");
  parse_central_directory(directory_offset, directory_size, count);
}

void ZipReader::parse_central_directory(uint64_t offset, uint64_t size, uint64_t count) {
  // Every entry takes at least kCentralHeaderSize bytes, which bounds the
  // count before anything is allocated for it.
  RB_CHECK(count <= size / kCentralHeaderSize, kCheckpoint, name_, ": the zip directory claims ",
           count, " records but has room for fewer; the file is corrupt");
  entries_.reserve(count);
  const uint64_t stop = offset + size;
  uint64_t pos = offset;
  for (uint64_t i = 0; i < count; ++i) {
    RB_CHECK(fits(stop, pos, kCentralHeaderSize) && load_le(bytes_, pos, 4) == kCentralSignature,
             kCheckpoint, name_, ": zip directory entry ", i, " is damaged; the file is corrupt");
    const auto flags = static_cast<uint16_t>(load_le(bytes_, pos + 8, 2));
    const uint64_t method = load_le(bytes_, pos + 10, 2);
    ZipEntry entry;
    entry.crc32 = static_cast<uint32_t>(load_le(bytes_, pos + 16, 4));
    uint64_t packed_size = load_le(bytes_, pos + 20, 4);
    entry.size = load_le(bytes_, pos + 24, 4);
    const uint64_t name_size = load_le(bytes_, pos + 28, 2);
    const uint64_t extra_size = load_le(bytes_, pos + 30, 2);
    const uint64_t comment_size = load_le(bytes_, pos + 32, 2);
    uint64_t local = load_le(bytes_, pos + 42, 4);
    const uint64_t variable = name_size + extra_size + comment_size;
    RB_CHECK(fits(stop, pos + kCentralHeaderSize, variable), kCheckpoint, name_,
             ": zip directory entry ", i, " runs past the directory; the file is corrupt");
    entry.name.assign(bytes_.substr(pos + kCentralHeaderSize, name_size));

    // Zip64 extra field: 64-bit values for the fields saturated above, in this order.
    uint64_t extra = pos + kCentralHeaderSize + name_size;
    const uint64_t extra_end = extra + extra_size;
    while (extra + 4 <= extra_end) {
      const uint64_t id = load_le(bytes_, extra, 2);
      const uint64_t len = load_le(bytes_, extra + 2, 2);
      RB_CHECK(fits(extra_end, extra + 4, len), kCheckpoint, name_, ": zip record '", entry.name,
               "' has a damaged extra field; the file is corrupt");
      if (id == kZip64ExtraId) {
        uint64_t field = extra + 4;
        for (uint64_t* value : {&entry.size, &packed_size, &local}) {
          if (*value != 0xFFFFFFFF) continue;
          RB_CHECK(fits(extra + 4 + len, field, 8), kCheckpoint, name_, ": zip record '",
                   entry.name, "' has a short zip64 field; the file is corrupt");
          *value = load_le(bytes_, field, 8);
          field += 8;
        }
      }
      extra += 4 + len;
    }
    entry.method = static_cast<uint16_t>(method);
    entry.encrypted = (flags & kFlagEncrypted) != 0;
    RB_CHECK(method != 0 || packed_size == entry.size, kCheckpoint, name_, ": zip record '",
             entry.name, "' has inconsistent sizes; the file is corrupt");
    entry.size = packed_size;

    // The data follows the local header, whose name and extra field may
    // differ in length from the central directory's copy.
    RB_CHECK(fits(bytes_.size(), local, kLocalHeaderSize) &&
                 load_le(bytes_, local, 4) == kLocalSignature,
             kCheckpoint, name_, ": the local header of zip record '", entry.name,
             "' is missing or damaged; the file is truncated or corrupt");
    const uint64_t local_name_size = load_le(bytes_, local + 26, 2);
    const uint64_t local_extra_size = load_le(bytes_, local + 28, 2);
    RB_CHECK(fits(bytes_.size(), local + kLocalHeaderSize, local_name_size + local_extra_size) &&
                 bytes_.substr(local + kLocalHeaderSize, local_name_size) == entry.name,
             kCheckpoint, name_, ": the local header of zip record '", entry.name,
             "' does not match the directory; the file is corrupt");
    entry.offset = local + kLocalHeaderSize + local_name_size + local_extra_size;
    RB_CHECK(fits(bytes_.size(), entry.offset, entry.size), kCheckpoint, name_, ": zip record '",
             entry.name,
             "' extends past the end of the file; the file is truncated, copy it again");

    RB_CHECK(index_.emplace(entry.name, entries_.size()).second, kCheckpoint, name_,
             ": the zip archive holds two records called '", entry.name, "'; the file is corrupt");
    entries_.push_back(std::move(entry));
    pos += kCentralHeaderSize + variable;
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string_view ZipReader::read(const ZipEntry& entry) const {
  RB_CHECK(!entry.encrypted, kCheckpoint, name_, ": zip record '", entry.name,
           "' is encrypted; torch.save never encrypts, save the file again with torch.save");
  RB_CHECK(entry.method == 0, kCheckpoint, name_, ": zip record '", entry.name,
           "' is compressed (method ", entry.method,
           "); torch.save writes uncompressed archives, so save the file again with torch.save "
           "instead of re-zipping it");
  RB_CHECK(fits(bytes_.size(), entry.offset, entry.size), kInternal, name_,
           ": ZipReader::read got a record of another archive");
  const std::string_view data = bytes_.substr(entry.offset, entry.size);
  RB_CHECK(crc32_of(data) == entry.crc32, kCheckpoint, name_, ": zip record '", entry.name,
           "' fails its CRC-32 check; the file is damaged, copy or save it again");
  return data;
}

std::string write_zip(const std::vector<std::pair<std::string, std::string_view>>& records) {
  constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
  RB_CHECK(records.size() < 0xFFFF, kUsage, "write_zip: ", records.size(),
           " records exceed the classic zip limit");
  uint64_t total = kEndSize;
  for (const auto& [name, data] : records) {
    total += 2 * (kCentralHeaderSize + name.size()) + 2 * kDataAlignment + data.size();
  }
  RB_CHECK(total < kMax32, kUsage, "write_zip: ", total,
           " bytes exceed the 4 GiB that this writer supports");
  std::string out;
  out.reserve(total);

  struct Written {
    uint64_t offset;
    uint32_t crc;
  };
  std::vector<Written> written;
  std::unordered_map<std::string_view, int> seen;
  for (const auto& [name, data] : records) {
    RB_CHECK(!name.empty() && name.size() <= 0xFFFF && seen.emplace(name, 0).second, kUsage,
             "write_zip: record name '", name, "' is empty, too long or repeated");
    const uint64_t offset = out.size();
    // Pad with an extra field so the data starts on an alignment boundary; an
    // extra field needs at least its 4-byte header, so tiny gaps grow by one block.
    uint64_t padding =
        (kDataAlignment - (offset + kLocalHeaderSize + name.size()) % kDataAlignment) %
        kDataAlignment;
    if (padding != 0 && padding < 4) padding += kDataAlignment;
    const uint32_t crc = crc32_of(data);
    store_le(&out, kLocalSignature, 4);
    store_le(&out, kVersion20, 2);
    store_le(&out, kFlagUtf8Names, 2);
    store_le(&out, 0, 2);  // method: stored
    store_le(&out, 0, 2);  // time
    store_le(&out, kDosDate1980, 2);
    store_le(&out, crc, 4);
    store_le(&out, data.size(), 4);
    store_le(&out, data.size(), 4);
    store_le(&out, name.size(), 2);
    store_le(&out, padding, 2);
    out.append(name);
    if (padding != 0) {
      store_le(&out, kPaddingExtraId, 2);
      store_le(&out, padding - 4, 2);
      out.append(padding - 4, '\0');
    }
    out.append(data);
    written.push_back({offset, crc});
  }

  const uint64_t directory_offset = out.size();
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& [name, data] = records[i];
    store_le(&out, kCentralSignature, 4);
    store_le(&out, kVersion20, 2);  // made by
    store_le(&out, kVersion20, 2);  // needed
    store_le(&out, kFlagUtf8Names, 2);
    store_le(&out, 0, 2);  // method: stored
    store_le(&out, 0, 2);  // time
    store_le(&out, kDosDate1980, 2);
    store_le(&out, written[i].crc, 4);
    store_le(&out, data.size(), 4);
    store_le(&out, data.size(), 4);
    store_le(&out, name.size(), 2);
    store_le(&out, 0, 2);  // extra
    store_le(&out, 0, 2);  // comment
    store_le(&out, 0, 2);  // disk
    store_le(&out, 0, 2);  // internal attributes
    store_le(&out, 0, 4);  // external attributes
    store_le(&out, written[i].offset, 4);
    out.append(name);
  }
  const uint64_t directory_size = out.size() - directory_offset;
  store_le(&out, kEndSignature, 4);
  store_le(&out, 0, 2);  // this disk
  store_le(&out, 0, 2);  // directory disk
  store_le(&out, records.size(), 2);
  store_le(&out, records.size(), 2);
  store_le(&out, directory_size, 4);
  store_le(&out, directory_offset, 4);
  store_le(&out, 0, 2);  // comment
  return out;
}

}  // namespace repairbench::io
